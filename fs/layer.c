/*
 * layer: the two roots, the merged view over them, copy-up, and the glue
 * that turns a change into its staging record (see layer.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

#include "fsd.h"
#include "layer.h"

/* Room for an entry's path and from, as stage_lookup() copies them. */
#define LAYER_ENTRY_BUF (2 * PATH_MAX + 16)

/* Copy-ups of one node are serialised by one of these (picked by the
 * node's address), so that two writers never copy the same file twice. */
#define LAYER_N_STRIPES 64
static pthread_mutex_t layer_stripes[LAYER_N_STRIPES];
static pthread_once_t layer_stripes_once = PTHREAD_ONCE_INIT;
static atomic_ulong layer_tmp_seq;

static void
layer_stripes_init(void)
{
	int i;

	for (i = 0; i < LAYER_N_STRIPES; i++)
		pthread_mutex_init(&layer_stripes[i], NULL);
}

static pthread_mutex_t *
layer_stripe(const struct node *n)
{
	pthread_once(&layer_stripes_once, layer_stripes_init);
	return &layer_stripes[((uintptr_t)n >> 6) % LAYER_N_STRIPES];
}

int
layer_open(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	how.resolve =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(
	    SYS_openat2, root, *path != '\0' ? path : ".", &how, sizeof how);
	if (fd < 0)
		return -errno;
	return (int)fd;
}

int
layer_open_parent(int root, const char *path, const char **name)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len;

	if (*path == '\0')
		return -EINVAL;
	if (slash == NULL) {
		*name = path;
		return root;
	}
	len = (size_t)(slash - path);
	if (len >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	*name = slash + 1;
	return layer_open(root, dir, O_PATH | O_DIRECTORY, 0);
}

void
layer_put(int fd)
{
	if (fd >= 0 && fd != fsd.lower_fd && fd != fsd.upper_fd)
		close(fd);
}

/*
 * A name directly under root is one fstatat.  Deeper, the whole path is
 * opened O_PATH in one openat2 (a trailing symlink gives an fd of the link
 * itself, as lstat would see it) and fstat'ed: the same three calls as
 * opening its parent, but a name that is not there (most failed lookups,
 * and every create asks about one) costs the openat2 alone.
 */
int
layer_stat(int root, const char *path, struct stat *st)
{
	int fd, ret = 0;

	if (*path == '\0')
		return fstat(root, st) == 0 ? 0 : -errno;
	if (strchr(path, '/') == NULL)
		return fstatat(root, path, st, AT_SYMLINK_NOFOLLOW) == 0
		    ? 0
		    : -errno;
	fd = layer_open(root, path, O_PATH, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) != 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The stage's entry for path: 1 found, 0 not. */
static int
layer_entry(const char *path, struct stage_entry *e, char *buf, size_t len)
{
	return stage_lookup(fsd.stage, path, e, buf, len) == 1;
}

int
layer_is_whiteout(const char *path)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];

	return layer_entry(path, &e, buf, sizeof buf) &&
	    e.kind == STAGE_DELETED;
}

static int
layer_is_opaque(const char *path)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];

	return layer_entry(path, &e, buf, sizeof buf) && e.is_opaque;
}

