/*
 * ops_dir: directories and the namespace: the merged listing, and every
 * operation that adds, removes or moves a name.  The kernel serialises
 * these per directory (i_rwsem), so two of them never race on one name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "ops_priv.h"
#include "util.h"

/* One name of a merged listing.  off is its place in the listing (and the
 * d_off the kernel resumes from): a hash of the name, so that a listing
 * rebuilt after a change resumes at the same name, never skipping one. */
struct ops_dirent {
	char *name;
	ino_t ino;
	uint64_t off;
	unsigned char type;
};

/*
 * A directory's merged listing, sorted by off.  There is no per-open state
 * (the kernel never sends OPENDIR: see ops_init()), so a listing is built
 * at offset 0 and kept in a small table keyed by node for the reads that
 * continue it; a continuation that finds none rebuilds it, which the
 * hash offsets make safe.  refs: the table's and each reader's.
 */
struct ops_dir {
	struct node *node;
	uint64_t ino;
	unsigned refs;
	struct ops_dirent *ents;
	size_t n_ents;
	size_t cap;
};

#define OPS_N_LISTINGS 64
static struct ops_dir *ops_listings[OPS_N_LISTINGS];
static pthread_mutex_t ops_listings_lock = PTHREAD_MUTEX_INITIALIZER;

static void
ops_dir_clear(struct ops_dir *d)
{
	size_t i;

	for (i = 0; i < d->n_ents; i++)
		free(d->ents[i].name);
	d->n_ents = 0;
}

static void
ops_dir_add(struct ops_dir *d, const char *name, ino_t ino, unsigned char type)
{
	if (d->n_ents == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->ents = xrealloc(d->ents, d->cap * sizeof *d->ents);
	}
	d->ents[d->n_ents].name = xstrdup(name);
	d->ents[d->n_ents].ino = ino;
	d->ents[d->n_ents].type = type;
	d->ents[d->n_ents].off = 0;
	d->n_ents++;
}

static int
ops_dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ops_dirent *)a)->name,
	    ((const struct ops_dirent *)b)->name);
}

static int
ops_dirent_off_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct ops_dirent *)a)->off;
	uint64_t y = ((const struct ops_dirent *)b)->off;

	return x < y ? -1 : x > y;
}

