/*
 * stage: the staging area of a session, as it persists on disk (the
 * contract and the on-disk layout are in stage.h).
 *
 * The manifest is an append-only log; the in-memory table (path -> entry,
 * hashed with xxh3) is what it replays to.  One mutex, st->lock, guards
 * the table, the append offset and the line buffer: appends are short
 * (format one line, one write(2)), so a single lock costs less than the
 * bookkeeping finer locks would need.
 */
#include "config.h"

#include "stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include "util.h"

/* A percent-encoded path is at most three bytes per byte. */
#define STAGE_LINE_MAX (16 + 1 + 16 + 1 + 12 + 1 + 2 * (3 * PATH_MAX) + 4)
#define STAGE_HASH_CHUNK (128 * 1024)
#define STAGE_COMPACT_CHUNK (4 * STAGE_LINE_MAX)

struct stage_node {
	struct stage_node *next; /* hash chain */
	uint64_t key; /* xxh3 of path */
	char *path;
	char *from;
	enum stage_kind kind;
	int has_base;
	uint64_t base_hash;
	mode_t mode;
	int is_opaque;
};

struct stage {
	int dir_fd;
	int upper_fd;
	int manifest_fd;
	int lock_fd; /* -1 unless STAGE_WRITE */
	int flags;

	pthread_mutex_t lock; /* guards everything below */
	struct stage_node **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_entries;
	off_t manifest_len; /* where the next record starts */
	size_t n_replayed; /* records stage_replay() read */
	int has_tail; /* the manifest ends in an unterminated line */
	char line[STAGE_LINE_MAX];
};

static const char *stage_kind_words[] = {
	[STAGE_ADDED] = "add",
	[STAGE_MODIFIED] = "mod",
	[STAGE_DELETED] = "del",
	[STAGE_RENAMED] = "ren",
	[STAGE_MODE] = "mode",
	[STAGE_CLEAN] = "clean",
};

/* "link" is a kind word of the record format, but a symlink is told by its
 * mode: it is read back as added or modified. */
