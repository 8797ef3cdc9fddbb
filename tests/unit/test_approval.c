/*
 * test_approval: the held-action table resolves every entry exactly once,
 * whoever gets there first (invariant 3).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "approval.h"
#include "util.h"

/* What the callbacks saw, for one test. */
struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n_calls;
	char id[24];
	struct approval_result res;
};

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
}

static void
seen_destroy(struct seen *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

static void
seen_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->n_calls++;
	str_copy(s->id, id, sizeof(s->id));
	s->res = *res;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait (at most ms) until the callback has run at least once. */
static int
seen_wait(struct seen *s, unsigned ms)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->n_calls == 0)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0)
			break;
	n = s->n_calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static const struct held_info hook_write = {
	.kind = "fs",
	.op = "write",
	.target = ".git/hooks/pre-commit",
	.rule = "airlock.yaml:3",
	.reason = "these run code outside the room",
};

static void
test_resolve_once(void **state)
{
	struct approvals *ap = approvals_new("f", 60000);
	struct approval_result res, found;
	struct seen s;
	char id[24];

	seen_init(&s);
	assert_non_null(ap);
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s, id,
	                     sizeof(id), &res),
	    0);
	assert_string_equal(id, "f1");
	assert_int_equal(approvals_resolve(ap, id, DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, "looks fine", 0),
	    0);
	assert_int_equal(s.n_calls, 1);
	assert_string_equal(s.id, "f1");
	assert_int_equal(s.res.decision, DECISION_ALLOW);
	assert_int_equal(s.res.outcome, AUDIT_OUTCOME_APPROVED);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_HUMAN);
	assert_string_equal(s.res.reason, "looks fine");

	errno = 0;
	assert_int_equal(approvals_resolve(ap, id, DECISION_DENY,
	                     AUDIT_DECIDER_HUMAN, NULL, 0),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(s.n_calls, 1);
	assert_int_equal(approvals_find_resolved(ap, "f1", &found), 0);
	assert_int_equal(found.outcome, AUDIT_OUTCOME_APPROVED);
	assert_int_equal(approvals_find_resolved(ap, "f99", &found), -1);

	/* Ids keep counting, and a HOLD is no resolution. */
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s, id,
	                     sizeof(id), &res),
	    0);
	assert_string_equal(id, "f2");
	errno = 0;
	assert_int_equal(approvals_resolve(ap, id, DECISION_HOLD,
	                     AUDIT_DECIDER_HUMAN, NULL, 0),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(approvals_resolve(ap, id, DECISION_DENY,
	                     AUDIT_DECIDER_REVIEWER, NULL, 0),
	    0);
	assert_int_equal(s.n_calls, 2);
	assert_int_equal(s.res.outcome, AUDIT_OUTCOME_DENIED);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_REVIEWER);
	approvals_free(ap);
	assert_int_equal(s.n_calls, 2);
	seen_destroy(&s);
}

struct racer {
	struct approvals *ap;
	const char *id;
	enum decision decision;
	pthread_barrier_t *start;
	int rc;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	r->rc = approvals_resolve(
	    r->ap, r->id, r->decision, AUDIT_DECIDER_HUMAN, NULL, 0);
	return NULL;
}

static void
test_race_two_resolvers(void **state)
{
	struct approvals *ap = approvals_new("p", 60000);
	struct approval_result res;
	pthread_barrier_t start;
	pthread_t t1, t2;
	struct racer r1, r2;
	struct seen s;
	char id[24];
	int i;

	assert_non_null(ap);
	for (i = 0; i < 2000; i++) {
		seen_init(&s);
		pthread_barrier_init(&start, NULL, 2);
		assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s,
		                     id, sizeof(id), &res),
		    0);
		r1 = (struct racer){ ap, id, DECISION_ALLOW, &start, 99 };
		r2 = (struct racer){ ap, id, DECISION_DENY, &start, 99 };
		pthread_create(&t1, NULL, racer_main, &r1);
		pthread_create(&t2, NULL, racer_main, &r2);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		assert_int_equal(s.n_calls, 1);
		/* One won, the other saw ENOENT, and the winner decided. */
		assert_int_equal(r1.rc + r2.rc, -1);
		assert_int_equal(s.res.decision,
		    r1.rc == 0 ? DECISION_ALLOW : DECISION_DENY);
		pthread_barrier_destroy(&start);
		seen_destroy(&s);
	}
	approvals_free(ap);
}

