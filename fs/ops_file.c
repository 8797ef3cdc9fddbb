/*
 * ops_file: open files: open (where a write intent is decided, once),
 * read (spliced from the backing file, no copy through the daemon), write
 * (one pwrite, see ops_write_buf()), fsync, fallocate, lseek, release.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops_priv.h"
#include "util.h"

/* Every open file, so that one whose name goes can still be read and
 * stat'ed (ops_file_pin(), ops_file_stat()).  Lock order: ops_files_lock,
 * then a file's lock. */
static pthread_mutex_t ops_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ops_file *ops_files_head;

/* Take f off the list.  ops_files_lock held. */
static void
ops_file_untrack(struct ops_file *f)
{
	if (!f->is_listed)
		return;
	if (f->list_prev != NULL)
		f->list_prev->list_next = f->list_next;
	else
		ops_files_head = f->list_next;
	if (f->list_next != NULL)
		f->list_next->list_prev = f->list_prev;
	f->list_prev = f->list_next = NULL;
	f->is_listed = 0;
}

/* Open the file f names now, into f->fd.  f->lock held. */
static int
ops_file_open_now(struct ops_file *f)
{
	char path[PATH_MAX];
	struct node_state ns;
	int fd;

	fd = node_path(f->node, NULL, path, sizeof path, &ns);
	if (fd >= 0)
		fd = layer_open(ns.is_upper ? fsd.upper_fd : fsd.lower_fd, path,
		    O_RDONLY, 0);
	if (fd < 0)
		return fd;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->is_lower = !ns.is_upper;
	return 0;
}

void
ops_file_pin(struct node *n)
{
	struct ops_file *f, *next;

	if (n == NULL)
		return;
	pthread_mutex_lock(&ops_files_lock);
	for (f = ops_files_head; f != NULL; f = next) {
		next = f->list_next;
		if (f->node != n)
			continue;
		pthread_mutex_lock(&f->lock);
		if (f->fd < 0)
			(void)ops_file_open_now(f);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&ops_files_lock);
}

int
ops_file_stat(struct node *n, struct stat *st)
{
	struct ops_file *f;
	int ret = -ESTALE;

	pthread_mutex_lock(&ops_files_lock);
	for (f = ops_files_head; f != NULL && ret != 0; f = f->list_next) {
		if (f->node != n)
			continue;
		pthread_mutex_lock(&f->lock);
		if (f->fd >= 0 && fstat(f->fd, st) == 0)
			ret = 0;
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&ops_files_lock);
	return ret;
}

void
ops_file_track(struct ops_file *f)
{
	pthread_mutex_lock(&ops_files_lock);
	f->list_next = ops_files_head;
	if (ops_files_head != NULL)
		ops_files_head->list_prev = f;
	ops_files_head = f;
	f->is_listed = 1;
	pthread_mutex_unlock(&ops_files_lock);
}

int
ops_open_node(fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct guard_who who;
	struct node_state ns;
	struct ops_file *f;
	struct stat st;
	int is_write, flags, fd, ret;

	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		return ret;
	is_write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	ops_who(req, &who);
	if (is_write) {
		ret = guard_check(&who, FS_OP_WRITE, path, 1);
		if (ret == 0)
			ret = layer_copy_up(
			    n, path, (fi->flags & O_TRUNC) ? 0 : COPYUP_DATA);
		if (ret == 0)
			ret = node_path(n, NULL, path, sizeof path, &ns);
		if (ret < 0)
			return ret;
		/* the kernel computes O_APPEND offsets itself (it knows
		 * the size: only this mount changes the file) */
		flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_APPEND);
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		fd = layer_open(fsd.upper_fd, path, flags, 0);
		if (fd < 0)
			return fd;
		ret = fstat(fd, &st) == 0 ? 0 : -errno;
		if (ret == 0)
			ret = layer_record_content(path, st.st_mode, 0);
		if (ret != 0) {
			close(fd);
			return ret;
		}
	} else {
		if (fsd.checks_reads) {
			ret = guard_check(&who, FS_OP_READ, path, 0);
			if (ret != 0)
				return ret;
		}
		/* opened on the first read (ops_file_read_fd()): with the
		 * kernel's cache kept, most opens never read through us */
		fd = -1;
	}
	f = xcalloc(1, sizeof *f);
	pthread_mutex_init(&f->lock, NULL);
	f->fd = fd;
	f->is_write = is_write;
	f->is_lower = !is_write && !ns.is_upper;
	f->node = n;
	ops_file_track(f);
	fi->fh = (uintptr_t)f;
	/* nothing but this mount changes a file: its pages stay valid */
	fi->keep_cache = 1;
	return 0;
}

