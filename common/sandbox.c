/*
 * sandbox: no_new_privs, capabilities and the seccomp filter of the
 * daemons; see sandbox.h for what and why.
 *
 * libseccomp builds the filter, rather than hand-written BPF, for its
 * syscall-number and architecture tables: the lists below are names, the
 * same on every architecture Debian builds, and calls an architecture
 * lacks (open, stat on arm64) are skipped instead of miscompiled.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/fuse.h>
#include <sched.h>
#include <seccomp.h>

#include "sandbox.h"
#include "util.h"

/* Sanitizer runtimes make calls of their own (see sandbox.h). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) ||                                        \
    __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

#define SANDBOX_MAX_THREADS 1024
#define SANDBOX_ACK_WAIT_MS 2000

/*
 * airlock-fs as root serves every user's files and stages copies that
 * keep their owner, so it keeps exactly:
 * - CAP_DAC_READ_SEARCH: read and list the project whatever its modes;
 * - CAP_DAC_OVERRIDE: write staged files the agent owns (mode 0644 of
 *   another user) and the upper directories they sit in;
 * - CAP_CHOWN: give a staged copy, or a file the agent creates, its owner;
 * - CAP_FOWNER: chmod, utimens and user.* xattrs on files of other owners;
 * - CAP_FSETID: keep setgid bits across the chown of a copy-up;
 * - CAP_SYS_PTRACE: the audit record's caller.  /proc/PID/exe and environ
 *   (the trace context) pass a ptrace access check, which a process whose
 *   capabilities are not a superset of the caller's fails: without it, no
 *   root caller could be named.  The ptrace family of calls stays outside
 *   the filter, and as root with CAP_DAC_OVERRIDE the daemon could write
 *   any file anyway, so this adds little to what a taken-over daemon holds.
 * Not CAP_SYS_ADMIN (the unmount goes through the helper), not
 * CAP_SYS_RESOURCE (libfuse then reads requests without growing its splice
 * pipe past fs.pipe-max-size).
 */
static const int sandbox_fs_caps[] = {
	CAP_CHOWN,
	CAP_DAC_OVERRIDE,
	CAP_DAC_READ_SEARCH,
	CAP_FOWNER,
	CAP_FSETID,
	CAP_SYS_PTRACE,
};

/* The helper unmounts; nothing else. */
/*
 * airlock-proxy keeps only CAP_SYS_PTRACE, for the same reason as airlock-fs:
 * a held request names the process that sent it (sockowner.h), read from
 * /proc/PID/fd, exe and environ, which a root client with more capabilities
 * than the proxy would otherwise hide.  It matters only when the proxy runs
 * as root, where uid 0 already owns the system's files; under sudo it runs
 * as the invoking user and keeps nothing (a user's own agent, even in a
 * user namespace of its own, is readable without it).
 */
static const int sandbox_proxy_caps[] = {
	CAP_SYS_PTRACE,
};

static const int sandbox_helper_caps[] = {
	CAP_SYS_ADMIN,
};

/*
 * What both daemons call: glibc (malloc, threads, time, stdio), libevent
 * or libfuse's loops, the audit writer, the approval and control sockets,
 * and the OTLP exporter (a TCP client).  Found with `strace -f -c` over the
 * integration tests and by reading the code; calls an architecture lacks
 * are skipped.
 */
static const char *const sandbox_calls_common[] = {
	/* memory */
	"brk",
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	/* threads, signals, time */
	"futex",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"sched_yield",
	"sched_getaffinity",
	"membarrier",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"rt_sigpending",
	"sigaltstack",
	"restart_syscall",
	"exit",
	"exit_group",
	"gettid",
	"getpid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"getgroups",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"getrandom",
	"getrlimit",
	"getrusage",
	"uname",
	"sysinfo",
	"getcpu",
	"capget",
	/* descriptors and events */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"close",
	"close_range",
	"dup",
	"dup2",
	"dup3",
	"pipe",
	"pipe2",
	"fcntl",
	"lseek",
	"splice",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"eventfd2",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	/* files: the session directory, policy, CA, /proc/PID of callers */
	"openat",
	"open",
	"fstat",
	"newfstatat",
	"stat",
	"lstat",
	"statx",
	"fstatfs",
	"statfs",
	"readlinkat",
	"readlink",
	"getdents64",
	"getcwd",
	"faccessat",
	"faccessat2",
	"access",
	"umask",
	"fsync",
	"fdatasync",
	"ftruncate",
	"unlinkat",
	"unlink",
	"mkdirat",
	"mkdir",
	"renameat",
	"renameat2",
	"rename",
	"fchmod",
	"fchmodat",
	"flock",
	"fadvise64",
	/* sockets (socket() itself is narrowed below) */
	"socketpair",
	"connect",
	"accept",
	"accept4",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
};