static int
ops_is_dot(const char *name)
{
	return name[0] == '.' &&
	    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static DIR *
ops_opendir_at(int root, const char *path, int *err)
{
	DIR *dp;
	int fd;

	fd = layer_open(root, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	dp = fdopendir(fd);
	if (dp == NULL) {
		*err = -errno;
		close(fd);
	}
	return dp;
}

/*
 * The merged listing of directory path: every upper name, then every
 * lower name that the upper does not shadow and the stage does not delete.
 * With first_only, stop at the first name (an emptiness test).
 */
static int
ops_dir_list(struct ops_dir *d, const char *path, int is_upper,
    int lower_visible, int first_only)
{
	char child[PATH_MAX];
	struct ops_dirent key;
	struct dirent *de;
	size_t n_upper, plen = strlen(path);
	DIR *dp;
	int err = 0;

	if (is_upper) {
		dp = ops_opendir_at(fsd.upper_fd, path, &err);
		if (dp == NULL)
			return err;
		while ((de = readdir(dp)) != NULL) {
			if (ops_is_dot(de->d_name))
				continue;
			ops_dir_add(d, de->d_name,
			    de->d_ino | NODE_UPPER_INO_BIT, de->d_type);
			if (first_only)
				break;
		}
		closedir(dp);
		if (first_only && d->n_ents > 0)
			return 0;
	}
	if (!lower_visible)
		return 0;
	n_upper = d->n_ents;
	if (n_upper > 1) /* ents is NULL when there is none */
		qsort(d->ents, n_upper, sizeof *d->ents, ops_dirent_cmp);
	dp = ops_opendir_at(fsd.lower_fd, path, &err);
	if (dp == NULL)
		return err == -ENOENT || err == -ENOTDIR ? 0 : err;
	if (plen + 1 >= sizeof child) {
		closedir(dp);
		return -ENAMETOOLONG;
	}
	memcpy(child, path, plen);
	if (plen > 0)
		child[plen++] = '/';
	while ((de = readdir(dp)) != NULL) {
		if (ops_is_dot(de->d_name))
			continue;
		key.name = de->d_name;
		if (n_upper > 0 &&
		    bsearch(&key, d->ents, n_upper, sizeof *d->ents,
		        ops_dirent_cmp) != NULL)
			continue;
		if (plen + strlen(de->d_name) >= sizeof child)
			continue;
		strcpy(child + plen, de->d_name);
		if (layer_is_whiteout(child))
			continue;
		ops_dir_add(d, de->d_name, de->d_ino, de->d_type);
		if (first_only)
			break;
	}
	closedir(dp);
	return 0;
}

int
ops_dir_is_empty(const char *path, const struct layer_ent *le)
{
	struct ops_dir d;
	int ret;

	memset(&d, 0, sizeof d);
	ret = ops_dir_list(&d, path, le->is_upper, le->lower_visible, 1);
	if (ret == 0)
		ret = d.n_ents == 0;
	ops_dir_clear(&d);
	free(d.ents);
	return ret;
}

static void
ops_dir_free(struct ops_dir *d)
{
	ops_dir_clear(d);
	free(d->ents);
	free(d);
}

static void
ops_dir_unref(struct ops_dir *d)
{
	int is_last;

	pthread_mutex_lock(&ops_listings_lock);
	is_last = --d->refs == 0;
	pthread_mutex_unlock(&ops_listings_lock);
	if (is_last)
		ops_dir_free(d);
}

static size_t
ops_dir_slot(const struct node *n)
{
	return ((uintptr_t)n >> 6) % OPS_N_LISTINGS;
}

/* Build the listing of directory n, ordered by hash offsets. */
static int
ops_dir_build(struct node *n, struct ops_dir **out)
{
	char path[PATH_MAX];
	struct node_state ns;
	struct ops_dir *d;
	size_t i;
	int ret;

	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		return ret;
	d = xcalloc(1, sizeof *d);
	d->node = n;
	d->ino = ns.ino;
	ret = ops_dir_list(d, path, ns.is_upper, ns.lower_visible, 0);
	if (ret != 0) {
		ops_dir_free(d);
		return ret;
	}
	/* offsets 1 and 2 are "." and ".."; a name's is above both */
	for (i = 0; i < d->n_ents; i++)
		d->ents[i].off =
		    (XXH3_64bits(d->ents[i].name, strlen(d->ents[i].name)) >>
		        2) +
		    3;
	ops_dir_add(d, ".", ns.ino, DT_DIR);
	d->ents[d->n_ents - 1].off = 1;
	ops_dir_add(d, "..", 1, DT_DIR); /* d_ino 0 would hide it */
	d->ents[d->n_ents - 1].off = 2;
	qsort(d->ents, d->n_ents, sizeof *d->ents, ops_dirent_off_cmp);
	*out = d;
	return 0;
}

/*
 * The listing to read n from at off, with a reference: a fresh one at
 * offset 0 (opendir or rewinddir), else the one kept for n if any.
 */
static int
ops_dir_get(struct node *n, off_t off, struct ops_dir **out)
{
	struct ops_dir *d, *old;
	size_t slot = ops_dir_slot(n);
	int ret;

	if (off != 0) {
		pthread_mutex_lock(&ops_listings_lock);
		d = ops_listings[slot];
		if (d != NULL && d->node == n && d->ino == n->ino) {
			d->refs++;
			pthread_mutex_unlock(&ops_listings_lock);
			*out = d;
			return 0;
		}
		pthread_mutex_unlock(&ops_listings_lock);
	}
	ret = ops_dir_build(n, &d);
	if (ret != 0)
		return ret;
	d->refs = 2;
	pthread_mutex_lock(&ops_listings_lock);
	old = ops_listings[slot];
	ops_listings[slot] = d;
	if (old != NULL && --old->refs == 0) {
		pthread_mutex_unlock(&ops_listings_lock);
		ops_dir_free(old);
	} else
		pthread_mutex_unlock(&ops_listings_lock);
	*out = d;
	return 0;
}

/* Forget the listing kept for directory n (its names changed), so that a
 * continued read sees the change. */
static void
ops_dir_changed(struct node *n)
{
	struct ops_dir *d = NULL;
	size_t slot = ops_dir_slot(n);

	pthread_mutex_lock(&ops_listings_lock);
	if (ops_listings[slot] != NULL && ops_listings[slot]->node == n) {
		d = ops_listings[slot];
		ops_listings[slot] = NULL;
		if (--d->refs != 0)
			d = NULL;
	}
	pthread_mutex_unlock(&ops_listings_lock);
	if (d != NULL)
		ops_dir_free(d);
}

/* The first entry to send when resuming at off (the d_off of the last
 * entry sent, or 0). */
static size_t
ops_dir_seek(const struct ops_dir *d, off_t off)
{
	size_t lo = 0, hi = d->n_ents, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->ents[mid].off <= (uint64_t)off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
ops_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, int plus)
{
	struct node *n = node_from_id(ino);
	struct fuse_entry_param e;
	struct ops_dirent *de;
	struct ops_dir *d;
	struct stat st;
	uint64_t d_ino;
	char *buf;
	size_t i, pos = 0, len;
	int ret;

	ret = ops_dir_get(n, off, &d);
	if (ret != 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	buf = xmalloc(size);
	for (i = ops_dir_seek(d, off); i < d->n_ents; i++) {
		de = &d->ents[i];
		if (plus) {
			memset(&e, 0, sizeof e);
			if (ops_is_dot(de->name)) {
				e.attr.st_ino = de->ino;
				e.attr.st_mode = S_IFDIR;
			} else if (ops_do_lookup(n, de->name, &e) != 0)
				continue; /* vanished meanwhile */
			len = fuse_add_direntry_plus(req, buf + pos, size - pos,
			    de->name, &e, (off_t)de->off);
			if (len > size - pos) {
				if (e.ino != 0)
					node_forget(node_from_id(e.ino), 1);
				break;
			}
		} else {
			d_ino = de->ino;
			if (!ops_is_dot(de->name))
				(void)node_child_ino(n, de->name, &d_ino);
			memset(&st, 0, sizeof st);
			st.st_ino = d_ino;
			st.st_mode = (mode_t)de->type << 12;
			len = fuse_add_direntry(req, buf + pos, size - pos,
			    de->name, &st, (off_t)de->off);
			if (len > size - pos)
				break;
		}
		pos += len;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
	ops_dir_unref(d);
}

/* A directory needs no open: listings are kept per node (ops_dir_get()),
 * so the kernel is told to stop asking, and caches listings itself. */
static void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ops_no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ops_do_readdir(req, ino, size, off, fi, 0);
}

static void
ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ops_do_readdir(req, ino, size, off, fi, 1);
}

static void
ops_fsyncdir(
    fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct node_state ns;
	int fd, ret;

	ret = node_path(node_from_id(ino), NULL, path, sizeof path, &ns);
	if (ret >= 0 && ns.is_upper) {
		fd = layer_open(fsd.upper_fd, path, O_RDONLY | O_DIRECTORY, 0);
		ret = fd;
		if (fd >= 0) {
			ret = fsync(fd) == 0 ? 0 : -errno;
			close(fd);
		}
	}
	if (ret >= 0)
		ret = stage_sync(fsd.stage) == 0 ? 0 : -errno;
	fuse_reply_err(req, ret < 0 ? -ret : 0);
}

/* The path of parent/name, to be added; *ps is parent's state.  Returns
 * 0 or -errno. */
static int
ops_add_path(
    struct node *parent, const char *name, char *path, struct node_state *ps)
{
	int ret;

	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	ret = node_path(parent, name, path, PATH_MAX, ps);
	return ret < 0 ? ret : 0;
}

/* The upper directory that will hold path (parent's, made when it is
 * only in lower), opened.  Returns its fd (release with layer_put()) or
 * -errno. */
static int
ops_add_open(struct node *parent, const char *path, struct node_state *ps,
    const char **leaf)
{
	char ppath[PATH_MAX];
	int ret;

	if (!ps->is_upper) {
		ret = node_path(parent, NULL, ppath, sizeof ppath, ps);
		if (ret < 0)
			return ret;
		ret = ops_upper_dir(parent, ppath, ps);
		if (ret != 0)
			return ret;
	}
	return layer_open_parent(fsd.upper_fd, path, leaf);
}

/*
 * The common start of every operation that adds parent/name: the paths,
 * the policy's word (op), and the upper parent directory, opened.
 * Returns the parent fd (release with layer_put()) or -errno.
 */
static int
ops_prepare_add(fuse_req_t req, struct node *parent, const char *name,
    enum fs_op op, char *path, const char **leaf)
{
	struct guard_who who;
	struct node_state ps;
	int ret;

	ret = ops_add_path(parent, name, path, &ps);
	if (ret != 0)
		return ret;
	ops_who(req, &who);
	ret = guard_check(&who, op, path, 1);
	if (ret != 0)
		return ret;
	return ops_add_open(parent, path, &ps, leaf);
}

/* Give a new upper entry to the caller who made it (when we are root). */
static void
ops_chown_new(fuse_req_t req, int pfd, const char *name, int fd)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (!fsd.is_root)
		return;
	if (fd >= 0)
		(void)fchown(fd, ctx->uid, ctx->gid);
	else
		(void)fchownat(
		    pfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW);
}

/* Finish an add: stat, record, reply an entry; undo the upper entry when
 * it cannot be recorded. */
static void
ops_finish_add(fuse_req_t req, struct node *parent, const char *path, int pfd,
    const char *leaf, int is_dir)
{
	struct fuse_entry_param e;
	struct stat st;
	int ret;

	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		ret = -errno;
	else
		ret = layer_record_content(path, st.st_mode, is_dir);
	if (ret != 0) {
		(void)unlinkat(pfd, leaf, is_dir ? AT_REMOVEDIR : 0);
		layer_put(pfd);
		fuse_reply_err(req, -ret);
		return;
	}
	layer_put(pfd);
	ops_dir_changed(parent);
	ops_new_entry(parent,
	    strrchr(path, '/') ? strrchr(path, '/') + 1 : path, &st, &e);
	fuse_reply_entry(req, &e);
}

static void
ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char path[PATH_MAX];
	const char *leaf;
	int pfd;

	pfd = ops_prepare_add(
	    req, node_from_id(parent), name, FS_OP_CREATE, path, &leaf);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	if (mkdirat(pfd, leaf, mode & 07777) != 0) {
		fuse_reply_err(req, errno);
		layer_put(pfd);
		return;
	}
	ops_chown_new(req, pfd, leaf, -1);
	ops_finish_add(req, node_from_id(parent), path, pfd, leaf, 1);
}