int
layer_lookup(
    const char *path, const struct node_state *parent, struct layer_ent *out)
{
	struct stat lst;
	int ret;

	memset(out, 0, sizeof *out);
	if (parent->is_upper) {
		ret = layer_stat(fsd.upper_fd, path, &out->st);
		if (ret == 0) {
			out->is_upper = 1;
			out->key_dev = out->st.st_dev;
			out->key_ino = out->st.st_ino;
			out->report_ino = out->st.st_ino | NODE_UPPER_INO_BIT;
			if (!S_ISDIR(out->st.st_mode) ||
			    !parent->lower_visible || layer_is_opaque(path))
				return 0;
			/* a merged directory: keyed and numbered by its
			 * lower half when the project has one */
			if (layer_stat(fsd.lower_fd, path, &lst) == 0 &&
			    S_ISDIR(lst.st_mode)) {
				out->lower_visible = 1;
				out->key_dev = lst.st_dev;
				out->key_ino = lst.st_ino;
				out->report_ino = lst.st_ino;
				out->st.st_nlink = 1;
			}
			return 0;
		}
		if (ret != -ENOENT)
			return ret;
	}
	if (!parent->lower_visible || layer_is_whiteout(path))
		return -ENOENT;
	ret = layer_stat(fsd.lower_fd, path, &out->st);
	if (ret != 0)
		return ret == -ELOOP || ret == -ENOTDIR ? -ENOENT : ret;
	out->lower_visible = S_ISDIR(out->st.st_mode);
	out->key_dev = out->st.st_dev;
	out->key_ino = out->st.st_ino;
	out->report_ino = out->st.st_ino;
	return 0;
}

int
layer_getattr(const char *path, const struct node_state *st, struct stat *out)
{
	int ret;

	/* the root shows the project's own mode and owner */
	ret = layer_stat(
	    st->is_upper && *path != '\0' ? fsd.upper_fd : fsd.lower_fd, path,
	    out);
	if (ret != 0)
		return ret;
	if (st->is_dir && st->is_upper && st->lower_visible)
		out->st_nlink = 1;
	out->st_ino = st->ino;
	return 0;
}