/* airlock-fs: a passthrough to two directory trees. */
static const char *const sandbox_calls_fs[] = {
	"mknodat",
	"mknod",
	"linkat",
	"link",
	"symlinkat",
	"symlink",
	"fchown",
	"fchownat",
	"lchown",
	"chown",
	"chmod",
	"utimensat",
	"futimesat",
	"utimes",
	"rmdir",
	"fallocate",
	"copy_file_range",
	"sendfile",
	"tee",
	"vmsplice",
	"sync_file_range",
	"syncfs",
	"fgetxattr",
	"fsetxattr",
	"flistxattr",
	"fremovexattr",
	"getxattr",
	"setxattr",
	"listxattr",
	"removexattr",
	"lgetxattr",
	"lsetxattr",
	"llistxattr",
	"lremovexattr",
	"openat2",
	"fchdir",
};

/* airlock-proxy: sockets and TLS; its files are few and read-only. */
static const char *const sandbox_calls_proxy[] = {
	"sendfile",
	"tee",
	"vmsplice",
};

/* ioctl requests: isatty() in stdio, libevent's and OpenSSL's FIONREAD,
 * FIONBIO/FIOCLEX from glibc, and libfuse's clone_fd.  Not TIOCSTI. */
static const unsigned long sandbox_ioctls[] = {
	TCGETS,
	TIOCGWINSZ,
	FIONREAD,
	FIONBIO,
	FIOCLEX,
	FIONCLEX,
	FUSE_DEV_IOC_CLONE,
};

/* prctl options: thread names (libfuse, pthread_setname_np) and reads. */
static const int sandbox_prctls[] = {
	PR_SET_NAME,
	PR_GET_NAME,
	PR_GET_DUMPABLE,
	PR_GET_NO_NEW_PRIVS,
	PR_CAPBSET_READ,
	PR_GET_SECCOMP,
};

static const int sandbox_socket_domains[] = { AF_UNIX, AF_INET, AF_INET6 };

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* The capability sets every thread takes on, set by sandbox_drop_caps()
 * before it signals the other threads. */
static struct __user_cap_data_struct sandbox_cap_data[2];
static int sandbox_cap_last;
static int sandbox_may_bound;
static atomic_int sandbox_acks;
static atomic_int sandbox_failures;

int
sandbox_seccomp_mode(enum sandbox_seccomp *out)
{
	const char *v = getenv("AIRLOCK_SECCOMP");

	if (v == NULL || v[0] == '\0')
		*out = SANDBOX_SANITIZED ? SANDBOX_SECCOMP_LOG
		                         : SANDBOX_SECCOMP_KILL;
	else if (strcmp(v, "kill") == 0)
		*out = SANDBOX_SECCOMP_KILL;
	else if (strcmp(v, "log") == 0)
		*out = SANDBOX_SECCOMP_LOG;
	else if (strcmp(v, "off") == 0)
		*out = SANDBOX_SECCOMP_OFF;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
sandbox_capget(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };

	return (int)syscall(SYS_capget, &hdr, data);
}

static int
sandbox_has_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

static int
sandbox_read_cap_last(void)
{
	int fd, last = CAP_LAST_CAP;
	char buf[16];
	ssize_t n;

	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return last;
	n = read(fd, buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = '\0';
		last = atoi(buf);
	}
	close(fd);
	return last > 0 && last < 64 ? last : CAP_LAST_CAP;
}

/*
 * Compute the sets to keep: the listed capabilities, where the process
 * has them (a user has none and keeps none).  Inheritable is emptied.
 */