static void
ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	char path[PATH_MAX];
	const char *leaf;
	int pfd;

	/* no device nodes in the staging area */
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	pfd = ops_prepare_add(
	    req, node_from_id(parent), name, FS_OP_CREATE, path, &leaf);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	if (mknodat(pfd, leaf, mode, 0) != 0) {
		fuse_reply_err(req, errno);
		layer_put(pfd);
		return;
	}
	ops_chown_new(req, pfd, leaf, -1);
	ops_finish_add(req, node_from_id(parent), path, pfd, leaf, 0);
}

static void
ops_symlink(
    fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];
	const char *leaf;
	int pfd;

	struct guard_ask a;
	struct guard_who who;
	struct node_state ps;

	/* A symlink at path makes path/x name whatever x is beneath its
	 * target: a rule whose patterns reach beneath path because of path
	 * itself (".git/hooks" for the pattern ".git/hooks/") governs it too. */
	pfd = ops_add_path(node_from_id(parent), name, path, &ps);
	if (pfd == 0) {
		ops_who(req, &who);
		guard_ask_init(&a);
		guard_ask_path(&a, FS_OP_CREATE, path);
		guard_ask_below(
		    &a, GUARD_OPS_PLACED, path, POLICY_BELOW_ANCHORED);
		pfd = guard_decide(&who, FS_OP_CREATE, path, &a, 1);
	}
	if (pfd == 0)
		pfd = ops_add_open(node_from_id(parent), path, &ps, &leaf);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	if (symlinkat(link, pfd, leaf) != 0) {
		fuse_reply_err(req, errno);
		layer_put(pfd);
		return;
	}
	ops_chown_new(req, pfd, leaf, -1);
	ops_finish_add(req, node_from_id(parent), path, pfd, leaf, 0);
}

