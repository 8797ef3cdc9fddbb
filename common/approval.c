/*
 * approval: the table of held actions, their timer, and what was
 * remembered.
 *
 * One mutex (ap->lock) guards everything in struct approvals.  An entry
 * leaves the table under that lock before its callback runs, and only the
 * thread that took it out calls back: that is what makes every resolution
 * happen exactly once, whether a person, a reviewer or the timer gets
 * there first.  Callbacks run with no lock held, so they may call back
 * into approvals_*().
 *
 * The hold timeout is the same for every entry of one struct approvals,
 * so deadlines grow in submission order: the table is a FIFO and its head
 * is always the nearest deadline.  The timer thread sleeps on a condition
 * variable (CLOCK_MONOTONIC) until that deadline or until a submission
 * gives it a new head.
 *
 * With a reviewer (approvals_set_reviewer()), each submission also queues
 * a review job: the request JSON, built from the borrowed held_info while
 * it is still valid.  Up to APPROVALS_REVIEWERS threads, started when
 * jobs wait and none is idle, take jobs in order and ask the reviewer
 * with no lock held; its allow or deny goes through the same resolution
 * as a person's, so whoever unlinks the entry first wins.
 */
#include "config.h"

#include "approval.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "reviewer.h"
#include "util.h"

/* How many resolved ids are kept to explain a late approve/deny. */
#define APPROVALS_RECENT 256
/* Reviews running at once, and how many more may wait for a thread. */
#define APPROVALS_REVIEWERS 4
#define APPROVALS_REVIEW_QUEUE 256

struct held_entry {
	TAILQ_ENTRY(held_entry) link;
	char id[24];
	char *kind, *op, *target, *rule, *reason, *detail;
	char review[400]; /* where its review stands, for listing; or "" */
	struct caller caller;
	int has_caller;
	unsigned long long submitted_ms, deadline_ms;
	approval_cb cb;
	void *arg;
};
TAILQ_HEAD(held_list, held_entry);

struct remembered {
	SLIST_ENTRY(remembered) link;
	char *kind, *op, *target;
	enum decision decision;
};
SLIST_HEAD(remembered_list, remembered);

struct recent {
	char id[24];
	struct approval_result res;
};

/* A held action waiting for the reviewer: what its request and its audit
 * record need, copied. */
struct review_job {
	TAILQ_ENTRY(review_job) link;
	char id[24];
	char *request;
	size_t len;
	char *op, *target, *rule;
	struct caller caller;
	int has_caller;
};
TAILQ_HEAD(review_list, review_job);

struct review_worker {
	struct approvals *ap;
	pthread_t thread;
	unsigned long long deadline_ms; /* atomic: lowered to stop it */
};

struct approvals {
	pthread_mutex_t lock; /* guards every field below */
	pthread_cond_t timer_cond; /* the timer thread's sleep */
	struct held_list pending; /* oldest (nearest deadline) first */
	struct remembered_list remembered;
	struct recent recent[APPROVALS_RECENT]; /* ring of resolutions */
	size_t n_recent, recent_next;
	char prefix[8];
	unsigned timeout_ms;
	unsigned long long next_id;
	int is_stopping;
	pthread_t timer;

	/* The reviewer: set once by approvals_set_reviewer(), or NULL. */
	struct reviewer *reviewer;
	struct audit_log *review_audit;
	enum audit_component review_component;
	char *session;
	struct review_list reviews; /* waiting for a reviewer thread */
	size_t n_reviews;
	pthread_cond_t review_cond; /* a job, or stopping */
	struct review_worker workers[APPROVALS_REVIEWERS];
	int n_workers, n_idle_workers;
};

static void *approvals_review_main(void *arg);
static void review_job_free(struct review_job *job);