static int
sandbox_plan_caps(const int *keep, size_t n_keep)
{
	struct __user_cap_data_struct cur[2];
	size_t i;

	if (sandbox_capget(cur) != 0)
		return -1;
	memset(sandbox_cap_data, 0, sizeof sandbox_cap_data);
	for (i = 0; i < n_keep; i++) {
		int w = keep[i] / 32;
		uint32_t bit = 1u << (keep[i] % 32);

		if (cur[w].permitted & bit) {
			sandbox_cap_data[w].permitted |= bit;
			sandbox_cap_data[w].effective |= bit;
		}
	}
	sandbox_cap_last = sandbox_read_cap_last();
	sandbox_may_bound = sandbox_has_cap(cur, CAP_SETPCAP);
	return 0;
}

/*
 * The calling thread gives up what sandbox_plan_caps() decided.
 * Async-signal-safe (prctl and capset only): it runs in a handler too.
 */
static int
sandbox_drop_here(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	int cap, w;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return -1;
	for (cap = 0; sandbox_may_bound && cap <= sandbox_cap_last; cap++) {
		w = cap / 32;
		if (sandbox_cap_data[w].permitted & (1u << (cap % 32)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL)
			return -1;
	}
	return (int)syscall(SYS_capset, &hdr, sandbox_cap_data);
}

static void
sandbox_on_signal(int sig)
{
	int saved = errno;

	if (sandbox_drop_here() != 0)
		atomic_fetch_add(&sandbox_failures, 1);
	atomic_fetch_add(&sandbox_acks, 1);
	errno = saved;
}

static int
sandbox_seen(const pid_t *tids, int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (tids[i] == tid)
			return 1;
	return 0;
}

/*
 * Signal every other thread to run sandbox_drop_here() and wait until each
 * has.  Listed again until a pass finds no new thread, so that a thread
 * started by one not yet dropped is caught too.  Returns the number
 * signalled, or -1.
 */
static int
sandbox_signal_threads(pid_t *tids, int *n_tids, int sig)
{
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	struct dirent *de;
	int n_new = 0;
	DIR *d;

	if ((d = opendir("/proc/self/task")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == self || sandbox_seen(tids, *n_tids, tid))
			continue;
		if (*n_tids == SANDBOX_MAX_THREADS) {
			closedir(d);
			errno = E2BIG;
			return -1;
		}
		tids[(*n_tids)++] = tid;
		if (syscall(SYS_tgkill, pid, tid, sig) == 0)
			n_new++;
		else if (errno != ESRCH) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return n_new;
}

static int
sandbox_drop_caps(const int *keep, size_t n_keep)
{
	static pid_t tids[SANDBOX_MAX_THREADS];
	struct timespec tick = { 0, 1000000 };
	struct sigaction sa;
	int sig = SIGRTMIN + 3, n_tids = 0, sent = 0, n, waited, ret = -1;
	sigset_t set;

	if (sandbox_plan_caps(keep, n_keep) != 0)
		return -1;
	atomic_store(&sandbox_acks, 0);
	atomic_store(&sandbox_failures, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sandbox_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		return -1;
	/* the calling thread drops directly, never from the handler */
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	do {
		if ((n = sandbox_signal_threads(tids, &n_tids, sig)) < 0)
			goto out;
		sent += n;
		for (waited = 0; atomic_load(&sandbox_acks) < sent &&
		     waited < SANDBOX_ACK_WAIT_MS;
		     waited++)
			nanosleep(&tick, NULL);
		if (atomic_load(&sandbox_acks) < sent) {
			/* a thread blocks the signal: it would keep its
			 * capabilities, so the daemon must not serve */
			fprintf(stderr,
			    "sandbox: %d thread(s) did not drop their"
			    " capabilities\n",
			    sent - atomic_load(&sandbox_acks));
			errno = ETIMEDOUT;
			goto out;
		}
	} while (n > 0);
	if (atomic_load(&sandbox_failures) != 0 || sandbox_drop_here() != 0) {
		if (errno == 0)
			errno = EPERM;
		goto out;
	}
	ret = 0;
out:
	/* a late signal is ignored rather than running a stale handler */
	signal(sig, SIG_IGN);
	return ret;
}

/* The one mount point, unmounted lazily as libfuse asks; a user's mount
 * goes through fusermount3 (setuid: the helper is not under
 * no_new_privs).  Returns 0 or an errno value. */
static int
sandbox_unmount(const char *mnt)
{
	static const char *const progs[] = { "/usr/bin/fusermount3",
		"/bin/fusermount3" };
	int status;
	size_t i;
	pid_t pid;

	if (umount2(mnt, MNT_DETACH) == 0)
		return 0;
	if (errno != EPERM)
		return errno;
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0) {
		for (i = 0; i < nitems(progs); i++)
			execl(progs[i], "fusermount3", "-u", "-q", "-z", "--",
			    mnt, (char *)NULL);
		execlp("fusermount3", "fusermount3", "-u", "-q", "-z", "--",
		    mnt, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EPERM;
}

/*
 * The helper's life: answer the daemon's umount2() notifications until
 * the daemon is gone (its end of sock closes, or the filter has no user
 * left).  Never returns.
 */
static void __attribute__((noreturn))
sandbox_helper_main(int sock, const char *mnt)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct pollfd pfd[2];
	int nfd, nul;

	/* no descriptor of the daemon's may live on here: a copy of
	 * /dev/fuse would keep a dead daemon's mount hanging, one of the
	 * --daemon pipe would keep its parent waiting */
	nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
	    dup2(nul, 2) < 0 || dup2(sock, 3) < 0)
		_exit(1);
	sock = 3;
	(void)syscall(SYS_close_range, 4, ~0U, 0);
	(void)prctl(PR_SET_NAME, "airlock-umount", 0, 0, 0);
	/* a stop signal sent to the daemon's process group must not take
	 * the helper first: the daemon's unmount would then find no one */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (sandbox_plan_caps(
	        sandbox_helper_caps, nitems(sandbox_helper_caps)) != 0)
		_exit(1);
	/* keeps its ability to exec fusermount3 setuid: no no_new_privs */
	{
		struct __user_cap_header_struct hdr = {
			_LINUX_CAPABILITY_VERSION_3, 0
		};

		if (syscall(SYS_capset, &hdr, sandbox_cap_data) != 0)
			_exit(1);
	}
	if ((nfd = fd_recv_rights(sock)) < 0)
		_exit(0);
	if (seccomp_notify_alloc(&req, &resp) != 0)
		_exit(1);
	for (;;) {
		pfd[0].fd = nfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sock;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			memset(req, 0, sizeof *req);
			if (seccomp_notify_receive(nfd, req) != 0)
				continue; /* the caller died meanwhile */
			memset(resp, 0, sizeof *resp);
			resp->id = req->id;
			resp->error = -sandbox_unmount(mnt);
			(void)seccomp_notify_respond(nfd, resp);
			continue;
		}
		if ((pfd[0].revents | pfd[1].revents) & (POLLHUP | POLLERR))
			break;
		if (pfd[1].revents & POLLIN)
			break; /* the daemon never writes again: it is gone */
	}
	_exit(0);
}

/* Fork the unmount helper; *sock_out is the daemon's end. */
static int
sandbox_helper_start(const char *mnt, int *sock_out)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		sandbox_helper_main(sv[1], mnt);
	}
	close(sv[1]);
	*sock_out = sv[0];
	return 0;
}