static void
ops_link(
    fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct node *n = node_from_id(ino);
	char path[PATH_MAX], spath[PATH_MAX];
	const char *leaf, *sleaf;
	struct node_state ns, ps;
	struct guard_who who;
	struct guard_ask a;
	int pfd, spfd = -1, ret;

	ret = node_path(n, NULL, spath, sizeof spath, &ns);
	if (ret >= 0 && ns.is_dir)
		ret = -EPERM;
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	/* Writes through the new name change the file: the link needs what
	 * the new name needs and what a write to the old one needs. */
	pfd = ops_add_path(node_from_id(newparent), newname, path, &ps);
	if (pfd == 0) {
		ops_who(req, &who);
		guard_ask_init(&a);
		guard_ask_path(&a, FS_OP_LINK | FS_OP_CREATE, path);
		guard_ask_path(&a, FS_OP_LINK | FS_OP_WRITE, spath);
		pfd = guard_decide(&who, FS_OP_LINK, path, &a, 1);
	}
	if (pfd == 0)
		pfd = ops_add_open(node_from_id(newparent), path, &ps, &leaf);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	/* a hard link joins two names of one staged file */
	ret = layer_copy_up(n, spath, COPYUP_DATA);
	if (ret == 0)
		ret = node_path(n, NULL, spath, sizeof spath, &ns);
	if (ret >= 0) {
		spfd = layer_open_parent(fsd.upper_fd, spath, &sleaf);
		ret = spfd < 0 ? spfd : 0;
	}
	if (ret == 0 && linkat(spfd, sleaf, pfd, leaf, 0) != 0)
		ret = -errno;
	layer_put(spfd);
	if (ret != 0) {
		layer_put(pfd);
		fuse_reply_err(req, -ret);
		return;
	}
	ops_finish_add(req, node_from_id(newparent), path, pfd, leaf, 0);
}

/* Remove parent/name (a directory with is_dir). */
static int
ops_remove(fuse_req_t req, struct node *parent, const char *name, int is_dir)
{
	char path[PATH_MAX];
	struct guard_who who;
	struct guard_ask a;
	struct node_state ps;
	struct layer_ent le;
	const char *leaf;
	int pfd, ret;

	ret = node_path(parent, name, path, sizeof path, &ps);
	if (ret < 0)
		return ret;
	ret = layer_lookup(path, &ps, &le);
	if (ret != 0)
		return ret;
	if (is_dir && !S_ISDIR(le.st.st_mode))
		return -ENOTDIR;
	if (!is_dir && S_ISDIR(le.st.st_mode))
		return -EISDIR;
	if (is_dir) {
		ret = ops_dir_is_empty(path, &le);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -ENOTEMPTY;
	}
	/* An empty directory takes only its own name away.  A symlink
	 * takes away what every name beneath it named. */
	ops_who(req, &who);
	if (S_ISLNK(le.st.st_mode)) {
		guard_ask_init(&a);
		guard_ask_path(&a, FS_OP_DELETE, path);
		guard_ask_below(
		    &a, GUARD_OPS_GONE, path, POLICY_BELOW_ANCHORED);
		ret = guard_decide(&who, FS_OP_DELETE, path, &a, 1);
	} else
		ret = guard_check(&who, FS_OP_DELETE, path, 1);
	if (ret != 0)
		return ret;
	if (!is_dir)
		ops_file_pin(node_child(parent, name));
	if (le.is_upper) {
		pfd = layer_open_parent(fsd.upper_fd, path, &leaf);
		if (pfd < 0)
			return pfd;
		ret = unlinkat(pfd, leaf, is_dir ? AT_REMOVEDIR : 0) == 0
		    ? 0
		    : -errno;
		layer_put(pfd);
		if (ret != 0)
			return ret;
	}
	ret = layer_record_gone(path);
	node_unlink(parent, name, le.key_dev, le.key_ino);
	ops_dir_changed(parent);
	return ret;
}

