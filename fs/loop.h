/*
 * loop: airlock-fs's FUSE request loop.
 *
 * One thread reads and answers the requests.  On two busy cores the cost
 * of a request is the wake-up of whoever answers it, and a single reader
 * is the one woken each time, often still running when the next request
 * comes; a pool of readers hands each request to another thread.  A
 * request that may block for long goes to a worker thread instead, so that
 * the loop never waits on it: one the policy may hold (an action waiting
 * for a person, checked for every file operation on the name a request
 * names and, for a name it adds or removes, on every name beneath), a
 * copy-up of a project file (an open for writing or a setattr of one, a
 * rename, a link), symlinks and mknod, an fsync, and the extended
 * attributes' changes.  A worker answers its request itself.
 */
#ifndef AIRLOCK_FS_LOOP_H
#define AIRLOCK_FS_LOOP_H

#include "ops.h"

/* The table for fuse_session_new(): inner's operations, the ones that may
 * block wrapped to go to a worker when they would.  inner must outlive
 * the session. */
const struct fuse_lowlevel_ops *loop_ops(const struct fuse_lowlevel_ops *inner);

/* Serve se's requests until it exits (unmount, or fuse_session_exit() from
 * a signal).  Returns fuse_session_loop()'s result. */
int loop_run(struct fuse_session *se);

/* Stop: answer EIO to what no worker took yet, and wait up to wait_ms for
 * the workers to finish what they took (a hold ends when its approvals
 * are freed) and exit.  Returns how many are still busy (then the session
 * must not be destroyed).  May be called again with a longer wait. */
int loop_stop(unsigned wait_ms);

/* Free the loop's own state, once the session is destroyed. */
void loop_free(void);

#endif
