/*
 * home_diff: the copy-on-write home's upper dir, read back as changes
 * (see home_diff.h).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "home_diff.h"
#include "util.h"

struct hd_ctx {
	FILE *out; /* the status lines */
	FILE *diffs; /* the diffs, appended after them */
	int show_diff;
	long n;
};

static int
hd_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir fd, sorted; NULL-terminated, or NULL with errno. */
static char **
hd_names(int fd)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d;
	int dfd;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return NULL;
	}
	v = xcalloc(1, sizeof *v);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof *v, hd_name_cmp);
	return v;
}

static void
hd_names_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
hd_line(struct hd_ctx *c, char code, const char *rel, int is_dir)
{
	fprintf(c->out, "%c %s%s\n", code, rel, is_dir ? "/" : "");
	c->n++;
}

/* 1 when the two regular files differ in mode or bytes, 0 when not. */
static int
hd_differ(int ufd, int lfd, const struct stat *us, const struct stat *ls)
{
	char a[8192], b[sizeof a];
	ssize_t x, y;

	if (us->st_size != ls->st_size ||
	    (us->st_mode & 07777) != (ls->st_mode & 07777))
		return 1;
	for (;;) {
		x = read(ufd, a, sizeof a);
		y = read(lfd, b, sizeof b);
		if (x < 0 || y < 0 || x != y)
			return 1;
		if (x == 0)
			return 0;
		if (memcmp(a, b, (size_t)x) != 0)
			return 1;
	}
}