static char *
approvals_strdup(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

static void
held_entry_free(struct held_entry *e)
{
	free(e->kind);
	free(e->op);
	free(e->target);
	free(e->rule);
	free(e->reason);
	free(e->detail);
	free(e);
}

static void
approvals_result_set(struct approval_result *res, enum decision decision,
    enum audit_outcome outcome, enum audit_decider by, const char *reason)
{
	memset(res, 0, sizeof(*res));
	res->decision = decision;
	res->outcome = outcome;
	res->decided_by = by;
	str_copy(
	    res->reason, reason != NULL ? reason : "", sizeof(res->reason));
	res->reviewer[0] = '\0';
}

/* Keep the resolution of id for approvals_find_resolved().  Locked. */
static void
approvals_note_recent(
    struct approvals *ap, const char *id, const struct approval_result *res)
{
	struct recent *r = &ap->recent[ap->recent_next];

	str_copy(r->id, id, sizeof(r->id));
	r->res = *res;
	ap->recent_next = (ap->recent_next + 1) % APPROVALS_RECENT;
	if (ap->n_recent < APPROVALS_RECENT)
		ap->n_recent++;
}

static int
approvals_same_action(const char *kind, const char *op, const char *target,
    const char *kind2, const char *op2, const char *target2)
{
	return strcmp(kind, kind2) == 0 && strcmp(op, op2) == 0 &&
	    strcmp(target, target2) == 0;
}

/* The remembered decision for (kind, op, target), or NULL.  Locked. */
static struct remembered *
approvals_find_remembered(
    struct approvals *ap, const char *kind, const char *op, const char *target)
{
	struct remembered *r;

	for (r = SLIST_FIRST(&ap->remembered); r != NULL;
	     r = SLIST_NEXT(r, link)) {
		if (approvals_same_action(
		        r->kind, r->op, r->target, kind, op, target))
			return r;
	}
	return NULL;
}

/* Remember (or overwrite) a decision.  Locked. */
static void
approvals_add_remembered(
    struct approvals *ap, const struct held_entry *e, enum decision decision)
{
	struct remembered *r;

	r = approvals_find_remembered(ap, e->kind, e->op, e->target);
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->kind = xstrdup(e->kind);
		r->op = xstrdup(e->op);
		r->target = xstrdup(e->target);
		SLIST_INSERT_HEAD(&ap->remembered, r, link);
	}
	r->decision = decision;
}

static void
approvals_deadline_ts(unsigned long long deadline_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline_ms / 1000);
	ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

static unsigned long long
approvals_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL +
	    (unsigned long long)ts.tv_nsec / 1000000ULL;
}

/*
 * The timer thread: deny, as TIMEOUT, each entry whose deadline passed.
 * It owns no entry until it unlinks one under the lock, so a person who
 * resolves the same id a microsecond earlier wins and the timer simply
 * finds nothing to do.
 */
static void *
approvals_timer_main(void *arg)
{
	struct approvals *ap = arg;
	struct held_entry *e;
	struct approval_result res;
	struct timespec ts;
	char reason[sizeof(res.reason)];

	pthread_mutex_lock(&ap->lock);
	while (!ap->is_stopping) {
		e = TAILQ_FIRST(&ap->pending);
		if (e == NULL) {
			pthread_cond_wait(&ap->timer_cond, &ap->lock);
			continue;
		}
		if (e->deadline_ms > approvals_now_ms()) {
			approvals_deadline_ts(e->deadline_ms, &ts);
			pthread_cond_timedwait(&ap->timer_cond, &ap->lock, &ts);
			continue;
		}
		TAILQ_REMOVE(&ap->pending, e, link);
		snprintf(reason, sizeof(reason),
		    "hold timeout (%llu ms) passed with no decision",
		    e->deadline_ms - e->submitted_ms);
		approvals_result_set(&res, DECISION_DENY, AUDIT_OUTCOME_TIMEOUT,
		    AUDIT_DECIDER_TIMEOUT, reason);
		approvals_note_recent(ap, e->id, &res);
		pthread_mutex_unlock(&ap->lock);

		e->cb(e->id, &res, e->arg);
		held_entry_free(e);

		pthread_mutex_lock(&ap->lock);
	}
	pthread_mutex_unlock(&ap->lock);
	return NULL;
}

void
approvals_set_timeout(struct approvals *ap, unsigned timeout_ms)
{
	pthread_mutex_lock(&ap->lock);
	ap->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&ap->lock);
}