static void
test_race_resolve_timeout(void **state)
{
	struct approvals *ap = approvals_new("f", 1);
	struct approval_result res;
	struct timespec pause;
	struct seen s;
	char id[24];
	int i, rc, n_timeouts = 0, n_human = 0;

	assert_non_null(ap);
	for (i = 0; i < 1000; i++) {
		seen_init(&s);
		assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s,
		                     id, sizeof(id), &res),
		    0);
		/* Land around the 1 ms deadline: sometimes before, sometimes
		 * after. */
		pause.tv_sec = 0;
		pause.tv_nsec = (i % 20) * 100000L;
		nanosleep(&pause, NULL);
		rc = approvals_resolve(
		    ap, id, DECISION_ALLOW, AUDIT_DECIDER_HUMAN, NULL, 0);
		assert_int_equal(seen_wait(&s, 5000), 1);
		/* Give a second, wrong, callback the chance to show up. */
		if (i % 100 == 0)
			usleep(3000);
		assert_int_equal(s.n_calls, 1);
		if (rc == 0) {
			assert_int_equal(s.res.outcome, AUDIT_OUTCOME_APPROVED);
			n_human++;
		} else {
			assert_int_equal(errno, ENOENT);
			assert_int_equal(s.res.outcome, AUDIT_OUTCOME_TIMEOUT);
			assert_int_equal(
			    s.res.decided_by, AUDIT_DECIDER_TIMEOUT);
			n_timeouts++;
		}
		seen_destroy(&s);
	}
	/* Both sides must have won sometimes, or the race was not run. */
	assert_true(n_timeouts > 0);
	assert_true(n_human > 0);
	approvals_free(ap);
}

static void
test_timeout_denies(void **state)
{
	struct approvals *ap = approvals_new("f", 50);
	struct approval_result res;
	unsigned long long t0;
	struct seen s1, s2;
	char id1[24], id2[24];

	seen_init(&s1);
	seen_init(&s2);
	assert_non_null(ap);
	t0 = time_mono_ms();
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s1, id1,
	                     sizeof(id1), &res),
	    0);
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s2, id2,
	                     sizeof(id2), &res),
	    0);
	assert_int_equal(seen_wait(&s1, 5000), 1);
	assert_int_equal(seen_wait(&s2, 5000), 1);
	assert_true(time_mono_ms() - t0 >= 50);
	assert_int_equal(s1.res.decision, DECISION_DENY);
	assert_int_equal(s1.res.outcome, AUDIT_OUTCOME_TIMEOUT);
	assert_int_equal(s1.res.decided_by, AUDIT_DECIDER_TIMEOUT);
	assert_int_equal(s2.res.decided_by, AUDIT_DECIDER_TIMEOUT);
	assert_int_equal(approvals_resolve(ap, id1, DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, NULL, 0),
	    -1);
	assert_int_equal(approvals_find_resolved(ap, id1, &res), 0);
	assert_int_equal(res.outcome, AUDIT_OUTCOME_TIMEOUT);
	approvals_free(ap);
	assert_int_equal(s1.n_calls, 1);
	assert_int_equal(s2.n_calls, 1);
	seen_destroy(&s1);
	seen_destroy(&s2);
}