/* Give a new upper entry the owner and mode of what it copies. */
static void
layer_copy_owner(int dirfd, const char *name, const struct stat *st)
{
	if (fsd.is_root)
		(void)fchownat(
		    dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
}

int
layer_upper_dir(const char *path)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *slash;
	struct stat st;
	int ufd = fsd.upper_fd, lfd = fsd.lower_fd, nfd, ret = 0;
	size_t len;

	while (*p != '\0') {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= sizeof comp) {
			ret = -EINVAL;
			goto out;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len + (slash != NULL);

		if (lfd >= 0 &&
		    fstatat(lfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (mkdirat(ufd, comp, 0700) == 0) {
				layer_copy_owner(ufd, comp, &st);
				(void)fchmodat(
				    ufd, comp, st.st_mode & 07777, 0);
			} else if (errno != EEXIST) {
				ret = -errno;
				goto out;
			}
			nfd = openat(lfd, comp,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		} else
			nfd = -1;
		layer_put(lfd);
		lfd = nfd;

		nfd = openat(
		    ufd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			ret = -errno;
			goto out;
		}
		layer_put(ufd);
		ufd = nfd;
	}
out:
	layer_put(lfd);
	layer_put(ufd);
	return ret;
}

/* Copy the user.* extended attributes of sfd's file to dfd's. */
static void
layer_copy_xattrs(int sfd, int dfd)
{
	char list[4096], val[4096], *name;
	ssize_t n, vlen;

	n = flistxattr(sfd, list, sizeof list);
	if (n <= 0)
		return;
	for (name = list; name < list + n; name += strlen(name) + 1) {
		if (strncmp(name, "user.", 5) != 0)
			continue;
		vlen = fgetxattr(sfd, name, val, sizeof val);
		if (vlen >= 0)
			(void)fsetxattr(dfd, name, val, (size_t)vlen, 0);
	}
}

static int
layer_copy_data(int sfd, int dfd, off_t size)
{
	char buf[65536];
	loff_t in = 0, out = 0;
	ssize_t n, w;
	off_t done;

	while (in < size) {
		n = copy_file_range(
		    sfd, &in, dfd, &out, (size_t)(size - in), 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	for (done = in; done < size;) {
		n = pread(sfd, buf, sizeof buf, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (w = 0; w < n;) {
			ssize_t k =
			    pwrite(dfd, buf + w, (size_t)(n - w), done + w);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			w += k;
		}
		done += n;
	}
	return 0;
}

static void
layer_tmp_name(char *buf, size_t len)
{
	snprintf(buf, len, "cu.%d.%lu", (int)getpid(),
	    atomic_fetch_add(&layer_tmp_seq, 1));
}

/*
 * Build a copy of the lower entry at path (lstat *lst) in work/ under the
 * name tmp; *hash is the lower content hash.  Regular files, symlinks,
 * fifos and sockets; anything else is EPERM.
 */
static int
layer_build_copy(const char *path, const struct stat *lst, int flags,
    const char *tmp, uint64_t *hash)
{
	char target[PATH_MAX];
	struct timespec times[2] = { lst->st_atim, lst->st_mtim };
	int sfd = -1, dfd = -1, ret = 0;
	ssize_t n;

	*hash = 0;
	if (S_ISLNK(lst->st_mode)) {
		sfd = layer_open(fsd.lower_fd, path, O_PATH, 0);
		if (sfd < 0) {
			ret = sfd;
			goto out;
		}
		n = readlinkat(sfd, "", target, sizeof target - 1);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		target[n] = '\0';
		*hash = XXH3_64bits(target, (size_t)n);
		if (symlinkat(target, fsd.work_fd, tmp) != 0) {
			ret = -errno;
			goto out;
		}
		layer_copy_owner(fsd.work_fd, tmp, lst);
		(void)utimensat(fsd.work_fd, tmp, times, AT_SYMLINK_NOFOLLOW);
		goto out;
	}
	if (S_ISFIFO(lst->st_mode) || S_ISSOCK(lst->st_mode)) {
		if (mknodat(fsd.work_fd, tmp, lst->st_mode, 0) != 0) {
			ret = -errno;
			goto out;
		}
		layer_copy_owner(fsd.work_fd, tmp, lst);
		goto out;
	}
	if (!S_ISREG(lst->st_mode)) {
		ret = -EPERM;
		goto out;
	}
	sfd = layer_open(fsd.lower_fd, path, O_RDONLY | O_NONBLOCK, 0);
	if (sfd < 0) {
		ret = sfd;
		goto out;
	}
	if (stage_hash_fd(sfd, hash) != 0) {
		ret = -errno;
		goto out;
	}
	dfd = openat(
	    fsd.work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (dfd < 0) {
		ret = -errno;
		goto out;
	}
	if (flags & COPYUP_DATA) {
		ret = layer_copy_data(sfd, dfd, lst->st_size);
		if (ret != 0)
			goto out;
	}
	if (fsd.is_root)
		(void)fchown(dfd, lst->st_uid, lst->st_gid);
	(void)fchmod(dfd, lst->st_mode & 07777);
	layer_copy_xattrs(sfd, dfd);
	(void)futimens(dfd, times);
out:
	if (dfd >= 0)
		close(dfd);
	if (sfd >= 0)
		close(sfd);
	if (ret != 0)
		(void)unlinkat(fsd.work_fd, tmp, 0);
	return ret;
}

/* Copy the lower entry at path (not a directory) into upper/; *ust is the
 * new upper file's lstat, *hash the lower content's. */
static int
layer_copy_path(const char *path, int flags, struct stat *ust, uint64_t *hash,
    mode_t *lower_mode)
{
	char tmp[64], parent[PATH_MAX];
	const char *name, *slash;
	struct stat lst;
	int pfd = -1, ret;

	ret = layer_stat(fsd.lower_fd, path, &lst);
	if (ret != 0)
		return ret;
	*lower_mode = lst.st_mode;
	slash = strrchr(path, '/');
	if (slash != NULL) {
		if ((size_t)(slash - path) >= sizeof parent)
			return -ENAMETOOLONG;
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
		ret = layer_upper_dir(parent);
		if (ret != 0)
			return ret;
	}
	layer_tmp_name(tmp, sizeof tmp);
	ret = layer_build_copy(path, &lst, flags, tmp, hash);
	if (ret != 0)
		return ret;
	pfd = layer_open_parent(fsd.upper_fd, path, &name);
	if (pfd < 0) {
		ret = pfd;
		goto fail;
	}
	if (renameat(fsd.work_fd, tmp, pfd, name) != 0) {
		ret = -errno;
		goto fail;
	}
	if (fstatat(pfd, name, ust, AT_SYMLINK_NOFOLLOW) != 0)
		ret = -errno;
	layer_put(pfd);
	return ret;
fail:
	(void)unlinkat(fsd.work_fd, tmp, 0);
	layer_put(pfd);
	return ret;
}

int
layer_copy_up(struct node *n, const char *path_hint, int flags)
{
	pthread_mutex_t *mu = layer_stripe(n);
	char path[PATH_MAX];
	struct node_state ns;
	struct stat ust, lst;
	uint64_t hash;
	mode_t lmode;
	int ret;

	(void)path_hint;
	pthread_mutex_lock(mu);
	ret = node_path(n, NULL, path, sizeof path, &ns);
	if (ret < 0)
		goto out;
	ret = 0;
	if (ns.is_upper)
		goto out;
	if (ns.is_dir) {
		ret = layer_upper_dir(path);
		if (ret != 0)
			goto out;
		node_set_upper_dir(n);
		if (flags & COPYUP_META) {
			ret = layer_stat(fsd.lower_fd, path, &lst);
			if (ret == 0)
				ret = layer_record(STAGE_MODE, path, NULL, 1, 0,
				    lst.st_mode, 0);
		}
		goto out;
	}
	ret = layer_copy_path(path, flags, &ust, &hash, &lmode);
	if (ret != 0)
		goto out;
	ret = layer_record((flags & COPYUP_META) ? STAGE_MODE : STAGE_MODIFIED,
	    path, NULL, 1, hash, lmode, 0);
	if (ret != 0) {
		/* no record, no staged file: the view stays as it was */
		const char *name;
		int pfd = layer_open_parent(fsd.upper_fd, path, &name);

		if (pfd >= 0) {
			(void)unlinkat(pfd, name, 0);
			layer_put(pfd);
		}
		goto out;
	}
	node_set_upper(n, ust.st_dev, ust.st_ino);
out:
	pthread_mutex_unlock(mu);
	return ret;
}

static int
layer_hash_lower(const char *path, const struct stat *st, uint64_t *hash)
{
	char target[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	*hash = 0;
	if (S_ISREG(st->st_mode)) {
		fd = layer_open(fsd.lower_fd, path, O_RDONLY | O_NONBLOCK, 0);
		if (fd < 0)
			return fd;
		if (stage_hash_fd(fd, hash) != 0)
			ret = -errno;
		close(fd);
	} else if (S_ISLNK(st->st_mode)) {
		fd = layer_open(fsd.lower_fd, path, O_PATH, 0);
		if (fd < 0)
			return fd;
		n = readlinkat(fd, "", target, sizeof target);
		if (n < 0)
			ret = -errno;
		else
			*hash = XXH3_64bits(target, (size_t)n);
		close(fd);
	}
	return ret;
}

int
layer_base(const char *path, int *has_base, uint64_t *base_hash)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];
	struct stat st;
	int ret;

	if (layer_entry(path, &e, buf, sizeof buf) && e.kind != STAGE_RENAMED) {
		*has_base = e.has_base;
		*base_hash = e.base_hash;
		return 0;
	}
	*has_base = 0;
	*base_hash = 0;
	ret = layer_stat(fsd.lower_fd, path, &st);
	if (ret == -ENOENT || ret == -ENOTDIR || ret == -ELOOP)
		return 0;
	if (ret != 0)
		return ret;
	*has_base = 1;
	return layer_hash_lower(path, &st, base_hash);
}

int
layer_record(enum stage_kind kind, const char *path, const char *from,
    int has_base, uint64_t base_hash, mode_t mode, int is_opaque)
{
	struct stage_entry e;

	memset(&e, 0, sizeof e);
	e.path = path;
	e.kind = kind;
	e.from = from;
	e.has_base = has_base;
	e.base_hash = base_hash;
	e.mode = mode;
	e.is_opaque = is_opaque;
	if (stage_record(fsd.stage, &e) != 0)
		return errno != 0 ? -errno : -EIO;
	return 0;
}

int
layer_record_content(const char *path, mode_t mode, int is_opaque)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];
	uint64_t hash;
	int has, ret;

	if (layer_entry(path, &e, buf, sizeof buf)) {
		if (e.kind == STAGE_RENAMED || e.kind == STAGE_MODIFIED ||
		    e.kind == STAGE_ADDED) {
			if (e.mode == mode && e.is_opaque == is_opaque)
				return 0;
			return layer_record(e.kind, path, e.from, e.has_base,
			    e.base_hash, mode, is_opaque);
		}
	}
	ret = layer_base(path, &has, &hash);
	if (ret != 0)
		return ret;
	return layer_record(has ? STAGE_MODIFIED : STAGE_ADDED, path, NULL, has,
	    hash, mode, is_opaque);
}

int
layer_record_gone(const char *path)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];
	uint64_t hash;
	int has, ret, found;

	found = layer_entry(path, &e, buf, sizeof buf);
	ret = layer_base(path, &has, &hash);
	if (ret != 0)
		return ret;
	if (!has && !found)
		return 0;
	return layer_record(
	    has ? STAGE_DELETED : STAGE_CLEAN, path, NULL, has, hash, 0, 0);
}

int
layer_record_meta(const char *path, mode_t mode)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF];
	uint64_t hash;
	int has, ret;

	if (layer_entry(path, &e, buf, sizeof buf) && e.kind != STAGE_DELETED) {
		if (e.mode == mode)
			return 0;
		return layer_record(e.kind, path, e.from, e.has_base,
		    e.base_hash, mode, e.is_opaque);
	}
	ret = layer_base(path, &has, &hash);
	if (ret != 0)
		return ret;
	return layer_record(
	    has ? STAGE_MODE : STAGE_ADDED, path, NULL, has, hash, mode, 0);
}

