/*
 * session_dir: creating a session directory and keeping its session.json
 * (what `airlock run`, `sessions`, `end` and `resume` share).
 *
 * session.json is a flat JSON object, one "key": value a line:
 *   id, project, mountpoint, policy ("" for the built-in one),
 *   policy_hash (policy_source_hash()), isolated (0/1), fs_pid, proxy_pid,
 *   agent_pid (0 when none), agent_start (agent_pid's start time, so that
 *   a recycled pid is not taken for the agent), proxy_listen
 *   ("127.0.0.1:PORT" or ""),
 *   state ("running" | "ended"), created (RFC 3339), created_ns.
 * It is always replaced atomically (session.json.tmp, fsync, rename).
 */
#ifndef AIRLOCK_CLI_SESSION_DIR_H
#define AIRLOCK_CLI_SESSION_DIR_H

#include <limits.h>
#include <sys/types.h>

#define SESSION_ID_MAX 128

struct session_info {
	char id[SESSION_ID_MAX];
	char dir[PATH_MAX]; /* the session directory */
	char project[PATH_MAX]; /* absolute, resolved */
	char mountpoint[PATH_MAX]; /* SESSION/view */
	char policy[PATH_MAX]; /* "" for the built-in policy */
	char policy_hash[80];
	char proxy_listen[64];
	char state[16]; /* "running" or "ended" */
	char created[48]; /* RFC 3339 */
	unsigned long long created_ns;
	int isolated;
	long agent_uid; /* --user's uid, refused by the control sockets;
			   -1 when the agent runs as the caller */
	pid_t fs_pid, proxy_pid, agent_pid;
	/* when agent_pid started (clock ticks after boot, /proc/PID/stat);
	   session_info_write() fills it in; 0 when unknown */
	unsigned long long agent_start;
};

/* Whether name is a valid --session-name: 1..SESSION_ID_MAX-1 bytes of
 * [A-Za-z0-9._-], not starting with a dot. */
int session_name_valid(const char *name);

/*
 * Create a new session directory (mode 0700, and the state dir's
 * sessions/ when missing) named name, or YYYYMMDD-HHMMSS-<4 hex> when
 * name is NULL, and its mountpoint SESSION/view; fill si->id, dir,
 * mountpoint, created.  Returns 0, or -1 with errno (EEXIST: the name is
 * taken).
 */
int session_dir_create(const char *name, struct session_info *si);

/* Write si as dir/session.json atomically.  Returns 0 or -1 with errno. */
int session_info_write(const struct session_info *si);

/* Read dir/session.json into si (si->dir and si->id from dir).  Returns 0,
 * or -1 with errno (ENOENT, EBADMSG). */
int session_info_read(const char *dir, struct session_info *si);

/* The pid in dir/name (fs.pid, proxy.pid) when that process lives, else
 * 0. */
pid_t session_pid_alive(const char *dir, const char *name);

/* Whether the session's agent (si->agent_pid, the very process that
 * started at si->agent_start) still runs: 1 or 0. */
int session_agent_alive(const struct session_info *si);

/* The state to show: si->state, except that a "running" session with a
 * dead daemon is "stale" (something killed it). */
const char *session_state_now(const struct session_info *si);

/*
 * The daemons.  Binaries are found next to the airlock binary (installed:
 * the same directory or ../sbin; build tree: ../fs, ../proxy), else on
 * PATH; $AIRLOCK_FS and $AIRLOCK_PROXY override.  Each daemon's stderr
 * goes to SESSION/fs.log or SESSION/proxy.log, which is shown when it
 * fails to start.  cmd names the subcommand for messages.
 */

/* Start airlock-fs on si->mountpoint; sets si->fs_pid.  Returns 0 or -1
 * (printed). */
int session_start_fs(struct session_info *si, const char *cmd);

/* Start airlock-proxy listening on spec (ADDR:PORT or fd:N, the fd being
 * inheritable); sets si->proxy_pid and si->proxy_listen (the address it
 * reports).  Returns 0 or -1 (printed). */
int session_start_proxy(
    struct session_info *si, const char *cmd, const char *spec);
/* The same, with the policy's secrets: secrets_fd (above stderr; -1:
 * none) is the read end of a pipe that holds them (run_secrets.h); the
 * proxy alone inherits it (--secrets-fd), and the caller closes it. */
int session_start_proxy_secrets(
    struct session_info *si, const char *cmd, const char *spec, int secrets_fd);

/* The daemons started from now on run as uid:gid, without supplementary
 * groups (uid (uid_t)-1: as the caller).  airlock run sets it for the
 * proxy of a root-started session (cmd_run.c says when). */
void session_spawn_as(uid_t uid, gid_t gid);

/* Stop the session's daemons: SIGTERM, wait (SIGKILL after a while), then
 * a lazy unmount when the view is still mounted.  Returns 0, or -1 when
 * something could not be stopped (printed). */
int session_stop(struct session_info *si, const char *cmd);

/* Whether mnt is a mount point (1), not (0); a dead FUSE mount counts. */
int session_is_mounted(const char *mnt);

/* Staged entries of the session (read-only stage open), or -1. */
long session_staged_count(const char *dir);

/*
 * The agent's run inside an existing session whose fs is mounted (the
 * shared part of `airlock run` and `airlock resume ID -- CMD`): start the
 * proxy (inside the room when isolated), run argv, wait, stop the
 * daemons, mark the session ended, print the summary.  Returns the exit
 * status for airlock (CMD's, or 125 and up).  In cmd_run.c.
 */
struct run_opts {
	const char *cmd; /* "run" or "resume" */
	const char *user; /* --user, or NULL */
	int isolate;
	int intercept; /* the policy intercepts TLS: 1, 0, or -1 to look */
	char **argv;
};
int run_in_session(struct session_info *si, const struct run_opts *ro);
/* From here on SIGTERM, SIGINT and SIGHUP stop the start-up at its next
 * step, and run_in_session() tears down what was started (exit 128+N);
 * once the agent runs they are passed on to it. */
void run_catch_signals(void);

/* Take the env secrets of si's policy out of the environment now, before
 * a daemon inherits it (`airlock resume -- CMD` starts airlock-fs first);
 * run_in_session() finds them taken.  Returns 0, or -1 (printed) when the
 * policy no longer loads. */
int run_take_secrets(const struct session_info *si, const char *cmd);
/* An ordinary user's isolated session mounts its view outside the home
 * (cmd_run.c says why); sets si->mountpoint.  0, or -1 (printed). */
int run_view_place(struct session_info *si, const char *cmd);

#endif
