/*
 * approval: held actions and their one resolution each.
 *
 * A daemon submits a held action with a callback.  It is resolved exactly
 * once (invariant 3 of ../shared/DESIGN.md): approved or denied by a person
 * (through the control socket) or the policy's reviewer, or denied when
 * its hold timeout passes.  The callback runs once, in the thread that
 * resolved it (the control-socket thread, a reviewer thread, or the
 * approvals' own timer thread), so it must be short: airlock-proxy uses
 * event_active(), airlock-fs signals the worker that waits.
 *
 * "remember" makes a decision stick for identical requests (same kind, op
 * and target) for the life of this struct approvals.
 *
 * All functions are thread-safe (one mutex guards the table).
 */
#ifndef AIRLOCK_APPROVAL_H
#define AIRLOCK_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "caller.h"
#include "policy.h"

/* What a held action is, for listing and for the reviewer.  Borrowed for
 * the duration of approvals_submit(); the table copies it. */
struct held_info {
	const char *kind; /* "fs" or "net" */
	const char *op; /* "write", "connect", "GET", ... */
	const char *target; /* path, host:port or URL */
	const char *rule;
	const char *reason;
	const struct caller *caller; /* or NULL */
	const char *detail; /* a bounded diff or request head, or NULL */
};

struct approval_result {
	enum decision decision; /* DECISION_ALLOW or DECISION_DENY */
	enum audit_outcome outcome; /* APPROVED, DENIED or TIMEOUT */
	enum audit_decider decided_by;
	char reason[256];
	char reviewer[64]; /* which reviewer decided (decided_by REVIEWER),
			      else "" */
};

typedef void (*approval_cb)(
    const char *id, const struct approval_result *res, void *arg);

struct approvals;

/* prefix names the daemon in ids ("f" for fs, "p" for proxy), so that one
 * id is unique across a session.  timeout_ms is the hold timeout. */
struct approvals *approvals_new(const char *prefix, unsigned timeout_ms);
/*
 * Show every action held from now on to the policy's reviewer (its review
 * section; nothing happens when it names none) before a person: a few
 * reviewer threads ask it (common/reviewer.h), more held actions queue.
 * The reviewer's allow or deny resolves the action (decided_by REVIEWER,
 * res->reviewer naming it); its escalate, or any failure, leaves the
 * action pending for a person and its hold timeout, and is itself written
 * to audit (when not NULL) as a record of component with decision hold.
 * session is named in the reviewer's request (may be NULL).  Call before
 * the first approvals_submit(), once.  Returns 0, or -1 with errno
 * (EINVAL: the reviewer cannot be used, a message on stderr says why;
 * EBUSY: a reviewer was set already).
 */
int approvals_set_reviewer(struct approvals *ap, const struct policy *pol,
    struct audit_log *audit, enum audit_component component,
    const char *session);

/* The hold timeout of actions held from now on (a policy reload); those
 * already pending keep theirs. */
void approvals_set_timeout(struct approvals *ap, unsigned timeout_ms);

/* Denies (by timeout) whatever is still pending, then frees. */
void approvals_free(struct approvals *ap);

/*
 * Hold an action.  When an identical action was remembered, *res is filled,
 * 1 is returned and cb is never called.  Otherwise the action is queued,
 * its id copied to id_out (at least 24 bytes) and 0 is returned; cb will be
 * called exactly once.  -1 with errno on failure (the caller denies).
 */
int approvals_submit(struct approvals *ap, const struct held_info *info,
    approval_cb cb, void *arg, char *id_out, size_t id_len,
    struct approval_result *res);

/*
 * Resolve a pending action.  decision is DECISION_ALLOW or DECISION_DENY.
 * Returns 0, or -1 with errno ENOENT when no such id is pending (already
 * resolved, timed out, or never existed).
 */
int approvals_resolve(struct approvals *ap, const char *id,
    enum decision decision, enum audit_decider by, const char *reason,
    int remember);

/*
 * Name the caller of a pending action, found after it was submitted (a
 * search that takes too long to make the hold wait for it).  Listings show
 * it from now on; a reviewer already asked keeps what it was shown.
 * Returns 0, or -1 with errno ENOENT when id is no longer pending.
 */
int approvals_set_caller(
    struct approvals *ap, const char *id, const struct caller *caller);

/*
 * Submit and wait (for a blocking worker thread, as in airlock-fs):
 * returns the resolution in *res.  Returns 0, or -1 with errno (*res is
 * then a denial).
 */
int approvals_wait(struct approvals *ap, const struct held_info *info,
    struct approval_result *res);

/*
 * How a recently resolved id was resolved (the last 256 are kept), so that
 * a late approve or deny can say "already approved" or "timed out" rather
 * than only "not pending".  Returns 0, or -1 with errno ENOENT.
 */
int approvals_find_resolved(
    struct approvals *ap, const char *id, struct approval_result *res);

/* The pending actions as a JSON array (id, kind, op, target, rule, reason,
 * pid, uid (null when the caller is unknown), exe, cmdline, intent,
 * trace_id, age_ms, left_ms, detail when set, and review, where its
 * review stands, when a reviewer is set: "asking NAME", "NAME escalated
 * to a person: ...", "NAME review failed, ...").  Caller frees. */
char *approvals_list_json(struct approvals *ap);

#endif
