/*
 * guard: policy decisions, holds and audit records for airlock-fs (see
 * guard.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "audit.h"
#include "caller.h"
#include "fsd.h"
#include "guard.h"
#include "hold_detail.h"
#include "util.h"

/* Each worker thread has its own decision cache (policy_cache has no lock),
 * freed when libfuse retires the thread. */
static pthread_key_t guard_cache_key;

/* Callers, by pid, read from /proc at most once per GUARD_CALLER_TTL_MS.
 * guard_callers_lock guards the slots. */
#define GUARD_N_CALLERS 64
#define GUARD_CALLER_TTL_MS 2000
struct guard_caller_slot {
	struct caller c;
	unsigned long long read_ms;
	int is_valid;
};
static struct guard_caller_slot guard_callers[GUARD_N_CALLERS];
static pthread_mutex_t guard_callers_lock = PTHREAD_MUTEX_INITIALIZER;

static void
guard_cache_free(void *p)
{
	policy_cache_free(p);
}

int
guard_init(void)
{
	return pthread_key_create(&guard_cache_key, guard_cache_free) == 0 ? 0
	                                                                   : -1;
}

static void
guard_caller(const struct guard_who *who, struct caller *out)
{
	struct guard_caller_slot *s;
	unsigned long long now = time_mono_ms();

	s = &guard_callers[(unsigned)who->pid % GUARD_N_CALLERS];
	pthread_mutex_lock(&guard_callers_lock);
	if (s->is_valid && s->c.pid == who->pid && s->c.uid == who->uid &&
	    now - s->read_ms < GUARD_CALLER_TTL_MS) {
		*out = s->c;
		goto out;
	}
	pthread_mutex_unlock(&guard_callers_lock);

	/* /proc reads happen outside the lock */
	memset(out, 0, sizeof *out);
	if (caller_read(who->pid, who->uid, who->gid, out) != 0) {
		out->pid = who->pid;
		out->uid = who->uid;
		out->gid = who->gid;
	}
	pthread_mutex_lock(&guard_callers_lock);
	s->c = *out;
	s->read_ms = now;
	s->is_valid = 1;
out:
	pthread_mutex_unlock(&guard_callers_lock);
}

static void
guard_audit(const struct guard_who *who, enum fs_op op, const char *path,
    const struct policy_verdict *v, enum audit_outcome outcome,
    enum audit_decider by, const char *reason, const char *reviewer,
    int64_t duration_ms)
{
	struct audit_event ev;
	struct caller c;

	if (fsd.audit == NULL)
		return;
	guard_caller(who, &c);
	memset(&ev, 0, sizeof ev);
	ev.component = AUDIT_COMPONENT_FS;
	ev.op = policy_fs_op_name(op);
	ev.target = path;
	ev.decision = v->decision;
	ev.outcome = outcome;
	ev.decided_by = by;
	ev.rule = v->rule;
	ev.reason = reason != NULL && *reason != '\0' ? reason : v->reason;
	ev.reviewer = reviewer;
	ev.caller = &c;
	ev.duration_ms = duration_ms;
	(void)audit_log_event(fsd.audit, &ev);
}

static int
guard_hold(const struct guard_who *who, enum fs_op op, const char *path,
    const struct policy_verdict *v, int is_detour)
{
	struct held_info info;
	struct approval_result res;
	struct caller c;
	unsigned long long t0 = time_mono_ms();
	const char *reason;
	char *both = NULL;

	guard_caller(who, &c);
	memset(&info, 0, sizeof info);
	info.kind = "fs";
	info.op = policy_fs_op_name(op);
	info.target = path;
	info.rule = v->rule;
	info.reason = v->reason;
	info.caller = &c;
	info.detail = hold_detail_fs(op, path);
	memset(&res, 0, sizeof res);
	if (fsd.ap == NULL || approvals_wait(fsd.ap, &info, &res) != 0) {
		/* fail closed */
		res.decision = DECISION_DENY;
		if (res.outcome == AUDIT_OUTCOME_NONE)
			res.outcome = AUDIT_OUTCOME_DENIED;
	}
	free((char *)info.detail);
	/* The answer's reason replaces the rule's, but the record must
	 * still say which governed name a detour was held for. */
	reason = res.reason;
	if (is_detour && reason != NULL && *reason != '\0' &&
	    asprintf(&both, "%s; %s", v->reason, reason) >= 0)
		reason = both;
	else
		both = NULL;
	guard_audit(who, op, path, v, res.outcome, res.decided_by, reason,
	    res.decided_by == AUDIT_DECIDER_REVIEWER ? res.reviewer : NULL,
	    (int64_t)(time_mono_ms() - t0));
	free(both);
	return res.decision == DECISION_ALLOW ? 0 : -EACCES;
}