static void
test_remember(void **state)
{
	struct approvals *ap = approvals_new("f", 60000);
	struct approval_result res;
	struct held_info other = hook_write;
	struct seen s1, s2, s3;
	char id1[24], id2[24], id3[24];

	seen_init(&s1);
	seen_init(&s2);
	seen_init(&s3);
	other.target = ".git/config";
	assert_non_null(ap);
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s1, id1,
	                     sizeof(id1), &res),
	    0);
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s2, id2,
	                     sizeof(id2), &res),
	    0);
	assert_int_equal(
	    approvals_submit(ap, &other, seen_cb, &s3, id3, sizeof(id3), &res),
	    0);
	assert_int_equal(approvals_resolve(ap, id1, DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, NULL, 1),
	    0);
	/* The identical action already waiting goes with it; the other
	 * target does not. */
	assert_int_equal(s1.n_calls, 1);
	assert_int_equal(s2.n_calls, 1);
	assert_int_equal(s2.res.decision, DECISION_ALLOW);
	assert_string_equal(s2.res.reason, "remembered");
	assert_int_equal(s3.n_calls, 0);

	memset(&res, 0, sizeof(res));
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s1, id1,
	                     sizeof(id1), &res),
	    1);
	assert_int_equal(res.decision, DECISION_ALLOW);
	assert_int_equal(res.outcome, AUDIT_OUTCOME_APPROVED);
	assert_int_equal(res.decided_by, AUDIT_DECIDER_HUMAN);
	assert_string_equal(res.reason, "remembered");
	assert_int_equal(s1.n_calls, 1);

	/* A remembered denial, and approvals_wait answers it at once. */
	assert_int_equal(approvals_resolve(ap, id3, DECISION_DENY,
	                     AUDIT_DECIDER_HUMAN, NULL, 1),
	    0);
	assert_int_equal(approvals_wait(ap, &other, &res), 0);
	assert_int_equal(res.decision, DECISION_DENY);
	assert_int_equal(res.outcome, AUDIT_OUTCOME_DENIED);
	assert_string_equal(res.reason, "remembered");

	/* Another op on the same path is not identical. */
	other.op = "delete";
	assert_int_equal(
	    approvals_submit(ap, &other, seen_cb, &s3, id3, sizeof(id3), &res),
	    0);
	approvals_free(ap);
	assert_int_equal(s3.n_calls, 2);
	assert_int_equal(s3.res.decision, DECISION_DENY);
	seen_destroy(&s1);
	seen_destroy(&s2);
	seen_destroy(&s3);
}

static void
test_list_json(void **state)
{
	struct approvals *ap = approvals_new("p", 60000);
	struct approval_result res;
	struct caller c;
	struct held_info info = {
		.kind = "net",
		.op = "CONNECT",
		.target = "evil\"host\n:443",
		.rule = "airlock.yaml:defaults.net",
		.reason = "",
		.detail = "CONNECT x:443 HTTP/1.1",
	};
	struct seen s;
	char id[24], *json;

	seen_init(&s);
	assert_non_null(ap);
	json = approvals_list_json(ap);
	assert_string_equal(json, "[]");
	free(json);

	memset(&c, 0, sizeof(c));
	c.pid = 4242;
	c.uid = 1000;
	str_copy(c.exe, "/usr/bin/curl", sizeof(c.exe));
	str_copy(c.cmdline, "curl https://x/", sizeof(c.cmdline));
	str_copy(c.intent, "fetch deps", sizeof(c.intent));
	str_copy(
	    c.trace_id, "0af7651916cd43dd8448eb211c80319c", sizeof(c.trace_id));
	info.caller = &c;
	assert_int_equal(
	    approvals_submit(ap, &info, seen_cb, &s, id, sizeof(id), &res), 0);
	info.caller = NULL;
	info.detail = NULL;
	assert_int_equal(
	    approvals_submit(ap, &info, seen_cb, &s, id, sizeof(id), &res), 0);

	json = approvals_list_json(ap);
	assert_non_null(strstr(json,
	    "[{\"id\":\"p1\",\"kind\":\"net\","
	    "\"op\":\"CONNECT\",\"target\":\"evil\\\"host\\n:443\","
	    "\"rule\":\"airlock.yaml:defaults.net\",\"reason\":\"\","
	    "\"pid\":4242,\"uid\":1000,\"exe\":\"/usr/bin/curl\","
	    "\"cmdline\":\"curl https://x/\",\"intent\":\"fetch deps\","
	    "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"age_ms\":"));
	assert_non_null(strstr(json, "\"left_ms\":"));
	assert_non_null(strstr(json, "\"detail\":\"CONNECT x:443 HTTP/1.1\"}"));
	assert_non_null(strstr(json, ",{\"id\":\"p2\""));
	assert_non_null(strstr(json, "\"pid\":null,\"uid\":null,\"exe\":\"\""));
	/* The second entry has no detail field at all. */
	assert_null(strstr(strstr(json, "\"p2\""), "detail"));
	assert_int_equal(json[strlen(json) - 1], ']');
	free(json);

	/* left_ms counts down from the timeout. */
	approvals_free(ap);
	assert_int_equal(s.n_calls, 2);
	seen_destroy(&s);
}

/* A caller found after the hold began (airlock-proxy's lookup thread) is
 * listed from then on; once the action is resolved there is none to name. */
