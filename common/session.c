/*
 * session: the state directory and --session resolution.
 */
#include "config.h"

#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
session_state_dir(char *out, size_t len)
{
	const char *env = getenv("AIRLOCK_STATE_DIR");
	const char *xdg, *home;
	int n;

	if (env != NULL && env[0] != '\0')
		n = snprintf(out, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, len, "/var/lib/airlock");
	else if ((xdg = getenv("XDG_STATE_HOME")) != NULL && xdg[0] == '/')
		n = snprintf(out, len, "%s/airlock", xdg);
	else if ((home = getenv("HOME")) != NULL && home[0] == '/')
		n = snprintf(out, len, "%s/.local/state/airlock", home);
	else {
		errno = ENOENT;
		return -1;
	}
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The most recently modified entry of <state>/sessions. */
static int
session_find_newest(const char *sessions, char *out, size_t len)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	struct timespec best = { 0, 0 };
	int found = 0, rc = -1;

	if ((d = opendir(sessions)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
		        0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (found &&
		    (st.st_mtim.tv_sec < best.tv_sec ||
		        (st.st_mtim.tv_sec == best.tv_sec &&
		            st.st_mtim.tv_nsec <= best.tv_nsec)))
			continue;
		best = st.st_mtim;
		if ((size_t)snprintf(out, len, "%s/%s", sessions, de->d_name) >=
		    len) {
			errno = ENAMETOOLONG;
			goto out;
		}
		found = 1;
	}
	if (!found) {
		errno = ENOENT;
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int
session_resolve(const char *arg, char *out, size_t len)
{
	char state[4096], sessions[4160];
	struct stat st;
	int n;

	if (arg != NULL && strchr(arg, '/') != NULL) {
		if (str_copy(out, arg, len) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
	} else {
		if (session_state_dir(state, sizeof(state)) != 0)
			return -1;
		snprintf(sessions, sizeof(sessions), "%s/sessions", state);
		if (arg == NULL)
			return session_find_newest(sessions, out, len);
		if (arg[0] == '\0' || arg[0] == '.') {
			errno = ENOENT;
			return -1;
		}
		n = snprintf(out, len, "%s/%s", sessions, arg);
		if (n < 0 || (size_t)n >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	if (stat(out, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

const char *
session_id_of(const char *dir)
{
	const char *end = dir + strlen(dir);
	const char *p;

	while (end > dir && end[-1] == '/')
		end--;
	for (p = end; p > dir && p[-1] != '/'; p--)
		;
	return p;
}