/* Append "/name" (or "name" at the root) to path of length len. */
static int
layer_path_push(char *path, size_t *len, const char *name)
{
	size_t nlen = strlen(name), need = *len + (*len > 0) + nlen;

	if (need + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	if (*len > 0)
		path[(*len)++] = '/';
	memcpy(path + *len, name, nlen + 1);
	*len += nlen;
	return 0;
}

/* Open the directory at path under root for reading its entries. */
static DIR *
layer_opendir(int root, const char *path, int *err)
{
	DIR *d;
	int fd;

	fd = layer_open(root, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		*err = -errno;
		close(fd);
	}
	return d;
}

static int
layer_tree_copy(char *path, size_t len, int lower_visible)
{
	struct dirent *de;
	struct stat st, lst;
	uint64_t hash;
	mode_t lmode;
	DIR *d = NULL;
	size_t sub;
	int ret, err = 0;

	ret = layer_upper_dir(path);
	if (ret != 0 || !lower_visible)
		return ret;
	d = layer_opendir(fsd.lower_fd, path, &err);
	if (d == NULL)
		return err == -ENOENT || err == -ENOTDIR ? 0 : err;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = len;
		ret = layer_path_push(path, &sub, de->d_name);
		if (ret != 0)
			break;
		if (layer_is_whiteout(path))
			goto next;
		if (layer_stat(fsd.upper_fd, path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				ret = layer_tree_copy(
				    path, sub, !layer_is_opaque(path));
			goto next;
		}
		ret = layer_stat(fsd.lower_fd, path, &lst);
		if (ret != 0)
			break;
		if (S_ISDIR(lst.st_mode))
			ret = layer_tree_copy(path, sub, 1);
		else
			ret = layer_copy_path(
			    path, COPYUP_DATA, &st, &hash, &lmode);
	next:
		path[len] = '\0';
		if (ret != 0)
			break;
	}
	path[len] = '\0';
	closedir(d);
	return ret;
}

int
layer_copy_up_tree(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	return layer_tree_copy(buf, len, !layer_is_opaque(path));
}

int
layer_record_moved(const char *src, const char *dst, mode_t mode)
{
	struct stage_entry e;
	char buf[LAYER_ENTRY_BUF], from[PATH_MAX];
	uint64_t hash = 0, dhash;
	int has = 0, dhas, ret, found;

	from[0] = '\0';
	found = layer_entry(src, &e, buf, sizeof buf);
	if (found && e.kind == STAGE_RENAMED && e.from != NULL) {
		if (strlen(e.from) >= sizeof from)
			return -ENAMETOOLONG;
		strcpy(from, e.from);
		has = e.has_base;
		hash = e.base_hash;
	} else if (!found || e.kind != STAGE_ADDED) {
		ret = layer_base(src, &has, &hash);
		if (ret != 0)
			return ret;
		if (has) {
			if (strlen(src) >= sizeof from)
				return -ENAMETOOLONG;
			strcpy(from, src);
		}
	}
	ret = layer_record_gone(src);
	if (ret != 0)
		return ret;
	ret = layer_base(dst, &dhas, &dhash);
	if (ret != 0)
		return ret;
	if (dhas)
		return layer_record(
		    STAGE_MODIFIED, dst, NULL, 1, dhash, mode, 0);
	if (from[0] != '\0')
		return layer_record(
		    STAGE_RENAMED, dst, from, has, hash, mode, 0);
	return layer_record(STAGE_ADDED, dst, NULL, 0, 0, mode, 0);
}

/*
 * For each name in the upper directory a: push the name onto a (and onto
 * b, a path walked alongside, unless b is NULL), lstat upper/a, call fn
 * with the lengths that include the name, and pop it again.  Stops at the
 * first error, which it returns.
 */
typedef int (*layer_child_fn)(
    char *a, size_t alen, char *b, size_t blen, const struct stat *st);

static int
layer_each_child(char *a, size_t alen, char *b, size_t blen, layer_child_fn fn)
{
	struct dirent *de;
	struct stat st;
	size_t a2, b2 = 0;
	DIR *d;
	int ret = 0, err = 0;

	d = layer_opendir(fsd.upper_fd, a, &err);
	if (d == NULL)
		return err;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		a2 = alen;
		b2 = blen;
		ret = layer_path_push(a, &a2, de->d_name);
		if (ret == 0 && b != NULL)
			ret = layer_path_push(b, &b2, de->d_name);
		if (ret == 0)
			ret = layer_stat(fsd.upper_fd, a, &st);
		if (ret == 0)
			ret = fn(a, a2, b, b2, &st);
		a[alen] = '\0';
		if (b != NULL)
			b[blen] = '\0';
		if (ret != 0)
			break;
	}
	closedir(d);
	return ret;
}

