/*
 * room: the agent's side of a session.  An isolated room is a child in
 * its own mount, network and pid namespaces:
 *   - mounts are private, and everything is read-only (a recursive
 *     MOUNT_ATTR_RDONLY on /) except what follows;
 *   - the session's view is mounted over the project's own path
 *     (absolute paths in build files keep working);
 *   - /tmp, /var/tmp and /dev/shm are private tmpfs: nothing of the
 *     host's is there, nothing written there reaches the host (the
 *     project, the home and the CA bundle keep their paths inside);
 *   - the home is a copy-on-write overlay whose upper and work dirs lie
 *     in the session (`airlock diff --home`), never committed;
 *   - the mask plan (mask.h) hides credentials (an empty read-only dir
 *     or file over each), pins paths read-only, binds real paths
 *     writable, or binds a secret's masked copy read-only over its file;
 *     a mask that cannot be made stops the room (fail closed);
 *   - the state directory is covered by an empty read-only tmpfs, so the
 *     session directories and their control sockets are not there;
 *   - /proc is the room's own, with /proc/sys read-only;
 *   - the network namespace has only lo, and on it one listener,
 *     127.0.0.1:ROOM_PROXY_PORT, whose fd is handed to the parent for
 *     airlock-proxy (--listen fd:N): the only way out.  No resolver is
 *     reachable, so there is no DNS;
 *   - the pid namespace has its own /proc (the host's processes, the
 *     daemons among them, are not there); CMD runs as its pid 2 under a
 *     small pid 1, and whatever CMD leaves running dies with it;
 *   - a root agent loses the capabilities that would undo the room
 *     (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, ...), and always
 *     runs with PR_SET_NO_NEW_PRIVS.
 * Not isolated, CMD runs in the view itself, or (with a user, who could
 * not pass the 0700 session dir) in a mount namespace of its own with
 * the view at the project's path and the state dir hidden.
 * The child waits for room_release() before it drops to the user and
 * execs the command, so the agent never runs before its proxy serves.
 * As root the namespaces are made directly.  As an ordinary user the
 * room first makes a user namespace (room_cfg.userns) in which the user
 * maps to itself, uid and gid alike, and nobody else is mapped (the
 * host's root and other users show as the overflow id, 65534).  Not 0
 * inside: the room's set-up holds the namespace's capabilities, but an
 * execve() by a non-zero uid clears them, so CMD starts with none and
 * cannot unmount a mask or leave the network namespace; a root-mapped
 * CMD would keep CAP_SYS_ADMIN over the room's own mounts.  The same
 * kernel uid inside and out also lets CMD use the view, which airlock-fs
 * mounted through fusermount3 for that user without allow_other.
 */
#ifndef AIRLOCK_CLI_ROOM_H
#define AIRLOCK_CLI_ROOM_H

#include <sys/types.h>

struct mask_plan;

#define ROOM_PROXY_PORT 3128

/* Exit statuses of the child when it cannot run the command. */
#define ROOM_EXIT_SETUP 125 /* the room could not be set up */
#define ROOM_EXIT_NOEXEC 126 /* CMD found but not executable */
#define ROOM_EXIT_NOENT 127 /* CMD not found */

struct room_cfg {
	int isolate; /* 0: only cwd, user and environment */
	int userns; /* isolate as an ordinary user: a user namespace */
	const char *cmd_name; /* "run" or "resume", for messages */
	const char *project; /* the project's path (isolate) */
	const char *view; /* the view's mountpoint */
	const char *state_dir; /* hidden inside (isolate) */
	int has_user;
	uid_t uid;
	gid_t gid;
	const char *user;
	const char *home;
	char *const *argv;
	char *const *envp;
	/* isolate only: */
	const struct mask_plan *masks; /* outside paths, the state dir too */
	const char *home_lower; /* the real home, shown copy-on-write */
	const char *home_upper; /* its overlay upper and work dirs */
	const char *home_work;
	const char *keep_file; /* a host file the agent needs (CA bundle) */
	/* the read end of the secrets' pipe to airlock-proxy, which the
	 * room's processes must not keep (its pid 1 never execs); -1: none */
	int secrets_fd;
};

/*
 * Fork the agent's process.  Isolated: *listen_fd receives the listener
 * made inside the room (the caller passes it to the proxy, then closes
 * it).  Either way *go_fd is the end to room_release() once the proxy
 * serves; closing it without releasing makes the child exit with
 * ROOM_EXIT_SETUP.  Returns the child's pid, or -1 with a message printed.
 */
pid_t room_start(const struct room_cfg *cfg, int *listen_fd, int *go_fd);

/*
 * Can this user make the room's namespaces (user, mount, network, pid)?
 * Tries in a short-lived child.  Returns 0, or -1 with what forbids it
 * and what to change (the sysctl, or --no-isolate) printed.
 */
int room_userns_check(const char *cmd);

/* Let the child exec its command; closes go_fd.  Returns 0 or -1. */
int room_release(int go_fd);

#endif