/* Enforce verdict v (from the cache when hit) for op on path; is_detour:
 * v's reason names the governed name that decided. */
static int
guard_enforce(const struct guard_who *who, enum fs_op op, const char *path,
    const struct policy_verdict *v, int hit, int audit_allow, int is_detour)
{
	switch (v->decision) {
	case DECISION_ALLOW:
		if (audit_allow)
			guard_audit(who, op, path, v, AUDIT_OUTCOME_NONE,
			    hit ? AUDIT_DECIDER_CACHE : AUDIT_DECIDER_POLICY,
			    NULL, NULL, -1);
		return 0;
	case DECISION_HOLD:
		return guard_hold(who, op, path, v, is_detour);
	case DECISION_DENY:
	default:
		guard_audit(who, op, path, v, AUDIT_OUTCOME_NONE,
		    hit ? AUDIT_DECIDER_CACHE : AUDIT_DECIDER_POLICY, NULL,
		    NULL, -1);
		return -EACCES;
	}
}

int
guard_check(const struct guard_who *who, enum fs_op op, const char *path,
    int audit_allow)
{
	struct policy_cache *cache;
	struct policy_verdict v;
	int hit = 0;

	cache = pthread_getspecific(guard_cache_key);
	if (cache == NULL) {
		cache = policy_cache_new(10);
		if (cache != NULL)
			(void)pthread_setspecific(guard_cache_key, cache);
	}
	if (cache != NULL)
		policy_eval_fs_cached(
		    fsd.pol, cache, op, path, strlen(path), &v, &hit);
	else
		policy_eval_fs(fsd.pol, op, path, strlen(path), &v);
	return guard_enforce(who, op, path, &v, hit, audit_allow, 0);
}

void
guard_ask_init(struct guard_ask *a)
{
	/* governed (PATH_MAX bytes) is written only when it is needed */
	a->has_answer = 0;
	a->is_below = 0;
	a->governed[0] = '\0';
	a->v.decision = DECISION_ALLOW;
}

/* Keep v when it is stricter than the answer so far; the name that gave
 * it is copied only then (a walk asks thousands of allowed names). */
static void
guard_ask_keep(struct guard_ask *a, const struct policy_verdict *v,
    const char *name, int is_below)
{
	if (a->has_answer && v->decision <= a->v.decision)
		return;
	a->v = *v;
	a->has_answer = 1;
	a->is_below = is_below;
	if (v->decision == DECISION_ALLOW || name == NULL)
		a->governed[0] = '\0';
	else
		(void)str_copy(a->governed, name, sizeof(a->governed));
}

void
guard_ask_path(struct guard_ask *a, unsigned ops, const char *path)
{
	struct policy_verdict v;

	policy_eval_fs_ops(fsd.pol, ops, path, strlen(path), &v, NULL);
	guard_ask_keep(a, &v, path, 0);
}

void
guard_ask_below(struct guard_ask *a, unsigned ops, const char *path, int how)
{
	struct policy_verdict v;
	const char *pattern = NULL;

	policy_eval_fs_below(
	    fsd.pol, ops, path, strlen(path), how, &v, &pattern);
	guard_ask_keep(a, &v, pattern, 1);
}

enum decision
guard_ask_decision(const struct guard_ask *a)
{
	return a->has_answer ? a->v.decision : DECISION_ALLOW;
}

static const char *
guard_verb(enum fs_op op)
{
	switch (op) {
	case FS_OP_RENAME:
		return "renaming";
	case FS_OP_DELETE:
		return "deleting";
	case FS_OP_CREATE:
		return "creating";
	case FS_OP_LINK:
		return "linking";
	default:
		return policy_fs_op_name(op);
	}
}

int
guard_decide(const struct guard_who *who, enum fs_op op, const char *target,
    const struct guard_ask *a, int audit_allow)
{
	struct policy_verdict v;
	char *why = NULL;
	int ret;

	if (!a->has_answer) {
		/* nothing asked: a caller's mistake, never a pass */
		memset(&v, 0, sizeof v);
		v.decision = DECISION_DENY;
		v.rule = "builtin:bad-request";
		v.reason = "no question asked";
		v.rule_index = -1;
		return guard_enforce(who, op, target, &v, 0, audit_allow, 0);
	}
	v = a->v;
	/* Say which governed name made a detour held or denied. */
	if (v.decision != DECISION_ALLOW && a->governed[0] != '\0' &&
	    (a->is_below || strcmp(a->governed, target) != 0) &&
	    asprintf(&why, "%s %s changes %s (%s): %s", guard_verb(op), target,
	        a->governed, v.rule, v.reason) >= 0)
		v.reason = why;
	else
		why = NULL;
	ret = guard_enforce(who, op, target, &v, 0, audit_allow, why != NULL);
	free(why);
	return ret;
}
