/*
 * commit: staged changes into the project, atomically per file, from a
 * journal that a later run can replay (see commit.h).
 *
 * Journal (SESSION/commit.journal), one operation a line after a header:
 *   airlock-commit-journal 1
 *   <op> <mode> <hash> <arg> <path>
 *   ...
 *   end
 * op: unlink rmdir mkdir chmod file symlink drop; mode octal; hash the
 * xxh3 a "file" op's result has (how a replay knows it is done); arg "-",
 * the source of a file ("u:" upper path, "h:" hold copy) or a symlink's
 * target; arg and path percent-encoded as in the manifest.
 */
#include "config.h"

#include "commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "diff.h"
#include "util.h"

#define COMMIT_JOURNAL "commit.journal"
#define COMMIT_JOURNAL_NEW "commit.journal.new"
#define COMMIT_HOLD "commit.hold"
#define COMMIT_TMP_PREFIX ".airlock-tmp-"
#define COMMIT_COPY_CHUNK (128 * 1024)

enum commit_op_kind {
	OP_UNLINK,
	OP_RMDIR,
	OP_MKDIR,
	OP_CHMOD,
	OP_FILE,
	OP_SYMLINK,
	OP_DROP,
};

static const char *commit_op_words[] = {
	[OP_UNLINK] = "unlink",
	[OP_RMDIR] = "rmdir",
	[OP_MKDIR] = "mkdir",
	[OP_CHMOD] = "chmod",
	[OP_FILE] = "file",
	[OP_SYMLINK] = "symlink",
	[OP_DROP] = "drop",
};

struct commit_op {
	enum commit_op_kind kind;
	mode_t mode;
	uint64_t hash;
	char *arg;
	char *path;
};

struct commit_ctx {
	struct stage *st;
	int session_fd;
	int project_fd;
	int upper_fd;
	int hold_fd;
	const struct commit_opts *opts;
	struct commit_op *ops;
	size_t n_ops, cap_ops;
	unsigned n_tmp;
	long crash_after; /* test hook; 0: off */
	long n_steps;
	char *cleaned; /* the last parent directory swept of temp files */
	char **dirty; /* directories whose entries changed: fsynced once */
	size_t n_dirty, cap_dirty;
};

static void
commit_note(const struct commit_ctx *c, enum commit_note what, const char *path,
    const char *detail)
{
	if (c->opts->note != NULL)
		c->opts->note(c->opts->arg, what, path, detail);
}

/* The test hook: die here as a kill -9 would. */
static void
commit_step(struct commit_ctx *c)
{
	if (c->crash_after > 0 && ++c->n_steps >= c->crash_after)
		_exit(9);
}

static void
commit_op_add(struct commit_ctx *c, enum commit_op_kind kind, mode_t mode,
    uint64_t hash, char *arg_owned, const char *path)
{
	struct commit_op *op;

	if (c->n_ops == c->cap_ops) {
		c->cap_ops = c->cap_ops == 0 ? 64 : c->cap_ops * 2;
		c->ops = xrealloc(c->ops, c->cap_ops * sizeof *c->ops);
	}
	op = &c->ops[c->n_ops++];
	op->kind = kind;
	op->mode = mode;
	op->hash = hash;
	op->arg = arg_owned;
	op->path = xstrdup(path);
}

static void
commit_ops_free(struct commit_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_ops; i++) {
		free(c->ops[i].arg);
		free(c->ops[i].path);
	}
	free(c->ops);
	c->ops = NULL;
	c->n_ops = c->cap_ops = 0;
}