static void
ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -ops_remove(req, node_from_id(parent), name, 0));
}

static void
ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -ops_remove(req, node_from_id(parent), name, 1));
}

/* Check what a rename would replace at dst (its layer_ent in *dle when
 * something is there: returns 1; 0 when nothing). */
static int
ops_rename_target(const char *dst, const struct node_state *dps,
    const struct layer_ent *sle, unsigned int flags, struct layer_ent *dle)
{
	int ret;

	ret = layer_lookup(dst, dps, dle);
	if (ret == -ENOENT)
		return 0;
	if (ret != 0)
		return ret;
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (S_ISDIR(sle->st.st_mode) && !S_ISDIR(dle->st.st_mode))
		return -ENOTDIR;
	if (!S_ISDIR(sle->st.st_mode) && S_ISDIR(dle->st.st_mode))
		return -EISDIR;
	if (S_ISDIR(dle->st.st_mode)) {
		ret = ops_dir_is_empty(dst, dle);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -ENOTEMPTY;
	}
	return 1;
}

/* How many names beneath a renamed directory are asked about one by one,
 * and how deep, before the strictest answer any name beneath could get
 * stands for them all. */
#define OPS_WALK_MAX 10000
#define OPS_WALK_DEPTH 128

struct ops_walk {
	struct guard_ask *src_ask;
	struct guard_ask *dst_ask;
	char src[PATH_MAX]; /* the name beneath the source being asked */
	char dst[PATH_MAX]; /* and where it lands */
	size_t n_seen;
	int is_over; /* too many or too deep: not every name was asked */
	int is_done; /* both denied: nothing can be stricter */
};

/*
 * Ask about every name beneath directory w->src (its view: *le) as it
 * leaves w->src (GUARD_OPS_GONE) and lands beneath w->dst
 * (GUARD_OPS_PLACED); a symlink also for what it names beneath.
 * Returns 0 or -errno; sets w->is_over when it stopped short.
 */
static int
ops_walk_below(struct ops_walk *w, const struct layer_ent *le, int depth)
{
	size_t i, sl = strlen(w->src), dl = strlen(w->dst), nl;
	struct node_state ds;
	struct layer_ent cle;
	struct ops_dir d;
	int ret;

	if (depth >= OPS_WALK_DEPTH) {
		w->is_over = 1;
		return 0;
	}
	memset(&d, 0, sizeof d);
	ret = ops_dir_list(&d, w->src, le->is_upper, le->lower_visible, 0);
	memset(&ds, 0, sizeof ds);
	ds.is_dir = 1;
	ds.is_upper = (uint8_t)le->is_upper;
	ds.lower_visible = (uint8_t)le->lower_visible;
	for (i = 0; ret == 0 && i < d.n_ents && !w->is_over && !w->is_done;
	     i++) {
		nl = strlen(d.ents[i].name);
		if (++w->n_seen > OPS_WALK_MAX ||
		    sl + 1 + nl >= sizeof w->src ||
		    dl + 1 + nl >= sizeof w->dst) {
			w->is_over = 1;
			break;
		}
		w->src[sl] = '/';
		memcpy(w->src + sl + 1, d.ents[i].name, nl + 1);
		w->dst[dl] = '/';
		memcpy(w->dst + dl + 1, d.ents[i].name, nl + 1);
		guard_ask_path(w->src_ask, GUARD_OPS_GONE, w->src);
		guard_ask_path(w->dst_ask, GUARD_OPS_PLACED, w->dst);
		if (d.ents[i].type != DT_REG) {
			ret = layer_lookup(w->src, &ds, &cle);
			if (ret == -ENOENT) {
				ret = 0; /* gone meanwhile */
				continue;
			}
			if (ret != 0)
				break;
			if (S_ISLNK(cle.st.st_mode)) {
				guard_ask_below(w->src_ask, GUARD_OPS_GONE,
				    w->src, POLICY_BELOW_ANCHORED);
				guard_ask_below(w->dst_ask, GUARD_OPS_PLACED,
				    w->dst, POLICY_BELOW_ANCHORED);
			} else if (S_ISDIR(cle.st.st_mode))
				ret = ops_walk_below(w, &cle, depth + 1);
		}
		w->is_done = guard_ask_decision(w->src_ask) == DECISION_DENY &&
		    guard_ask_decision(w->dst_ask) == DECISION_DENY;
	}
	w->src[sl] = '\0';
	w->dst[dl] = '\0';
	ops_dir_clear(&d);
	free(d.ents);
	return ret;
}

