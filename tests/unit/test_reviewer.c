/*
 * test_reviewer: the strict answer reader, the request a reviewer gets,
 * a command reviewer's failure modes (each must leave the action to a
 * person, never allow it), and the approvals' reviewer hook: a reviewer's
 * allow or deny resolves with decided_by REVIEWER and its name, an
 * escalation stays pending, and a person who answers first wins.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "approval.h"
#include "reviewer.h"
#include "util.h"

static int
parse(const char *text, struct review_answer *a)
{
	return reviewer_parse_answer(text, strlen(text), a);
}

static void
test_parse_good(void **state)
{
	struct review_answer a;

	assert_int_equal(
	    parse("{\"decision\":\"allow\",\"reason\":\"ok\"}", &a), 0);
	assert_int_equal(a.verdict, REVIEW_ALLOW);
	assert_string_equal(a.reason, "ok");
	assert_int_equal(parse(" {\"reason\" : \"r\\u00e9\\n\\\"q\\\"\", "
	                       "\"decision\":\"deny\"}\n\n",
	                     &a),
	    0);
	assert_int_equal(a.verdict, REVIEW_DENY);
	assert_string_equal(a.reason, "r\xc3\xa9\n\"q\"");
	assert_int_equal(parse("{\"decision\":\"escalate\"}", &a), 0);
	assert_int_equal(a.verdict, REVIEW_ESCALATE);
	assert_string_equal(a.reason, "");
	/* a surrogate pair is one code point */
	assert_int_equal(
	    parse("{\"decision\":\"allow\",\"reason\":\"\\ud83d\\ude00\"}", &a),
	    0);
	assert_string_equal(a.reason, "\xf0\x9f\x98\x80");
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"allow",
		"[]",
		"{}",
		"{\"decision\":\"ALLOW\"}",
		"{\"decision\":\"allowed\"}",
		"{\"decision\":\"allow\"",
		"{\"decision\":\"allow\"}{}",
		"{\"decision\":\"allow\"} x",
		"{\"decision\":\"allow\",}",
		"{\"decision\":\"allow\",\"decision\":\"deny\"}",
		"{\"decision\":\"deny\",\"reason\":\"a\",\"reason\":\"b\"}",
		"{\"decision\":\"allow\",\"extra\":\"x\"}",
		"{\"decision\":true}",
		"{\"decision\":\"allow\",\"reason\":null}",
		"{\"decision\":\"allow\",\"reason\":1}",
		"{'decision':'allow'}",
		"{\"decision\":\"al\\u0000low\"}",
		"{\"decision\":\"allow\",\"reason\":\"\\ud800\"}",
		"{\"decision\":\"allow\",\"reason\":\"\\udc00\"}",
		"{\"decision\":\"allow\",\"reason\":\"\\x41\"}",
		"{\"decision\":\"allow\",\"reason\":\"a\tb\"}",
		"{\"decision\":\"allow\",\"reason\":\"\\u12\"}",
		"{\"decision\" \"allow\"}",
		"{\"reason\":\"only a reason\"}",
		"{\"decisionxxxxxxxxxxxxxxxxxxxx\":\"allow\"}",
		"{\"decision\":\"allowallowallowallow\"}",
	};
	struct review_answer a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x55, sizeof(a));
		if (parse(bad[i], &a) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(a.verdict, REVIEW_FAILED);
		assert_non_null(strstr(a.reason, "malformed answer"));
	}
	/* an embedded NUL byte ends nothing: it is a control byte */
	assert_int_equal(
	    reviewer_parse_answer("{\"decision\":\"allow\"}\0", 21, &a), -1);
	assert_int_equal(reviewer_parse_answer(NULL, 0, &a), -1);
}

static void
test_parse_long_reason(void **state)
{
	struct review_answer a;
	struct buf b;
	int i;

	buf_init(&b);
	buf_adds(&b, "{\"decision\":\"deny\",\"reason\":\"");
	for (i = 0; i < 2000; i++)
		buf_adds(&b, "x");
	buf_adds(&b, "\"}");
	assert_int_equal(reviewer_parse_answer(b.data, b.len, &a), 0);
	assert_int_equal(a.verdict, REVIEW_DENY);
	assert_int_equal(strlen(a.reason), sizeof(a.reason) - 1);
	buf_free(&b);
}

