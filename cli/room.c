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
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "room.h"

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
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'L';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&msg, 0, sizeof msg);
	memset(cbuf, 0, sizeof cbuf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof cbuf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
		room_fail("cannot hand the listener over: %s", strerror(errno));
}

static int
room_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof cbuf;
	do
		n = recvmsg(sock, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

/* The mount namespace: view over the project, the state dir covered. */
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

static void __attribute__((noreturn)) room_exec(const struct room_cfg *cfg)
{
	const char *cwd =
	    cfg->isolate || cfg->has_user ? cfg->project : cfg->view;

	if (chdir(cwd) != 0)
		room_fail("%s: %s", cwd, strerror(errno));
	if (cfg->isolate) {
		room_drop_caps();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			room_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	}
	room_drop_user(cfg);
	execvpe(cfg->argv[0], cfg->argv, cfg->envp);
	fprintf(stderr, "airlock %s: %s: %s\n", cfg->cmd_name, cfg->argv[0],
	    strerror(errno));
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
	struct sigaction sa;
	pid_t w;
	int status;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = room_forward;
	sigemptyset(&sa.sa_mask);
	room_target = pid;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
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
		if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0)
			room_fail(
			    "cannot create namespaces: %s", strerror(errno));
		room_mounts(cfg);
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
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "airlock %s: fork: %s\n", cfg->cmd_name,
		    strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
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