static int
sandbox_allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

/* Argument arg equals v.  Every field is named: the SCMP_A* macros leave
 * datum_b out for SCMP_CMP_EQ, which clang's -Wextra refuses. */
static struct scmp_arg_cmp
sandbox_arg_is(unsigned int arg, scmp_datum_t v)
{
	struct scmp_arg_cmp c = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0
	};

	return c;
}

/* The calls allowed only with some arguments. */
static int
sandbox_allow_narrowed(scmp_filter_ctx ctx)
{
	size_t i;

	/* threads only: no fork, no new namespaces */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0)
		return -1;
	if (seccomp_rule_add(
	        ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		return -1;
	for (i = 0; i < nitems(sandbox_socket_domains); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		        sandbox_arg_is(
		            0, (scmp_datum_t)sandbox_socket_domains[i])) != 0)
			return -1;
	for (i = 0; i < nitems(sandbox_ioctls); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
		            (scmp_datum_t)sandbox_ioctls[i])) != 0)
			return -1;
	for (i = 0; i < nitems(sandbox_prctls); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		        sandbox_arg_is(0, (scmp_datum_t)sandbox_prctls[i])) !=
		    0)
			return -1;
	/* signals to itself only (raise, pthread_kill, abort) */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	        sandbox_arg_is(0, (scmp_datum_t)getpid())) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	        sandbox_arg_is(0, (scmp_datum_t)getpid())) != 0)
		return -1;
	/* its own limits only */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	        sandbox_arg_is(0, 0)) != 0)
		return -1;
	return 0;
}

