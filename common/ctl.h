/*
 * ctl: the control-socket protocol between the airlock CLI and a daemon.
 *
 * A Unix stream socket in the session directory (fs.sock, proxy.sock),
 * created mode 0600.  A client sends one request line and reads the answer
 * until the daemon closes:
 *
 *   list                       -> a JSON array of pending actions, "\n"
 *   approve ID [remember]      -> "ok\n" or "error: <why>\n"
 *   deny ID [remember]         -> "ok\n" or "error: <why>\n"
 *   ping                       -> "pong <pid>\n"
 *
 * The server runs in its own thread, so it serves the CLI whatever the
 * daemon's workers are doing.  A peer whose uid (SO_PEERCRED) equals the
 * agent's uid, when the session set one, is refused: the agent can never
 * approve its own request.
 */
#ifndef AIRLOCK_CTL_H
#define AIRLOCK_CTL_H

#include <stddef.h>
#include <sys/types.h>

#include "approval.h"

struct ctl_server;

/*
 * Bind path (replacing a stale socket), listen, and serve in a new thread.
 * refuse_uid is the agent's uid, or (uid_t)-1 for none.  Returns NULL with
 * errno on failure: EADDRINUSE when a live daemon already answers on path,
 * EEXIST when path is something other than a socket.  approve and deny run
 * the held action's callback in the server's thread.
 */
struct ctl_server *ctl_server_start(
    const char *path, struct approvals *ap, uid_t refuse_uid);
/* Stop serving, unlink the socket, free.  Call it before approvals_free()
 * of the approvals it serves. */
void ctl_server_stop(struct ctl_server *srv);

/* Parse a daemon's --agent-uid argument (a decimal uid, not -1) into
 * *out.  Returns 0, or -1 when malformed. */
int ctl_parse_uid(const char *s, uid_t *out);

/*
 * Client side: send line (without newline) to the socket at path and
 * return the whole answer in *answer (caller frees).  Returns 0, or -1
 * with errno (ECONNREFUSED/ENOENT when no daemon serves it).
 */
int ctl_request(const char *path, const char *line, char **answer);

#endif
