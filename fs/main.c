/*
 * airlock-fs: the copy-on-write view of a project.  Start-up checks, the
 * session's stage, policy, audit log and control socket, then the FUSE
 * low-level session on its loop (fs/loop.h: one thread, with workers for
 * what may block) until unmounted (or SIGTERM / SIGINT, which unmount
 * cleanly).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "approval.h"
#include "audit.h"
#include "ctl.h"
#include "fsd.h"
#include "guard.h"
#include "layer.h"
#include "loop.h"
#include "node.h"
#include "ops.h"
#include "otlp_attach.h"
#include "policy.h"
#include "sandbox.h"
#include "session.h"
#include "stage.h"

#define FS_EXIT_STARTUP 2
#define FS_TIMEOUT_S 3600.0
#define FS_DRAIN_MS 1000 /* workers finishing what they took */
#define FS_HOLD_END_MS 30000 /* holds ending once approvals are freed */
#define FS_AUDIT_QUEUE 4096

struct fsd fsd;

struct fs_args {
	const char *project;
	const char *mount;
	const char *session;
	const char *policy;
	int is_daemon;
	int debug;
	uid_t agent_uid; /* refused on fs.sock; (uid_t)-1 for none */
	int no_seccomp;
};

static void
fs_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock-fs --project DIR --mount MNT --session SDIR"
	    " [--policy FILE]\n"
	    "                  [--foreground | --daemon] [--debug]\n\n"
	    "Mount a copy-on-write view of DIR at MNT.  Reads come from DIR,\n"
	    "which is never written; every change is staged in SDIR/upper\n"
	    "and decided by the policy.  See airlock-fs(8).\n\n"
	    "  --project DIR   the project (the lower layer)\n"
	    "  --mount MNT     where the view appears\n"
	    "  --session SDIR  the session directory (upper/, manifest,\n"
	    "                  audit.jsonl, fs.sock, fs.pid)\n"
	    "  --policy FILE   the policy (default: the built-in one)\n"
	    "  --foreground    stay in the foreground (the default)\n"
	    "  --daemon        detach once the mount answers\n"
	    "  --agent-uid UID refuse this uid (the agent's) on fs.sock\n"
	    "  --debug         log every FUSE request to stderr\n"
	    "  --no-seccomp    load no system-call filter (debugging)\n");
}

static void __attribute__((format(printf, 1, 2), noreturn))
fs_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("airlock-fs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(FS_EXIT_STARTUP);
}

static void
fs_parse_args(int argc, char **argv, struct fs_args *a)
{
	static const struct option longopts[] = {
		{ "project", required_argument, NULL, 'p' },
		{ "mount", required_argument, NULL, 'm' },
		{ "session", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'P' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "daemon", no_argument, NULL, 'D' },
		{ "debug", no_argument, NULL, 'd' },
		{ "agent-uid", required_argument, NULL, 'u' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof *a);
	a->agent_uid = (uid_t)-1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->project = optarg;
			break;
		case 'm':
			a->mount = optarg;
			break;
		case 's':
			a->session = optarg;
			break;
		case 'P':
			a->policy = optarg;
			break;
		case 'f':
			a->is_daemon = 0;
			break;
		case 'D':
			a->is_daemon = 1;
			break;
		case 'd':
			a->debug = 1;
			break;
		case 'u':
			if (ctl_parse_uid(optarg, &a->agent_uid) != 0)
				fs_fatal(
				    "--agent-uid %s: expected a uid", optarg);
			break;
		case 'S':
			a->no_seccomp = 1;
			break;
		case 'h':
			fs_usage(stdout);
			exit(0);
		default:
			fs_usage(stderr);
			exit(FS_EXIT_STARTUP);
		}
	}
	if (optind != argc || a->project == NULL || a->mount == NULL ||
	    a->session == NULL) {
		fs_usage(stderr);
		exit(FS_EXIT_STARTUP);
	}
}

/* Nonzero when path a is b or below it (both canonical). */
static int
fs_path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (strcmp(b, "/") == 0)
		return 1;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The mount point must be a directory that is not a dead mount, and
 * neither it nor the session may sit inside the project (the daemon would
 * read through its own mount, and the agent could reach the session). */
