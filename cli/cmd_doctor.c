/*
 * airlock doctor [--json]: check this machine for what airlock needs and
 * say, per check, what works and what to change.  Checks that a file or a
 * sysctl could only suggest (user namespaces, overlayfs in one, seccomp)
 * are tried for real, in a forked child that exits with the errno of the
 * first step that failed; the doctor itself changes nothing.
 *
 * Exit status: 0 when no check fails (warnings do not fail), 1 when one
 * does, 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "sandbox.h"
#include "session.h"
#include "util.h"

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,
	DOCTOR_FAIL,
};

static const char *const doctor_status_names[] = { "ok", "warn", "fail" };

struct doctor_result {
	enum doctor_status status;
	char detail[512];
	char fix[512];
};

struct doctor_check {
	const char *name;
	void (*run)(struct doctor_result *);
};

static void __attribute__((format(printf, 3, 4)))
doctor_set(struct doctor_result *r, enum doctor_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
doctor_fix(struct doctor_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->fix, sizeof r->fix, fmt, ap);
	va_end(ap);
}

/* A user is the case airlock must work for without root's help; root only
 * gets warnings for what would stop a user. */
static int
doctor_is_root(void)
{
	return geteuid() == 0;
}

/*
 * Run fn in a forked child; it returns 0 or an errno value.  Returns what
 * it returned, or EINTR when it was killed (a signal, a seccomp kill).
 */
static int
doctor_try(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return EINTR;
}

/* One line into a /proc file; 0 or errno. */
static int
doctor_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd, err = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno != 0 ? errno : EIO;
	close(fd);
	return err;
}

/* An integer sysctl; -1 when it does not exist here. */
static long
doctor_sysctl(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Enter a new user namespace mapping us to root in it. */
static int
doctor_enter_userns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int err;

	if (unshare(CLONE_NEWUSER) != 0)
		return errno;
	if ((err = doctor_write_file("/proc/self/setgroups", "deny")) != 0 &&
	    err != ENOENT)
		return err;
	snprintf(map, sizeof map, "0 %lu 1", (unsigned long)uid);
	if ((err = doctor_write_file("/proc/self/uid_map", map)) != 0)
		return err;
	snprintf(map, sizeof map, "0 %lu 1", (unsigned long)gid);
	return doctor_write_file("/proc/self/gid_map", map);
}

static void
check_fuse_device(struct doctor_result *r)
{
	struct stat st;
	int fd;

	if (stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
		doctor_set(r, DOCTOR_FAIL, "/dev/fuse: %s",
		    errno != 0 ? strerror(errno) : "not a character device");
		doctor_fix(r,
		    "load the fuse module (modprobe fuse); in a container, "
		    "pass the device (--device /dev/fuse)");
		return;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		doctor_set(r, DOCTOR_FAIL,
		    "/dev/fuse (mode %04o): cannot open: %s",
		    (unsigned)(st.st_mode & 07777), strerror(errno));
		doctor_fix(r,
		    "chmod 0666 /dev/fuse (as Debian's udev rule "
		    "does)");
		return;
	}
	close(fd);
	if ((st.st_mode & 0666) != 0666) {
		doctor_set(r, DOCTOR_WARN,
		    "/dev/fuse: opens for root, but mode %04o shuts users out",
		    (unsigned)(st.st_mode & 07777));
		doctor_fix(r, "chmod 0666 /dev/fuse for unprivileged sessions");
		return;
	}
	doctor_set(r, DOCTOR_OK, "/dev/fuse: character device %u,%u, mode %04o",
	    major(st.st_rdev), minor(st.st_rdev),
	    (unsigned)(st.st_mode & 07777));
}

static void
check_fusermount(struct doctor_result *r)
{
	static const char *const where[] = { "/usr/bin/fusermount3",
		"/bin/fusermount3", "/usr/local/bin/fusermount3" };
	enum doctor_status bad = doctor_is_root() ? DOCTOR_WARN : DOCTOR_FAIL;
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof where / sizeof where[0]; i++)
		if (stat(where[i], &st) == 0)
			break;
	if (i == sizeof where / sizeof where[0]) {
		doctor_set(r, bad, "fusermount3: not found");
		doctor_fix(r, "apt-get install fuse3 (users mount through it)");
		return;
	}
	if (st.st_uid != 0 || (st.st_mode & S_ISUID) == 0) {
		doctor_set(r, bad, "%s: not setuid root (mode %04o, owner %lu)",
		    where[i], (unsigned)(st.st_mode & 07777),
		    (unsigned long)st.st_uid);
		doctor_fix(
		    r, "chown root %s && chmod u+s %s", where[i], where[i]);
		return;
	}
	doctor_set(r, DOCTOR_OK, "%s: setuid root", where[i]);
}