/*
 * Renaming directory src (view *sle) to dst changes what every name
 * beneath both names: when some rule reaches beneath either, ask about
 * each name that moves; past OPS_WALK_MAX names, the strictest answer any
 * name beneath could get.  Returns 0 or -errno (the walk failed: the
 * rename fails, it never goes unasked).
 */
static int
ops_rename_guard_tree(const char *src, const char *dst,
    const struct layer_ent *sle, struct guard_ask *sa, struct guard_ask *da)
{
	struct policy_verdict sv, dv;
	struct ops_walk *w;
	int ret;

	policy_eval_fs_below(fsd.pol, GUARD_OPS_GONE, src, strlen(src),
	    POLICY_BELOW_ANY, &sv, NULL);
	policy_eval_fs_below(fsd.pol, GUARD_OPS_PLACED, dst, strlen(dst),
	    POLICY_BELOW_ANY, &dv, NULL);
	if (sv.decision == DECISION_ALLOW && dv.decision == DECISION_ALLOW)
		return 0; /* no rule reaches beneath either name */
	w = xcalloc(1, sizeof *w);
	w->src_ask = sa;
	w->dst_ask = da;
	(void)str_copy(w->src, src, sizeof w->src);
	(void)str_copy(w->dst, dst, sizeof w->dst);
	ret = ops_walk_below(w, sle, 0);
	if (ret == 0 && w->is_over) {
		guard_ask_below(sa, GUARD_OPS_GONE, src, POLICY_BELOW_ANY);
		guard_ask_below(da, GUARD_OPS_PLACED, dst, POLICY_BELOW_ANY);
	}
	free(w);
	return ret;
}

/*
 * Add to *sa and *da what renaming src (view *sle) to dst asks (replacing
 * what is there when has_dst): src's names go, dst's are placed, and
 * beneath a directory or a symlink so are the names under them.  Returns
 * 0 or -errno (a walk beneath failed).
 */
static int
ops_rename_ask(const char *src, const char *dst, const struct layer_ent *sle,
    int has_dst, struct guard_ask *sa, struct guard_ask *da)
{
	guard_ask_path(sa, GUARD_OPS_GONE, src);
	guard_ask_path(
	    da, GUARD_OPS_PLACED | (has_dst ? FS_OP_DELETE : 0), dst);
	if (S_ISLNK(sle->st.st_mode)) {
		guard_ask_below(sa, GUARD_OPS_GONE, src, POLICY_BELOW_ANCHORED);
		guard_ask_below(
		    da, GUARD_OPS_PLACED, dst, POLICY_BELOW_ANCHORED);
	} else if (S_ISDIR(sle->st.st_mode))
		return ops_rename_guard_tree(src, dst, sle, sa, da);
	return 0;
}

/*
 * The policy's word on renaming src (view *sle) to dst: one decision for
 * each end, audited as a rename of that end.
 */
static int
ops_rename_guard(fuse_req_t req, const char *src, const char *dst,
    const struct layer_ent *sle, int has_dst)
{
	struct guard_ask sa, da;
	struct guard_who who;
	int ret;

	guard_ask_init(&sa);
	guard_ask_init(&da);
	ret = ops_rename_ask(src, dst, sle, has_dst, &sa, &da);
	if (ret != 0)
		return ret;
	ops_who(req, &who);
	ret = guard_decide(&who, FS_OP_RENAME, src, &sa, 1);
	if (ret == 0)
		ret = guard_decide(&who, FS_OP_RENAME, dst, &da, 1);
	return ret;
}

/*
 * The policy's word on exchanging a (view *ale) and b (view *ble): two
 * renames, a over b and b over a, each asked in full.  What each name
 * gives and receives is one decision, audited as a rename of that name;
 * the stricter is acted on first, so a denial never waits behind a hold
 * and nothing changes unless both are allowed.
 */
static int
ops_exchange_guard(fuse_req_t req, const char *a, const char *b,
    const struct layer_ent *ale, const struct layer_ent *ble)
{
	struct guard_ask aa, ba;
	struct guard_who who;
	int ret, is_b_first;

	guard_ask_init(&aa);
	guard_ask_init(&ba);
	ret = ops_rename_ask(a, b, ale, 1, &aa, &ba);
	if (ret == 0)
		ret = ops_rename_ask(b, a, ble, 1, &ba, &aa);
	if (ret != 0)
		return ret;
	ops_who(req, &who);
	/* enum decision orders allow < hold < deny */
	is_b_first = guard_ask_decision(&ba) > guard_ask_decision(&aa);
	ret = guard_decide(
	    &who, FS_OP_RENAME, is_b_first ? b : a, is_b_first ? &ba : &aa, 1);
	if (ret == 0)
		ret = guard_decide(&who, FS_OP_RENAME, is_b_first ? a : b,
		    is_b_first ? &aa : &ba, 1);
	return ret;
}

