/*
 * diff: from staged entries to concrete changes, and from changes to a
 * git-style diff printed by git itself (see diff.h).
 */
#include "config.h"

#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "policy.h"
#include "runs_later.h"
#include "util.h"

#define REVIEW_COPY_CHUNK (128 * 1024)

/* ---- collecting changes ---- */

struct review_ctx {
	int project_fd;
	int upper_fd;
	const struct stage_entry *entries;
	size_t n_entries;
	char **paths; /* touched paths, possibly repeated */
	size_t n_paths, cap_paths;
};

static int
review_entry_cmp(const void *key, const void *elem)
{
	const struct stage_entry *e = elem;

	return strcmp(key, e->path);
}

static const struct stage_entry *
review_lookup(const struct review_ctx *c, const char *path)
{
	return bsearch(path, c->entries, c->n_entries, sizeof *c->entries,
	    review_entry_cmp);
}

static void
review_touch(struct review_ctx *c, char *path_owned)
{
	if (c->n_paths == c->cap_paths) {
		c->cap_paths = c->cap_paths == 0 ? 64 : c->cap_paths * 2;
		c->paths = xrealloc(c->paths, c->cap_paths * sizeof *c->paths);
	}
	c->paths[c->n_paths++] = path_owned;
}

/* lstat path under root without following any symlink.  Returns 1 when
 * something is there, 0 when nothing is (or a parent is not a directory),
 * -1 with errno on another error. */
static int
review_lstat(int root, const char *path, struct stat *sb)
{
	const char *name;
	int pfd, rc;

	if ((pfd = stage_open_parent(root, path, &name)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
		    errno == EXDEV)
			return 0;
		return -1;
	}
	rc = fstatat(pfd, name, sb, AT_SYMLINK_NOFOLLOW) == 0 ? 1 : -1;
	if (rc < 0 && (errno == ENOENT || errno == ENOTDIR))
		rc = 0;
	close(pfd);
	return rc;
}

static int
review_side_set(
    struct review_side *side, enum review_src src, int root, const char *path)
{
	struct stat sb;
	int r;

	memset(side, 0, sizeof *side);
	if ((r = review_lstat(root, path, &sb)) <= 0)
		return r;
	side->src = src;
	side->path = path;
	side->mode = sb.st_mode;
	side->size = sb.st_size;
	return 1;
}

int
review_side_lower(struct review_side *side, int project_fd, const char *path)
{
	return review_side_set(side, REVIEW_LOWER, project_fd, path);
}

/*
 * What the agent's view holds at path.  *storage receives a path the side
 * points into when it is not path itself (a renamed source).
 */
static int
review_view(const struct review_ctx *c, const char *path,
    struct review_side *side, char **storage)
{
	const struct stage_entry *e, *a;
	char anc[PATH_MAX], *slash;
	int r;

	memset(side, 0, sizeof *side);
	*storage = NULL;
	if ((e = review_lookup(c, path)) != NULL) {
		if (e->kind == STAGE_DELETED)
			return 0;
		r = review_side_set(side, REVIEW_UPPER, c->upper_fd, path);
		if (r == 0 && e->kind == STAGE_RENAMED) {
			*storage = xstrdup(e->from);
			r = review_side_set(
			    side, REVIEW_LOWER, c->project_fd, *storage);
		} else if (r == 0)
			r = review_side_set(
			    side, REVIEW_LOWER, c->project_fd, path);
		/* The manifest's mode is the staged one; trust it over the
		 * file's when both name the same type. */
		if (r > 0 && e->mode != 0 &&
		    (e->mode & S_IFMT) == (side->mode & S_IFMT))
			side->mode = e->mode;
		return r;
	}

