/*
 * guard: the policy's word on a file operation, and its audit record.
 *
 * allow proceeds; deny answers EACCES; hold blocks the calling worker
 * thread (only it: the FUSE loop keeps serving on its other threads) until
 * the action is approved or denied over SESSION/fs.sock, or its hold
 * timeout denies it.  Every decision except a plain allowed read is
 * audited with the caller (pid, uid, exe, cmdline, trace context, intent),
 * read from /proc and cached per pid for a moment.  A failure anywhere on
 * this path denies.
 */
#ifndef AIRLOCK_FS_GUARD_H
#define AIRLOCK_FS_GUARD_H

#include <sys/types.h>

#include "policy.h"

/* Who made the request (from fuse_req_ctx()). */
struct guard_who {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * Decide op on path (project-relative).  With audit_allow, an allowed
 * decision is audited too (mutations: once per open or create).
 * Returns 0 to proceed, -EACCES to refuse.
 */
int guard_check(const struct guard_who *who, enum fs_op op, const char *path,
    int audit_allow);

/* Set up the per-thread decision caches.  Returns 0 or -1. */
int guard_init(void);

#endif