struct approvals *
approvals_new(const char *prefix, unsigned timeout_ms)
{
	struct approvals *ap;
	pthread_condattr_t ca;
	int error;

	if (prefix == NULL || strlen(prefix) == 0 ||
	    strlen(prefix) >= sizeof(ap->prefix)) {
		errno = EINVAL;
		return NULL;
	}
	ap = xcalloc(1, sizeof(*ap));
	str_copy(ap->prefix, prefix, sizeof(ap->prefix));
	ap->timeout_ms = timeout_ms;
	ap->next_id = 1;
	TAILQ_INIT(&ap->pending);
	SLIST_INIT(&ap->remembered);
	TAILQ_INIT(&ap->reviews);
	pthread_cond_init(&ap->review_cond, NULL);
	pthread_mutex_init(&ap->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ap->timer_cond, &ca);
	pthread_condattr_destroy(&ca);

	if ((error = pthread_create(
	         &ap->timer, NULL, approvals_timer_main, ap)) != 0) {
		pthread_cond_destroy(&ap->timer_cond);
		pthread_cond_destroy(&ap->review_cond);
		pthread_mutex_destroy(&ap->lock);
		free(ap);
		errno = error;
		return NULL;
	}
	return ap;
}

void
approvals_free(struct approvals *ap)
{
	struct held_list left;
	struct held_entry *e;
	struct remembered *r;
	struct approval_result res;
	struct review_job *job;
	int i;

	if (ap == NULL)
		return;

	pthread_mutex_lock(&ap->lock);
	ap->is_stopping = 1;
	pthread_cond_signal(&ap->timer_cond);
	pthread_cond_broadcast(&ap->review_cond);
	for (i = 0; i < ap->n_workers; i++)
		__atomic_store_n(
		    &ap->workers[i].deadline_ms, 0ULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ap->lock);
	/* no thread is started once is_stopping is set */
	for (i = 0; i < ap->n_workers; i++)
		pthread_join(ap->workers[i].thread, NULL);
	pthread_join(ap->timer, NULL);
	while ((job = TAILQ_FIRST(&ap->reviews)) != NULL) {
		TAILQ_REMOVE(&ap->reviews, job, link);
		review_job_free(job);
	}
	reviewer_free(ap->reviewer);
	free(ap->session);

	/* Nothing else may use ap now; still, take the entries out under the
	 * lock so that the exactly-once rule reads the same everywhere. */
	TAILQ_INIT(&left);
	pthread_mutex_lock(&ap->lock);
	TAILQ_CONCAT(&left, &ap->pending, link);
	pthread_mutex_unlock(&ap->lock);

	approvals_result_set(&res, DECISION_DENY, AUDIT_OUTCOME_TIMEOUT,
	    AUDIT_DECIDER_TIMEOUT, "airlock stopped before a decision");
	while ((e = TAILQ_FIRST(&left)) != NULL) {
		TAILQ_REMOVE(&left, e, link);
		e->cb(e->id, &res, e->arg);
		held_entry_free(e);
	}

	while ((r = SLIST_FIRST(&ap->remembered)) != NULL) {
		SLIST_REMOVE_HEAD(&ap->remembered, link);
		free(r->kind);
		free(r->op);
		free(r->target);
		free(r);
	}
	pthread_cond_destroy(&ap->timer_cond);
	pthread_cond_destroy(&ap->review_cond);
	pthread_mutex_destroy(&ap->lock);
	free(ap);
}

static void
review_job_free(struct review_job *job)
{
	free(job->request);
	free(job->op);
	free(job->target);
	free(job->rule);
	free(job);
}

/* A job for entry e, whose held_info is still info.  Locked. */
static struct review_job *
review_job_new(struct approvals *ap, const struct held_entry *e,
    const struct held_info *info)
{
	struct review_job *job = xcalloc(1, sizeof(*job));

	str_copy(job->id, e->id, sizeof(job->id));
	job->request = reviewer_request_json(info, e->id, ap->session);
	job->len = strlen(job->request);
	job->op = xstrdup(e->op);
	job->target = xstrdup(e->target);
	job->rule = xstrdup(e->rule);
	job->caller = e->caller;
	job->has_caller = e->has_caller;
	return job;
}

/*
 * Queue job and make sure a thread will take it: an idle one, or a new
 * one while there are fewer than APPROVALS_REVIEWERS.  Locked.  Returns 0,
 * or -1 when the queue is full (the caller keeps the job).
 */
