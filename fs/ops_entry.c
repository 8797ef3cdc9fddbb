/*
 * ops_entry: names and attributes: lookup, forget, getattr, setattr,
 * readlink, statfs and extended attributes; and the session's init.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ops_priv.h"

#define OPS_MAX_WRITE (1U << 20)

/* The kernel can do without OPENDIR (set once, by ops_init()). */
int ops_no_opendir;

void
ops_who(fuse_req_t req, struct guard_who *who)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	who->pid = ctx->pid;
	who->uid = ctx->uid;
	who->gid = ctx->gid;
}

int
ops_do_lookup(struct node *parent, const char *name, struct fuse_entry_param *e)
{
	char path[PATH_MAX];
	struct node_state ps, cs;
	struct layer_ent le;
	struct node *n;
	int ret;

	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	ret = node_path(parent, name, path, sizeof path, &ps);
	if (ret < 0)
		return ret;
	ret = layer_lookup(path, &ps, &le);
	if (ret != 0)
		return ret;
	memset(&cs, 0, sizeof cs);
	cs.is_dir = S_ISDIR(le.st.st_mode);
	cs.is_upper = (uint8_t)le.is_upper;
	cs.lower_visible = (uint8_t)le.lower_visible;
	n = node_ref(parent, name, le.key_dev, le.key_ino, le.report_ino, &cs);
	memset(e, 0, sizeof *e);
	e->ino = node_id(n);
	e->attr = le.st;
	e->attr.st_ino = n->ino;
	e->attr_timeout = fsd.timeout;
	e->entry_timeout = fsd.timeout;
	return 0;
}

void
ops_new_entry(struct node *parent, const char *name, const struct stat *st,
    struct fuse_entry_param *e)
{
	struct node_state cs;
	struct node *n;

	memset(&cs, 0, sizeof cs);
	cs.is_dir = S_ISDIR(st->st_mode);
	cs.is_upper = 1;
	n = node_ref(parent, name, st->st_dev, st->st_ino,
	    st->st_ino | NODE_UPPER_INO_BIT, &cs);
	memset(e, 0, sizeof *e);
	e->ino = node_id(n);
	e->attr = *st;
	e->attr.st_ino = n->ino;
	e->attr_timeout = fsd.timeout;
	e->entry_timeout = fsd.timeout;
}

int
ops_upper_dir(struct node *dir, const char *path, const struct node_state *st)
{
	int ret;

	if (st->is_upper)
		return 0;
	ret = layer_upper_dir(path);
	if (ret == 0)
		node_set_upper_dir(dir);
	return ret;
}

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	unsigned want = FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
	    FUSE_CAP_SPLICE_MOVE | FUSE_CAP_READDIRPLUS |
	    FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_CACHE_SYMLINKS |
	    FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ |
	    FUSE_CAP_ASYNC_DIO | FUSE_CAP_ATOMIC_O_TRUNC |
	    FUSE_CAP_NO_OPENDIR_SUPPORT;

	conn->want |= want & conn->capable;
	ops_no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	/*
	 * No writeback cache: with it the kernel marks a file's attributes
	 * stale on every close (i_blocks), so that each stat after a
	 * close (grep, tar, make) costs a GETATTR round trip, and it sends
	 * the data at close anyway.  Written pages are still cached, and
	 * a write of up to max_write is one request.  Measured with it on
	 * (bench/fs --quick, 6.18): the buffered write row gained nothing
	 * (0.21x of native against 0.25x), 500 reads and stats of closed
	 * files took 2383 requests against 1501.
	 */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Nobody else writes the lower or the upper during a session, so
	 * the kernel's cache is never invalidated just because an mtime
	 * moved. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* Locks stay local to this kernel mount: no getlk/setlk/flock ops,
	 * so FUSE_CAP_POSIX_LOCKS / FLOCK_LOCKS are never offered. */
	conn->max_write = OPS_MAX_WRITE;
	conn->max_readahead = OPS_MAX_WRITE;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
}

static void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int ret;

	ret = ops_do_lookup(node_from_id(parent), name, &e);
	if (ret == -ENOENT) {
		/* negative entries are cached too: only this mount changes
		 * the view, and the kernel drops them when it does */
		memset(&e, 0, sizeof e);
		e.entry_timeout = fsd.timeout;
		fuse_reply_entry(req, &e);
	} else if (ret != 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

static void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(node_from_id(ino), nlookup);
	fuse_reply_none(req);
}

static void
ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	size_t i;

	for (i = 0; i < count; i++)
		node_forget(node_from_id(f[i].ino), f[i].nlookup);
	fuse_reply_none(req);
}

