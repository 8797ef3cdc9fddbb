/*
 * review: session, stage and project lookup for diff, commit and discard.
 */
#include "config.h"

#include "review.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fs/diff.h"
#include "fs/stage.h"
#include "session.h"

int
review_session_open(struct review_session *rs, const char *cmd,
    const char *session_arg, const char *project_arg, int stage_flags,
    int need_project)
{
	memset(rs, 0, sizeof *rs);
	rs->project_fd = -1;
	if (session_resolve(session_arg, rs->dir, sizeof rs->dir) != 0) {
		fprintf(stderr, "airlock %s: %s: %s\n", cmd,
		    session_arg != NULL ? session_arg : "(newest session)",
		    errno == ENOENT ? "no such session" : strerror(errno));
		return EXIT_USAGE;
	}
	if ((rs->stage = stage_open(rs->dir, stage_flags)) == NULL) {
		if (errno == EBUSY)
			fprintf(stderr,
			    "airlock %s: session is mounted; stop "
			    "airlock-fs first (or `airlock end %s`)\n",
			    cmd, session_id_of(rs->dir));
		else
			fprintf(stderr,
			    "airlock %s: %s: cannot open the "
			    "staging area: %s\n",
			    cmd, rs->dir, strerror(errno));
		return errno == EBUSY ? EXIT_NEGATIVE : EXIT_IO;
	}
	if (!need_project)
		return 0;
	if (project_arg != NULL) {
		if (strlen(project_arg) >= sizeof rs->project) {
			fprintf(stderr,
			    "airlock %s: --project: path too "
			    "long\n",
			    cmd);
			return EXIT_USAGE;
		}
		strcpy(rs->project, project_arg);
	} else if (review_project_path(
	               rs->dir, rs->project, sizeof rs->project) != 0) {
		fprintf(stderr,
		    "airlock %s: %s/session.json names no project "
		    "(%s); pass --project DIR\n",
		    cmd, rs->dir, strerror(errno));
		return EXIT_USAGE;
	}
	rs->project_fd = open(rs->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rs->project_fd < 0) {
		fprintf(stderr, "airlock %s: %s: %s\n", cmd, rs->project,
		    strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

void
review_session_close(struct review_session *rs)
{
	if (rs->project_fd >= 0)
		close(rs->project_fd);
	stage_close(rs->stage);
	rs->project_fd = -1;
	rs->stage = NULL;
}

const char *
review_path_display(const char *path)
{
	static char out[4 * PATH_MAX + 3];
	const unsigned char *p;
	size_t n = 0;
	int plain = 1;

	for (p = (const unsigned char *)path; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = 0;
	if (plain)
		return path;
	out[n++] = '"';
	for (p = (const unsigned char *)path; *p != '\0' && n + 6 < sizeof out;
	     p++) {
		if (*p == '"' || *p == '\\')
			n += (size_t)snprintf(
			    out + n, sizeof out - n, "\\%c", *p);
		else if (*p == '\n')
			n += (size_t)snprintf(out + n, sizeof out - n, "\\n");
		else if (*p == '\t')
			n += (size_t)snprintf(out + n, sizeof out - n, "\\t");
		else if (*p < 0x20 || *p >= 0x7f)
			n += (size_t)snprintf(
			    out + n, sizeof out - n, "\\%03o", *p);
		else
			out[n++] = (char)*p;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

int
review_session_dir_fd(const struct review_session *rs)
{
	return open(rs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
review_commit_pending(const struct review_session *rs)
{
	int fd, pending;

	if ((fd = review_session_dir_fd(rs)) < 0)
		return 0;
	pending =
	    faccessat(fd, "commit.journal", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	close(fd);
	return pending;
}
