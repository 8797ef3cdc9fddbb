/*
 * sandbox: what a daemon gives up once it is set up.  airlock-fs and
 * airlock-proxy call sandbox_lockdown() once, after their mount, listeners
 * and sockets exist and before they serve; from then on a daemon that is
 * taken over by a hostile request holds as little as it can:
 *
 * - PR_SET_NO_NEW_PRIVS, so that nothing it could execute gains privilege
 *   (setuid binaries, file capabilities);
 * - no capability it does not need to serve, in every thread (capabilities
 *   are per thread: the calling thread drops its own, every other thread
 *   drops its own from a signal handler, and the call fails if one does
 *   not).  The bounding and ambient sets are cleared too.  airlock-proxy
 *   keeps none.  airlock-fs run as root keeps what staging files of any
 *   owner takes, see sandbox.c;
 * - a seccomp filter, loaded on all threads at once (TSYNC): an allow-list
 *   of the system calls the daemon makes, some narrowed by argument
 *   (clone only for threads, socket only for unix/inet/inet6, ioctl only
 *   for the requests libfuse, libevent and stdio use).  Any other system
 *   call kills the whole process (SECCOMP_RET_KILL_PROCESS).  Kill and not
 *   EPERM because a daemon taken over must not be able to probe which
 *   calls fail and carry on, and because a missing entry then shows at
 *   once (a dead daemon, SIGSYS, a kernel audit record with the call's
 *   number) instead of as a subtle misbehaviour after a refused call.  A
 *   dead daemon fails closed: the view answers ENOTCONN, the network is
 *   gone.  clone3 answers ENOSYS so that glibc falls back to clone, whose
 *   flags a filter can read.  Other architectures' calls (int 0x80 on
 *   x86_64) kill too.
 *
 * airlock-fs's unmount at exit (libfuse's umount2(), or fusermount3 for a
 * user) needs a privilege the daemon no longer has.  So before it drops
 * anything, sandbox_lockdown() forks a small helper that keeps only
 * CAP_SYS_ADMIN (none for a user), closes every other descriptor and waits:
 * the daemon's filter turns umount2() into a seccomp user notification, the
 * helper unmounts that one mount point (whatever path the call names) and
 * answers.  The helper unmounts only when asked, never because the daemon
 * died: a view that vanished on a crash would uncover the directory below
 * it.
 *
 * Keeping the lists current: AIRLOCK_SECCOMP=log in the environment of a
 * daemon makes every unlisted call SECCOMP_RET_LOG (allowed, logged by the
 * kernel as an audit SECCOMP record, type=1326 in `dmesg`, with
 * syscall=N; a kill shows sig=31) instead of killing; run the integration tests so and read
 * the log, or run them under `strace -f -c`.  tests/integration/run.sh
 * runs every daemon test with the filter enforcing, which is the proof that
 * the lists are complete for what the tests exercise.  AIRLOCK_SECCOMP=off
 * (or --no-seccomp) loads no allow-list (airlock-fs still routes its
 * unmount to the helper); anything else refuses to start.
 *
 * Sanitizer and fuzz builds (--enable-sanitizers, --enable-fuzz): their
 * runtimes make calls of their own at any time (LeakSanitizer ptrace()s
 * the threads at exit, ASan maps shadow memory, reads /proc/self/maps), so
 * there the default is log, not kill: such a build drops privileges and
 * loads the same filter, but an unlisted call is only logged.
 */
#ifndef AIRLOCK_SANDBOX_H
#define AIRLOCK_SANDBOX_H

enum sandbox_daemon {
	SANDBOX_FS,
	SANDBOX_PROXY,
};

enum sandbox_seccomp {
	SANDBOX_SECCOMP_KILL, /* unlisted calls kill the process */
	SANDBOX_SECCOMP_LOG, /* unlisted calls are allowed and logged */
	SANDBOX_SECCOMP_OFF, /* no allow-list */
};

struct sandbox_profile {
	/* picks the capabilities and the calls kept */
	enum sandbox_daemon daemon;
	/* SANDBOX_FS: the mount point the helper unmounts when asked; NULL
	 * for no helper */
	const char *unmount;
	/* --no-seccomp: SANDBOX_SECCOMP_OFF whatever AIRLOCK_SECCOMP says */
	int no_seccomp;
};

/*
 * Give up privileges as described above, for good.  Call once, from the
 * main thread, after set-up; threads started later inherit everything.
 * Returns 0, or -1 with errno and a message on stderr (the caller treats it
 * as a start-up error: a daemon that cannot lock down does not serve).  On
 * failure sp->unmount, when set, is unmounted first (best effort).
 */
int sandbox_lockdown(const struct sandbox_profile *sp);

/*
 * The mode AIRLOCK_SECCOMP asks for ("kill", "log", "off"; unset: kill,
 * or log in a sanitizer build) into *out.  Returns 0, or -1 (EINVAL) for
 * any other value.
 */
int sandbox_seccomp_mode(enum sandbox_seccomp *out);

#endif
