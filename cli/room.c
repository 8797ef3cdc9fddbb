/*
 * room: the agent's process, in its own namespaces (see room.h).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mask.h"
#include "room.h"
#include "util.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000 /* linux/fcntl.h; not in glibc 2.36's */
#endif

static const struct room_cfg *room_cfg;

/* In the child: report and exit; the parent sees ROOM_EXIT_SETUP. */
static void __attribute__((noreturn, format(printf, 1, 2)))
room_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock %s: ", room_cfg->cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(ROOM_EXIT_SETUP);
}

/* A fresh network namespace has lo down: 127.0.0.1 answers nothing. */
static void
room_lo_up(void)
{
	struct ifreq ifr;
	int s;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		room_fail("socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		room_fail("lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		room_fail("cannot bring lo up: %s", strerror(errno));
	close(s);
}

static int
room_listener(void)
{
	struct sockaddr_in sin;
	int s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		room_fail("socket: %s", strerror(errno));
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(ROOM_PROXY_PORT);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0)
		room_fail(
		    "bind 127.0.0.1:%d: %s", ROOM_PROXY_PORT, strerror(errno));
	if (listen(s, 512) != 0)
		room_fail("listen: %s", strerror(errno));
	return s;
}

static void
room_send_fd(int sock, int fd)
{
	if (fd_send_rights(sock, fd) != 0)
		room_fail("cannot hand the listener over: %s", strerror(errno));
}