static void
test_request_json(void **state)
{
	struct caller c;
	struct held_info info;
	char *j;

	memset(&c, 0, sizeof(c));
	c.pid = 42;
	c.uid = 1000;
	str_copy(c.exe, "/usr/bin/sh", sizeof(c.exe));
	str_copy(c.cmdline, "sh -c \"echo\"", sizeof(c.cmdline));
	str_copy(c.intent, "fix the build", sizeof(c.intent));
	str_copy(
	    c.trace_id, "0123456789abcdef0123456789abcdef", sizeof(c.trace_id));
	str_copy(c.span_id, "0123456789abcdef", sizeof(c.span_id));
	memset(&info, 0, sizeof(info));
	info.kind = "fs";
	info.op = "write";
	info.target = ".git/hooks/pre-commit";
	info.rule = "p.yaml:3";
	info.reason = "runs code";
	info.caller = &c;
	info.detail = "--- a\n+++ b\n";
	j = reviewer_request_json(&info, "f7", "s1");
	assert_string_equal(j,
	    "{\"id\":\"f7\",\"session\":\"s1\",\"kind\":\"fs\",\"op\":"
	    "\"write\","
	    "\"target\":\".git/hooks/pre-commit\",\"rule\":\"p.yaml:3\","
	    "\"reason\":\"runs code\",\"process\":{\"pid\":42,\"uid\":1000,"
	    "\"exe\":\"/usr/bin/sh\",\"cmdline\":\"sh -c \\\"echo\\\"\"},"
	    "\"intent\":\"fix the build\",\"traceparent\":"
	    "\"00-0123456789abcdef0123456789abcdef-0123456789abcdef-01\","
	    "\"detail\":\"--- a\\n+++ b\\n\"}\n");
	free(j);
	info.caller = NULL;
	info.detail = NULL;
	j = reviewer_request_json(&info, "p1", NULL);
	assert_non_null(strstr(j, "\"process\":null"));
	assert_non_null(strstr(j, "\"detail\":null"));
	assert_non_null(strstr(j, "\"traceparent\":\"\""));
	free(j);
}

/* A temporary directory holding reviewer scripts. */
static char tmpdir[64];