/* A name of a renamed tree, now at upper/dst, that was at src. */
static int
layer_tree_record_one(
    char *dst, size_t dlen, char *src, size_t slen, const struct stat *st)
{
	int ret;

	if (!S_ISDIR(st->st_mode))
		return layer_record_moved(src, dst, st->st_mode);
	ret = layer_record_gone(src);
	if (ret == 0)
		ret = layer_record_content(dst, st->st_mode, 1);
	if (ret == 0)
		ret = layer_each_child(
		    dst, dlen, src, slen, layer_tree_record_one);
	return ret;
}

int
layer_record_tree_rename(const char *src, const char *dst)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct stat st;
	size_t slen = strlen(src), dlen = strlen(dst);
	int ret;

	if (slen >= sizeof s || dlen >= sizeof d)
		return -ENAMETOOLONG;
	memcpy(s, src, slen + 1);
	memcpy(d, dst, dlen + 1);
	ret = layer_stat(fsd.upper_fd, dst, &st);
	if (ret == 0)
		ret = layer_record_gone(src);
	if (ret == 0)
		ret = layer_record_content(dst, st.st_mode, 1);
	if (ret == 0)
		ret = layer_each_child(d, dlen, s, slen, layer_tree_record_one);
	return ret;
}

/* Record that path now holds content of mode that came from elsewhere:
 * a change of path's own project base (modified), or added when the
 * project has nothing there.  Never renamed: the names an exchange moves
 * content from still exist. */