static void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int ret;

	ret = ops_open_node(req, node_from_id(ino), fi);
	if (ret != 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_open(req, fi);
}

/* The fd to read f through, or -errno: a read-only file is opened on its
 * first read; one opened before its copy-up switches to the upper copy,
 * so that it never reads stale project content. */
static int
ops_file_read_fd(struct ops_file *f)
{
	int fd, ret;

	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0 && f->is_lower &&
	    __atomic_load_n(&f->node->is_upper, __ATOMIC_RELAXED))
		(void)ops_file_open_now(f); /* keeps the old fd on failure */
	fd = f->fd;
	pthread_mutex_unlock(&f->lock);
	if (fd >= 0)
		return fd;

	pthread_mutex_lock(&ops_files_lock);
	pthread_mutex_lock(&f->lock);
	ret = 0;
	if (f->fd < 0)
		ret = ops_file_open_now(f);
	fd = ret == 0 ? f->fd : ret;
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&ops_files_lock);
	return fd;
}

static void
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	struct ops_file *f = ops_file_of(fi);
	int fd;

	fd = f->is_write ? f->fd : ops_file_read_fd(f);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

/*
 * A write decides nothing: its hold was decided at open.  Its data comes
 * in libfuse's buffer, not a pipe: libfuse splices a request in only when
 * it can grow its pipe to max_write plus a page, past fs.pipe-max-size
 * (1 MiB), which takes the CAP_SYS_RESOURCE the sandbox drops.  So
 * fuse_buf_copy() is one pwrite of up to max_write.
 */
static void
ops_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
    off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
	struct ops_file *f = ops_file_of(fi);
	ssize_t n;

	if (!f->is_write) {
		fuse_reply_err(req, EBADF);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = f->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in_buf, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void
ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ops_file *f = ops_file_of(fi);

	pthread_mutex_lock(&ops_files_lock);
	ops_file_untrack(f);
	pthread_mutex_unlock(&ops_files_lock);
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
	fuse_reply_err(req, 0);
}

static void
ops_fsync(
    fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct ops_file *f = ops_file_of(fi);
	int ret;

	/* a read-only file has nothing of ours to sync but the manifest */
	ret = 0;
	if (f->is_write)
		ret = datasync ? fdatasync(f->fd) : fsync(f->fd);
	if (ret == 0)
		ret = stage_sync(fsd.stage);
	fuse_reply_err(req, ret == 0 ? 0 : errno);
}

static void
ops_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	struct ops_file *f = ops_file_of(fi);

	if (!f->is_write) {
		fuse_reply_err(req, EBADF);
		return;
	}
	fuse_reply_err(req, fallocate(f->fd, mode, off, len) == 0 ? 0 : errno);
}

static void
ops_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
    struct fuse_file_info *fi)
{
	struct ops_file *f = ops_file_of(fi);
	off_t res;
	int fd;

	fd = f->is_write ? f->fd : ops_file_read_fd(f);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	res = lseek(fd, off, whence);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

void
ops_file_fill(struct fuse_lowlevel_ops *o)
{
	o->open = ops_open;
	o->read = ops_read;
	o->write_buf = ops_write_buf;
	o->release = ops_release;
	o->fsync = ops_fsync;
	o->fallocate = ops_fallocate;
	o->lseek = ops_lseek;
}