	/* No entry: the nearest ancestor with one decides. */
	if (str_copy(anc, path, sizeof anc) >= sizeof anc) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while ((slash = strrchr(anc, '/')) != NULL) {
		*slash = '\0';
		if ((a = review_lookup(c, anc)) == NULL)
			continue;
		if ((r = review_side_set(
		         side, REVIEW_UPPER, c->upper_fd, path)) != 0)
			return r;
		if (a->kind == STAGE_DELETED || a->is_opaque ||
		    (a->mode & S_IFMT) != S_IFDIR)
			return 0;
		if (a->kind == STAGE_RENAMED) {
			xasprintf(storage, "%s%s", a->from, path + strlen(anc));
			return review_side_set(
			    side, REVIEW_LOWER, c->project_fd, *storage);
		}
		break;
	}
	return review_side_set(side, REVIEW_LOWER, c->project_fd, path);
}

/* Touch every descendant of dir (relative to root) as prefix + "/" +
 * relative name. */
static int
review_touch_tree(
    struct review_ctx *c, int root, const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d;
	char *sub, *as;
	int fd, rc = -1;

	if ((fd = stage_open_beneath(root, dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&sub, "%s/%s", dir, de->d_name);
		xasprintf(&as, "%s/%s", prefix, de->d_name);
		if (strlen(sub) >= PATH_MAX || strlen(as) >= PATH_MAX) {
			free(sub);
			free(as);
			errno = ENAMETOOLONG;
			goto out;
		}
		review_touch(c, xstrdup(as));
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			struct stat sb;

			if (fstatat(dirfd(d), de->d_name, &sb,
			        AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(sb.st_mode) &&
			    review_touch_tree(c, root, sub, as) != 0) {
				free(sub);
				free(as);
				goto out;
			}
		}
		free(sub);
		free(as);
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int
review_path_matches(const char *path, char *const *filters, size_t n_filters)
{
	size_t i, len;

	if (n_filters == 0)
		return 1;
	for (i = 0; i < n_filters; i++) {
		len = strlen(filters[i]);
		while (len > 0 && filters[i][len - 1] == '/')
			len--;
		if (len == 0)
			return 1;
		if (strncmp(path, filters[i], len) == 0 &&
		    (path[len] == '\0' || path[len] == '/'))
			return 1;
	}
	return 0;
}

/* Keep the entries of path's parent directories (not deletions). */
static void
review_keep_parents(struct review_set *set, char *keep, const char *path)
{
	const struct stage_entry *a;
	char anc[PATH_MAX], *slash;

	if (str_copy(anc, path, sizeof anc) >= sizeof anc)
		return;
	while ((slash = strrchr(anc, '/')) != NULL) {
		*slash = '\0';
		a = bsearch(anc, set->entries, (size_t)set->n_entries,
		    sizeof *set->entries, review_entry_cmp);
		if (a != NULL && a->kind != STAGE_DELETED)
			keep[a - set->entries] = 1;
	}
}

/* Pick the entries the filters keep, with rename pairs kept together. */
static void
review_select(struct review_set *set, char *const *filters, size_t n_filters)
{
	const struct stage_entry *e, *f;
	char *keep;
	size_t i, j;

	keep = xcalloc((size_t)set->n_entries + 1, 1);
	for (i = 0; i < (size_t)set->n_entries; i++)
		keep[i] = (char)review_path_matches(
		    set->entries[i].path, filters, n_filters);
	for (i = 0; i < (size_t)set->n_entries && n_filters > 0; i++)
		if (keep[i])
			review_keep_parents(set, keep, set->entries[i].path);
	for (i = 0; i < (size_t)set->n_entries; i++) {
		e = &set->entries[i];
		if (e->kind != STAGE_RENAMED)
			continue;
		for (j = 0; j < (size_t)set->n_entries; j++) {
			f = &set->entries[j];
			if (strcmp(f->path, e->from) == 0 &&
			    (keep[i] || keep[j]))
				keep[i] = keep[j] = 1;
		}
	}
	set->selected =
	    xcalloc((size_t)set->n_entries + 1, sizeof *set->selected);
	for (i = 0; i < (size_t)set->n_entries; i++)
		if (keep[i])
			set->selected[set->n_selected++] = i;
	free(keep);
}

static int
review_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths an entry touches beyond its own. */
static int
review_expand(struct review_ctx *c, const struct stage_entry *e)
{
	struct review_side old, new;
	char *storage = NULL;
	int rc = -1;

	review_touch(c, xstrdup(e->path));
	if (e->kind == STAGE_RENAMED)
		review_touch(c, xstrdup(e->from));
	if (review_side_set(&old, REVIEW_LOWER, c->project_fd, e->path) < 0)
		goto out;
	if (review_view(c, e->path, &new, &storage) < 0)
		goto out;
	/* A project directory that the view deletes, replaces or fills from
	 * elsewhere: each of its files changes. */
	if (old.src != REVIEW_NONE && S_ISDIR(old.mode) &&
	    (new.src == REVIEW_NONE || !S_ISDIR(new.mode) || e->is_opaque ||
	        e->kind == STAGE_DELETED || e->kind == STAGE_RENAMED) &&
	    review_touch_tree(c, c->project_fd, e->path, e->path) != 0)
		goto out;
	if (e->kind == STAGE_RENAMED) {
		struct review_side from;

		if (review_side_set(
		        &from, REVIEW_LOWER, c->project_fd, e->from) < 0)
			goto out;
		if (from.src != REVIEW_NONE && S_ISDIR(from.mode) &&
		    (review_touch_tree(c, c->project_fd, e->from, e->from) !=
		            0 ||
		        review_touch_tree(c, c->project_fd, e->from, e->path) !=
		            0))
			goto out;
	}
	if (new.src == REVIEW_UPPER && S_ISDIR(new.mode) &&
	    review_touch_tree(c, c->upper_fd, e->path, e->path) != 0)
		goto out;
	rc = 0;
out:
	free(storage);
	return rc;
}

/* Whether old and new are the same thing (no change to apply). */
static int
review_is_same(const struct review_change *ch)
{
	if (ch->old.src == REVIEW_NONE || ch->new.src == REVIEW_NONE)
		return ch->old.src == ch->new.src;
	if ((ch->old.mode & S_IFMT) != (ch->new.mode &S_IFMT))
		return 0;
	if (S_ISDIR(ch->old.mode))
		return (ch->old.mode & 07777) == (ch->new.mode & 07777);
	return ch->new.src == REVIEW_LOWER &&strcmp(ch->new.path, ch->path) ==
	    0 &&
	    (ch->old.mode & 07777) == (ch->new.mode & 07777);
}

int
review_collect(struct stage *st, int project_fd, char *const *filters,
    size_t n_filters, struct review_set *out)
{
	struct review_ctx c;
	struct review_change *ch;
	size_t i, n;
	int rc = -1, r;

	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	if ((out->n_entries = stage_list(st, &out->entries)) < 0)
		return -1;
	c.project_fd = project_fd;
	c.upper_fd = stage_upper_fd(st);
	c.entries = out->entries;
	c.n_entries = (size_t)out->n_entries;
	review_select(out, filters, n_filters);
	for (i = 0; i < out->n_selected; i++)
		if (review_expand(&c, &out->entries[out->selected[i]]) != 0)
			goto out;

	if (c.n_paths > 0)
		qsort(c.paths, c.n_paths, sizeof *c.paths, review_str_cmp);
	out->v = xcalloc(c.n_paths + 1, sizeof *out->v);
	for (i = 0; i < c.n_paths; i++) {
		if (i > 0 && strcmp(c.paths[i], c.paths[i - 1]) == 0)
			continue;
		ch = &out->v[out->n];
		ch->path = xstrdup(c.paths[i]);
		if (review_side_set(
		        &ch->old, REVIEW_LOWER, project_fd, ch->path) < 0)
			goto fail_change;
		if ((r = review_view(&c, ch->path, &ch->new, &ch->src_path)) <
		    0)
			goto fail_change;
		if (r > 0 && ch->new.path == NULL)
			ch->new.path = ch->path;
		if (ch->old.src != REVIEW_NONE)
			ch->old.path = ch->path;
		if (ch->new.src != REVIEW_NONE && ch->src_path == NULL)
			ch->new.path = ch->path;
		ch->entry = review_lookup(&c, ch->path);
		if (review_is_same(ch)) {
			free(ch->path);
			free(ch->src_path);
			memset(ch, 0, sizeof *ch);
			continue;
		}
		out->n++;
		continue;
	fail_change:
		free(ch->path);
		free(ch->src_path);
		memset(ch, 0, sizeof *ch);
		goto out;
	}
	rc = 0;
out:
	for (n = 0; n < c.n_paths; n++)
		free(c.paths[n]);
	free(c.paths);
	if (rc != 0)
		review_set_free(out);
	return rc;
}

void
review_set_free(struct review_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->v[i].path);
		free(set->v[i].src_path);
	}
	free(set->v);
	free(set->selected);
	stage_list_free(set->entries, set->n_entries);
	memset(set, 0, sizeof *set);
}

int
review_side_open(
    const struct review_side *side, int project_fd, int upper_fd, int flags)
{
	int root = side->src == REVIEW_UPPER ? upper_fd : project_fd;

	if (side->src == REVIEW_NONE) {
		errno = ENOENT;
		return -1;
	}
	if (S_ISREG(side->mode))
		return stage_open_beneath(root, side->path, flags, 0);
	return stage_open_beneath(root, side->path, O_PATH, 0);
}

ssize_t
review_side_readlink(const struct review_side *side, int project_fd,
    int upper_fd, char *buf, size_t len)
{
	const char *name;
	ssize_t n = -1;
	int pfd;

	if (side->src == REVIEW_NONE || !S_ISLNK(side->mode)) {
		errno = EINVAL;
		return -1;
	}
	pfd =
	    stage_open_parent(side->src == REVIEW_UPPER ? upper_fd : project_fd,
	        side->path, &name);
	if (pfd < 0)
		return -1;
	n = readlinkat(pfd, name, buf, len);
	close(pfd);
	if (n >= 0 && (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int
review_side_hash(
    const struct review_side *side, int project_fd, int upper_fd, uint64_t *out)
{
	char target[PATH_MAX];
	ssize_t n;
	int fd, rc;

	if (S_ISDIR(side->mode)) {
		*out = 0;
		return 0;
	}
	if (S_ISLNK(side->mode)) {
		n = review_side_readlink(
		    side, project_fd, upper_fd, target, sizeof target);
		if (n < 0)
			return -1;
		*out = XXH3_64bits(target, (size_t)n);
		return 0;
	}
	if ((fd = review_side_open(side, project_fd, upper_fd, O_RDONLY)) < 0)
		return -1;
	rc = stage_hash_fd(fd, out);
	close(fd);
	return rc;
}

/* ---- session.json ---- */

static const char *
review_json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Parse a JSON string at p into out (when non-NULL); returns the byte
 * after it or NULL.  \u escapes outside ASCII are refused: a project
 * path that needs them is not one this reader guesses at. */
static const char *
review_json_string(const char *p, char *out, size_t len)
{
	size_t n = 0;
	unsigned v;
	char c;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if (*p == '\0')
			return NULL;
		c = *p++;
		if (c == '\\') {
			switch (*p++) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case '/':
				c = '/';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u':
				if (sscanf(p, "%4x", &v) != 1 || v == 0 ||
				    v > 0x7f)
					return NULL;
				p += 4;
				c = (char)v;
				break;
			default:
				return NULL;
			}
		}
		if (out != NULL) {
			if (n + 1 >= len)
				return NULL;
			out[n++] = c;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	return p + 1;
}

/* Skip one JSON value (not validating numbers and literals closely). */
static const char *
review_json_skip(const char *p)
{
	int depth = 0;

	p = review_json_ws(p);
	do {
		if (*p == '"') {
			if ((p = review_json_string(p, NULL, 0)) == NULL)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (*p == '\0')
			return NULL;
		else {
			while (*p != '\0' && *p != ',' && *p != '}' &&
			    *p != ']' && *p != '"' && *p != '{' && *p != '[')
				p++;
		}
		if (depth > 0)
			while (*p == ',' || *p == ':' || *p == ' ' ||
			    *p == '\n' || *p == '\t' || *p == '\r')
				p++;
	} while (depth > 0);
	return p;
}

int
review_session_string(
    const char *session_dir, const char *want, char *out, size_t len)
{
	char key[64], *data = NULL;
	const char *p;
	int dfd = -1, fd = -1, rc = -1;
	struct stat sb;
	ssize_t n;

	if ((dfd = open(session_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	if ((fd = openat(
	         dfd, "session.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto out;
	if (fstat(fd, &sb) != 0)
		goto out;
	if (sb.st_size > 1024 * 1024) {
		errno = EFBIG;
		goto out;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	if ((n = pread(fd, data, (size_t)sb.st_size, 0)) < 0)
		goto out;
	data[n] = '\0';
	errno = EBADMSG;
	p = review_json_ws(data);
	if (*p++ != '{')
		goto out;
	for (;;) {
		p = review_json_ws(p);
		if (*p == '}') {
			errno = ENOENT;
			goto out;
		}
		if ((p = review_json_string(p, key, sizeof key)) == NULL) {
			errno = EBADMSG;
			goto out;
		}
		p = review_json_ws(p);
		if (*p++ != ':')
			goto out;
		p = review_json_ws(p);
		if (strcmp(key, want) == 0) {
			if (review_json_string(p, out, len) == NULL)
				goto out;
			rc = 0;
			goto out;
		}
		if ((p = review_json_skip(p)) == NULL)
			goto out;
		p = review_json_ws(p);
		if (*p == ',')
			p++;
		else if (*p != '}')
			goto out;
	}
out:
	free(data);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int
review_project_path(const char *session_dir, char *out, size_t len)
{
	if (review_session_string(session_dir, "project", out, len) != 0)
		return -1;
	if (out[0] != '/') {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* ---- what a change amounts to ---- */

const char *
review_change_status(const struct review_change *ch)
{
	if (ch->old.src == REVIEW_NONE)
		return review_change_from(ch) != NULL ? "R" : "A";
	if (ch->new.src == REVIEW_NONE)
		return "D";
	if ((ch->old.mode & S_IFMT) != (ch->new.mode &S_IFMT))
		return "T";
	return "M";
}

const char *
review_change_from(const struct review_change *ch)
{
	if (ch->old.src != REVIEW_NONE || ch->new.src == REVIEW_NONE)
		return NULL;
	if (ch->new.src == REVIEW_LOWER && strcmp(ch->new.path, ch->path) != 0)
		return ch->new.path;
	if (ch->entry != NULL && ch->entry->kind == STAGE_RENAMED)
		return ch->entry->from; /* renamed, then edited */
	return NULL;
}

unsigned
review_change_ops(const struct review_change *ch)
{
	unsigned ops = 0;

	if (ch->old.src == REVIEW_NONE && ch->new.src == REVIEW_NONE)
		return 0;
	if (review_change_from(ch) != NULL)
		ops |= FS_OP_RENAME;
	if (ch->old.src == REVIEW_NONE)
		return ops | FS_OP_CREATE |
		    (S_ISREG(ch->new.mode) ? FS_OP_WRITE : 0);
	if (ch->new.src == REVIEW_NONE)
		return ops | FS_OP_DELETE;
	if ((ch->old.mode & S_IFMT) != (ch->new.mode &S_IFMT))
		return ops | FS_OP_DELETE | FS_OP_CREATE |
		    (S_ISREG(ch->new.mode) ? FS_OP_WRITE : 0);
	if ((ch->old.mode & 07777) != (ch->new.mode & 07777))
		ops |= FS_OP_CHMOD;
	if (S_ISLNK(ch->new.mode))
		ops |= FS_OP_DELETE | FS_OP_CREATE;
	else if (S_ISREG(ch->new.mode) &&
	    (ch->new.src == REVIEW_UPPER ||
	        strcmp(ch->new.path, ch->path) != 0))
		ops |= FS_OP_WRITE;
	return ops;
}

#define REVIEW_PACKAGE_MAX (4 * 1024 * 1024)

/* A side's content, for package.json: *out is NULL for no file, else a
 * buffer the caller frees.  Returns 0, 1 when the side cannot be checked
 * (not a regular file, or too large: *why says), or -1 with errno. */
static int
review_side_slurp(const struct review_side *s, int project_fd, int upper_fd,
    char **out, size_t *len, const char **why)
{
	struct stat sb;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	*len = 0;
	if (s->src == REVIEW_NONE)
		return 0;
	if (!S_ISREG(s->mode)) {
		*why = "package.json that is not a regular file: its lifecycle "
		       "scripts cannot be checked";
		return 1;
	}
	if ((fd = review_side_open(s, project_fd, upper_fd, O_RDONLY)) < 0)
		return -1;
	if (fstat(fd, &sb) != 0)
		goto out;
	if (sb.st_size > REVIEW_PACKAGE_MAX) {
		*why = "package.json larger than 4 MiB: its lifecycle scripts "
		       "are not checked";
		rc = 1;
		goto out;
	}
	*out = xmalloc((size_t)sb.st_size + 1);
	if ((n = pread(fd, *out, (size_t)sb.st_size, 0)) != sb.st_size) {
		if (n >= 0)
			errno = EIO; /* changed while we read it */
		free(*out);
		*out = NULL;
		goto out;
	}
	*len = (size_t)n;
	rc = 0;
out:
	close(fd);
	return rc;
}

int
review_change_runs_later(const struct review_change *ch, int project_fd,
    int upper_fd, char *why, size_t why_len)
{
	char *a = NULL, *b = NULL;
	const char *w = NULL;
	size_t alen, blen;
	int rc = -1, r;

	if ((ch->old.src == REVIEW_NONE || S_ISDIR(ch->old.mode)) &&
	    (ch->new.src == REVIEW_NONE || S_ISDIR(ch->new.mode)))
		return 0;
	if ((w = runs_later_path(ch->path)) == NULL &&
	    ch->new.src != REVIEW_NONE &&S_ISLNK(ch->new.mode))
		w = runs_later_ancestor(ch->path);
	if (w != NULL) {
		str_copy(why, w, why_len);
		return 1;
	}
	if (!runs_later_by_content(ch->path))
		return 0;
	if ((r = review_side_slurp(
	         &ch->old, project_fd, upper_fd, &a, &alen, &w)) < 0 ||
	    (r == 0 &&
	        (r = review_side_slurp(
	             &ch->new, project_fd, upper_fd, &b, &blen, &w)) < 0))
		goto out;
	if (r == 1) {
		str_copy(why, w, why_len);
		rc = 1;
		goto out;
	}
	rc = runs_later_package_json(a, alen, b, blen, why, why_len);
out:
	free(a);
	free(b);
	return rc;
}

/* ---- printing through git ---- */

/* The environment git runs in: nobody's config, no pager, no external
 * diff driver (any of which could change the output or run a program). */
static char **
diff_git_env(void)
{
	const char *path = getenv("PATH");
	char **env = xcalloc(8, sizeof *env);

	xasprintf(&env[0], "PATH=%s",
	    path != NULL ? path : "/usr/local/bin:/usr/bin:/bin");
	env[1] = xstrdup("GIT_CONFIG_NOSYSTEM=1");
	env[2] = xstrdup("GIT_CONFIG_GLOBAL=/dev/null");
	env[3] = xstrdup("HOME=/nonexistent");
	env[4] = xstrdup("LC_ALL=C");
	env[5] = xstrdup("GIT_TERMINAL_PROMPT=0");
	env[6] = xstrdup("GIT_PAGER=cat");
	return env;
}

static void
diff_env_free(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Start argv with stdin from in_fd (-1: /dev/null) and stdout to out_fd
 * (-1: /dev/null).  Returns the pid or -1. */
static pid_t
diff_spawn(char *const argv[], int in_fd, int out_fd)
{
	char **env;
	pid_t pid;
	int null;

	env = diff_git_env();
	if ((pid = fork()) < 0) {
		diff_env_free(env);
		return -1;
	}
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		if (dup2(in_fd >= 0 ? in_fd : null, 0) < 0 ||
		    dup2(out_fd >= 0 ? out_fd : null, 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv[0], argv, env);
		fprintf(stderr, "airlock: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	diff_env_free(env);
	return pid;
}

static int
diff_wait(pid_t pid, int ok_status_mask)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) &&
	    ((1 << WEXITSTATUS(status)) & ok_status_mask) != 0)
		return 0;
	errno = ECHILD;
	return -1;
}

/* A path as fast-import reads it: C-style quoted, always. */
static void
diff_quote_path(struct buf *b, const char *path)
{
	const unsigned char *p;

	buf_adds(b, "\"");
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			buf_addf(b, "\\%03o", *p);
		else
			buf_add(b, p, 1);
	}
	buf_adds(b, "\"");
}

/* Stream exactly size bytes of fd into out_fd. */
static int
diff_copy_fd(int fd, off_t size, int out_fd)
{
	char *chunk;
	off_t off = 0;
	ssize_t r;
	int rc = -1;

	chunk = xmalloc(REVIEW_COPY_CHUNK);
	while (off < size) {
		r = pread(fd, chunk,
		    (size_t)(size - off) < REVIEW_COPY_CHUNK
		        ? (size_t)(size - off)
		        : REVIEW_COPY_CHUNK,
		    off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* shrank while we read it */
			goto out;
		}
		if (fd_write_all(out_fd, chunk, (size_t)r) != 0)
			goto out;
		off += r;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/* One side's file into the fast-import stream. */
static int
diff_emit_side(const struct review_change *ch, const struct review_side *s,
    int project_fd, int upper_fd, int out_fd)
{
	char target[PATH_MAX];
	struct buf b;
	struct stat sb;
	ssize_t n;
	int fd = -1, rc = -1;

	if (s->src == REVIEW_NONE || S_ISDIR(s->mode))
		return 0;
	if (!S_ISREG(s->mode) && !S_ISLNK(s->mode))
		return 0; /* fifos and devices: git has no word for them */
	buf_init(&b);
	if (S_ISLNK(s->mode)) {
		n = review_side_readlink(
		    s, project_fd, upper_fd, target, sizeof target);
		if (n < 0)
			goto out;
		buf_adds(&b, "M 120000 inline ");
		diff_quote_path(&b, ch->path);
		buf_addf(&b, "\ndata %zd\n", n);
		buf_add(&b, target, (size_t)n);
		buf_adds(&b, "\n");
		rc = fd_write_all(out_fd, b.data, b.len);
		goto out;
	}
	if ((fd = review_side_open(s, project_fd, upper_fd, O_RDONLY)) < 0 ||
	    fstat(fd, &sb) != 0)
		goto out;
	buf_addf(&b, "M %s inline ", (s->mode & S_IXUSR) ? "100755" : "100644");
	diff_quote_path(&b, ch->path);
	buf_addf(&b, "\ndata %lld\n", (long long)sb.st_size);
	if (fd_write_all(out_fd, b.data, b.len) != 0 ||
	    diff_copy_fd(fd, sb.st_size, out_fd) != 0 ||
	    fd_write_all(out_fd, "\n", 1) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return rc;
}

/* Both trees as two unrelated commits, refs/heads/old and refs/heads/new. */
static int
diff_import(const struct review_set *set, int project_fd, int upper_fd,
    const char *git_dir)
{
	static const char head[] =
	    "committer airlock <airlock@localhost> 0 +0000\ndata 0\n";
	char *argv[] = { "git", NULL, "fast-import", "--quiet", "--done",
		NULL };
	char *gd;
	pid_t pid;
	size_t i;
	int pfd[2], rc = -1, side;

	xasprintf(&gd, "--git-dir=%s", git_dir);
	argv[1] = gd;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(gd);
		return -1;
	}
	pid = diff_spawn(argv, pfd[0], -1);
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		free(gd);
		return -1;
	}
	for (side = 0; side < 2; side++) {
		if (fd_write_all(pfd[1],
		        side == 0 ? "commit refs/heads/old\n"
		                  : "commit refs/heads/new\n",
		        22) != 0 ||
		    fd_write_all(pfd[1], head, sizeof head - 1) != 0)
			goto out;
		for (i = 0; i < set->n; i++)
			if (diff_emit_side(&set->v[i],
			        side == 0 ? &set->v[i].old : &set->v[i].new,
			        project_fd, upper_fd, pfd[1]) != 0)
				goto out;
		if (fd_write_all(pfd[1], "\n", 1) != 0)
			goto out;
	}
	if (fd_write_all(pfd[1], "done\n", 5) != 0)
		goto out;
	rc = 0;
out:
	close(pfd[1]);
	if (diff_wait(pid, 1 << 0) != 0)
		rc = -1;
	free(gd);
	return rc;
}

/* Remove name under at_fd, recursively. */
static void
diff_remove_tree(int at_fd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(at_fd, name, 0) == 0 || errno == ENOENT)
		return;
	fd = openat(
	    at_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			diff_remove_tree(dirfd(d), de->d_name);
	closedir(d);
	unlinkat(at_fd, name, AT_REMOVEDIR);
}

int
diff_write(const struct review_set *set, int project_fd, int upper_fd,
    const struct diff_opts *opts, int out_fd)
{
	char tmpl[PATH_MAX], *git_dir = NULL, *gd = NULL, *argv[16];
	const char *tmp = getenv("TMPDIR");
	pid_t pid;
	int rc = -1, saved, n = 0;

	if (set->n == 0)
		return 0;
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	snprintf(tmpl, sizeof tmpl, "%s/airlock-diff.XXXXXX", tmp);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	xasprintf(&git_dir, "%s/repo", tmpl);
	xasprintf(&gd, "--git-dir=%s", git_dir);
	{
		char *init[] = { "git", "init", "-q", "--bare", git_dir, NULL };

		if ((pid = diff_spawn(init, -1, -1)) < 0 ||
		    diff_wait(pid, 1 << 0) != 0)
			goto out;
	}
	if (diff_import(set, project_fd, upper_fd, git_dir) != 0)
		goto out;

	argv[n++] = "git";
	argv[n++] = gd;
	argv[n++] = "diff-tree";
	argv[n++] = "-r";
	argv[n++] = "-M";
	argv[n++] = opts->color ? "--color=always" : "--color=never";
	if (opts->format == DIFF_STAT)
		argv[n++] = "--stat";
	else if (opts->format == DIFF_NAME_STATUS)
		argv[n++] = "--name-status";
	else
		argv[n++] = "-p";
	if (opts->binary)
		argv[n++] = "--binary";
	argv[n++] = "refs/heads/old";
	argv[n++] = "refs/heads/new";
	argv[n++] = "--";
	argv[n] = NULL;
	if ((pid = diff_spawn(argv, -1, out_fd)) < 0 ||
	    diff_wait(pid, 1 << 0) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	diff_remove_tree(AT_FDCWD, tmpl);
	free(git_dir);
	free(gd);
	errno = saved;
	return rc;
}
