/*
 * guard: policy decisions, holds and audit records for airlock-fs (see
 * guard.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
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
    const struct policy_verdict *v)
{
	struct held_info info;
	struct approval_result res;
	struct caller c;
	unsigned long long t0 = time_mono_ms();

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
	guard_audit(who, op, path, v, res.outcome, res.decided_by, res.reason,
	    res.decided_by == AUDIT_DECIDER_REVIEWER ? res.reviewer : NULL,
	    (int64_t)(time_mono_ms() - t0));
	return res.decision == DECISION_ALLOW ? 0 : -EACCES;
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

	switch (v.decision) {
	case DECISION_ALLOW:
		if (audit_allow)
			guard_audit(who, op, path, &v, AUDIT_OUTCOME_NONE,
			    hit ? AUDIT_DECIDER_CACHE : AUDIT_DECIDER_POLICY,
			    NULL, NULL, -1);
		return 0;
	case DECISION_HOLD:
		return guard_hold(who, op, path, &v);
	case DECISION_DENY:
	default:
		guard_audit(who, op, path, &v, AUDIT_OUTCOME_NONE,
		    hit ? AUDIT_DECIDER_CACHE : AUDIT_DECIDER_POLICY, NULL,
		    NULL, -1);
		return -EACCES;
	}
}