/* Make sure directory node dir (in state *st) exists in upper/. */
static int
ops_parent_upper(struct node *dir, struct node_state *st)
{
	char path[PATH_MAX];
	int ret;

	if (st->is_upper)
		return 0;
	ret = node_path(dir, NULL, path, sizeof path, st);
	if (ret < 0)
		return ret;
	return ops_upper_dir(dir, path, st);
}

/* Copy the entry at path (view *le, node n) up whole: a directory's tree,
 * or a file, symlink or special file with its content. */
static int
ops_copy_up_whole(struct node *n, const char *path, const struct layer_ent *le)
{
	if (S_ISDIR(le->st.st_mode))
		return layer_copy_up_tree(path);
	return layer_copy_up(n, path, COPYUP_DATA);
}

/*
 * Rename src to dst in upper/ (renameat2 with flags) under their parent
 * directories, opened into *spfd and *dpfd (which the caller releases with
 * layer_put(), also on failure; -1 when not opened); *dleaf is dst's last
 * component.  Returns 0 or -errno.
 */
static int
ops_upper_rename(const char *src, const char *dst, unsigned int flags,
    int *spfd, int *dpfd, const char **dleaf)
{
	const char *sleaf;

	*spfd = layer_open_parent(fsd.upper_fd, src, &sleaf);
	*dpfd = layer_open_parent(fsd.upper_fd, dst, dleaf);
	if (*spfd < 0 || *dpfd < 0)
		return *spfd < 0 ? *spfd : *dpfd;
	if (renameat2(*spfd, sleaf, *dpfd, *dleaf, flags) != 0)
		return -errno;
	return 0;
}

/* The node at parent/name (view *le), with a reference held. */
static struct node *
ops_hold_node(struct node *parent, const char *name, const struct layer_ent *le)
{
	struct node_state cs;

	memset(&cs, 0, sizeof cs);
	cs.is_dir = (uint8_t)S_ISDIR(le->st.st_mode);
	cs.is_upper = (uint8_t)le->is_upper;
	cs.lower_visible = (uint8_t)le->lower_visible;
	return node_ref(
	    parent, name, le->key_dev, le->key_ino, le->report_ino, &cs);
}

/*
 * renameat2(RENAME_EXCHANGE) of parent/name and newparent/newname, two
 * existing entries of any kinds.  Both are copied up (a directory as its
 * whole tree) and swapped in upper/ with one renameat2, so the swap is as
 * atomic there as in the view; each name then holds the other's content,
 * recorded as a change of its own project base (see
 * layer_record_exchange()).  Both nodes keep their inode numbers under
 * their new names.  -ENOENT when either is missing.
 */
static int
ops_do_exchange(fuse_req_t req, struct node *parent, const char *name,
    struct node *newparent, const char *newname)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct node_state ps, dps;
	struct layer_ent ale, ble;
	struct node *na = NULL, *nb = NULL;
	const char *bleaf;
	int apfd = -1, bpfd = -1, ret;

	ret = node_path(parent, name, a, sizeof a, &ps);
	if (ret >= 0)
		ret = node_path(newparent, newname, b, sizeof b, &dps);
	if (ret < 0)
		return ret;
	ret = layer_lookup(a, &ps, &ale);
	if (ret == 0)
		ret = layer_lookup(b, &dps, &ble);
	if (ret != 0)
		return ret;
	ret = ops_exchange_guard(req, a, b, &ale, &ble);
	if (ret != 0)
		return ret;

	na = ops_hold_node(parent, name, &ale);
	nb = ops_hold_node(newparent, newname, &ble);
	if (na == nb)
		goto out; /* two names of one file: nothing moves */
	ret = ops_copy_up_whole(na, a, &ale);
	if (ret == 0)
		ret = ops_copy_up_whole(nb, b, &ble);
	if (ret == 0)
		ret = ops_parent_upper(parent, &ps);
	if (ret == 0)
		ret = ops_parent_upper(newparent, &dps);
	if (ret != 0)
		goto out;
	ret = ops_upper_rename(a, b, RENAME_EXCHANGE, &apfd, &bpfd, &bleaf);
	if (ret != 0)
		goto out;
	ret = layer_record_exchange(a, b);
	node_exchange(na, parent, name, nb, newparent, newname,
	    S_ISDIR(ale.st.st_mode), S_ISDIR(ble.st.st_mode));
	ops_dir_changed(parent);
	ops_dir_changed(newparent);
out:
	layer_put(apfd);
	layer_put(bpfd);
	if (na != NULL)
		node_forget(na, 1);
	if (nb != NULL)
		node_forget(nb, 1);
	return ret;
}