static int
try_userns(void *arg)
{
	return unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
}

static void
check_userns(struct doctor_result *r)
{
	long clone_ok =
	    doctor_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	long max = doctor_sysctl("/proc/sys/user/max_user_namespaces");
	int err = doctor_try(try_userns, NULL);
	char knobs[160];

	snprintf(knobs, sizeof knobs, "user.max_user_namespaces=%ld%s", max,
	    clone_ok < 0 ? ""
	                 : (clone_ok ? ", kernel.unprivileged_userns_clone=1"
	                             : ", kernel.unprivileged_userns_clone=0"));
	if (err == 0 && clone_ok == 0 && doctor_is_root()) {
		doctor_set(r, DOCTOR_WARN,
		    "root can create user namespaces, users cannot (%s)",
		    knobs);
		doctor_fix(r, "sysctl -w kernel.unprivileged_userns_clone=1");
		return;
	}
	if (err == 0) {
		doctor_set(
		    r, DOCTOR_OK, "unshare(CLONE_NEWUSER) works (%s)", knobs);
		return;
	}
	doctor_set(r, DOCTOR_FAIL, "unshare(CLONE_NEWUSER): %s (%s)",
	    strerror(err), knobs);
	if (clone_ok == 0)
		doctor_fix(r, "sysctl -w kernel.unprivileged_userns_clone=1");
	else if (max == 0)
		doctor_fix(r, "sysctl -w user.max_user_namespaces=15000");
	else
		doctor_fix(r,
		    "allow user namespaces (a container needs seccomp and "
		    "AppArmor profiles that permit unshare); or run airlock "
		    "run --no-isolate");
}

static int
try_mount_net(void *arg)
{
	int err;

	if ((err = doctor_enter_userns()) != 0)
		return err;
	return unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 ? 0 : errno;
}

static void
check_mount_net(struct doctor_result *r)
{
	int err = doctor_try(try_mount_net, NULL);

	if (err == 0) {
		doctor_set(r, DOCTOR_OK,
		    "mount and network namespaces inside a user namespace");
		return;
	}
	doctor_set(r, DOCTOR_FAIL,
	    "mount and network namespaces inside a user namespace: %s",
	    strerror(err));
	doctor_fix(r,
	    "allow user namespaces (see userns); without them "
	    "airlock run needs root or --no-isolate");
}