/* Copy all of in_fd (from offset 0) to out_fd. */
static int
commit_copy_fd(int in_fd, int out_fd)
{
	char *chunk = NULL;
	off_t off = 0;
	ssize_t r;
	int rc = -1;

	for (;;) {
		r = copy_file_range(in_fd, &off, out_fd, NULL, 1 << 30, 0);
		if (r == 0) {
			rc = 0;
			goto out;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
	}
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
	    errno != EOPNOTSUPP)
		goto out;
	/* Not between these file systems: plain reads and writes. */
	chunk = xmalloc(COMMIT_COPY_CHUNK);
	for (;;) {
		r = pread(in_fd, chunk, COMMIT_COPY_CHUNK, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (fd_write_all(out_fd, chunk, (size_t)r) != 0)
			goto out;
		off += r;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/* ---- conflicts ---- */

/* Whether the project still holds what e was based on; *why says how it
 * differs. */
static int
commit_is_current(
    const struct commit_ctx *c, const struct stage_entry *e, const char **why)
{
	struct review_side cur;
	uint64_t h;
	int r;

	if (e->kind == STAGE_RENAMED) {
		/* Its base is the source's, which the source's own deletion
		 * checks; the destination had nothing in the project. */
		if ((r = review_side_lower(&cur, c->project_fd, e->path)) < 0) {
			*why = "cannot be read in the project";
			return 0;
		}
		*why = "was created in the project since it was staged";
		return r == 0;
	}
	if ((r = review_side_lower(&cur, c->project_fd, e->path)) < 0) {
		*why = "cannot be read in the project";
		return 0;
	}
	if (!e->has_base) {
		*why = "was created in the project since it was staged";
		return r == 0;
	}
	if (r == 0) {
		*why = "was deleted in the project since it was staged";
		return 0;
	}
	*why = "changed in the project since it was staged";
	if (e->base_hash == 0 && S_ISDIR(cur.mode))
		return 1;
	if (review_side_hash(&cur, c->project_fd, c->upper_fd, &h) != 0)
		return 0;
	return h == e->base_hash;
}

/* ---- planning ---- */

/* Whether some existing parent directory of path in the project is a
 * symlink (walking down from the top; a missing or non-directory
 * component ends the walk: the commit creates or replaces it). */
static int
commit_has_symlink_parent(const struct commit_ctx *c, const char *path)
{
	char anc[PATH_MAX];
	const char *name;
	struct stat sb;
	char *slash;
	int pfd, r;

	if (str_copy(anc, path, sizeof anc) >= sizeof anc)
		return 1;
	for (slash = strchr(anc, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		pfd = stage_open_parent(c->project_fd, anc, &name);
		r = pfd >= 0 ? fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW)
		             : -1;
		if (pfd >= 0)
			close(pfd);
		*slash = '/';
		if (r != 0)
			return errno != ENOENT && errno != ENOTDIR;
		if (S_ISLNK(sb.st_mode))
			return 1;
		if (!S_ISDIR(sb.st_mode))
			return 0;
	}
	return 0;
}

/* Refuse, before any journal exists, a change whose parent directories in
 * the project cannot be reached without a symlink: its operation would
 * fail on every replay. */
static int
commit_preflight(struct commit_ctx *c, const struct review_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (!commit_has_symlink_parent(c, set->v[i].path))
			continue;
		commit_note(c, COMMIT_NOTE_ERROR, set->v[i].path,
		    "a parent directory in the project is a symlink; airlock "
		    "never writes through one");
		errno = ELOOP;
		return -1;
	}
	return 0;
}

static int
commit_is_dir(mode_t m)
{
	return S_ISDIR(m);
}

/* Copy a file that lives elsewhere in the project into the hold dir, so
 * that the commit does not depend on it staying there. */
static char *
commit_hold_copy(struct commit_ctx *c, const struct review_side *s)
{
	char name[32], *arg = NULL;
	int in = -1, out = -1;

	if (c->hold_fd < 0) {
		if (mkdirat(c->session_fd, COMMIT_HOLD, 0700) != 0 &&
		    errno != EEXIST)
			return NULL;
		c->hold_fd = openat(c->session_fd, COMMIT_HOLD,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (c->hold_fd < 0)
			return NULL;
	}
	snprintf(name, sizeof name, "%zu", c->n_ops);
	if ((in = review_side_open(s, c->project_fd, c->upper_fd, O_RDONLY)) <
	    0)
		goto out;
	out = openat(c->hold_fd, name,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 || commit_copy_fd(in, out) != 0 || fsync(out) != 0)
		goto out;
	xasprintf(&arg, "h:%s", name);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return arg;
}

/* The operations that turn the project into the view, in order:
 * removals deepest first, then creations parents first, then drops. */
static int
commit_plan(struct commit_ctx *c, const struct review_set *set)
{
	const struct review_change *ch;
	char target[PATH_MAX], *arg;
	uint64_t h;
	size_t i;

	for (i = set->n; i-- > 0;) {
		ch = &set->v[i];
		if (ch->old.src == REVIEW_NONE)
			continue;
		if (ch->new.src != REVIEW_NONE &&
		    commit_is_dir(ch->old.mode) == commit_is_dir(ch->new.mode))
			continue; /* replaced in place (rename over) */
		commit_op_add(c, S_ISDIR(ch->old.mode) ? OP_RMDIR : OP_UNLINK,
		    0, 0, NULL, ch->path);
	}
	for (i = 0; i < set->n; i++) {
		ch = &set->v[i];
		if (ch->new.src == REVIEW_NONE)
			continue;
		if (S_ISDIR(ch->new.mode)) {
			commit_op_add(c,
			    ch->old.src != REVIEW_NONE && S_ISDIR(ch->old.mode)
			        ? OP_CHMOD
			        : OP_MKDIR,
			    ch->new.mode & 07777, 0, NULL, ch->path);
		} else if (S_ISLNK(ch->new.mode)) {
			if (review_side_readlink(&ch->new, c->project_fd,
			        c->upper_fd, target, sizeof target) < 0)
				return -1;
			commit_op_add(
			    c, OP_SYMLINK, 0, 0, xstrdup(target), ch->path);
		} else if (S_ISREG(ch->new.mode)) {
			if (review_side_hash(
			        &ch->new, c->project_fd, c->upper_fd, &h) != 0)
				return -1;
			if (ch->new.src == REVIEW_UPPER)
				xasprintf(&arg, "u:%s", ch->new.path);
			else if (strcmp(ch->new.path, ch->path) == 0) {
				/* The project's own file: only its mode. */
				commit_op_add(c, OP_CHMOD, ch->new.mode & 07777,
				    0, NULL, ch->path);
				continue;
			} else if ((arg = commit_hold_copy(c, &ch->new)) ==
			    NULL)
				return -1;
			commit_op_add(
			    c, OP_FILE, ch->new.mode & 07777, h, arg, ch->path);
		}
		/* Fifos, sockets, devices: not something a commit makes. */
	}
	for (i = set->n_selected; i-- > 0;)
		commit_op_add(c, OP_DROP, 0, 0, NULL,
		    set->entries[set->selected[i]].path);
	return 0;
}

/* ---- the journal ---- */

static void
commit_journal_line(struct buf *b, const struct commit_op *op)
{
	char *enc;

	buf_addf(b, "%s 0%o %016llx ", commit_op_words[op->kind],
	    (unsigned)op->mode, (unsigned long long)op->hash);
	if (op->arg != NULL) {
		enc = xmalloc(3 * strlen(op->arg) + 1);
		stage_path_encode(enc, op->arg);
		buf_adds(b, enc);
		free(enc);
	} else
		buf_adds(b, "-");
	buf_adds(b, " ");
	enc = xmalloc(3 * strlen(op->path) + 1);
	stage_path_encode(enc, op->path);
	buf_adds(b, enc);
	free(enc);
	buf_adds(b, "\n");
}

static int
commit_journal_write(struct commit_ctx *c)
{
	struct buf b;
	size_t i;
	int fd, rc = -1;

	buf_init(&b);
	buf_adds(&b, "airlock-commit-journal 1\n");
	for (i = 0; i < c->n_ops; i++)
		commit_journal_line(&b, &c->ops[i]);
	buf_adds(&b, "end\n");
	fd = openat(c->session_fd, COMMIT_JOURNAL_NEW,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fd_write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0) {
		close(fd);
		goto out;
	}
	close(fd);
	if (renameat(c->session_fd, COMMIT_JOURNAL_NEW, c->session_fd,
	        COMMIT_JOURNAL) != 0 ||
	    fsync(c->session_fd) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* Parse one journal line into an op; -1 with EBADMSG. */
static int
commit_journal_parse(char *line, struct commit_op *op)
{
	char *f[5], *save = NULL, *end, *tok;
	size_t i, n = 0;

	memset(op, 0, sizeof op[0]);
	for (tok = strtok_r(line, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n == sizeof f / sizeof f[0])
			goto bad;
		f[n++] = tok;
	}
	if (n != sizeof f / sizeof f[0])
		goto bad;
	for (i = 0; i < sizeof commit_op_words / sizeof commit_op_words[0]; i++)
		if (strcmp(f[0], commit_op_words[i]) == 0)
			break;
	if (i == sizeof commit_op_words / sizeof commit_op_words[0])
		goto bad;
	op->kind = (enum commit_op_kind)i;
	op->mode = (mode_t)strtoul(f[1], &end, 8);
	if (*end != '\0')
		goto bad;
	op->hash = strtoull(f[2], &end, 16);
	if (*end != '\0')
		goto bad;
	if (strcmp(f[3], "-") != 0 &&
	    (op->arg = stage_path_decode(f[3], strlen(f[3]))) == NULL)
		goto bad;
	if ((op->path = stage_path_decode(f[4], strlen(f[4]))) == NULL ||
	    !stage_path_is_valid(op->path))
		goto bad;
	if ((op->kind == OP_FILE || op->kind == OP_SYMLINK) && op->arg == NULL)
		goto bad;
	return 0;
bad:
	free(op->arg);
	free(op->path);
	op->arg = op->path = NULL;
	errno = EBADMSG;
	return -1;
}

/* Load SESSION/commit.journal into c->ops.  Returns 1 when there is one,
 * 0 when not, -1 with errno. */
static int
commit_journal_load(struct commit_ctx *c)
{
	struct commit_op op;
	struct stat sb;
	char *data = NULL, *line, *nl;
	ssize_t n;
	int fd, rc = -1, complete = 0;

	/* A journal still being written when the commit died: the project
	 * was not touched yet. */
	unlinkat(c->session_fd, COMMIT_JOURNAL_NEW, 0);
	fd = openat(
	    c->session_fd, COMMIT_JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) != 0)
		goto out;
	data = xmalloc((size_t)sb.st_size + 1);
	if ((n = pread(fd, data, (size_t)sb.st_size, 0)) != sb.st_size) {
		errno = EIO;
		goto out;
	}
	data[n] = '\0';
	errno = EBADMSG;
	line = data;
	if ((nl = strchr(line, '\n')) == NULL)
		goto out;
	*nl = '\0';
	if (strcmp(line, "airlock-commit-journal 1") != 0)
		goto out;
	for (line = nl + 1; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strcmp(line, "end") == 0) {
			complete = 1;
			break;
		}
		if (commit_journal_parse(line, &op) != 0)
			goto out;
		commit_op_add(c, op.kind, op.mode, op.hash, op.arg, op.path);
		free(op.path);
	}
	if (!complete)
		goto out;
	rc = 1;
out:
	free(data);
	close(fd);
	return rc;
}

/* ---- applying ---- */

/* Note that parent's entries changed.  Directories are fsynced once, at
 * the end, before the journal goes: until then a replay would redo any
 * rename that a power loss took back. */
static void
commit_dir_dirty(struct commit_ctx *c, const char *parent)
{
	if (c->n_dirty > 0 && strcmp(c->dirty[c->n_dirty - 1], parent) == 0)
		return;
	if (c->n_dirty == c->cap_dirty) {
		c->cap_dirty = c->cap_dirty == 0 ? 64 : c->cap_dirty * 2;
		c->dirty = xrealloc(c->dirty, c->cap_dirty * sizeof *c->dirty);
	}
	c->dirty[c->n_dirty++] = xstrdup(parent);
}

static int
commit_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
commit_dirty_free(struct commit_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_dirty; i++)
		free(c->dirty[i]);
	free(c->dirty);
	c->dirty = NULL;
	c->n_dirty = c->cap_dirty = 0;
}

/* fsync every dirty directory (one that is gone needs none: its parent
 * is dirty too). */
static int
commit_sync_dirs(struct commit_ctx *c)
{
	size_t i;
	int fd, rc = 0;

	if (c->n_dirty > 0)
		qsort(c->dirty, c->n_dirty, sizeof *c->dirty, commit_str_cmp);
	for (i = 0; i < c->n_dirty; i++) {
		if (i > 0 && strcmp(c->dirty[i], c->dirty[i - 1]) == 0)
			continue;
		if (c->dirty[i][0] == '\0')
			fd = dup(c->project_fd);
		else
			fd = stage_open_beneath(c->project_fd, c->dirty[i],
			    O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0) {
			if (errno != ENOENT && errno != ENOTDIR)
				rc = -1;
			continue;
		}
		if (fsync(fd) != 0)
			rc = -1;
		close(fd);
	}
	commit_dirty_free(c);
	return rc;
}

/* Remove temporary files a killed commit left in the directory pfd. */
static void
commit_sweep_tmp(struct commit_ctx *c, int pfd, const char *parent)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (c->cleaned != NULL && strcmp(c->cleaned, parent) == 0)
		return;
	free(c->cleaned);
	c->cleaned = xstrdup(parent);
	if ((fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, COMMIT_TMP_PREFIX,
		        sizeof COMMIT_TMP_PREFIX - 1) == 0)
			unlinkat(pfd, de->d_name, 0);
	closedir(d);
}

static int
commit_open_source(struct commit_ctx *c, const char *arg)
{
	if (strncmp(arg, "u:", 2) == 0)
		return stage_open_beneath(c->upper_fd, arg + 2, O_RDONLY, 0);
	if (strncmp(arg, "h:", 2) == 0 && c->hold_fd >= 0 &&
	    strchr(arg + 2, '/') == NULL)
		return openat(
		    c->hold_fd, arg + 2, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	errno = ENOENT;
	return -1;
}

/* Whether pfd/name already is the file op wants (a replay's check). */
static int
commit_file_is_done(int pfd, const char *name, const struct commit_op *op)
{
	struct stat sb;
	uint64_t h;
	int fd, done = 0;

	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(sb.st_mode))
		return 0;
	fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (stage_hash_fd(fd, &h) == 0 && h == op->hash)
		done = fchmod(fd, op->mode) == 0;
	close(fd);
	return done;
}

static int
commit_apply_file(
    struct commit_ctx *c, int pfd, const char *name, const struct commit_op *op)
{
	char tmp[64];
	struct stat old;
	int in = -1, out = -1, rc = -1, had_old;

	if (commit_file_is_done(pfd, name, op))
		return 0;
	had_old = fstatat(pfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if ((in = commit_open_source(c, op->arg)) < 0)
		goto out;
	snprintf(tmp, sizeof tmp, "%s%ld-%u", COMMIT_TMP_PREFIX, (long)getpid(),
	    c->n_tmp++);
	out = openat(pfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		goto out;
	if (commit_copy_fd(in, out) != 0 || fchmod(out, op->mode) != 0)
		goto fail_tmp;
	/* Keep the owner of the file it replaces, when we may. */
	if (had_old && geteuid() == 0 && fchown(out, old.st_uid, old.st_gid))
		goto fail_tmp;
	if (fsync(out) != 0)
		goto fail_tmp;
	commit_step(c);
	if (renameat(pfd, tmp, pfd, name) != 0)
		goto fail_tmp;
	rc = 0;
	goto out;
fail_tmp:
	unlinkat(pfd, tmp, 0);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int
commit_apply_symlink(
    struct commit_ctx *c, int pfd, const char *name, const struct commit_op *op)
{
	char cur[PATH_MAX], tmp[64];
	ssize_t n;

	n = readlinkat(pfd, name, cur, sizeof cur - 1);
	if (n >= 0) {
		cur[n] = '\0';
		if (strcmp(cur, op->arg) == 0)
			return 0;
	}
	snprintf(tmp, sizeof tmp, "%s%ld-%u", COMMIT_TMP_PREFIX, (long)getpid(),
	    c->n_tmp++);
	if (symlinkat(op->arg, pfd, tmp) != 0)
		return -1;
	commit_step(c);
	if (renameat(pfd, tmp, pfd, name) != 0) {
		unlinkat(pfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* chmod name under pfd, never through a symlink. */
static int
commit_apply_chmod(int pfd, const char *name, mode_t mode)
{
	struct stat sb;

	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (S_ISLNK(sb.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	if ((sb.st_mode & 07777) == mode)
		return 0;
	return fchmodat(pfd, name, mode, 0);
}

static int
commit_apply_op(struct commit_ctx *c, const struct commit_op *op)
{
	char parent[PATH_MAX];
	const char *name, *slash;
	struct stat sb;
	int pfd, rc = -1;

	if (op->kind == OP_DROP) {
		rc = stage_drop(c->st, op->path);
		goto done;
	}
	if ((pfd = stage_open_parent(c->project_fd, op->path, &name)) < 0) {
		/* Nothing to remove under a parent that is gone. */
		if ((op->kind == OP_UNLINK || op->kind == OP_RMDIR) &&
		    errno == ENOENT)
			rc = 0;
		goto done;
	}
	slash = strrchr(op->path, '/');
	snprintf(parent, sizeof parent, "%.*s",
	    slash != NULL ? (int)(slash - op->path) : 0, op->path);
	commit_sweep_tmp(c, pfd, parent);
	commit_dir_dirty(c, parent);
	switch (op->kind) {
	case OP_UNLINK:
		rc = unlinkat(pfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
		break;
	case OP_RMDIR:
		rc = unlinkat(pfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT
		    ? 0
		    : -1;
		break;
	case OP_MKDIR:
		if (mkdirat(pfd, name, op->mode) != 0 &&
		    (errno != EEXIST ||
		        fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		        !S_ISDIR(sb.st_mode)))
			break;
		rc = commit_apply_chmod(pfd, name, op->mode);
		break;
	case OP_CHMOD:
		rc = commit_apply_chmod(pfd, name, op->mode);
		break;
	case OP_FILE:
		rc = commit_apply_file(c, pfd, name, op);
		break;
	case OP_SYMLINK:
		rc = commit_apply_symlink(c, pfd, name, op);
		break;
	case OP_DROP:
		break;
	}
	close(pfd);
done:
	if (rc == 0)
		commit_step(c);
	return rc;
}

/* Apply c->ops, then retire the journal.  Stops at the first failure,
 * leaving the journal for the next run. */
static int
commit_apply_all(struct commit_ctx *c)
{
	char why[PATH_MAX + 64];
	size_t i;
	int saved;

	for (i = 0; i < c->n_ops; i++) {
		if (commit_apply_op(c, &c->ops[i]) != 0) {
			saved = errno;
			snprintf(why, sizeof why, "%s: %s",
			    commit_op_words[c->ops[i].kind], strerror(saved));
			commit_note(c, COMMIT_NOTE_ERROR, c->ops[i].path, why);
			errno = saved;
			return -1;
		}
	}
	/* Everything renamed into place is durable before the hold copies
	 * and the journal go. */
	if (commit_sync_dirs(c) != 0)
		return -1;
	if (c->hold_fd >= 0) {
		struct dirent *de;
		DIR *d;
		int fd =
		    openat(c->hold_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
			while ((de = readdir(d)) != NULL)
				if (de->d_name[0] != '.')
					unlinkat(c->hold_fd, de->d_name, 0);
			closedir(d);
		} else if (fd >= 0)
			close(fd);
		unlinkat(c->session_fd, COMMIT_HOLD, AT_REMOVEDIR);
		close(c->hold_fd);
		c->hold_fd = -1;
	}
	if (unlinkat(c->session_fd, COMMIT_JOURNAL, 0) != 0 && errno != ENOENT)
		return -1;
	if (stage_sync(c->st) != 0)
		return -1;
	return fsync(c->session_fd);
}

int
commit_run(struct stage *st, int session_fd, int project_fd,
    const struct commit_opts *opts)
{
	struct commit_ctx c;
	struct review_set set;
	const struct stage_entry *e;
	const char *why, *env;
	size_t i;
	int rc = -1, r, has_set = 0, n_conflicts = 0;

	memset(&c, 0, sizeof c);
	c.st = st;
	c.session_fd = session_fd;
	c.project_fd = project_fd;
	c.upper_fd = stage_upper_fd(st);
	c.opts = opts;
	c.hold_fd = openat(session_fd, COMMIT_HOLD,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if ((env = getenv("AIRLOCK_TEST_COMMIT_CRASH_AFTER")) != NULL)
		c.crash_after = strtol(env, NULL, 10);

	/* First finish what an interrupted commit started. */
	if ((r = commit_journal_load(&c)) < 0)
		goto out;
	if (r > 0) {
		if (opts->dry_run) {
			commit_note(&c, COMMIT_NOTE_ERROR, COMMIT_JOURNAL,
			    "an interrupted commit must be completed first "
			    "(run without --dry-run)");
			errno = EAGAIN;
			goto out;
		}
		if (commit_apply_all(&c) != 0)
			goto out;
		commit_note(&c, COMMIT_NOTE_REPLAY, NULL, NULL);
		commit_ops_free(&c);
	}

	if (review_collect(
	        st, project_fd, opts->filters, opts->n_filters, &set) != 0)
		goto out;
	has_set = 1;
	for (i = 0; i < set.n_selected && !opts->force; i++) {
		e = &set.entries[set.selected[i]];
		if (!commit_is_current(&c, e, &why)) {
			commit_note(&c, COMMIT_NOTE_CONFLICT, e->path, why);
			n_conflicts++;
		}
	}
	if (n_conflicts > 0) {
		rc = 1;
		goto out;
	}
	if (commit_preflight(&c, &set) != 0)
		goto out;
	if (opts->gate != NULL && set.n > 0 &&
	    (r = opts->gate(opts->arg, &set, project_fd, c.upper_fd)) != 0) {
		rc = r > 0 ? 2 : -1;
		goto out;
	}
	for (i = 0; i < set.n; i++)
		commit_note(&c, COMMIT_NOTE_APPLY, set.v[i].path,
		    review_change_status(&set.v[i]));
	if (opts->dry_run) {
		rc = 0;
		goto out;
	}
	if (commit_plan(&c, &set) != 0 || commit_journal_write(&c) != 0)
		goto out;
	if (commit_apply_all(&c) != 0)
		goto out;
	rc = 0;
out:
	if (has_set)
		review_set_free(&set);
	commit_ops_free(&c);
	free(c.cleaned);
	commit_dirty_free(&c);
	if (c.hold_fd >= 0)
		close(c.hold_fd);
	return rc;
}