static int
ops_do_rename(fuse_req_t req, struct node *parent, const char *name,
    struct node *newparent, const char *newname, unsigned int flags)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct node_state ps, dps;
	struct layer_ent sle, dle;
	struct node *n = NULL;
	const char *dleaf;
	struct stat st;
	int spfd = -1, dpfd = -1, ret, has_dst, is_dir;

	if (strlen(newname) > NAME_MAX)
		return -ENAMETOOLONG;
	if (flags == RENAME_EXCHANGE)
		return ops_do_exchange(req, parent, name, newparent, newname);
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_WHITEOUT, or a mix with EXCHANGE */
	ret = node_path(parent, name, src, sizeof src, &ps);
	if (ret >= 0)
		ret = node_path(newparent, newname, dst, sizeof dst, &dps);
	if (ret < 0)
		return ret;
	ret = layer_lookup(src, &ps, &sle);
	if (ret != 0)
		return ret;
	has_dst = ops_rename_target(dst, &dps, &sle, flags, &dle);
	if (has_dst < 0)
		return has_dst;
	is_dir = S_ISDIR(sle.st.st_mode);
	ret = ops_rename_guard(req, src, dst, &sle, has_dst);
	if (ret != 0)
		return ret;

	/* hold the source's node while it moves */
	n = ops_hold_node(parent, name, &sle);
	ret = ops_copy_up_whole(n, src, &sle);
	if (ret == 0)
		ret = ops_parent_upper(newparent, &dps);
	if (ret != 0)
		goto out;
	if (has_dst && !S_ISDIR(dle.st.st_mode))
		ops_file_pin(node_child(newparent, newname));
	ret = ops_upper_rename(src, dst, 0, &spfd, &dpfd, &dleaf);
	if (ret != 0)
		goto out;
	if (is_dir)
		ret = layer_record_tree_rename(src, dst);
	else if (fstatat(dpfd, dleaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
		ret = -errno;
	else
		ret = layer_record_moved(src, dst, st.st_mode);
	if (has_dst)
		node_unlink(newparent, newname, dle.key_dev, dle.key_ino);
	node_rename(n, parent, name, newparent, newname, is_dir);
	ops_dir_changed(parent);
	ops_dir_changed(newparent);
out:
	layer_put(spfd);
	layer_put(dpfd);
	if (n != NULL)
		node_forget(n, 1);
	return ret;
}

static void
ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	fuse_reply_err(req,
	    -ops_do_rename(req, node_from_id(parent), name,
	        node_from_id(newparent), newname, flags));
}

static void
ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct node *p = node_from_id(parent);
	char path[PATH_MAX];
	struct fuse_entry_param e;
	struct node_state ps;
	struct layer_ent le;
	struct ops_file *f;
	const char *leaf;
	struct stat st;
	int pfd, fd, flags, ret;

	/* a name the kernel thought absent may exist in the view (only
	 * after a failed lookup raced); then this is an open */
	ret = node_path(p, name, path, sizeof path, &ps);
	if (ret >= 0 && layer_lookup(path, &ps, &le) == 0) {
		if (fi->flags & O_EXCL) {
			fuse_reply_err(req, EEXIST);
			return;
		}
		ret = ops_do_lookup(p, name, &e);
		if (ret == 0) {
			ret = ops_open_node(req, node_from_id(e.ino), fi);
			if (ret != 0)
				node_forget(node_from_id(e.ino), 1);
		}
		if (ret != 0)
			fuse_reply_err(req, -ret);
		else
			fuse_reply_create(req, &e, fi);
		return;
	}
	pfd = ops_prepare_add(req, p, name, FS_OP_CREATE, path, &leaf);
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	flags = (fi->flags & ~(O_NOCTTY | O_APPEND)) | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC;
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR; /* one fd serves all */
	fd = openat(pfd, leaf, flags, mode);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	ops_chown_new(req, pfd, leaf, fd);
	if (fstat(fd, &st) != 0)
		ret = -errno;
	else
		ret = layer_record_content(path, st.st_mode, 0);
	if (ret != 0) {
		close(fd);
		(void)unlinkat(pfd, leaf, 0);
		goto fail;
	}
	layer_put(pfd);
	ops_dir_changed(p);
	f = xcalloc(1, sizeof *f);
	pthread_mutex_init(&f->lock, NULL);
	f->fd = fd;
	f->is_write = 1;
	ops_new_entry(p, name, &st, &e);
	f->node = node_from_id(e.ino);
	ops_file_track(f);
	fi->fh = (uintptr_t)f;
	fi->keep_cache = 1;
	fuse_reply_create(req, &e, fi);
	return;
fail:
	layer_put(pfd);
	fuse_reply_err(req, -ret);
}

void
ops_dir_fill(struct fuse_lowlevel_ops *o)
{
	o->opendir = ops_opendir;
	o->readdir = ops_readdir;
	o->readdirplus = ops_readdirplus;
	o->fsyncdir = ops_fsyncdir;
	o->mkdir = ops_mkdir;
	o->mknod = ops_mknod;
	o->symlink = ops_symlink;
	o->link = ops_link;
	o->unlink = ops_unlink;
	o->rmdir = ops_rmdir;
	o->rename = ops_rename;
	o->create = ops_create;
}