static int
stage_kind_parse(const char *word, size_t len, enum stage_kind *out)
{
	size_t i;

	if (len == 4 && memcmp(word, "link", 4) == 0) {
		*out = STAGE_MODIFIED;
		return 0;
	}
	for (i = 0; i < sizeof stage_kind_words / sizeof stage_kind_words[0];
	     i++) {
		if (strlen(stage_kind_words[i]) == len &&
		    memcmp(stage_kind_words[i], word, len) == 0) {
			*out = (enum stage_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
stage_kind_name(enum stage_kind k)
{
	if ((size_t)k >= sizeof stage_kind_words / sizeof stage_kind_words[0])
		return "?";
	return stage_kind_words[k];
}

int
stage_path_is_valid(const char *path)
{
	const char *p = path, *slash;
	size_t len;

	if (path == NULL || path[0] == '\0' || path[0] == '/')
		return 0;
	if (strlen(path) >= PATH_MAX)
		return 0;
	for (;;) {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len > NAME_MAX)
			return 0;
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}

/* Bytes that would break the space-separated line, or that are not plain
 * ASCII, are written as %XX. */
static int
stage_byte_needs_escape(unsigned char c)
{
	return c <= 0x20 || c == '%' || c >= 0x7f;
}

size_t
stage_path_encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (stage_byte_needs_escape(*p)) {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		} else
			out[n++] = (char)*p;
	}
	out[n] = '\0';
	return n;
}

static int
stage_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A %00 is malformed too: no file name holds a NUL. */
char *
stage_path_decode(const char *s, size_t len)
{
	char *out;
	size_t i, n = 0;
	int hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			goto fail;
		if ((hi = stage_hex_digit(s[i + 1])) < 0 ||
		    (lo = stage_hex_digit(s[i + 2])) < 0 || (hi | lo) == 0)
			goto fail;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	return out;
fail:
	free(out);
	errno = EBADMSG;
	return NULL;
}

/* ---- the table ---- */

static uint64_t
stage_key(const char *path)
{
	return XXH3_64bits(path, strlen(path));
}

static struct stage_node **
stage_slot(struct stage *st, const char *path, uint64_t key)
{
	struct stage_node **np;

	np = &st->buckets[key & (st->n_buckets - 1)];
	while (*np != NULL &&
	    ((*np)->key != key || strcmp((*np)->path, path) != 0))
		np = &(*np)->next;
	return np;
}

static void
stage_node_free(struct stage_node *n)
{
	if (n == NULL)
		return;
	free(n->path);
	free(n->from);
	free(n);
}

/* Double the bucket array when the table is full; failure only leaves the
 * chains longer. */
static void
stage_table_grow(struct stage *st)
{
	struct stage_node **nb, *n, *next;
	size_t i, nn = st->n_buckets * 2;

	if (st->n_entries < st->n_buckets)
		return;
	if ((nb = calloc(nn, sizeof *nb)) == NULL)
		return;
	for (i = 0; i < st->n_buckets; i++) {
		for (n = st->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = nb[n->key & (nn - 1)];
			nb[n->key & (nn - 1)] = n;
		}
	}
	free(st->buckets);
	st->buckets = nb;
	st->n_buckets = nn;
}

/* A node for e, with copied strings; NULL on ENOMEM. */
static struct stage_node *
stage_node_new(const struct stage_entry *e)
{
	struct stage_node *n;

	if ((n = calloc(1, sizeof *n)) == NULL)
		return NULL;
	n->key = stage_key(e->path);
	n->kind = e->kind;
	n->has_base = e->has_base;
	n->base_hash = e->has_base ? e->base_hash : 0;
	n->mode = e->mode;
	n->is_opaque = e->is_opaque;
	if ((n->path = strdup(e->path)) == NULL)
		goto fail;
	if (e->kind == STAGE_RENAMED && e->from != NULL &&
	    (n->from = strdup(e->from)) == NULL)
		goto fail;
	return n;
fail:
	stage_node_free(n);
	errno = ENOMEM;
	return NULL;
}

/* Put n in the table in place of any entry for its path (a clean node
 * only removes, and is freed). */
static void
stage_table_apply(struct stage *st, struct stage_node *n)
{
	struct stage_node **np, *old;

	np = stage_slot(st, n->path, n->key);
	if ((old = *np) != NULL) {
		*np = old->next;
		stage_node_free(old);
		st->n_entries--;
	}
	if (n->kind == STAGE_CLEAN) {
		stage_node_free(n);
		return;
	}
	n->next = st->buckets[n->key & (st->n_buckets - 1)];
	st->buckets[n->key & (st->n_buckets - 1)] = n;
	st->n_entries++;
	stage_table_grow(st);
}

/* ---- records ---- */

/* Format one record line (with its '\n') into out; returns its length. */
static size_t
stage_format(char *out, const struct stage_entry *e)
{
	size_t n;

	n = (size_t)sprintf(out, "%s%s ",
	    e->kind == STAGE_CLEAN ? "clean" : stage_kind_name(e->kind),
	    e->is_opaque ? "+o" : "");
	if (e->has_base && e->kind != STAGE_CLEAN)
		n += (size_t)sprintf(
		    out + n, "%016llx ", (unsigned long long)e->base_hash);
	else
		n += (size_t)sprintf(out + n, "- ");
	n += (size_t)sprintf(
	    out + n, "0%o ", e->kind == STAGE_CLEAN ? 0 : (unsigned)e->mode);
	n += stage_path_encode(out + n, e->path);
	if (e->kind == STAGE_RENAMED && e->from != NULL) {
		out[n++] = ' ';
		n += stage_path_encode(out + n, e->from);
	}
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

/* Split the next space-separated field of [*p, end). */
static int
stage_field(const char **p, const char *end, const char **f, size_t *len)
{
	const char *s = *p, *sp;

	if (s >= end)
		return -1;
	sp = memchr(s, ' ', (size_t)(end - s));
	*f = s;
	*len = sp != NULL ? (size_t)(sp - s) : (size_t)(end - s);
	if (*len == 0)
		return -1;
	*p = sp != NULL ? sp + 1 : end;
	return 0;
}

/* Parse one line (without its '\n') into a new node; NULL with EBADMSG
 * when it is malformed. */
static struct stage_node *
stage_parse(const char *line, size_t len)
{
	const char *p = line, *end = line + len, *f;
	struct stage_node *n;
	char num[24], *ep;
	size_t flen;
	unsigned long long v;

	if ((n = calloc(1, sizeof *n)) == NULL)
		return NULL;
	if (stage_field(&p, end, &f, &flen) != 0)
		goto bad;
	if (flen > 2 && memcmp(f + flen - 2, "+o", 2) == 0) {
		n->is_opaque = 1;
		flen -= 2;
	}
	if (stage_kind_parse(f, flen, &n->kind) != 0)
		goto bad;

	if (stage_field(&p, end, &f, &flen) != 0)
		goto bad;
	if (flen == 1 && f[0] == '-')
		n->has_base = 0;
	else {
		if (flen != 16)
			goto bad;
		memcpy(num, f, flen);
		num[flen] = '\0';
		errno = 0;
		v = strtoull(num, &ep, 16);
		if (*ep != '\0' || errno != 0)
			goto bad;
		n->has_base = 1;
		n->base_hash = v;
	}

	if (stage_field(&p, end, &f, &flen) != 0 || flen >= sizeof num)
		goto bad;
	memcpy(num, f, flen);
	num[flen] = '\0';
	errno = 0;
	v = strtoull(num, &ep, 8);
	if (*ep != '\0' || errno != 0 || v > 0177777)
		goto bad;
	n->mode = (mode_t)v;

	if (stage_field(&p, end, &f, &flen) != 0)
		goto bad;
	if ((n->path = stage_path_decode(f, flen)) == NULL ||
	    !stage_path_is_valid(n->path))
		goto bad;
	if (p < end) {
		if (stage_field(&p, end, &f, &flen) != 0 || p < end ||
		    n->kind != STAGE_RENAMED)
			goto bad;
		if ((n->from = stage_path_decode(f, flen)) == NULL ||
		    !stage_path_is_valid(n->from))
			goto bad;
	}
	if (n->kind == STAGE_RENAMED && n->from == NULL)
		goto bad;
	n->key = stage_key(n->path);
	return n;
bad:
	stage_node_free(n);
	errno = EBADMSG;
	return NULL;
}

/* Read all of fd into a new buffer. */
static char *
stage_read_all(int fd, size_t *len)
{
	char *data = NULL, *nd;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (cap - n < 65536) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((nd = realloc(data, cap)) == NULL) {
				free(data);
				errno = ENOMEM;
				return NULL;
			}
			data = nd;
		}
		r = pread(fd, data + n, cap - n, (off_t)n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(data);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return data;
}

/* Replay the manifest into the table.  An unterminated last line is a
 * record whose append a crash cut short: it was never acknowledged, so it
 * is dropped; any other bad line fails the open. */
static int
stage_replay(struct stage *st)
{
	struct stage_node *n;
	char *data, *p, *end, *nl;
	size_t len;
	int rc = -1;

	if ((data = stage_read_all(st->manifest_fd, &len)) == NULL)
		return -1;
	p = data;
	end = data + len;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == p) { /* tolerate blank lines */
			p++;
			continue;
		}
		if ((n = stage_parse(p, (size_t)(nl - p))) == NULL)
			goto out;
		stage_table_apply(st, n);
		st->n_replayed++;
		p = nl + 1;
	}
	st->manifest_len = (off_t)(p - data);
	st->has_tail = (size_t)st->manifest_len < len;
	rc = 0;
out:
	free(data);
	return rc;
}

static int
stage_node_cmp(const void *a, const void *b)
{
	const struct stage_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Rewrite the manifest as one record per live entry: write manifest.new,
 * fsync it, rename it over, fsync the directory. */
static int
stage_compact(struct stage *st)
{
	struct stage_entry *list = NULL;
	char *chunk = NULL;
	ssize_t n, i;
	size_t used = 0;
	int fd = -1, rc = -1, nfd;

	if ((n = stage_list(st, &list)) < 0)
		return -1;
	if ((chunk = malloc(STAGE_COMPACT_CHUNK)) == NULL)
		goto out;
	fd = openat(st->dir_fd, "manifest.new",
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* Lines go out in chunks: one write(2) per record would make a
	 * large stage slow to open. */
	for (i = 0; i < n; i++) {
		if (used + STAGE_LINE_MAX > STAGE_COMPACT_CHUNK) {
			if (fd_write_all(fd, chunk, used) != 0)
				goto out;
			used = 0;
		}
		used += stage_format(chunk + used, &list[i]);
	}
	if (used > 0 && fd_write_all(fd, chunk, used) != 0)
		goto out;
	if (fsync(fd) != 0)
		goto out;
	if (renameat(st->dir_fd, "manifest.new", st->dir_fd, "manifest") != 0)
		goto out;
	if (fsync(st->dir_fd) != 0)
		goto out;
	nfd = openat(
	    st->dir_fd, "manifest", O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		goto out;
	close(st->manifest_fd);
	st->manifest_fd = nfd;
	st->manifest_len = lseek(nfd, 0, SEEK_END);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlinkat(st->dir_fd, "manifest.new", 0);
	free(chunk);
	stage_list_free(list, n);
	return rc;
}

struct stage *
stage_open(const char *dir, int flags)
{
	struct stage *st;
	int saved;

	if ((st = calloc(1, sizeof *st)) == NULL)
		return NULL;
	st->dir_fd = st->upper_fd = st->manifest_fd = st->lock_fd = -1;
	st->flags = flags;
	pthread_mutex_init(&st->lock, NULL);
	st->n_buckets = 256;
	if ((st->buckets = calloc(st->n_buckets, sizeof *st->buckets)) == NULL)
		goto fail;

	st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0)
		goto fail;
	if (flags & STAGE_WRITE) {
		st->lock_fd = openat(st->dir_fd, "stage.lock",
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (st->lock_fd < 0)
			goto fail;
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno == EWOULDBLOCK)
				errno = EBUSY;
			goto fail;
		}
	}
	if (mkdirat(st->dir_fd, "upper", 0700) != 0 && errno != EEXIST)
		goto fail;
	st->upper_fd = openat(st->dir_fd, "upper",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->upper_fd < 0)
		goto fail;
	st->manifest_fd = openat(st->dir_fd, "manifest",
	    ((flags & STAGE_WRITE) ? O_RDWR : O_RDONLY) | O_APPEND | O_CREAT |
	        O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (st->manifest_fd < 0)
		goto fail;
	if (stage_replay(st) != 0)
		goto fail;
	/* Compact only when the log holds more than one record a path (or a
	 * cut-short tail): reopening a compact stage costs no fsync. */
	if ((flags & STAGE_WRITE) &&
	    (st->n_replayed != st->n_entries || st->has_tail) &&
	    stage_compact(st) != 0)
		goto fail;
	return st;
fail:
	saved = errno;
	stage_close(st);
	errno = saved;
	return NULL;
}

void
stage_close(struct stage *st)
{
	struct stage_node *n, *next;
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; st->buckets != NULL && i < st->n_buckets; i++) {
		for (n = st->buckets[i]; n != NULL; n = next) {
			next = n->next;
			stage_node_free(n);
		}
	}
	free(st->buckets);
	if (st->manifest_fd >= 0)
		close(st->manifest_fd);
	if (st->upper_fd >= 0)
		close(st->upper_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	if (st->dir_fd >= 0)
		close(st->dir_fd);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int
stage_upper_fd(const struct stage *st)
{
	return st->upper_fd;
}

int
stage_record(struct stage *st, const struct stage_entry *e)
{
	struct stage_node *n;
	size_t len;
	ssize_t w;
	int rc = -1, saved;

	if (!(st->flags & STAGE_WRITE)) {
		errno = EBADF;
		return -1;
	}
	if (!stage_path_is_valid(e->path) ||
	    (e->kind == STAGE_RENAMED && !stage_path_is_valid(e->from)) ||
	    (unsigned)e->kind > STAGE_CLEAN) {
		errno = EINVAL;
		return -1;
	}
	if ((n = stage_node_new(e)) == NULL)
		return -1;

	pthread_mutex_lock(&st->lock);
	len = stage_format(st->line, e);
	w = write(st->manifest_fd, st->line, len);
	if (w != (ssize_t)len) {
		saved = w < 0 ? errno : ENOSPC;
		/* Leave no partial line for the next record to join. */
		if (w > 0 && ftruncate(st->manifest_fd, st->manifest_len) != 0)
			saved = EIO;
		errno = saved;
		stage_node_free(n);
		goto out;
	}
	st->manifest_len += (off_t)len;
	stage_table_apply(st, n);
	rc = 0;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int
stage_sync(struct stage *st)
{
	return fdatasync(st->manifest_fd);
}

int
stage_lookup(struct stage *st, const char *path, struct stage_entry *out,
    char *buf, size_t buf_len)
{
	struct stage_node *n;
	size_t pl, fl;
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	if ((n = *stage_slot(st, path, stage_key(path))) == NULL)
		goto out;
	pl = strlen(n->path) + 1;
	fl = n->from != NULL ? strlen(n->from) + 1 : 0;
	if (pl + fl > buf_len) {
		errno = ERANGE;
		rc = -1;
		goto out;
	}
	memcpy(buf, n->path, pl);
	if (n->from != NULL)
		memcpy(buf + pl, n->from, fl);
	out->path = buf;
	out->from = n->from != NULL ? buf + pl : NULL;
	out->kind = n->kind;
	out->has_base = n->has_base;
	out->base_hash = n->base_hash;
	out->mode = n->mode;
	out->is_opaque = n->is_opaque;
	rc = 1;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

ssize_t
stage_list(struct stage *st, struct stage_entry **out)
{
	struct stage_entry *list;
	struct stage_node *n;
	size_t i, k = 0;
	ssize_t rc = -1;

	pthread_mutex_lock(&st->lock);
	list = calloc(st->n_entries + 1, sizeof *list);
	if (list == NULL)
		goto out;
	for (i = 0; i < st->n_buckets; i++) {
		for (n = st->buckets[i]; n != NULL; n = n->next) {
			list[k].kind = n->kind;
			list[k].has_base = n->has_base;
			list[k].base_hash = n->base_hash;
			list[k].mode = n->mode;
			list[k].is_opaque = n->is_opaque;
			list[k].path = strdup(n->path);
			list[k].from = n->from != NULL ? strdup(n->from) : NULL;
			k++;
			if (list[k - 1].path == NULL ||
			    (n->from != NULL && list[k - 1].from == NULL)) {
				stage_list_free(list, (ssize_t)k);
				list = NULL;
				errno = ENOMEM;
				goto out;
			}
		}
	}
	qsort(list, k, sizeof *list, stage_node_cmp);
	*out = list;
	rc = (ssize_t)k;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void
stage_list_free(struct stage_entry *list, ssize_t n)
{
	ssize_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((char *)list[i].path);
		free((char *)list[i].from);
	}
	free(list);
}

/* ---- files under directory fds ---- */

static int
stage_walk_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *slash;
	size_t len;
	int fd, nfd, saved;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		slash = strchr(p, '/');
		if (slash == NULL)
			break;
		len = (size_t)(slash - p);
		memcpy(comp, p, len);
		comp[len] = '\0';
		nfd = openat(
		    fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		saved = errno;
		close(fd);
		if (nfd < 0) {
			errno = saved;
			return -1;
		}
		fd = nfd;
		p = slash + 1;
	}
	nfd = openat(fd, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	saved = errno;
	close(fd);
	errno = saved;
	return nfd;
}

int
stage_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	if (!stage_path_is_valid(path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0 && errno == ENOSYS)
		return stage_walk_beneath(dirfd, path, flags, mode);
	return (int)fd;
}

int
stage_open_parent(int dirfd, const char *path, const char **name)
{
	char parent[PATH_MAX];
	const char *slash;
	size_t len;

	if (!stage_path_is_valid(path)) {
		errno = EINVAL;
		return -1;
	}
	slash = strrchr(path, '/');
	if (slash == NULL) {
		*name = path;
		return openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	len = (size_t)(slash - path);
	memcpy(parent, path, len);
	parent[len] = '\0';
	*name = slash + 1;
	return stage_open_beneath(dirfd, parent, O_RDONLY | O_DIRECTORY, 0);
}

/* Remove name under dirfd and, for a directory, everything below it. */
static int
stage_remove_tree(int at_fd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = -1;

	if (unlinkat(at_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(
	    at_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (stage_remove_tree(dirfd(d), de->d_name) != 0)
			goto out;
	}
	if (unlinkat(at_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		goto out;
	rc = 0;
out:
	closedir(d);
	return rc;
}

/* Whether the table holds an entry strictly below path. */
static int
stage_has_below(struct stage *st, const char *path)
{
	struct stage_node *n;
	size_t i, len = strlen(path);
	int found = 0;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n_buckets && !found; i++)
		for (n = st->buckets[i]; n != NULL && !found; n = n->next)
			found = strncmp(n->path, path, len) == 0 &&
			    n->path[len] == '/';
	pthread_mutex_unlock(&st->lock);
	return found;
}

int
stage_drop(struct stage *st, const char *path)
{
	struct stage_entry e;
	struct stat sb;
	const char *name;
	int pfd = -1, rc = -1;

	memset(&e, 0, sizeof e);
	e.path = path;
	e.kind = STAGE_CLEAN;
	if (stage_record(st, &e) != 0)
		return -1;
	if ((pfd = stage_open_parent(st->upper_fd, path, &name)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = 0; /* nothing staged under upper/ */
		goto out;
	}
	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			rc = 0;
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		/* A directory that still holds staged entries stays. */
		if (stage_has_below(st, path))
			rc = 0;
		else
			rc = stage_remove_tree(pfd, name);
	} else if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
		rc = 0;
out:
	if (pfd >= 0)
		close(pfd);
	return rc;
}

int
stage_hash_fd(int fd, uint64_t *out)
{
	XXH3_state_t *hs;
	char *chunk;
	off_t off = 0;
	ssize_t r;
	int rc = -1;

	if ((hs = XXH3_createState()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((chunk = malloc(STAGE_HASH_CHUNK)) == NULL) {
		errno = ENOMEM;
		goto out;
	}
	XXH3_64bits_reset(hs);
	for (;;) {
		r = pread(fd, chunk, STAGE_HASH_CHUNK, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		XXH3_64bits_update(hs, chunk, (size_t)r);
		off += r;
	}
	*out = XXH3_64bits_digest(hs);
	rc = 0;
out:
	free(chunk);
	XXH3_freeState(hs);
	return rc;
}