/* In a user and mount namespace: tmpfs on base, overlay in it. */
static int
try_overlay(void *arg)
{
	const char *base = arg;
	char l[PATH_MAX], u[PATH_MAX], w[PATH_MAX], m[PATH_MAX],
	    o[4 * PATH_MAX];
	int err;

	if ((err = doctor_enter_userns()) != 0)
		return err;
	if (unshare(CLONE_NEWNS) != 0)
		return errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", base, "tmpfs", 0, "mode=0700") != 0)
		return errno;
	snprintf(l, sizeof l, "%s/l", base);
	snprintf(u, sizeof u, "%s/u", base);
	snprintf(w, sizeof w, "%s/w", base);
	snprintf(m, sizeof m, "%s/m", base);
	if (mkdir(l, 0700) != 0 || mkdir(u, 0700) != 0 || mkdir(w, 0700) != 0 ||
	    mkdir(m, 0700) != 0)
		return errno;
	snprintf(o, sizeof o, "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", l,
	    u, w);
	if (mount("overlay", m, "overlay", 0, o) == 0)
		return 0;
	err = errno;
	/* kernels before userxattr (5.11) take the plain options */
	snprintf(o, sizeof o, "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
	return mount("overlay", m, "overlay", 0, o) == 0 ? 0 : err;
}

static void
check_overlay(struct doctor_result *r)
{
	char base[] = "/tmp/airlock-doctor.XXXXXX";
	int err;

	if (mkdtemp(base) == NULL) {
		doctor_set(r, DOCTOR_FAIL, "mkdtemp /tmp: %s", strerror(errno));
		doctor_fix(r, "make /tmp writable");
		return;
	}
	err = doctor_try(try_overlay, base);
	(void)rmdir(base);
	if (err == 0) {
		doctor_set(r, DOCTOR_OK,
		    "kernel overlayfs mounts inside a user namespace");
		return;
	}
	/* the view is FUSE; only the room's copy-on-write home is an
	 * overlay, and without one the home stays read-only */
	doctor_set(r, DOCTOR_WARN,
	    "kernel overlayfs inside a user namespace: %s", strerror(err));
	doctor_fix(r,
	    "a kernel 5.11 or later with overlay (modprobe "
	    "overlay); without it the room's home is read-only");
}

static int
try_seccomp(void *arg)
{
	struct sandbox_profile sp = { .daemon = SANDBOX_PROXY };

	if (setenv("AIRLOCK_SECCOMP", "kill", 1) != 0 ||
	    sandbox_lockdown(&sp) != 0)
		return errno != 0 ? errno : EPERM;
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2 ? 0 : ENOSYS;
}

static void
check_seccomp(struct doctor_result *r)
{
	enum sandbox_seccomp mode;
	int err, before = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

	if (sandbox_seccomp_mode(&mode) != 0) {
		doctor_set(r, DOCTOR_FAIL,
		    "AIRLOCK_SECCOMP=%s: the daemons refuse to start",
		    getenv("AIRLOCK_SECCOMP"));
		doctor_fix(r,
		    "set AIRLOCK_SECCOMP to kill, log or off, or "
		    "unset it");
		return;
	}
	if (before < 0) {
		doctor_set(r, DOCTOR_FAIL, "prctl(PR_GET_SECCOMP): %s",
		    strerror(errno));
		doctor_fix(r, "a kernel built with CONFIG_SECCOMP_FILTER");
		return;
	}
	err = doctor_try(try_seccomp, NULL);
	if (err != 0) {
		doctor_set(r, DOCTOR_FAIL,
		    "the daemons' filter does not load: %s", strerror(err));
		doctor_fix(r,
		    "a kernel built with CONFIG_SECCOMP_FILTER; "
		    "airlock-fs and airlock-proxy refuse to serve "
		    "without it (--no-seccomp only to debug)");
		return;
	}
	if (mode != SANDBOX_SECCOMP_KILL) {
		doctor_set(r, DOCTOR_WARN,
		    "the filter loads, but the daemons will %s unlisted calls",
		    mode == SANDBOX_SECCOMP_LOG ? "only log" : "not filter");
		doctor_fix(r,
		    "unset AIRLOCK_SECCOMP (a sanitizer build logs "
		    "by default)");
		return;
	}
	doctor_set(r, DOCTOR_OK, "the daemons' filter loads (%s)",
	    before == 2 ? "stacked on this process's own filter"
	                : "no_new_privs, capabilities dropped");
}

static void
check_state_dir(struct doctor_result *r)
{
	char dir[PATH_MAX];
	struct stat st;

	if (session_state_dir(dir, sizeof dir) != 0) {
		doctor_set(
		    r, DOCTOR_FAIL, "no state directory: %s", strerror(errno));
		doctor_fix(r, "set HOME, XDG_STATE_HOME or AIRLOCK_STATE_DIR");
		return;
	}
	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT) {
			doctor_set(r, DOCTOR_OK,
			    "%s: not there yet (airlock run creates it, 0700)",
			    dir);
			return;
		}
		doctor_set(r, DOCTOR_FAIL, "%s: %s", dir, strerror(errno));
		doctor_fix(
		    r, "make %s reachable, or set AIRLOCK_STATE_DIR", dir);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		doctor_set(r, DOCTOR_FAIL, "%s: not a directory", dir);
		doctor_fix(r, "move %s away", dir);
		return;
	}
	if (st.st_uid != geteuid()) {
		doctor_set(r, DOCTOR_FAIL,
		    "%s: owned by uid %lu, not you (%lu)", dir,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		doctor_fix(r, "chown %lu %s", (unsigned long)geteuid(), dir);
		return;
	}
	if ((st.st_mode & 077) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s: mode %04o lets others in", dir,
		    (unsigned)(st.st_mode & 07777));
		doctor_fix(r, "chmod 0700 %s", dir);
		return;
	}
	doctor_set(r, DOCTOR_OK, "%s: yours, mode %04o", dir,
	    (unsigned)(st.st_mode & 07777));
}

/* Where airlock run finds a daemon: $ENV, else beside this binary (an
 * installed sbin, or the build tree's fs/ and proxy/), else $PATH. */