static int
layer_record_swapped(const char *path, mode_t mode, int is_opaque)
{
	uint64_t hash;
	int has, ret;

	ret = layer_base(path, &has, &hash);
	if (ret != 0)
		return ret;
	return layer_record(has ? STAGE_MODIFIED : STAGE_ADDED, path, NULL, has,
	    hash, mode, is_opaque);
}

/*
 * x's old tree now sits at upper/y: record gone every name beneath x that
 * it held and that x's new tree lacks (a project name becomes a whiteout).
 * Called for each name y of that old tree, with x alongside.
 */
static int
layer_swap_gone(
    char *y, size_t ylen, char *x, size_t xlen, const struct stat *st)
{
	struct stat xst;
	int ret = 0;

	if (S_ISDIR(st->st_mode))
		ret = layer_each_child(y, ylen, x, xlen, layer_swap_gone);
	if (ret == 0) {
		ret = layer_stat(fsd.upper_fd, x, &xst);
		if (ret == -ENOENT || ret == -ENOTDIR || ret == -ELOOP)
			ret = layer_record_gone(x);
	}
	return ret;
}

/* Record a name beneath a swapped tree (all in upper/ now) as swapped
 * in, and the names beneath it. */
static int
layer_swap_tree(
    char *x, size_t xlen, char *none, size_t nlen, const struct stat *st)
{
	int ret;

	(void)none;
	(void)nlen;
	ret = layer_record_swapped(x, st->st_mode, S_ISDIR(st->st_mode));
	if (ret == 0 && S_ISDIR(st->st_mode))
		ret = layer_each_child(x, xlen, NULL, 0, layer_swap_tree);
	return ret;
}

