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

#include <limits.h>
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

/*
 * A decision made of several questions (issue 7: a rule on a path governs
 * every operation that changes what the path names).  Each guard_ask_*()
 * adds the policy's answer on one name, or on every name beneath one; the
 * strictest answer wins (deny over hold over allow, the first asked on a
 * tie) and keeps the name that gave it, for the hold and the audit
 * record.  Asking never blocks or audits: guard_decide() does.
 */
struct guard_ask {
	struct policy_verdict v;
	int has_answer;
	int is_below; /* governed is a rule's pattern beneath a name */
	char governed[PATH_MAX]; /* set only for an answer other than allow */
};

/* What a change implies for a name it takes away (rename, rmdir of an
 * ancestor), and for a name it places (the far end of a rename). */
#define GUARD_OPS_GONE (FS_OP_RENAME | FS_OP_DELETE)
#define GUARD_OPS_PLACED (FS_OP_RENAME | FS_OP_CREATE | FS_OP_WRITE)

void guard_ask_init(struct guard_ask *a);
/* Ask ops (a mask of enum fs_op) on path. */
void guard_ask_path(struct guard_ask *a, unsigned ops, const char *path);
/* Ask ops on every name beneath path (policy_eval_fs_below(), how). */
void guard_ask_below(
    struct guard_ask *a, unsigned ops, const char *path, int how);
/* The strictest answer so far (DECISION_ALLOW when nothing was asked). */
enum decision guard_ask_decision(const struct guard_ask *a);

/*
 * Act on a's answer for op on target as guard_check() does (allow
 * proceeds, deny is -EACCES, hold waits), audited as op on target; when
 * another name decided, the reason says which ("renaming .git changes
 * .git/hooks/pre-commit (rule): reason").
 */
int guard_decide(const struct guard_who *who, enum fs_op op, const char *target,
    const struct guard_ask *a, int audit_allow);

/* Set up the per-thread decision caches.  Returns 0 or -1. */
int guard_init(void);

#endif