static void
test_set_caller(void **state)
{
	struct approvals *ap = approvals_new("p", 60000);
	struct approval_result res;
	struct caller c;
	struct seen s;
	char id[24], *json;

	(void)state;
	seen_init(&s);
	assert_non_null(ap);
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s, id,
	                     sizeof(id), &res),
	    0);
	json = approvals_list_json(ap);
	assert_non_null(strstr(json, "\"pid\":null"));
	free(json);
	memset(&c, 0, sizeof(c));
	c.pid = 4242;
	c.uid = 1000;
	str_copy(c.exe, "/usr/bin/curl", sizeof(c.exe));
	assert_int_equal(approvals_set_caller(ap, id, &c), 0);
	json = approvals_list_json(ap);
	assert_non_null(strstr(
	    json, "\"pid\":4242,\"uid\":1000,\"exe\":\"/usr/bin/curl\""));
	free(json);
	assert_int_equal(approvals_resolve(ap, id, DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, "ok", 0),
	    0);
	errno = 0;
	assert_int_equal(approvals_set_caller(ap, id, &c), -1);
	assert_int_equal(errno, ENOENT);
	approvals_free(ap);
	assert_int_equal(s.n_calls, 1);
	seen_destroy(&s);
}

struct waiter {
	struct approvals *ap;
	const struct held_info *info;
	struct approval_result res;
	int rc;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->rc = approvals_wait(w->ap, w->info, &w->res);
	return NULL;
}

/* Poll the list (bounded) until id shows up. */
static int
list_has(struct approvals *ap, const char *id)
{
	char needle[64], *json;
	int i, found = 0;

	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	for (i = 0; i < 500 && !found; i++) {
		json = approvals_list_json(ap);
		found = strstr(json, needle) != NULL;
		free(json);
		if (!found)
			usleep(2000);
	}
	return found;
}

static void
test_wait_across_threads(void **state)
{
	struct approvals *ap = approvals_new("f", 60000);
	struct waiter w = { ap, &hook_write, { 0 }, 99 };
	pthread_t t;

	assert_non_null(ap);
	pthread_create(&t, NULL, waiter_main, &w);
	assert_true(list_has(ap, "f1"));
	assert_int_equal(approvals_resolve(ap, "f1", DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, "ok by me", 0),
	    0);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.res.decision, DECISION_ALLOW);
	assert_int_equal(w.res.outcome, AUDIT_OUTCOME_APPROVED);
	assert_string_equal(w.res.reason, "ok by me");

	/* A waiter left alone is denied by approvals_free. */
	w.rc = 99;
	pthread_create(&t, NULL, waiter_main, &w);
	assert_true(list_has(ap, "f2"));
	approvals_free(ap);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.res.decision, DECISION_DENY);
	assert_int_equal(w.res.decided_by, AUDIT_DECIDER_TIMEOUT);
}

static void
test_wait_timeout(void **state)
{
	struct approvals *ap = approvals_new("f", 30);
	struct approval_result res;

	assert_non_null(ap);
	assert_int_equal(approvals_wait(ap, &hook_write, &res), 0);
	assert_int_equal(res.decision, DECISION_DENY);
	assert_int_equal(res.outcome, AUDIT_OUTCOME_TIMEOUT);
	assert_int_equal(res.decided_by, AUDIT_DECIDER_TIMEOUT);
	approvals_free(ap);
}

static void
test_bad_arguments(void **state)
{
	struct approvals *ap;
	struct approval_result res;
	struct seen s;
	char id[8];

	assert_null(approvals_new("", 10));
	assert_null(approvals_new("toolongprefix", 10));
	ap = approvals_new("f", 10);
	assert_non_null(ap);
	/* An id buffer too short to hold any id is refused up front. */
	assert_int_equal(approvals_submit(ap, &hook_write, seen_cb, &s, id,
	                     sizeof(id), &res),
	    -1);
	assert_int_equal(errno, EINVAL);
	approvals_free(ap);
	approvals_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_once),
		cmocka_unit_test(test_race_two_resolvers),
		cmocka_unit_test(test_race_resolve_timeout),
		cmocka_unit_test(test_timeout_denies),
		cmocka_unit_test(test_remember),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_set_caller),
		cmocka_unit_test(test_wait_across_threads),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
