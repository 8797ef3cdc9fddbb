/*
 * hold_detail: the bounded diff or note shown for a held file operation
 * (see hold_detail.h).
 *
 * The diff is the honest minimum, not a minimal one: the lines both
 * files share at the start and at the end are context, everything between
 * is one hunk of removed and added lines.  That is a valid unified diff
 * that patch(1) applies, it needs no diff algorithm, and for the usual
 * held edit (a hook, a config file, a key) it is what a person would
 * write by hand.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd.h"
#include "hold_detail.h"
#include "layer.h"
#include "reviewer.h"
#include "util.h"

/* The most of each file that is read, and the lines of context. */
#define DETAIL_FILE_MAX (64 * 1024)
#define DETAIL_CONTEXT 3

struct detail_file {
	int is_present; /* a regular file is there */
	int is_shown; /* read whole, and text */
	off_t size;
	char *data;
	size_t len;
};

struct detail_lines {
	const char **at; /* each line's start; at[n] is the end */
	size_t n;
};

/* Read the regular file at path under root into *f (only its size when
 * it is larger than DETAIL_FILE_MAX or holds a NUL byte). */
static void
detail_read(int root, const char *path, struct detail_file *f)
{
	struct stat st;
	ssize_t r;
	int fd;

	memset(f, 0, sizeof(*f));
	fd = layer_open(root, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	f->is_present = 1;
	f->size = st.st_size;
	if (st.st_size > DETAIL_FILE_MAX)
		goto out;
	f->data = xmalloc(DETAIL_FILE_MAX + 1);
	while (f->len < DETAIL_FILE_MAX) {
		r = read(fd, f->data + f->len, DETAIL_FILE_MAX - f->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		f->len += (size_t)r;
	}
	f->is_shown = memchr(f->data, '\0', f->len) == NULL;
out:
	close(fd);
}

static void
detail_split(const struct detail_file *f, struct detail_lines *l)
{
	const char *p = f->data != NULL ? f->data : "", *end = p + f->len, *nl;

	l->n = 0;
	l->at = xcalloc(f->len + 2, sizeof(*l->at));
	while (p < end) {
		l->at[l->n++] = p;
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl != NULL ? nl + 1 : end;
	}
	l->at[l->n] = end;
}

static int
detail_same_line(const struct detail_lines *a, size_t i,
    const struct detail_lines *b, size_t j)
{
	size_t la = (size_t)(a->at[i + 1] - a->at[i]);

	return la == (size_t)(b->at[j + 1] - b->at[j]) &&
	    memcmp(a->at[i], b->at[j], la) == 0;
}

static void
detail_add_line(
    struct buf *b, char mark, const struct detail_lines *l, size_t i)
{
	size_t len = (size_t)(l->at[i + 1] - l->at[i]);

	buf_add(b, &mark, 1);
	buf_add(b, l->at[i], len);
	if (len == 0 || l->at[i][len - 1] != '\n')
		buf_adds(b, "\n\\ No newline at end of file\n");
}

/* One hunk from the first to the last line that differs. */
static void
detail_diff(struct buf *b, const char *path, const struct detail_file *old,
    const struct detail_file *new)
{
	struct detail_lines o, n;
	size_t pre = 0, suf = 0, from, o_end, n_end, i;

	detail_split(old, &o);
	detail_split(new, &n);
	while (pre < o.n && pre < n.n && detail_same_line(&o, pre, &n, pre))
		pre++;
	while (suf < o.n - pre && suf < n.n - pre &&
	    detail_same_line(&o, o.n - 1 - suf, &n, n.n - 1 - suf))
		suf++;
	if (pre == o.n && pre == n.n) {
		buf_adds(b, "(the staged file is the same as the project's)\n");
		goto out;
	}
	from = pre > DETAIL_CONTEXT ? pre - DETAIL_CONTEXT : 0;
	o_end = o.n - suf + (suf < DETAIL_CONTEXT ? suf : DETAIL_CONTEXT);
	n_end = n.n - (o.n - o_end);
	buf_adds(b, old->is_present ? "--- a/" : "--- /dev/null");
	if (old->is_present)
		buf_adds(b, path);
	buf_adds(b, "\n+++ b/");
	buf_adds(b, path);
	buf_addf(b, "\n@@ -%zu,%zu +%zu,%zu @@\n",
	    o_end > from ? from + 1 : from, o_end - from,
	    n_end > from ? from + 1 : from, n_end - from);
	for (i = from; i < pre; i++)
		detail_add_line(b, ' ', &o, i);
	for (i = pre; i < o.n - suf; i++)
		detail_add_line(b, '-', &o, i);
	for (i = pre; i < n.n - suf; i++)
		detail_add_line(b, '+', &n, i);
	for (i = o.n - suf; i < o_end; i++)
		detail_add_line(b, ' ', &o, i);
out:
	free(o.at);
	free(n.at);
}

/* Cut b to REVIEW_DETAIL_MAX bytes at a line end, saying so. */
static void
detail_bound(struct buf *b)
{
	static const char cut[] = "[... cut at 8 KiB]\n";
	const char *nl;
	size_t keep = REVIEW_DETAIL_MAX - (sizeof(cut) - 1);

	if (b->len <= REVIEW_DETAIL_MAX)
		return;
	nl = memrchr(b->data, '\n', keep);
	b->len = nl != NULL ? (size_t)(nl - b->data) + 1 : 0;
	buf_add(b, cut, sizeof(cut) - 1);
}

char *
hold_detail_fs(enum fs_op op, const char *path)
{
	struct detail_file lower, upper;
	struct buf b;

	if (op != FS_OP_WRITE && op != FS_OP_CREATE)
		return NULL;
	buf_init(&b);
	detail_read(fsd.upper_fd, path, &upper);
	if (layer_is_whiteout(path))
		memset(&lower, 0, sizeof(lower));
	else
		detail_read(fsd.lower_fd, path, &lower);
	if (!upper.is_present) {
		buf_adds(&b,
		    "(nothing is staged at this path yet: a write is "
		    "decided when the file is opened, before any content "
		    "is written)\n");
		if (lower.is_present)
			buf_addf(&b, "(the project's file has %lld bytes)\n",
			    (long long)lower.size);
		else
			buf_adds(&b,
			    "(the project has no file here: it "
			    "would be new)\n");
	} else if (!upper.is_shown || (lower.is_present && !lower.is_shown)) {
		buf_addf(&b,
		    "(binary or larger than 64 KiB, not shown: staged %lld "
		    "bytes, the project's file %lld bytes)\n",
		    (long long)upper.size,
		    lower.is_present ? (long long)lower.size : 0LL);
	} else {
		detail_diff(&b, path, &lower, &upper);
	}
	detail_bound(&b);
	free(lower.data);
	free(upper.data);
	return buf_release(&b);
}