static void
check_binary(struct doctor_result *r, const char *name, const char *env)
{
	static const char *const rel[] = { "", "/../sbin", "/../fs",
		"/../proxy" };
	char self[PATH_MAX], path[PATH_MAX + 32], *slash;
	const char *o = getenv(env);
	ssize_t n;
	size_t i;

	if (o != NULL && o[0] != '\0') {
		if (access(o, X_OK) == 0)
			doctor_set(r, DOCTOR_OK, "%s (from $%s)", o, env);
		else {
			doctor_set(r, DOCTOR_FAIL, "$%s=%s: %s", env, o,
			    strerror(errno));
			doctor_fix(r, "point %s at %s, or unset it", env, name);
		}
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			snprintf(
			    path, sizeof path, "%s%s/%s", self, rel[i], name);
			if (access(path, X_OK) == 0) {
				doctor_set(r, DOCTOR_OK, "%s",
				    realpath(path, self) != NULL ? self : path);
				return;
			}
		}
	}
	doctor_set(r, DOCTOR_FAIL, "%s: not found beside %s", name,
	    n > 0 ? self : "airlock");
	doctor_fix(r, "install airlock (make install), or set %s", env);
}

static void
check_fs_binary(struct doctor_result *r)
{
	check_binary(r, "airlock-fs", "AIRLOCK_FS");
}

static void
check_proxy_binary(struct doctor_result *r)
{
	check_binary(r, "airlock-proxy", "AIRLOCK_PROXY");
}

static const struct doctor_check doctor_checks[] = {
	{ "fuse", check_fuse_device },
	{ "fusermount3", check_fusermount },
	{ "userns", check_userns },
	{ "mount-net-ns", check_mount_net },
	{ "overlayfs", check_overlay },
	{ "seccomp", check_seccomp },
	{ "state-dir", check_state_dir },
	{ "airlock-fs", check_fs_binary },
	{ "airlock-proxy", check_proxy_binary },
};

#define DOCTOR_N_CHECKS (sizeof doctor_checks / sizeof doctor_checks[0])

static void
doctor_print_text(const struct doctor_result *res)
{
	size_t i;

	for (i = 0; i < DOCTOR_N_CHECKS; i++) {
		printf("%-5s %-14s %s\n", doctor_status_names[res[i].status],
		    doctor_checks[i].name, res[i].detail);
		if (res[i].status != DOCTOR_OK && res[i].fix[0] != '\0')
			printf("      %-14s fix: %s\n", "", res[i].fix);
	}
}

static void
doctor_print_json(const struct doctor_result *res, int failed)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_addf(&b, "{\"uid\":%lu,\"ok\":%s,\"checks\":[",
	    (unsigned long)geteuid(), failed ? "false" : "true");
	for (i = 0; i < DOCTOR_N_CHECKS; i++) {
		buf_adds(&b, i == 0 ? "{\"name\":" : ",{\"name\":");
		buf_add_json_string(&b, doctor_checks[i].name);
		buf_adds(&b, ",\"status\":");
		buf_add_json_string(&b, doctor_status_names[res[i].status]);
		buf_adds(&b, ",\"detail\":");
		buf_add_json_string(&b, res[i].detail);
		buf_adds(&b, ",\"fix\":");
		buf_add_json_string(&b, res[i].fix);
		buf_adds(&b, "}");
	}
	buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
doctor_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock doctor [--json]\n\n"
	    "Check this machine for what airlock needs: FUSE, fusermount3,\n"
	    "user namespaces, overlayfs and seccomp, the state directory and\n"
	    "the daemons.  Each check prints ok, warn or fail, and what to\n"
	    "change.  Exit status 0 when nothing fails, 1 otherwise.\n\n"
	    "  --json  one JSON object: {\"ok\", \"uid\", \"checks\": "
	    "[{\"name\",\n"
	    "          \"status\", \"detail\", \"fix\"}]}\n");
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor_result res[DOCTOR_N_CHECKS];
	int ch, is_json = 0, failed = 0;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			is_json = 1;
			break;
		case 'h':
			doctor_usage(stdout);
			return 0;
		default:
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		doctor_usage(stderr);
		return EXIT_USAGE;
	}
	memset(res, 0, sizeof res);
	for (i = 0; i < DOCTOR_N_CHECKS; i++) {
		errno = 0;
		doctor_checks[i].run(&res[i]);
		if (res[i].status == DOCTOR_FAIL)
			failed = 1;
	}
	if (is_json)
		doctor_print_json(res, failed);
	else
		doctor_print_text(res);
	return failed ? EXIT_NEGATIVE : 0;
}
