/*
 * session: where sessions live, and how a --session argument names one.
 * (Creating and running sessions is the CLI's job; this is only the
 * shared naming that the daemons and the CLI agree on.)
 *
 *   state dir: $AIRLOCK_STATE_DIR, else /var/lib/airlock for root, else
 *              ${XDG_STATE_HOME:-$HOME/.local/state}/airlock
 *   a session: <state dir>/sessions/<id>/   (mode 0700)
 */
#ifndef AIRLOCK_SESSION_H
#define AIRLOCK_SESSION_H

#include <stddef.h>

/* Returns 0, or -1 with errno ENAMETOOLONG / ENOENT (no HOME). */
int session_state_dir(char *out, size_t len);

/*
 * Resolve a --session argument into a directory path: an argument holding
 * a "/" is a directory path as is; otherwise it is an id under the state
 * dir.  NULL (no --session) picks the most recently modified session.
 * Returns 0, or -1 with errno (ENOENT when there is no such session).
 */
int session_resolve(const char *arg, char *out, size_t len);

/* The session id of a session directory (its last path component). */
const char *session_id_of(const char *dir);

#endif