/* Record the side x of an exchange with y (see layer_record_exchange()). */
static int
layer_swap_side(char *x, size_t xlen, char *y, size_t ylen)
{
	struct stat st, yst;
	int ret;

	ret = layer_stat(fsd.upper_fd, x, &st);
	if (ret == 0)
		ret = layer_stat(fsd.upper_fd, y, &yst);
	if (ret == 0 && S_ISDIR(yst.st_mode))
		ret = layer_each_child(y, ylen, x, xlen, layer_swap_gone);
	if (ret == 0)
		ret = layer_record_swapped(x, st.st_mode, S_ISDIR(st.st_mode));
	if (ret == 0 && S_ISDIR(st.st_mode))
		ret = layer_each_child(x, xlen, NULL, 0, layer_swap_tree);
	return ret;
}

int
layer_record_exchange(const char *a, const char *b)
{
	char x[PATH_MAX], y[PATH_MAX];
	size_t alen = strlen(a), blen = strlen(b);
	int ret;

	if (alen >= sizeof x || blen >= sizeof y)
		return -ENAMETOOLONG;
	memcpy(x, a, alen + 1);
	memcpy(y, b, blen + 1);
	ret = layer_swap_side(x, alen, y, blen);
	if (ret == 0)
		ret = layer_swap_side(y, blen, x, alen);
	return ret;
}

void
layer_clean_work(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(fsd.work_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "cu.", 3) == 0)
			(void)unlinkat(fsd.work_fd, de->d_name, 0);
	closedir(d);
}