static int
approvals_review_queue(struct approvals *ap, struct review_job *job)
{
	struct review_worker *w;
	sigset_t all, old;

	if (ap->n_reviews >= APPROVALS_REVIEW_QUEUE)
		return -1;
	TAILQ_INSERT_TAIL(&ap->reviews, job, link);
	ap->n_reviews++;
	if (ap->n_idle_workers > 0) {
		pthread_cond_signal(&ap->review_cond);
		return 0;
	}
	if (ap->n_workers == APPROVALS_REVIEWERS)
		return 0; /* a busy worker takes it next */
	w = &ap->workers[ap->n_workers];
	w->ap = ap;
	w->deadline_ms = ~0ULL;
	/* Signals belong to the daemon's own threads, never to these. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&w->thread, NULL, approvals_review_main, w) == 0)
		ap->n_workers++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* With no thread at all, the job waits for a person like any other
	 * held action (its hold timeout still runs). */
	return 0;
}

/* The audit record of a review that left the action with a person:
 * decision hold, decided_by reviewer, and why. */
static void
approvals_review_audit(struct approvals *ap, const struct review_job *job,
    const char *reason, int64_t duration_ms)
{
	struct audit_event ev;

	if (ap->review_audit == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.component = ap->review_component;
	ev.op = job->op;
	ev.target = job->target;
	ev.decision = DECISION_HOLD;
	ev.outcome = AUDIT_OUTCOME_NONE;
	ev.decided_by = AUDIT_DECIDER_REVIEWER;
	ev.rule = job->rule;
	ev.reason = reason;
	ev.reviewer = reviewer_name(ap->reviewer);
	ev.caller = job->has_caller ? &job->caller : NULL;
	ev.duration_ms = duration_ms;
	(void)audit_log_event(ap->review_audit, &ev);
}

int
approvals_submit(struct approvals *ap, const struct held_info *info,
    approval_cb cb, void *arg, char *id_out, size_t id_len,
    struct approval_result *res)
{
	struct held_entry *e, *prev;
	struct remembered *r;
	const char *kind, *op, *target;
	struct review_job *job = NULL;
	int rc = -1;

	if (ap == NULL || info == NULL || cb == NULL || id_out == NULL ||
	    id_len < sizeof(e->id) || res == NULL) {
		errno = EINVAL;
		return -1;
	}
	kind = info->kind != NULL ? info->kind : "";
	op = info->op != NULL ? info->op : "";
	target = info->target != NULL ? info->target : "";

	pthread_mutex_lock(&ap->lock);
	if (ap->is_stopping) {
		errno = ESHUTDOWN;
		goto out;
	}
	if ((r = approvals_find_remembered(ap, kind, op, target)) != NULL) {
		approvals_result_set(res, r->decision,
		    r->decision == DECISION_ALLOW ? AUDIT_OUTCOME_APPROVED
		                                  : AUDIT_OUTCOME_DENIED,
		    AUDIT_DECIDER_HUMAN, "remembered");
		id_out[0] = '\0';
		rc = 1;
		goto out;
	}

	e = xcalloc(1, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s%llu", ap->prefix, ap->next_id++);
	e->kind = xstrdup(kind);
	e->op = xstrdup(op);
	e->target = xstrdup(target);
	e->rule = approvals_strdup(info->rule);
	e->reason = approvals_strdup(info->reason);
	e->detail = info->detail != NULL ? xstrdup(info->detail) : NULL;
	if (info->caller != NULL) {
		e->caller = *info->caller;
		e->has_caller = 1;
	}
	e->cb = cb;
	e->arg = arg;
	e->submitted_ms = approvals_now_ms();
	e->deadline_ms = e->submitted_ms + ap->timeout_ms;

	/* Nearest deadline first: after approvals_set_timeout() shortened
	 * the timeout, a new action may be due before older ones.  A new
	 * head is the only case where the timer's sleep is wrong. */
	prev = TAILQ_LAST(&ap->pending, held_list);
	while (prev != NULL && prev->deadline_ms > e->deadline_ms)
		prev = TAILQ_PREV(prev, held_list, link);
	if (prev == NULL) {
		TAILQ_INSERT_HEAD(&ap->pending, e, link);
		pthread_cond_signal(&ap->timer_cond);
	} else {
		TAILQ_INSERT_AFTER(&ap->pending, prev, e, link);
	}
	str_copy(id_out, e->id, id_len);
	if (ap->reviewer != NULL) {
		job = review_job_new(ap, e, info);
		snprintf(e->review, sizeof(e->review), "asking %s",
		    reviewer_name(ap->reviewer));
		if (approvals_review_queue(ap, job) == 0)
			job = NULL; /* the queue owns it now */
		else
			str_copy(e->review, "not reviewed: the queue is full",
			    sizeof(e->review));
	}
	rc = 0;
out:
	pthread_mutex_unlock(&ap->lock);
	if (job != NULL) {
		approvals_review_audit(ap, job,
		    "not reviewed (the review queue is full), left to a "
		    "person",
		    -1);
		review_job_free(job);
	}
	return rc;
}

/* approvals_resolve(), naming the reviewer that decided (or NULL). */
static int
approvals_resolve_as(struct approvals *ap, const char *id,
    enum decision decision, enum audit_decider by, const char *reason,
    int remember, const char *reviewer)
{
	struct held_list taken;
	struct held_entry *e, *next, *first = NULL;
	struct approval_result res, res_same;
	const char *why;

	if (ap == NULL || id == NULL ||
	    (decision != DECISION_ALLOW && decision != DECISION_DENY)) {
		errno = EINVAL;
		return -1;
	}
	why = reason;
	if (why == NULL || why[0] == '\0')
		why = decision == DECISION_ALLOW ? "approved" : "denied";
	approvals_result_set(&res, decision,
	    decision == DECISION_ALLOW ? AUDIT_OUTCOME_APPROVED
	                               : AUDIT_OUTCOME_DENIED,
	    by, why);
	if (reviewer != NULL)
		str_copy(res.reviewer, reviewer, sizeof(res.reviewer));
	res_same = res;
	str_copy(res_same.reason, "remembered", sizeof(res_same.reason));

	TAILQ_INIT(&taken);
	pthread_mutex_lock(&ap->lock);
	for (e = TAILQ_FIRST(&ap->pending); e != NULL;
	     e = TAILQ_NEXT(e, link)) {
		if (strcmp(e->id, id) == 0)
			break;
	}
	if (e == NULL) {
		pthread_mutex_unlock(&ap->lock);
		errno = ENOENT;
		return -1;
	}
	TAILQ_REMOVE(&ap->pending, e, link);
	approvals_note_recent(ap, e->id, &res);
	first = e;
	if (remember) {
		/* What is remembered applies to identical actions already
		 * waiting, not only to the ones still to come. */
		approvals_add_remembered(ap, first, decision);
		for (e = TAILQ_FIRST(&ap->pending); e != NULL; e = next) {
			next = TAILQ_NEXT(e, link);
			if (!approvals_same_action(e->kind, e->op, e->target,
			        first->kind, first->op, first->target))
				continue;
			TAILQ_REMOVE(&ap->pending, e, link);
			approvals_note_recent(ap, e->id, &res_same);
			TAILQ_INSERT_TAIL(&taken, e, link);
		}
	}
	pthread_mutex_unlock(&ap->lock);

	first->cb(first->id, &res, first->arg);
	held_entry_free(first);
	while ((e = TAILQ_FIRST(&taken)) != NULL) {
		TAILQ_REMOVE(&taken, e, link);
		e->cb(e->id, &res_same, e->arg);
		held_entry_free(e);
	}
	return 0;
}

int
approvals_resolve(struct approvals *ap, const char *id, enum decision decision,
    enum audit_decider by, const char *reason, int remember)
{
	return approvals_resolve_as(
	    ap, id, decision, by, reason, remember, NULL);
}

/* The pending entry id, or NULL.  Locked. */
static struct held_entry *
approvals_find_pending(struct approvals *ap, const char *id)
{
	struct held_entry *e;

	for (e = TAILQ_FIRST(&ap->pending); e != NULL;
	     e = TAILQ_NEXT(e, link)) {
		if (strcmp(e->id, id) == 0)
			return e;
	}
	return NULL;
}

int
approvals_set_caller(
    struct approvals *ap, const char *id, const struct caller *caller)
{
	struct held_entry *e;
	int ret = -1;

	pthread_mutex_lock(&ap->lock);
	e = approvals_find_pending(ap, id);
	if (e == NULL) {
		errno = ENOENT;
		goto out;
	}
	e->caller = *caller;
	e->has_caller = 1;
	ret = 0;
out:
	pthread_mutex_unlock(&ap->lock);
	return ret;
}

/* Act on the reviewer's answer about job.  No lock held. */
static void
approvals_review_done(struct approvals *ap, const struct review_job *job,
    const struct review_answer *ans, int64_t duration_ms)
{
	char why[sizeof(ans->reason) + 64];
	struct held_entry *e;

	if (ans->verdict == REVIEW_ALLOW || ans->verdict == REVIEW_DENY) {
		/* ENOENT: a person or the timeout got there first */
		(void)approvals_resolve_as(ap, job->id,
		    ans->verdict == REVIEW_ALLOW ? DECISION_ALLOW
		                                 : DECISION_DENY,
		    AUDIT_DECIDER_REVIEWER,
		    ans->reason[0] != '\0' ? ans->reason
		        : ans->verdict == REVIEW_ALLOW
		        ? "the reviewer allowed it"
		        : "the reviewer denied it",
		    0, reviewer_name(ap->reviewer));
		return;
	}
	if (ans->verdict == REVIEW_ESCALATE)
		snprintf(why, sizeof(why), "escalated to a person: %s",
		    ans->reason[0] != '\0' ? ans->reason : "no reason given");
	else
		snprintf(why, sizeof(why),
		    "review failed, left to a person: %s", ans->reason);
	pthread_mutex_lock(&ap->lock);
	e = ap->is_stopping ? NULL : approvals_find_pending(ap, job->id);
	if (e != NULL)
		snprintf(e->review, sizeof(e->review), "%s %s",
		    reviewer_name(ap->reviewer), why);
	pthread_mutex_unlock(&ap->lock);
	if (e == NULL)
		return;
	approvals_review_audit(ap, job, why, duration_ms);
}

/*
 * A reviewer thread: take the next job whose action is still pending, ask
 * with no lock held, act on the answer.  approvals_free() stops it by
 * setting is_stopping and lowering its deadline (a review in progress then
 * fails at once).
 */
static void *
approvals_review_main(void *arg)
{
	struct review_worker *w = arg;
	struct approvals *ap = w->ap;
	struct review_job *job;
	struct review_answer ans;
	unsigned long long t0;

	pthread_mutex_lock(&ap->lock);
	for (;;) {
		while (!ap->is_stopping && TAILQ_EMPTY(&ap->reviews)) {
			ap->n_idle_workers++;
			pthread_cond_wait(&ap->review_cond, &ap->lock);
			ap->n_idle_workers--;
		}
		if (ap->is_stopping)
			break;
		job = TAILQ_FIRST(&ap->reviews);
		TAILQ_REMOVE(&ap->reviews, job, link);
		ap->n_reviews--;
		if (approvals_find_pending(ap, job->id) == NULL) {
			review_job_free(job); /* decided while it waited */
			continue;
		}
		__atomic_store_n(&w->deadline_ms, ~0ULL, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&ap->lock);

		t0 = approvals_now_ms();
		reviewer_ask_slot(ap->reviewer, (int)(w - ap->workers),
		    job->request, job->len, &w->deadline_ms, &ans);
		approvals_review_done(
		    ap, job, &ans, (int64_t)(approvals_now_ms() - t0));
		review_job_free(job);

		pthread_mutex_lock(&ap->lock);
	}
	pthread_mutex_unlock(&ap->lock);
	return NULL;
}

int
approvals_set_reviewer(struct approvals *ap, const struct policy *pol,
    struct audit_log *audit, enum audit_component component,
    const char *session)
{
	struct reviewer *rv;
	int rc = -1;

	if (ap == NULL || pol == NULL) {
		errno = EINVAL;
		return -1;
	}
	rv = reviewer_new(policy_settings(pol));
	if (rv == NULL)
		return errno == ENOENT ? 0 : -1;
	/* before the daemon locks itself down: see reviewer.h */
	if (reviewer_start_broker(rv, APPROVALS_REVIEWERS) != 0) {
		fprintf(stderr, "airlock: cannot start the reviewer: %s\n",
		    strerror(errno));
		reviewer_free(rv);
		return -1;
	}
	pthread_mutex_lock(&ap->lock);
	if (ap->reviewer != NULL) {
		errno = EBUSY;
		goto out;
	}
	ap->reviewer = rv;
	rv = NULL;
	ap->review_audit = audit;
	ap->review_component = component;
	ap->session = session != NULL ? xstrdup(session) : NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&ap->lock);
	reviewer_free(rv);
	return rc;
}

int
approvals_find_resolved(
    struct approvals *ap, const char *id, struct approval_result *res)
{
	size_t i, at;
	int rc = -1;

	if (ap == NULL || id == NULL || res == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ap->lock);
	/* Newest first: an id is never reused, but be exact anyway. */
	for (i = 0; i < ap->n_recent; i++) {
		at = (ap->recent_next + APPROVALS_RECENT - 1 - i) %
		    APPROVALS_RECENT;
		if (strcmp(ap->recent[at].id, id) == 0) {
			*res = ap->recent[at].res;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&ap->lock);
	if (rc != 0)
		errno = ENOENT;
	return rc;
}

/* A waiter of approvals_wait(): the callback hands the result over. */
struct approval_waiter {
	pthread_mutex_t lock; /* guards is_done and res */
	pthread_cond_t cond;
	int is_done;
	struct approval_result res;
};

static void
approvals_wait_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct approval_waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->res = *res;
	w->is_done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int
approvals_wait(struct approvals *ap, const struct held_info *info,
    struct approval_result *res)
{
	struct approval_waiter w;
	char id[24];
	int rc, saved;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);

	rc = approvals_submit(
	    ap, info, approvals_wait_cb, &w, id, sizeof(id), res);
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		saved = errno;
		approvals_result_set(res, DECISION_DENY, AUDIT_OUTCOME_DENIED,
		    AUDIT_DECIDER_POLICY, "could not hold the action");
		errno = saved;
		goto out;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.is_done)
		pthread_cond_wait(&w.cond, &w.lock);
	*res = w.res;
	pthread_mutex_unlock(&w.lock);
out:
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

static void
approvals_add_field(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, ",\"%s\":", name);
	buf_add_json_string(b, value);
}