static void
fs_check_places(const struct fs_args *a, char *proj, char *mnt, char *sess)
{
	struct statfs sfs;
	struct stat st;

	/* statfs always reaches a FUSE daemon, where stat may be answered
	 * from the kernel's attribute cache of a mount whose daemon died */
	if (statfs(a->mount, &sfs) != 0 || stat(a->mount, &st) != 0) {
		if (errno == ENOTCONN)
			fs_fatal(
			    "%s is a stale mount (its daemon died); clear it"
			    " with: fusermount3 -u -z %s",
			    a->mount, a->mount);
		fs_fatal("%s: %s", a->mount, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		fs_fatal("%s: not a directory", a->mount);
	if (realpath(a->project, proj) == NULL)
		fs_fatal("%s: %s", a->project, strerror(errno));
	if (realpath(a->mount, mnt) == NULL)
		fs_fatal("%s: %s", a->mount, strerror(errno));
	if (mkdir(a->session, 0700) != 0 && errno != EEXIST)
		fs_fatal("%s: %s", a->session, strerror(errno));
	if (realpath(a->session, sess) == NULL)
		fs_fatal("%s: %s", a->session, strerror(errno));
	if (fs_path_within(mnt, proj))
		fs_fatal("%s: the mount point must be outside the project %s",
		    mnt, proj);
	if (fs_path_within(sess, proj) || fs_path_within(sess, mnt))
		fs_fatal("%s: the session must be outside the project and the"
		         " mount",
		    sess);
	if (fs_path_within(proj, mnt))
		fs_fatal(
		    "%s: the project must not be below the mount point", proj);
}

static struct policy *
fs_load_policy(const char *file)
{
	struct policy_error err;
	struct policy *pol;

	if ((pol = policy_load(file, &err)) == NULL)
		fs_fatal("policy: %s",
		    err.text[0] != '\0' ? err.text : "cannot load");
	return pol;
}

static void
fs_open_roots(const char *proj, const char *sess)
{
	struct stat st;
	int sfd;

	fsd.lower_fd = open(proj, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fsd.lower_fd < 0 || fstat(fsd.lower_fd, &st) != 0)
		fs_fatal("%s: %s", proj, strerror(errno));
	fsd.lower_dev = st.st_dev;
	node_table_init(st.st_dev, st.st_ino);

	fsd.stage = stage_open(sess, STAGE_WRITE);
	if (fsd.stage == NULL) {
		if (errno == EBUSY)
			fs_fatal("%s: the session is already mounted (its stage"
			         " is locked)",
			    sess);
		fs_fatal(
		    "%s: cannot open the stage: %s", sess, strerror(errno));
	}
	fsd.upper_fd = stage_upper_fd(fsd.stage);
	if (fstat(fsd.upper_fd, &st) != 0)
		fs_fatal("%s/upper: %s", sess, strerror(errno));
	fsd.upper_dev = st.st_dev;

	sfd = open(sess, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		fs_fatal("%s: %s", sess, strerror(errno));
	if (mkdirat(sfd, "work", 0700) != 0 && errno != EEXIST)
		fs_fatal("%s/work: %s", sess, strerror(errno));
	fsd.work_fd =
	    openat(sfd, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fsd.work_fd < 0 || fstat(fsd.work_fd, &st) != 0)
		fs_fatal("%s/work: %s", sess, strerror(errno));
	if (st.st_dev != fsd.upper_dev)
		fs_fatal(
		    "%s: work/ and upper/ must be on one file system", sess);
	close(sfd);
	layer_clean_work();
}

/* SESSION/name into buf; a path too long for it is fatal at start-up. */
static void
fs_session_file(const char *sess, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", sess, name);

	if (n < 0 || (size_t)n >= len)
		fs_fatal("%s: path too long", sess);
}

static void
fs_write_pid(const char *sess)
{
	char path[PATH_MAX + 16];
	FILE *f;

	fs_session_file(sess, "fs.pid", path, sizeof path);
	f = fopen(path, "we");
	if (f == NULL)
		return;
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/*
 * --daemon: fork now, before any thread exists.  The parent waits for the
 * child to say the mount answers (one byte on a pipe) and exits 0, or
 * exits 2 when the child dies first (its error went to the same stderr).
 * Returns the write end the child signals on (-1 in the foreground).
 */
static int
fs_daemonize(void)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		fs_fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fs_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		(void)waitpid(pid, &status, 0);
		_exit(FS_EXIT_STARTUP);
	}
	close(p[0]);
	(void)setsid();
	return p[1];
}

/* Tell the --daemon parent that the mount answers; detach stdio. */
static void
fs_detach(int ready_fd, const char *mnt)
{
	struct stat st;
	int i, nul;

	if (ready_fd < 0)
		return;
	for (i = 0; i < 200; i++) {
		if (stat(mnt, &st) == 0 && st.st_ino == 1)
			break;
		usleep(10000);
	}
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		(void)dup2(nul, 0);
		(void)dup2(nul, 1);
		(void)dup2(nul, 2);
		close(nul);
	}
	(void)write(ready_fd, "1", 1);
	close(ready_fd);
}

/* The loop runs in a thread of its own only long enough for main to see
 * the mount answer (--daemon). */
struct fs_loop {
	struct fuse_session *se;
	int ret;
};

static void *
fs_loop_main(void *arg)
{
	struct fs_loop *l = arg;
	sigset_t set;

	/* only the loop's thread takes SIGTERM/SIGINT, so that the signal
	 * interrupts its read on /dev/fuse and ends the loop */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	l->ret = loop_run(l->se);
	return NULL;
}

int
main(int argc, char **argv)
{
	char proj[PATH_MAX], mnt[PATH_MAX], sess[PATH_MAX], path[PATH_MAX + 16];
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct ctl_server *ctl;
	struct otlp_link *otlp = NULL;
	struct fs_args a;
	struct fs_loop loop;
	sigset_t set;
	pthread_t tid;
	int ready_fd = -1, is_busy;

	fs_parse_args(argc, argv, &a);
	fs_check_places(&a, proj, mnt, sess);
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		fs_fatal("/dev/fuse: %s", strerror(errno));
	fsd.pol = fs_load_policy(a.policy);
	if (a.is_daemon)
		ready_fd = fs_daemonize();

	/* every helper thread (audit, approvals, ctl) starts with the stop
	 * signals blocked; see fs_loop_main() */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	fsd.checks_reads = policy_fs_checks_reads(fsd.pol);
	fsd.hold_timeout_ms = policy_settings(fsd.pol)->hold_timeout_ms;
	fsd.timeout = FS_TIMEOUT_S;
	fsd.is_root = geteuid() == 0;
	fsd.debug = a.debug;
	fs_open_roots(proj, sess);
	if (guard_init() != 0)
		fs_fatal("guard: %s", strerror(errno));

	fs_session_file(sess, "audit.jsonl", path, sizeof path);
	fsd.audit = audit_open(path, session_id_of(sess), FS_AUDIT_QUEUE);
	if (fsd.audit == NULL)
		fs_fatal("%s: %s", path, strerror(errno));
	if (otlp_attach(fsd.audit, fsd.pol, AUDIT_COMPONENT_FS,
	        session_id_of(sess), proj, &otlp) != 0)
		exit(2);
	fsd.ap = approvals_new("f", fsd.hold_timeout_ms);
	if (fsd.ap == NULL)
		fs_fatal("approvals: %s", strerror(errno));
	if (approvals_set_reviewer(fsd.ap, fsd.pol, fsd.audit,
	        AUDIT_COMPONENT_FS, session_id_of(sess)) != 0)
		fs_fatal("review: %s", strerror(errno));
	fs_session_file(sess, "fs.sock", path, sizeof path);
	ctl = ctl_server_start(path, fsd.ap, a.agent_uid);
	if (ctl == NULL)
		fs_fatal("%s: %s", path, strerror(errno));

	if (fuse_opt_add_arg(&fargs, "airlock-fs") != 0 ||
	    fuse_opt_add_arg(&fargs, "-o") != 0 ||
	    fuse_opt_add_arg(&fargs,
	        fsd.is_root
	            ? "default_permissions,allow_other,fsname=airlock,subtype="
	              "airlock"
	            : "default_permissions,fsname=airlock,subtype=airlock") !=
	        0 ||
	    (a.debug && fuse_opt_add_arg(&fargs, "-d") != 0))
		fs_fatal("out of memory");
	se = fuse_session_new(
	    &fargs, loop_ops(ops_table()), sizeof *ops_table(), NULL);
	if (se == NULL)
		fs_fatal("cannot create the FUSE session");
	if (fuse_set_signal_handlers(se) != 0)
		fs_fatal("cannot set signal handlers");
	if (fuse_session_mount(se, mnt) != 0)
		fs_fatal("%s: cannot mount", mnt);
	fs_write_pid(sess);
	if (sandbox_lockdown(&(struct sandbox_profile){ .daemon = SANDBOX_FS,
	        .unmount = mnt,
	        .no_seccomp = a.no_seccomp }) != 0)
		fs_fatal("cannot give up privileges; see airlock-fs(8)");

	loop.se = se;
	if (pthread_create(&tid, NULL, fs_loop_main, &loop) != 0)
		fs_fatal("pthread_create: %s", strerror(errno));
	fs_detach(ready_fd, mnt);
	pthread_join(tid, NULL);

	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	/* the workers finish first; one still busy then waits on a hold,
	 * which approvals_free() denies */
	is_busy = loop_stop(FS_DRAIN_MS) > 0;
	ctl_server_stop(ctl);
	approvals_free(fsd.ap);
	if (is_busy)
		is_busy = loop_stop(FS_HOLD_END_MS) > 0;
	if (!is_busy) {
		/* else a worker may still answer through it; exit frees it */
		fuse_session_destroy(se);
		loop_free();
	}
	fuse_opt_free_args(&fargs);
	otlp_detach_close(fsd.audit, otlp);
	stage_close(fsd.stage);
	policy_free(fsd.pol);
	fs_session_file(sess, "fs.pid", path, sizeof path);
	(void)unlink(path);
	return loop.ret < 0 ? 1 : 0;
}