static int
setup_dir(void **state)
{
	str_copy(tmpdir, "/tmp/test_reviewer.XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write an executable script body (after #!/bin/sh) named name. */
static void
script(const char *name, const char *body, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

static struct policy *
policy_for(const char *path, const char *timeout)
{
	struct policy_error err;
	struct policy *pol;
	char *text;

	xasprintf(&text,
	    "version: 1\nreview: {command: [\"%s\", an-arg], timeout: %s}\n",
	    path, timeout);
	pol = policy_load_buffer("t.yaml", text, strlen(text), &err);
	if (pol == NULL)
		fail_msg("%s", err.text);
	free(text);
	return pol;
}

/* Ask the reviewer that script body makes; returns how long it took. */
static unsigned long long
ask(const char *body, const char *timeout, struct review_answer *a)
{
	char path[128];
	struct policy *pol;
	struct reviewer *rv;
	unsigned long long t0, deadline = ~0ULL;
	static const char req[] = "{\"kind\":\"fs\"}\n";

	script("rv", body, path, sizeof(path));
	pol = policy_for(path, timeout);
	rv = reviewer_new(policy_settings(pol));
	assert_non_null(rv);
	assert_string_equal(reviewer_name(rv), "rv");
	t0 = time_mono_ms();
	reviewer_ask(rv, req, sizeof(req) - 1, &deadline, a);
	t0 = time_mono_ms() - t0;
	reviewer_free(rv);
	policy_free(pol);
	return t0;
}

static void
test_command_answers(void **state)
{
	struct review_answer a;

	/* it reads the request on stdin and its argv is passed through */
	ask("read line; case \"$line\" in *'\"fs\"'*) ;; *) exit 3;; esac\n"
	    "[ \"$1\" = an-arg ] || exit 4\n"
	    "echo '{\"decision\":\"allow\",\"reason\":\"looks fine\"}'",
	    "5s", &a);
	assert_int_equal(a.verdict, REVIEW_ALLOW);
	assert_string_equal(a.reason, "looks fine");
	ask("echo '{\"decision\":\"deny\",\"reason\":\"no\"}'", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_DENY);
	ask("echo '{\"decision\":\"escalate\",\"reason\":\"ask\"}'", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_ESCALATE);
	assert_string_equal(a.reason, "ask");
}

static void
test_command_failures(void **state)
{
	struct review_answer a;
	unsigned long long ms;

	/* a good answer with a non-zero exit is still a failure */
	ask("echo '{\"decision\":\"allow\"}'; exit 1", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	assert_non_null(strstr(a.reason, "status 1"));
	ask("echo 'I think it is fine'", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	assert_non_null(strstr(a.reason, "malformed"));
	ask("echo '{\"decision\":\"yes\"}'", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	ask("kill -9 $$", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	assert_non_null(strstr(a.reason, "signal 9"));
	/* oversized: killed as soon as it passes the bound */
	ms = ask("yes '{\"decision\":\"allow\"}'", "10s", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	assert_non_null(strstr(a.reason, "larger"));
	assert_true(ms < 5000);
	/* a timeout kills the whole group, the grandchild included */
	ms = ask("sleep 30 & sleep 30; echo '{\"decision\":\"allow\"}'",
	    "300ms", &a);
	assert_int_equal(a.verdict, REVIEW_FAILED);
	assert_non_null(strstr(a.reason, "no answer within 300 ms"));
	assert_true(ms >= 300 && ms < 3000);
	/* stdin closed unread: the daemon survives (no SIGPIPE) */
	ask("exec 0<&-; echo '{\"decision\":\"deny\"}'", "5s", &a);
	assert_int_equal(a.verdict, REVIEW_DENY);
}

static void
test_no_reviewer(void **state)
{
	struct policy_error err;
	struct policy *pol;
	struct approvals *ap;
	static const char text[] = "version: 1\n";

	pol = policy_load_buffer("t.yaml", text, sizeof(text) - 1, &err);
	assert_non_null(pol);
	assert_null(reviewer_new(policy_settings(pol)));
	assert_int_equal(errno, ENOENT);
	ap = approvals_new("f", 1000);
	assert_int_equal(
	    approvals_set_reviewer(ap, pol, NULL, AUDIT_COMPONENT_FS, NULL), 0);
	approvals_free(ap);
	policy_free(pol);
}

/* What the approvals' callback saw. */
struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n_calls;
	struct approval_result res;
};

static void
seen_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->n_calls++;
	s->res = *res;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int
seen_wait(struct seen *s, unsigned ms)
{
	unsigned long long end = time_mono_ms() + ms;
	struct timespec slice = { 0, 10 * 1000000L };
	int n;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		n = s->n_calls;
		pthread_mutex_unlock(&s->lock);
		if (n > 0 || time_mono_ms() >= end)
			return n;
		nanosleep(&slice, NULL);
	}
}

static struct approvals *
hook(const char *body, const char *timeout, unsigned hold_ms)
{
	char path[128];
	struct policy *pol;
	struct approvals *ap;

	script("hook-rv", body, path, sizeof(path));
	pol = policy_for(path, timeout);
	ap = approvals_new("f", hold_ms);
	assert_non_null(ap);
	assert_int_equal(
	    approvals_set_reviewer(ap, pol, NULL, AUDIT_COMPONENT_FS, "s"), 0);
	assert_int_equal(
	    approvals_set_reviewer(ap, pol, NULL, AUDIT_COMPONENT_FS, "s"), -1);
	policy_free(pol); /* the reviewer is a copy */
	return ap;
}

static void
submit(struct approvals *ap, struct seen *s, char *id)
{
	struct held_info info;
	struct approval_result res;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	memset(&info, 0, sizeof(info));
	info.kind = "fs";
	info.op = "write";
	info.target = "x";
	assert_int_equal(
	    approvals_submit(ap, &info, seen_cb, s, id, 24, &res), 0);
}

static void
test_hook_decides(void **state)
{
	struct approvals *ap;
	struct seen s;
	char id[24];

	ap = hook("echo '{\"decision\":\"deny\",\"reason\":\"hooks run "
	          "code\"}'",
	    "5s", 10000);
	submit(ap, &s, id);
	assert_int_equal(seen_wait(&s, 5000), 1);
	assert_int_equal(s.res.decision, DECISION_DENY);
	assert_int_equal(s.res.outcome, AUDIT_OUTCOME_DENIED);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_REVIEWER);
	assert_string_equal(s.res.reviewer, "hook-rv");
	assert_string_equal(s.res.reason, "hooks run code");
	approvals_free(ap);
	assert_int_equal(s.n_calls, 1);
}

static void
test_hook_escalates(void **state)
{
	struct approvals *ap;
	struct seen s;
	char id[24];
	char *list = NULL;
	int i;

	ap = hook("echo '{\"decision\":\"escalate\"}'", "5s", 10000);
	submit(ap, &s, id);
	/* the escalation leaves it pending: nothing is called back, and
	 * the listing says where the review stands */
	assert_int_equal(seen_wait(&s, 500), 0);
	for (i = 0; i < 500; i++) {
		list = approvals_list_json(ap);
		assert_non_null(strstr(list, id));
		if (strstr(list,
		        "\"review\":\"hook-rv escalated to a person: "
		        "no reason given\"") != NULL)
			break;
		free(list);
		list = NULL;
		usleep(10 * 1000);
	}
	assert_non_null(list);
	free(list);
	assert_int_equal(approvals_resolve(ap, id, DECISION_ALLOW,
	                     AUDIT_DECIDER_HUMAN, NULL, 0),
	    0);
	assert_int_equal(seen_wait(&s, 1000), 1);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_HUMAN);
	assert_string_equal(s.res.reviewer, "");
	approvals_free(ap);
}

static void
test_hook_person_first(void **state)
{
	struct approvals *ap;
	struct seen s;
	char id[24];

	/* the reviewer would allow, but only after the person denied */
	ap = hook("sleep 1; echo '{\"decision\":\"allow\"}'", "5s", 10000);
	submit(ap, &s, id);
	assert_int_equal(approvals_resolve(ap, id, DECISION_DENY,
	                     AUDIT_DECIDER_HUMAN, NULL, 0),
	    0);
	sleep(2);
	assert_int_equal(s.n_calls, 1);
	assert_int_equal(s.res.decision, DECISION_DENY);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_HUMAN);
	approvals_free(ap);
}

static void
test_hook_timeout_then_hold_timeout(void **state)
{
	struct approvals *ap;
	struct seen s;
	char id[24];

	/* the reviewer's budget passes, then the hold timeout denies */
	ap = hook("sleep 10", "200ms", 800);
	submit(ap, &s, id);
	assert_int_equal(seen_wait(&s, 400), 0);
	assert_int_equal(seen_wait(&s, 3000), 1);
	assert_int_equal(s.res.decision, DECISION_DENY);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_TIMEOUT);
	approvals_free(ap);
}

static void
test_hook_free_cuts_review_short(void **state)
{
	struct approvals *ap;
	struct seen s;
	char id[24];
	unsigned long long t0;

	ap = hook("sleep 20", "30s", 60000);
	submit(ap, &s, id);
	usleep(200 * 1000);
	t0 = time_mono_ms();
	approvals_free(ap);
	assert_true(time_mono_ms() - t0 < 3000);
	assert_int_equal(s.n_calls, 1);
	assert_int_equal(s.res.decided_by, AUDIT_DECIDER_TIMEOUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_long_reason),
		cmocka_unit_test(test_request_json),
		cmocka_unit_test(test_no_reviewer),
		cmocka_unit_test(test_command_answers),
		cmocka_unit_test(test_command_failures),
		cmocka_unit_test(test_hook_decides),
		cmocka_unit_test(test_hook_escalates),
		cmocka_unit_test(test_hook_person_first),
		cmocka_unit_test(test_hook_timeout_then_hold_timeout),
		cmocka_unit_test(test_hook_free_cuts_review_short),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