static int
ops_stat_node(struct node *n, struct fuse_file_info *fi, struct stat *st)
{
	char path[PATH_MAX];
	struct node_state ns;
	struct ops_file *f;
	int ret;

	if (fi != NULL && (f = ops_file_of(fi)) != NULL) {
		pthread_mutex_lock(&f->lock);
		ret = fstat(f->fd, st) == 0 ? 0 : -errno;
		pthread_mutex_unlock(&f->lock);
		if (ret == 0) {
			st->st_ino = n->ino;
			return 0;
		}
	}
	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret == -ESTALE && ops_file_stat(n, st) == 0) {
		/* unlinked, still open */
		st->st_ino = n->ino;
		return 0;
	}
	if (ret < 0)
		return ret;
	return layer_getattr(path, &ns, st);
}

static void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int ret;

	ret = ops_stat_node(node_from_id(ino), fi, &st);
	if (ret != 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, fsd.timeout);
}

/* Decide the parts of a setattr.  A size change through a file opened for
 * writing, and times set on a file already staged (touch, make, or the
 * kernel stamping mtime after a write), were decided when that file was
 * opened. */
static int
ops_setattr_check(
    fuse_req_t req, const char *path, int valid, int has_fh, int is_upper)
{
	struct guard_who who;
	int ret = 0;

	ops_who(req, &who);
	if (valid &
	    (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		ret = guard_check(&who, FS_OP_CHMOD, path, 1);
	if (ret == 0 && (valid & FUSE_SET_ATTR_SIZE) && !has_fh)
		ret = guard_check(&who, FS_OP_WRITE, path, 1);
	if (ret == 0 && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) &&
	    !(valid & FUSE_SET_ATTR_SIZE) && !has_fh && !is_upper)
		ret = guard_check(&who, FS_OP_WRITE, path, 1);
	return ret;
}

static int
ops_apply_times(
    int pfd, const char *name, int fd, const struct stat *attr, int valid)
{
	struct timespec tv[2];

	tv[0].tv_sec = 0;
	tv[0].tv_nsec = UTIME_OMIT;
	tv[1] = tv[0];
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (fd >= 0)
		return futimens(fd, tv) == 0 ? 0 : -errno;
	return utimensat(pfd, name, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

/* Apply a setattr to the upper entry at path (fd: an open upper fd of it,
 * or -1). */
static int
ops_apply_setattr(const char *path, int fd, const struct stat *attr, int valid)
{
	const char *name;
	struct stat st;
	uid_t uid;
	gid_t gid;
	int pfd, tfd = -1, ret = 0;

	pfd = layer_open_parent(fsd.upper_fd, path, &name);
	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		ret = -errno;
		goto out;
	}
	if (valid & FUSE_SET_ATTR_MODE) {
		if (S_ISLNK(st.st_mode))
			ret = -EOPNOTSUPP;
		else if (fchmodat(pfd, name, attr->st_mode & 07777, 0) != 0)
			ret = -errno;
		if (ret != 0)
			goto out;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
			ret = -errno;
			goto out;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (fd < 0) {
			tfd = layer_open(fsd.upper_fd, path, O_WRONLY, 0);
			if (tfd < 0) {
				ret = tfd;
				goto out;
			}
		}
		if (ftruncate(fd >= 0 ? fd : tfd, attr->st_size) != 0) {
			ret = -errno;
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
		ret =
		    ops_apply_times(pfd, name, fd >= 0 ? fd : tfd, attr, valid);
out:
	if (tfd >= 0)
		close(tfd);
	layer_put(pfd);
	return ret;
}

static void
ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
    struct fuse_file_info *fi)
{
	struct node *n = node_from_id(ino);
	struct ops_file *f = fi != NULL ? ops_file_of(fi) : NULL;
	char path[PATH_MAX];
	struct node_state ns;
	struct stat st;
	int ret, flags, fd = -1;

	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		goto out;
	if (n == node_root()) {
		ret = -EPERM;
		goto out;
	}
	ret = ops_setattr_check(
	    req, path, valid, f != NULL && f->is_write, ns.is_upper);
	if (ret != 0)
		goto out;
	flags = COPYUP_DATA;
	if ((valid & FUSE_SET_ATTR_SIZE) && attr->st_size == 0)
		flags = 0;
	if (!(valid & FUSE_SET_ATTR_SIZE))
		flags |= COPYUP_META;
	ret = layer_copy_up(n, path, flags);
	if (ret != 0)
		goto out;
	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		goto out;
	if (f != NULL && !f->is_lower)
		fd = f->fd;
	ret = ops_apply_setattr(path, fd, attr, valid);
	if (ret != 0)
		goto out;
	ret = layer_getattr(path, &ns, &st);
	if (ret != 0)
		goto out;
	if (valid & FUSE_SET_ATTR_SIZE)
		ret = layer_record_content(path, st.st_mode, 0);
	else if (valid & FUSE_SET_ATTR_MODE)
		ret = layer_record_meta(path, st.st_mode);
out:
	if (ret != 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, fsd.timeout);
}

static void
ops_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct node_state ns;
	ssize_t len;
	int fd, ret;

	ret = node_path(node_from_id(ino), NULL, path, sizeof path, &ns);
	if (ret < 0)
		goto out;
	fd = layer_open(
	    ns.is_upper ? fsd.upper_fd : fsd.lower_fd, path, O_PATH, 0);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	len = readlinkat(fd, "", target, sizeof target - 1);
	ret = len < 0 ? -errno : 0;
	close(fd);
	if (ret == 0)
		target[len] = '\0';
out:
	if (ret != 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_readlink(req, target);
}

static void
ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(fsd.work_fd, &sv) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* Only the user.* namespace exists in the view. */
static int
ops_xattr_is_user(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

/* An O_PATH fd of node n's backing file and its /proc path, for the
 * *xattr() calls (which have no *at() form).  Returns the fd or -errno. */
static int
ops_xattr_open(struct node *n, int want_upper, char *proc, size_t len)
{
	char path[PATH_MAX];
	struct node_state ns;
	int fd, ret;

	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		return ret;
	fd = layer_open(ns.is_upper || want_upper ? fsd.upper_fd : fsd.lower_fd,
	    path, O_PATH, 0);
	if (fd >= 0)
		snprintf(proc, len, "/proc/self/fd/%d", fd);
	return fd;
}

static void
ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char proc[64], *buf = NULL;
	ssize_t len;
	int fd;

	if (!ops_xattr_is_user(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	fd = ops_xattr_open(node_from_id(ino), 0, proc, sizeof proc);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (size > 0)
		buf = malloc(size);
	if (size > 0 && buf == NULL)
		len = -ENOMEM;
	else if ((len = getxattr(proc, name, buf, size)) < 0)
		len = -errno;
	close(fd);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

static void
ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char proc[64], list[65536], out[65536], *p;
	ssize_t len;
	size_t n = 0, l;
	int fd;

	fd = ops_xattr_open(node_from_id(ino), 0, proc, sizeof proc);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	len = listxattr(proc, list, sizeof list);
	if (len < 0)
		len = -errno;
	close(fd);
	if (len < 0) {
		fuse_reply_err(req, (int)-len);
		return;
	}
	for (p = list; p < list + len; p += l + 1) {
		l = strlen(p);
		if (!ops_xattr_is_user(p))
			continue;
		memcpy(out + n, p, l + 1);
		n += l + 1;
	}
	if (size == 0)
		fuse_reply_xattr(req, n);
	else if (n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, out, n);
}

/* Set (value non-NULL) or remove an xattr: decided, copied up, recorded. */
static int
ops_change_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	struct node *n = node_from_id(ino);
	char path[PATH_MAX], proc[64];
	struct guard_who who;
	struct node_state ns;
	struct stat st;
	int fd, ret;

	if (!ops_xattr_is_user(name))
		return -ENOTSUP;
	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		return ret;
	ops_who(req, &who);
	ret = guard_check(&who, FS_OP_XATTR, path, 1);
	if (ret == 0)
		ret = layer_copy_up(n, path, COPYUP_DATA | COPYUP_META);
	if (ret != 0)
		return ret;
	fd = ops_xattr_open(n, 1, proc, sizeof proc);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		ret = -EPERM;
	else if (value != NULL)
		ret =
		    setxattr(proc, name, value, size, flags) == 0 ? 0 : -errno;
	else
		ret = removexattr(proc, name) == 0 ? 0 : -errno;
	close(fd);
	if (ret == 0)
		ret = layer_record_meta(path, st.st_mode);
	return ret;
}

static void
ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	fuse_reply_err(
	    req, -ops_change_xattr(req, ino, name, value, size, flags));
}

static void
ops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -ops_change_xattr(req, ino, name, NULL, 0, 0));
}

void
ops_entry_fill(struct fuse_lowlevel_ops *o)
{
	o->init = ops_init;
	o->lookup = ops_lookup;
	o->forget = ops_forget;
	o->forget_multi = ops_forget_multi;
	o->getattr = ops_getattr;
	o->setattr = ops_setattr;
	o->readlink = ops_readlink;
	o->statfs = ops_statfs;
	o->getxattr = ops_getxattr;
	o->listxattr = ops_listxattr;
	o->setxattr = ops_setxattr;
	o->removexattr = ops_removexattr;
}

const struct fuse_lowlevel_ops *
ops_table(void)
{
	static struct fuse_lowlevel_ops o;

	if (o.init == NULL) {
		ops_entry_fill(&o);
		ops_dir_fill(&o);
		ops_file_fill(&o);
	}
	return &o;
}