char *
approvals_list_json(struct approvals *ap)
{
	struct buf b;
	struct held_entry *e;
	unsigned long long now;
	int is_first = 1;

	buf_init(&b);
	buf_adds(&b, "[");
	pthread_mutex_lock(&ap->lock);
	now = approvals_now_ms();
	for (e = TAILQ_FIRST(&ap->pending); e != NULL;
	     e = TAILQ_NEXT(e, link)) {
		buf_adds(&b, is_first ? "{\"id\":" : ",{\"id\":");
		is_first = 0;
		buf_add_json_string(&b, e->id);
		approvals_add_field(&b, "kind", e->kind);
		approvals_add_field(&b, "op", e->op);
		approvals_add_field(&b, "target", e->target);
		approvals_add_field(&b, "rule", e->rule);
		approvals_add_field(&b, "reason", e->reason);
		if (e->has_caller)
			buf_addf(&b, ",\"pid\":%ld,\"uid\":%lu",
			    (long)e->caller.pid, (unsigned long)e->caller.uid);
		else
			buf_adds(&b, ",\"pid\":null,\"uid\":null");
		approvals_add_field(
		    &b, "exe", e->has_caller ? e->caller.exe : "");
		approvals_add_field(
		    &b, "cmdline", e->has_caller ? e->caller.cmdline : "");
		approvals_add_field(
		    &b, "intent", e->has_caller ? e->caller.intent : "");
		approvals_add_field(
		    &b, "trace_id", e->has_caller ? e->caller.trace_id : "");
		buf_addf(&b, ",\"age_ms\":%llu,\"left_ms\":%llu",
		    now - e->submitted_ms,
		    e->deadline_ms > now ? e->deadline_ms - now : 0ULL);
		if (e->detail != NULL)
			approvals_add_field(&b, "detail", e->detail);
		if (e->review[0] != '\0')
			approvals_add_field(&b, "review", e->review);
		buf_adds(&b, "}");
	}
	pthread_mutex_unlock(&ap->lock);
	buf_adds(&b, "]");
	return buf_release(&b);
}