/* diff -u of the two open files (lfd -1: /dev/null) into c->diffs. */
static void
hd_run_diff(struct hd_ctx *c, const char *rel, int lfd, int ufd)
{
	char old[32], new[32], la[PATH_MAX + 8], lb[PATH_MAX + 8];
	pid_t pid;
	int status;

	fflush(c->diffs);
	snprintf(old, sizeof old, "/dev/fd/%d", lfd);
	snprintf(new, sizeof new, "/dev/fd/%d", ufd);
	snprintf(la, sizeof la, "a/%s", rel);
	snprintf(lb, sizeof lb, "b/%s", rel);
	if ((pid = fork()) < 0)
		return;
	if (pid == 0) {
		if (dup2(fileno(c->diffs), STDOUT_FILENO) < 0)
			_exit(2);
		/* diff reads them as /dev/fd/N: not close-on-exec here */
		if ((lfd >= 0 &&
		        (lseek(lfd, 0, SEEK_SET) < 0 ||
		            fcntl(lfd, F_SETFD, 0) != 0)) ||
		    lseek(ufd, 0, SEEK_SET) < 0 || fcntl(ufd, F_SETFD, 0) != 0)
			_exit(2);
		execlp("diff", "diff", "-u", "--label",
		    lfd >= 0 ? la : "/dev/null", "--label", lb,
		    lfd >= 0 ? old : "/dev/null", new, (char *)NULL);
		_exit(2);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Open a regular file beneath dir, never through a symlink. */
static int
hd_open(int dir, const char *name)
{
	return openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static void
hd_file(struct hd_ctx *c, int upper, int lower, const char *name,
    const char *rel, const struct stat *us, const struct stat *ls)
{
	char a[PATH_MAX], b[PATH_MAX];
	ssize_t x, y;
	int ufd = -1, lfd = -1;

	if (ls == NULL) {
		hd_line(c, 'A', rel, 0);
		if (c->show_diff && S_ISREG(us->st_mode) &&
		    (ufd = hd_open(upper, name)) >= 0)
			hd_run_diff(c, rel, -1, ufd);
		goto out;
	}
	if ((us->st_mode & S_IFMT) != (ls->st_mode & S_IFMT)) {
		hd_line(c, 'T', rel, 0);
		goto out;
	}
	if (S_ISLNK(us->st_mode)) {
		x = readlinkat(upper, name, a, sizeof a);
		y = readlinkat(lower, name, b, sizeof b);
		if (x < 0 || y < 0 || x != y || memcmp(a, b, (size_t)x) != 0)
			hd_line(c, 'M', rel, 0);
		goto out;
	}
	if (!S_ISREG(us->st_mode))
		goto out;
	ufd = hd_open(upper, name);
	lfd = hd_open(lower, name);
	if (ufd < 0 || lfd < 0 || hd_differ(ufd, lfd, us, ls)) {
		hd_line(c, 'M', rel, 0);
		if (c->show_diff && ufd >= 0 && lfd >= 0)
			hd_run_diff(c, rel, lfd, ufd);
	}
out:
	if (ufd >= 0)
		close(ufd);
	if (lfd >= 0)
		close(lfd);
}

static int
hd_is_opaque(int fd)
{
	char v[4];
	ssize_t n;

	n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v);
	if (n < 0)
		n = fgetxattr(fd, "user.overlay.opaque", v, sizeof v);
	return n >= 1 && (v[0] == 'y' || v[0] == 'x');
}

static int hd_walk(struct hd_ctx *c, int upper, int lower, const char *pre);

/* A directory of the upper layer: the real one's, or a new one. */
static int
hd_dir(struct hd_ctx *c, int upper, int lower, const char *name,
    const char *rel, const struct stat *ls)
{
	char **gone = NULL;
	int su, sl = -1, rc = -1;
	size_t i;

	su = openat(
	    upper, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (su < 0)
		return -1;
	if (ls != NULL && S_ISDIR(ls->st_mode)) {
		sl = openat(lower, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sl >= 0 && hd_is_opaque(su)) {
			/* replaced: what was there and is not now went */
			if ((gone = hd_names(sl)) == NULL)
				goto out;
			for (i = 0; gone[i] != NULL; i++) {
				struct stat st;
				char sub[PATH_MAX];

				if (fstatat(su, gone[i], &st,
				        AT_SYMLINK_NOFOLLOW) == 0)
					continue;
				if ((size_t)snprintf(sub, sizeof sub, "%s/%s",
				        rel, gone[i]) >= sizeof sub)
					continue;
				if (fstatat(sl, gone[i], &st,
				        AT_SYMLINK_NOFOLLOW) == 0)
					hd_line(
					    c, 'D', sub, S_ISDIR(st.st_mode));
			}
			close(sl);
			sl = -1;
		}
	} else
		hd_line(c, ls != NULL ? 'T' : 'A', rel, 1);
	rc = hd_walk(c, su, sl, rel);
out:
	hd_names_free(gone);
	if (sl >= 0)
		close(sl);
	close(su);
	return rc;
}

static int
hd_walk(struct hd_ctx *c, int upper, int lower, const char *pre)
{
	struct stat us, ls;
	char rel[PATH_MAX], **names;
	size_t i;
	int has_lower, rc = 0;

	if ((names = hd_names(upper)) == NULL)
		return -1;
	for (i = 0; names[i] != NULL && rc == 0; i++) {
		const char *name = names[i];

		if (fstatat(upper, name, &us, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		has_lower = lower >= 0 &&
		    fstatat(lower, name, &ls, AT_SYMLINK_NOFOLLOW) == 0;
		if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", pre,
		        pre[0] ? "/" : "", name) >= sizeof rel)
			continue; /* deeper than a path can name */
		if (S_ISCHR(us.st_mode) && us.st_rdev == 0) {
			if (has_lower)
				hd_line(c, 'D', rel, S_ISDIR(ls.st_mode));
			continue;
		}
		if (S_ISDIR(us.st_mode))
			rc = hd_dir(
			    c, upper, lower, name, rel, has_lower ? &ls : NULL);
		else
			hd_file(c, upper, lower, name, rel, &us,
			    has_lower ? &ls : NULL);
	}
	hd_names_free(names);
	return rc;
}

int
home_diff_write(
    int upper_fd, int lower_fd, int show_diff, FILE *out, long *n_changes)
{
	struct hd_ctx c;
	char buf[8192];
	size_t n;
	int rc;

	memset(&c, 0, sizeof c);
	c.out = out;
	c.show_diff = show_diff;
	if ((c.diffs = tmpfile()) == NULL)
		return -1;
	rc = hd_walk(&c, upper_fd, lower_fd, "");
	fflush(c.diffs);
	rewind(c.diffs);
	while ((n = fread(buf, 1, sizeof buf, c.diffs)) > 0)
		fwrite(buf, 1, n, out);
	fclose(c.diffs);
	*n_changes = c.n;
	return rc;
}