/* The listener, inheritable: airlock-proxy gets it as fd:N. */
static int
room_recv_fd(int sock)
{
	int fd = fd_recv_rights(sock);

	if (fd >= 0 && fcntl(fd, F_SETFD, 0) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write one line to a /proc/self file; 0 or -1 with errno. */
static int
room_write_proc(const char *path, const char *line)
{
	ssize_t n, len = (ssize_t)strlen(line);
	int fd, e;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = write(fd, line, (size_t)len);
	e = errno;
	close(fd);
	errno = e;
	return n == len ? 0 : -1;
}

/*
 * The ordinary user's room: a user namespace where the user is itself
 * and nobody else is mapped (room.h says why not 0).  setgroups stays
 * denied: the only way to map a group without privilege, and it keeps
 * CMD from dropping a group that denies it something.
 */
static int
room_userns_enter(char *why, size_t len)
{
	char line[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER) != 0) {
		snprintf(why, len, "cannot create a user namespace: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(line, sizeof line, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (room_write_proc("/proc/self/setgroups", "deny") != 0 ||
	    room_write_proc("/proc/self/gid_map", line) != 0) {
		snprintf(why, len,
		    "cannot map gid %u in the user namespace: %s",
		    (unsigned)gid, strerror(errno));
		return -1;
	}
	snprintf(line, sizeof line, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (room_write_proc("/proc/self/uid_map", line) != 0) {
		snprintf(why, len,
		    "cannot map uid %u in the user namespace: %s",
		    (unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* What to tell a user whose kernel refuses: the knob that does it. */
static void
room_userns_advice(const char *cmd, const char *why)
{
	char v[32];
	FILE *f;
	int knob = 0;

	fprintf(stderr,
	    "airlock %s: isolation as an ordinary user needs unprivileged "
	    "user namespaces, and this kernel refuses them (%s)\n",
	    cmd, why);
	if ((f = fopen("/proc/sys/kernel/unprivileged_userns_clone", "re")) !=
	    NULL) {
		if (fgets(v, sizeof v, f) != NULL && atoi(v) == 0) {
			fprintf(stderr,
			    "  kernel.unprivileged_userns_clone is 0: "
			    "sysctl -w kernel.unprivileged_userns_clone=1\n");
			knob = 1;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/sys/user/max_user_namespaces", "re")) != NULL) {
		if (fgets(v, sizeof v, f) != NULL && atoi(v) == 0) {
			fprintf(stderr,
			    "  user.max_user_namespaces is 0: "
			    "sysctl -w user.max_user_namespaces=15000\n");
			knob = 1;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
	         "re")) != NULL) {
		if (fgets(v, sizeof v, f) != NULL && atoi(v) != 0) {
			fprintf(stderr,
			    "  kernel.apparmor_restrict_unprivileged_userns "
			    "is %d: set it to 0, or give airlock an AppArmor "
			    "profile that allows userns\n",
			    atoi(v));
			knob = 1;
		}
		fclose(f);
	}
	if (!knob)
		fprintf(stderr,
		    "  check kernel.unprivileged_userns_clone and "
		    "user.max_user_namespaces (sysctl), or a seccomp or LSM "
		    "policy of the container that forbids unshare\n");
	fprintf(stderr,
	    "  or run as root, or pass --no-isolate where something else "
	    "enforces egress (the agent then reaches the network and the "
	    "host directly)\n");
}

int
room_userns_check(const char *cmd)
{
	char why[256];
	int sv[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(sv, O_CLOEXEC) != 0) {
		fprintf(stderr, "airlock %s: pipe: %s\n", cmd, strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "airlock %s: fork: %s\n", cmd, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		why[0] = '\0';
		if (room_userns_enter(why, sizeof why) == 0 &&
		    unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0)
			snprintf(why, sizeof why,
			    "cannot create mount, network and pid namespaces "
			    "in it: %s",
			    strerror(errno));
		(void)write(sv[1], why, strlen(why));
		_exit(0);
	}
	close(sv[1]);
	do
		n = read(sv[0], why, sizeof why - 1);
	while (n < 0 && errno == EINTR);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == 0)
		return 0;
	if (n < 0)
		str_copy(why, "the check did not report", sizeof why);
	else
		why[n] = '\0';
	room_userns_advice(cmd, why);
	return -1;
}

/* --no-isolate --user: the view over the project, the state dir covered. */
static void
room_mounts(const struct room_cfg *cfg)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		room_fail("cannot make mounts private: %s", strerror(errno));
	if (mount(cfg->view, cfg->project, NULL, MS_BIND, NULL) != 0)
		room_fail("cannot mount the view on %s: %s", cfg->project,
		    strerror(errno));
	/* read-only and empty: no session, no socket, nothing to create */
	if (mount("airlock-hidden", cfg->state_dir, "tmpfs",
	        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	        "size=4k,mode=0755") != 0)
		room_fail(
		    "cannot hide %s: %s", cfg->state_dir, strerror(errno));
}

/*
 * The isolated room's mounts.  Every mount the room adds is made detached
 * first (fsmount, open_tree), while the host's paths are still there to
 * name (the view and the home's upper dir lie in the state dir, which is
 * then hidden); then / turns read-only recursively; then the detached
 * mounts are attached, shortest path first, so that a mount inside
 * another lands on top of it.  A fresh tmpfs (a private /tmp, a hidden
 * dir) gets the mountpoints of what lies inside it before it is attached.
 * Ties at one path go in kind order: the later kind lies on top.
 */
enum room_op_kind {
	ROOM_OP_TMP,
	ROOM_OP_HOME,
	ROOM_OP_WRITE,
	ROOM_OP_RDONLY,
	ROOM_OP_VIEW,
	ROOM_OP_FILE,
	ROOM_OP_HIDE,
	ROOM_OP_SECRET, /* over a hidden file at the same path, if any */
};

struct room_op {
	enum room_op_kind kind;
	const char *path; /* absolute, resolved */
	const char *source; /* ROOM_OP_SECRET: the masked copy */
	size_t len;
	int is_dir;
	const char *rule; /* for messages */
	int parent; /* the op it lies strictly inside, or -1 */
	int fd; /* the detached mount, or -1 */
};

static int
room_op_cmp(const void *a, const void *b)
{
	const struct room_op *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int
room_setattr(int fd, unsigned flags, uint64_t set)
{
	struct mount_attr a;

	memset(&a, 0, sizeof a);
	a.attr_set = set;
	return mount_setattr(fd, "", AT_EMPTY_PATH | flags, &a, sizeof a);
}

/*
 * Create the file system configured on fs and mount it detached (nosuid,
 * nodev); with ok 0 (a set-up step failed) only close it.  fs is closed
 * either way.  Returns the mount's fd, or -1 with errno.
 */
static int
room_fs_mount(int fs, int ok)
{
	int mnt = -1, e;

	if (ok && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = fsmount(
		    fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	e = errno;
	close(fs);
	errno = e;
	return mnt;
}

/* A detached tmpfs (mode, size or NULL); its fd, or -1 with errno. */
static int
room_tmpfs(const char *mode, const char *size)
{
	int fs;

	if ((fs = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0)
		return -1;
	return room_fs_mount(fs,
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) == 0 &&
	        (size == NULL ||
	            fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) == 0));
}

/* An empty read-only file, detached, to lie over a file. */
static int
room_empty_file(void)
{
	int t, f, mnt = -1, e;

	if ((t = room_tmpfs("0755", "4k")) < 0)
		return -1;
	if ((f = openat(t, "empty", O_CREAT | O_WRONLY | O_CLOEXEC, 0444)) < 0)
		goto out;
	close(f);
	mnt = open_tree(t, "empty", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
out:
	e = errno;
	close(t);
	errno = e;
	return mnt;
}

/* The copy-on-write home: overlay of the real home and the session's
 * upper dir, detached.  "lowerdir+" takes a path as it is (6.8 and
 * later); older kernels parse "lowerdir" for ':' and ','. */
static int
room_home_overlay(const struct room_cfg *cfg)
{
	int fs, ok = 0;

	if ((fs = fsopen("overlay", FSOPEN_CLOEXEC)) < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", cfg->home_lower,
	        0) != 0) {
		if (strpbrk(cfg->home_lower, ":,\\") != NULL)
			goto out;
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir",
		        cfg->home_lower, 0) != 0)
			goto out;
	}
	/* trusted.* xattrs are root's; in a user namespace overlayfs keeps
	 * its own in user.overlay.* (5.11 and later) */
	if (cfg->userns &&
	    fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) != 0)
		goto out;
	ok = fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", cfg->home_upper,
	         0) == 0 &&
	    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", cfg->home_work, 0) ==
	        0;
out:
	return room_fs_mount(fs, ok);
}

/* A clone of the real path; read-only throughout when rdonly. */
static int
room_clone(const char *path, int rdonly)
{
	int fd, e;

	fd = open_tree(
	    AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0 || !rdonly)
		return fd;
	if (room_setattr(fd, AT_RECURSIVE, MOUNT_ATTR_RDONLY) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * A secret's masked copy, read-only.  Its session dir may belong to the
 * invoking user (a sudo session's proxy runs as that user): a link put in
 * the copy's place is not followed, and anything but a regular file is
 * refused, so that no other file can take the copy's place in the room.
 */
static int
room_clone_masked(const char *path)
{
	struct stat st;
	int fd, e;

	fd = open_tree(AT_FDCWD, path,
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = ELOOP;
	else if (room_setattr(fd, 0,
	             MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
	                 MOUNT_ATTR_NODEV) != 0)
		e = errno;
	else
		return fd;
	close(fd);
	errno = e;
	return -1;
}

/* Make rel (and its parents) inside the fresh tmpfs root: a dir, or an
 * empty file to mount a file on. */
static int
room_mkpath(int root, const char *rel, int is_dir)
{
	char buf[PATH_MAX];
	char *p;
	int fd;

	if (str_copy(buf, rel, sizeof buf) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(root, buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (is_dir)
		return mkdirat(root, buf, 0755) != 0 && errno != EEXIST ? -1
		                                                        : 0;
	fd = openat(
	    root, buf, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void
room_op_add(struct room_op *ops, size_t *n, enum room_op_kind kind,
    const char *path, int is_dir, const char *rule)
{
	struct room_op *o = &ops[(*n)++];

	o->kind = kind;
	o->path = path;
	o->source = NULL;
	o->len = strlen(path);
	o->is_dir = is_dir;
	o->rule = rule;
	o->parent = -1;
	o->fd = -1;
}

/*
 * /tmp, /var/tmp, /dev/shm and /run as they resolve here (once each).
 * /run is the room's own because the host's holds sockets that a
 * read-only mount does not close (connect() needs no write access to the
 * file system): systemd's private socket or the system bus would run a
 * root agent's commands outside the room, a container runtime's would
 * start a new one.  Masks and writable paths under /run are laid on the
 * fresh one, and the agent's XDG_RUNTIME_DIR is made there
 * (room_make_run()).
 */
static void
room_add_tmps(struct room_op *ops, size_t *n, char (*real)[PATH_MAX])
{
	static const char *const tmps[] = { "/tmp", "/var/tmp", "/dev/shm",
		"/run" };
	struct stat st;
	size_t i, k, m = 0;
	int seen;

	for (i = 0; i < sizeof tmps / sizeof *tmps; i++) {
		if (realpath(tmps[i], real[m]) == NULL ||
		    stat(real[m], &st) != 0 || !S_ISDIR(st.st_mode) ||
		    strcmp(real[m], "/") == 0)
			continue;
		for (k = 0, seen = 0; k < *n; k++)
			seen |= strcmp(ops[k].path, real[m]) == 0;
		if (seen)
			continue;
		room_op_add(ops, n, ROOM_OP_TMP, real[m], 1, "private tmp");
		m++;
	}
}

static enum room_op_kind
room_mask_op(enum mask_kind k)
{
	switch (k) {
	case MASK_HIDE:
		return ROOM_OP_HIDE;
	case MASK_RDONLY:
		return ROOM_OP_RDONLY;
	case MASK_WRITE:
		return ROOM_OP_WRITE;
	case MASK_SECRET:
		return ROOM_OP_SECRET;
	}
	return ROOM_OP_HIDE;
}

/* Detached mount for one op; -1 with errno (ENOENT: the path went). */
static int
room_op_prepare(const struct room_cfg *cfg, const struct room_op *o)
{
	switch (o->kind) {
	case ROOM_OP_TMP: /* /run is not for everyone to write */
		return room_tmpfs(
		    strcmp(o->path, "/run") == 0 ? "0755" : "1777", NULL);
	case ROOM_OP_HOME:
		return room_home_overlay(cfg);
	case ROOM_OP_VIEW:
		return room_clone(cfg->view, 0);
	case ROOM_OP_FILE:
		return room_clone(cfg->keep_file, 1); /* the agent reads it */
	case ROOM_OP_WRITE:
		return room_clone(o->path, 0);
	case ROOM_OP_RDONLY:
		return room_clone(o->path, 1);
	case ROOM_OP_HIDE:
		return o->is_dir ? room_tmpfs("0755", "16k")
		                 : room_empty_file();
	case ROOM_OP_SECRET:
		/* the copy in the session dir, which is hidden after */
		return room_clone_masked(o->source);
	}
	errno = EINVAL;
	return -1;
}

static int
room_op_is_fresh(const struct room_op *o)
{
	return o->kind == ROOM_OP_TMP || (o->kind == ROOM_OP_HIDE && o->is_dir);
}

static void
room_mounts_isolated(const struct room_cfg *cfg)
{
	char tmps[4][PATH_MAX];
	struct room_op *ops;
	size_t n = 0, i, j, cap;
	struct mount_attr ro;
	int is_inside;

	cap = 8 + (cfg->masks != NULL ? cfg->masks->n : 0);
	if ((ops = calloc(cap, sizeof *ops)) == NULL)
		room_fail("out of memory");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		room_fail("cannot make mounts private: %s", strerror(errno));
	room_add_tmps(ops, &n, tmps);
	room_op_add(ops, &n, ROOM_OP_VIEW, cfg->project, 1, "the project");
	if (cfg->home_lower != NULL)
		room_op_add(ops, &n, ROOM_OP_HOME, cfg->home_lower, 1, "home");
	if (cfg->keep_file != NULL)
		room_op_add(
		    ops, &n, ROOM_OP_FILE, cfg->keep_file, 0, "CA bundle");
	for (i = 0; cfg->masks != NULL && i < cfg->masks->n; i++) {
		const struct mask_entry *e = &cfg->masks->v[i];

		/* the project is the view's, whatever a rule says */
		if (strcmp(e->path, cfg->project) == 0)
			continue;
		room_op_add(ops, &n, room_mask_op(e->kind), e->path, e->is_dir,
		    e->rule);
		ops[n - 1].source = e->source;
	}
	qsort(ops, n, sizeof *ops, room_op_cmp);

	for (i = 0; i < n; i++) {
		if ((ops[i].fd = room_op_prepare(cfg, &ops[i])) >= 0)
			continue;
		if (ops[i].kind == ROOM_OP_HOME)
			fprintf(stderr,
			    "airlock %s: the home %s stays read-only: no "
			    "copy-on-write overlay (%s)\n",
			    cfg->cmd_name, ops[i].path, strerror(errno));
		else if ((ops[i].kind == ROOM_OP_WRITE ||
		             ops[i].kind == ROOM_OP_RDONLY) &&
		    errno == ENOENT)
			continue; /* gone since the plan: nothing to do */
		else
			room_fail("cannot prepare %s (%s) for the room: %s",
			    ops[i].path, ops[i].rule, strerror(errno));
	}
	/* Who lies in whom; a fresh fs gets the mountpoints it holds. */
	for (i = 0; i < n; i++) {
		if (ops[i].fd < 0)
			continue;
		for (j = i; j-- > 0;) {
			if (ops[j].fd < 0)
				continue;
			is_inside = mask_path_below(ops[i].path, ops[j].path);
			if (is_inside ||
			    strcmp(ops[i].path, ops[j].path) == 0) {
				ops[i].parent = is_inside ? (int)j : -1;
				break;
			}
		}
		j = (size_t)ops[i].parent;
		if (ops[i].parent >= 0 && room_op_is_fresh(&ops[j]) &&
		    room_mkpath(ops[j].fd,
		        ops[i].path + ops[j].len + (ops[j].len > 1),
		        ops[i].is_dir) != 0)
			room_fail("cannot make a place for %s in %s: %s",
			    ops[i].path, ops[j].path, strerror(errno));
	}
	for (i = 0; i < n; i++)
		if (ops[i].kind == ROOM_OP_HIDE && ops[i].fd >= 0 &&
		    room_setattr(ops[i].fd, 0,
		        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		            MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0)
			room_fail("cannot hide %s (%s): %s", ops[i].path,
			    ops[i].rule, strerror(errno));

	memset(&ro, 0, sizeof ro);
	ro.attr_set = MOUNT_ATTR_RDONLY;
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) != 0)
		room_fail(
		    "cannot make the host read-only: %s", strerror(errno));

	for (i = 0; i < n; i++) {
		if (ops[i].fd < 0)
			continue;
		if (move_mount(ops[i].fd, "", AT_FDCWD, ops[i].path,
		        MOVE_MOUNT_F_EMPTY_PATH) != 0) {
			if (errno == ENOENT && ops[i].kind != ROOM_OP_VIEW &&
			    ops[i].kind != ROOM_OP_FILE &&
			    ops[i].kind != ROOM_OP_HOME &&
			    ops[i].kind != ROOM_OP_SECRET)
				continue; /* gone since the plan */
			room_fail("cannot %s %s (%s): %s",
			    ops[i].kind == ROOM_OP_HIDE ? "hide" : "mount on",
			    ops[i].path, ops[i].rule, strerror(errno));
		}
		close(ops[i].fd);
		ops[i].fd = -1;
	}
	free(ops);
}

/*
 * In the room's /run: /run/lock for everyone, as on the host, and the
 * agent's runtime dir (/run/user/UID, mode 0700, its own), which
 * XDG_RUNTIME_DIR names and which tools expect to write.
 */
static void
room_make_run(const struct room_cfg *cfg)
{
	uid_t uid = cfg->has_user ? cfg->uid : getuid();
	gid_t gid = cfg->has_user ? cfg->gid : getgid();
	char dir[64];

	snprintf(dir, sizeof dir, "/run/user/%lu", (unsigned long)uid);
	if ((mkdir("/run/lock", 01777) != 0 && errno != EEXIST) ||
	    chmod("/run/lock", 01777) != 0 ||
	    (mkdir("/run/user", 0755) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    chown(dir, uid, gid) != 0)
		room_fail("cannot make the room's /run: %s", strerror(errno));
}

/* The room's own /proc: the kernel's knobs read-only. */
static void
room_proc_readonly(void)
{
	static const char *const paths[] = { "/proc/sys",
		"/proc/sysrq-trigger" };
	size_t i;
	int fd;

	for (i = 0; i < sizeof paths / sizeof *paths; i++) {
		fd = open_tree(AT_FDCWD, paths[i],
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 ||
		    room_setattr(fd, AT_RECURSIVE, MOUNT_ATTR_RDONLY) != 0 ||
		    move_mount(fd, "", AT_FDCWD, paths[i],
		        MOVE_MOUNT_F_EMPTY_PATH) != 0)
			room_fail("cannot make %s read-only: %s", paths[i],
			    strerror(errno));
		close(fd);
	}
}

/*
 * What a root agent must not keep: undoing the room (mount, umount,
 * setns: CAP_SYS_ADMIN), changing its network (CAP_NET_ADMIN), reaching
 * into the daemons (CAP_SYS_PTRACE; without it /proc/PID/root of a
 * daemon with more capabilities is closed), and the raw machine.  The
 * rest of root stays, so that builds behave as they would as root.
 */
static const int room_caps_dropped[] = {
	CAP_SYS_ADMIN,
	CAP_NET_ADMIN,
	CAP_SYS_PTRACE,
	CAP_SYS_MODULE,
	CAP_SYS_RAWIO,
	CAP_SYS_BOOT,
	CAP_SYS_TIME,
	CAP_MKNOD,
	CAP_SETPCAP,
	CAP_MAC_ADMIN,
	CAP_MAC_OVERRIDE,
	CAP_AUDIT_CONTROL,
	CAP_SYSLOG,
	CAP_BPF,
	CAP_PERFMON,
	CAP_NET_RAW,
	CAP_SYS_NICE,
	CAP_SYS_RESOURCE,
	CAP_LINUX_IMMUTABLE,
	CAP_WAKE_ALARM,
	CAP_BLOCK_SUSPEND,
	CAP_CHECKPOINT_RESTORE,
};

static void
room_drop_caps(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	size_t i;
	int c;

	for (i = 0; i < sizeof room_caps_dropped / sizeof *room_caps_dropped;
	     i++) {
		c = room_caps_dropped[i];
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
			room_fail("cannot drop capability %d: %s", c,
			    strerror(errno));
	}
	memset(&hdr, 0, sizeof hdr);
	memset(data, 0, sizeof data);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) != 0)
		room_fail("capget: %s", strerror(errno));
	for (i = 0; i < sizeof room_caps_dropped / sizeof *room_caps_dropped;
	     i++) {
		c = room_caps_dropped[i];
		data[c / 32].effective &= ~(1U << (c % 32));
		data[c / 32].permitted &= ~(1U << (c % 32));
		data[c / 32].inheritable &= ~(1U << (c % 32));
	}
	if (syscall(SYS_capset, &hdr, data) != 0)
		room_fail("capset: %s", strerror(errno));
}

static void
room_drop_user(const struct room_cfg *cfg)
{
	if (!cfg->has_user)
		return;
	if (initgroups(cfg->user, cfg->gid) != 0 &&
	    setgroups(1, &cfg->gid) != 0)
		room_fail("setgroups: %s", strerror(errno));
	if (setgid(cfg->gid) != 0)
		room_fail("setgid %u: %s", (unsigned)cfg->gid, strerror(errno));
	if (setuid(cfg->uid) != 0)
		room_fail("setuid %u: %s", (unsigned)cfg->uid, strerror(errno));
	/* a setuid binary inside must not regain what we dropped */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		room_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (setuid(0) == 0 && cfg->uid != 0)
		room_fail("could regain root after dropping to %s", cfg->user);
}

/*
 * The room's processes take SIGTERM, SIGINT and SIGHUP only once they can
 * act on them: pass them on (room_wait_exit) or be CMD (room_exec).
 * Until then they stay pending, so that one airlock run passes on while
 * the room is being made is neither lost (the handler inherited from
 * airlock run would swallow it) nor kills a room half-made.
 */
static void
room_signals(int how, void (*handler)(int))
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (how == SIG_UNBLOCK) {
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	sigprocmask(how, &set, NULL);
}

static void __attribute__((noreturn)) room_exec(const struct room_cfg *cfg)
{
	const char *cwd =
	    cfg->isolate || cfg->has_user ? cfg->project : cfg->view;
	int e;

	if (chdir(cwd) != 0)
		room_fail("%s: %s", cwd, strerror(errno));
	if (cfg->isolate) {
		room_drop_caps();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			room_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	}
	room_drop_user(cfg);
	/* CMD starts with the signals as they were: one sent meanwhile
	 * ends it now, as it would have */
	room_signals(SIG_UNBLOCK, SIG_DFL);
	execvpe(cfg->argv[0], cfg->argv, cfg->envp);
	e = errno;
	fprintf(stderr, "airlock %s: %s: %s%s\n", cfg->cmd_name, cfg->argv[0],
	    strerror(e),
	    cfg->isolate && e == ENOENT &&
	            (strncmp(cfg->argv[0], "/tmp/", 5) == 0 ||
	                strncmp(cfg->argv[0], "/var/tmp/", 9) == 0 ||
	                strncmp(cfg->argv[0], "/dev/shm/", 9) == 0)
	        ? " (the room's /tmp, /var/tmp and /dev/shm are its own)"
	        : "");
	errno = e;
	_exit(errno == ENOENT ? ROOM_EXIT_NOENT : ROOM_EXIT_NOEXEC);
}

static volatile sig_atomic_t room_target;

static void
room_forward(int sig)
{
	if (room_target > 0)
		(void)kill(room_target, sig);
}

/* Wait for pid, passing on what we are sent; its status as ours.  Every
 * other child is reaped on the way (as pid 1, orphans come to us). */
static void __attribute__((noreturn)) room_wait_exit(pid_t pid)
{
	pid_t w;
	int status;

	room_target = pid;
	room_signals(SIG_UNBLOCK, room_forward);
	for (;;) {
		w = wait(&status);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(ROOM_EXIT_SETUP);
		if (w == pid)
			break;
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

/*
 * pid 1 of the room's pid namespace: a /proc of its own (the host's
 * processes, the daemons among them, are not there), then CMD as pid 2;
 * when CMD exits, so does pid 1, and the kernel kills whatever the agent
 * left behind in the room.
 */
static void __attribute__((noreturn)) room_init(const struct room_cfg *cfg)
{
	pid_t pid;

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	        NULL) != 0)
		room_fail("cannot mount /proc: %s", strerror(errno));
	room_proc_readonly();
	pid = fork();
	if (pid < 0)
		room_fail("fork: %s", strerror(errno));
	if (pid == 0)
		room_exec(cfg);
	room_wait_exit(pid);
}

static void __attribute__((noreturn))
room_child(const struct room_cfg *cfg, int sock)
{
	char byte;
	ssize_t n;
	pid_t pid;
	int lfd;

	if (cfg->isolate) {
		char why[256];

		if (cfg->userns && room_userns_enter(why, sizeof why) != 0)
			room_fail("%s", why);
		if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0)
			room_fail(
			    "cannot create namespaces: %s", strerror(errno));
		room_mounts_isolated(cfg);
		room_make_run(cfg);
		room_lo_up();
		lfd = room_listener();
		room_send_fd(sock, lfd);
		close(lfd);
	}
	/* --no-isolate --user: the user cannot traverse the 0700 session
	 * dir to the view, so it gets the view at the project's path in a
	 * mount namespace of its own (the network stays the host's) */
	if (!cfg->isolate && cfg->has_user) {
		if (unshare(CLONE_NEWNS) != 0)
			room_fail("cannot create a mount namespace: %s",
			    strerror(errno));
		room_mounts(cfg);
	}
	do
		n = read(sock, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(ROOM_EXIT_SETUP); /* the parent gave up, and said why */
	close(sock);
	if (!cfg->isolate)
		room_exec(cfg);
	pid = fork();
	if (pid < 0)
		room_fail("fork: %s", strerror(errno));
	if (pid == 0)
		room_init(cfg);
	room_wait_exit(pid);
}

pid_t
room_start(const struct room_cfg *cfg, int *listen_fd, int *go_fd)
{
	sigset_t set, old;
	int sv[2];
	pid_t pid;

	*listen_fd = -1;
	*go_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "airlock %s: socketpair: %s\n", cfg->cmd_name,
		    strerror(errno));
		return -1;
	}
	fflush(NULL);
	/* the child starts with them blocked (room_signals) */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		fprintf(stderr, "airlock %s: fork: %s\n", cfg->cmd_name,
		    strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (cfg->secrets_fd > STDERR_FILENO)
			close(cfg->secrets_fd);
		room_cfg = cfg;
		room_child(cfg, sv[1]);
	}
	close(sv[1]);
	if (cfg->isolate && (*listen_fd = room_recv_fd(sv[0])) < 0) {
		/* the child printed why; it exits on its own */
		close(sv[0]);
		return pid;
	}
	*go_fd = sv[0];
	return pid;
}

int
room_release(int go_fd)
{
	char byte = 'G';
	ssize_t n;

	n = write(go_fd, &byte, 1);
	close(go_fd);
	return n == 1 ? 0 : -1;
}