/* Build the filter for sp in mode; NULL with errno on failure. */
static scmp_filter_ctx
sandbox_build_filter(
    const struct sandbox_profile *sp, enum sandbox_seccomp mode, int has_helper)
{
	uint32_t dflt;
	scmp_filter_ctx ctx;

	switch (mode) {
	case SANDBOX_SECCOMP_KILL:
		dflt = SCMP_ACT_KILL_PROCESS;
		break;
	case SANDBOX_SECCOMP_LOG:
		dflt = SCMP_ACT_LOG;
		break;
	default:
		dflt = SCMP_ACT_ALLOW;
		break;
	}
	if ((ctx = seccomp_init(dflt)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0)
		goto fail;
	if (has_helper &&
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(umount2), 0) != 0)
		goto fail;
	if (mode == SANDBOX_SECCOMP_OFF)
		return ctx;
	if (sandbox_allow_names(
	        ctx, sandbox_calls_common, nitems(sandbox_calls_common)) != 0 ||
	    sandbox_allow_narrowed(ctx) != 0)
		goto fail;
	if (sp->daemon == SANDBOX_FS
	        ? sandbox_allow_names(
	              ctx, sandbox_calls_fs, nitems(sandbox_calls_fs))
	        : sandbox_allow_names(
	              ctx, sandbox_calls_proxy, nitems(sandbox_calls_proxy)))
		goto fail;
	return ctx;
fail:
	seccomp_release(ctx);
	errno = EINVAL;
	return NULL;
}

int
sandbox_lockdown(const struct sandbox_profile *sp)
{
	const char *who =
	    sp->daemon == SANDBOX_FS ? "airlock-fs" : "airlock-proxy";
	enum sandbox_seccomp mode;
	scmp_filter_ctx ctx = NULL;
	int sock = -1, nfd = -1, rc, has_helper, is_loaded = 0, ret = -1;

	if (sp->no_seccomp)
		mode = SANDBOX_SECCOMP_OFF;
	else if (sandbox_seccomp_mode(&mode) != 0) {
		fprintf(stderr,
		    "%s: AIRLOCK_SECCOMP must be kill, log or off\n", who);
		goto out;
	}
	has_helper = sp->daemon == SANDBOX_FS && sp->unmount != NULL;
	/* built first: libseccomp allocates, and the handler must not */
	if ((ctx = sandbox_build_filter(sp, mode, has_helper)) == NULL) {
		fprintf(stderr, "%s: cannot build the seccomp filter\n", who);
		goto out;
	}
	if (has_helper && sandbox_helper_start(sp->unmount, &sock) != 0) {
		fprintf(stderr, "%s: cannot start the unmount helper: %s\n",
		    who, strerror(errno));
		goto out;
	}
	if ((sp->daemon == SANDBOX_FS ? sandbox_drop_caps(sandbox_fs_caps,
	                                    nitems(sandbox_fs_caps))
	                              : sandbox_drop_caps(sandbox_proxy_caps,
	                                    nitems(sandbox_proxy_caps))) != 0) {
		fprintf(stderr, "%s: cannot drop capabilities: %s\n", who,
		    strerror(errno));
		goto out;
	}
	if (mode == SANDBOX_SECCOMP_OFF && !has_helper) {
		ret = 0;
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		errno = -rc;
		fprintf(stderr, "%s: cannot load the seccomp filter: %s\n", who,
		    strerror(errno));
		goto out;
	}
	is_loaded = 1;
	if (has_helper) {
		if ((nfd = seccomp_notify_fd(ctx)) < 0 ||
		    fd_send_rights(sock, nfd) != 0) {
			fprintf(stderr,
			    "%s: cannot hand the unmount to its helper\n", who);
			goto out;
		}
	}
	ret = 0;
out:
	/* the daemon keeps sock open for its life: its close tells the
	 * helper to leave */
	if (nfd >= 0)
		close(nfd);
	if (ret != 0 && sock >= 0)
		close(sock);
	if (ctx != NULL)
		seccomp_release(ctx);
	/* a daemon that will not serve must not leave its view mounted
	 * (best effort: after a partial drop the privilege may be gone; the
	 * filter, once loaded, would kill the fork of fusermount3) */
	if (ret != 0 && sp->unmount != NULL && !is_loaded)
		(void)sandbox_unmount(sp->unmount);
	return ret;
}
