/*
 * The policy loader (common/policy_load.c): every kind of configuration
 * error is refused with the exact file:line:column, no error yields a
 * policy, and the shipped policies (conf/) load with the settings they
 * say.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_testenv.h"

static void
expect_error(const char *yaml, int line, int col, const char *what)
{
	struct policy_error err;
	struct policy *pol;
	char prefix[64];

	pol = policy_load_buffer("t.yaml", yaml, strlen(yaml), &err);
	if (pol != NULL) {
		policy_free(pol);
		fail_msg(
		    "loaded, but wanted %d:%d %s:\n%s", line, col, what, yaml);
	}
	if (err.line != line || err.column != col ||
	    strstr(err.text, what) == NULL)
		fail_msg(
		    "want %d:%d '%s', got '%s'", line, col, what, err.text);
	snprintf(prefix, sizeof(prefix), "t.yaml:%d:%d: ", line, col);
	if (strncmp(err.text, prefix, strlen(prefix)) != 0)
		fail_msg("want prefix '%s', got '%s'", prefix, err.text);
	assert_string_equal(err.file, "t.yaml");
}

#define V1 "version: 1\n"

static void
test_unknown_keys(void **state)
{
	expect_error(V1 "foo: 2\n", 2, 1, "unknown key 'foo' in the policy");
	expect_error(V1 "defaults:\n  fs: allow\n  timeout: 2s\n", 4, 3,
	    "unknown key 'timeout' in defaults");
	expect_error(V1 "fs:\n  - paths: [a]\n    action: allow\n"
	                "    bogus: 1\n",
	    5, 5, "unknown key 'bogus' in an fs rule");
	expect_error(V1 "net:\n  - host: [a.test]\n    action: allow\n", 3, 5,
	    "unknown key 'host' in a net rule");
	expect_error(V1 "telemetry:\n  otlp:\n    endpoint: http://x.test\n"
	                "    insecure: true\n",
	    5, 5, "unknown key 'insecure'");
	expect_error(V1 "tls: {sni: true}\n", 2, 7, "unknown key 'sni' in tls");
	expect_error(V1 "proxy: {mode: off}\n", 2, 9, "unknown key 'mode'");
	expect_error(V1 "review: {cmd: [/bin/true]}\n", 2, 10,
	    "unknown key 'cmd' in review");
}

static void
test_wrong_types(void **state)
{
	expect_error(V1 "fs: {a: 1}\n", 2, 5,
	    "fs must be a list, not a "
	    "mapping");
	expect_error(V1 "defaults: [allow]\n", 2, 11,
	    "defaults must be a "
	    "mapping, not a list");
	expect_error(V1 "net:\n  - ports: [http]\n    action: allow\n", 3, 13,
	    "a port must be a number");
	expect_error(V1 "net:\n  - ports: [\"443\"]\n    action: allow\n", 3,
	    13, "a port must be a number");
	expect_error(V1 "net:\n  - ports: [70000]\n    action: allow\n", 3, 13,
	    "from 0 to 65535");
	expect_error(
	    V1 "net:\n  - ports: [0]\n    action: allow\n", 3, 13, "port 0");
	expect_error(V1 "net:\n  - ports: [8000-8080]\n    action: allow\n", 3,
	    13, "quote a port range");
	expect_error(V1 "net:\n  - ports: [\"90-80\"]\n    action: allow\n", 3,
	    13, "LOW-HIGH");
	expect_error(V1 "fs:\n  - paths: a\n    action: allow\n", 3, 12,
	    "paths must be a list");
	expect_error(V1 "fs:\n  - paths: [[a]]\n    action: allow\n", 3, 13,
	    "paths must be a string, not a list");
	expect_error(V1 "fs:\n  - paths: []\n    action: allow\n", 3, 12,
	    "paths must not be empty");
	expect_error(V1 "fs:\n  - paths: [a]\n    action:\n", 4, 12,
	    "action must be a string, not nothing");
	expect_error(V1 "tls: {sni_check: yes}\n", 2, 18, "true or false");
	expect_error(V1 "tls: {sni_check: \"true\"}\n", 2, 18, "true or false");
	expect_error("version: one\n", 1, 10, "version must be a number");
	expect_error("version: 2\n", 1, 10, "unsupported version 2");
	expect_error("fs: []\n", 1, 1, "needs \"version: 1\"");
	expect_error("- version: 1\n", 1, 1, "the policy must be a mapping");
	expect_error(V1 "fs:\n  - [a]\n", 3, 5, "an fs rule must be a mapping");
	expect_error(V1 "fs:\n  - paths: [a]\n", 3, 5, "needs action");
	expect_error(V1 "fs:\n  - action: allow\n", 3, 5, "needs paths");
	expect_error(V1 "net:\n  - hosts: [a.test]\n", 3, 5, "needs action");
	expect_error(V1 "net:\n  - methods: [\"G T\"]\n    action: allow\n", 3,
	    15, "letters only");
	expect_error(V1 "net:\n  - paths: [api]\n    action: allow\n", 3, 13,
	    "starts with '/'");
	expect_error(V1 "net:\n  - {hosts: [a.test], action: allow, reason: "
	                "[x]}\n",
	    3, 46, "reason must be a string");
}

static void
test_bad_globs(void **state)
{
	expect_error(V1 "fs:\n  - paths: [\"a/[bc\"]\n    action: hold\n", 3,
	    13, "bad path pattern 'a/[bc': unterminated");
	expect_error(V1 "fs:\n  - paths:\n      - ok/**\n      - \"a**\"\n"
	                "    action: hold\n",
	    5, 9, "whole path component");
	/* outside the project (~/..., /...): glob(3) has no "**" */
	expect_error(V1 "fs:\n  - paths: [\"/etc/**\"]\n    action: hold\n", 3,
	    13, "'**' is not supported outside the project");
	expect_error(V1 "fs:\n  - paths: [\"src/../../x\"]\n    action: hold\n",
	    3, 13, "'..'");
	expect_error(V1 "fs:\n  - paths: [\"!src/**\"]\n    action: hold\n", 3,
	    12, "only '!' exceptions");
	expect_error(V1 "fs:\n  - paths: [\"!\"]\n    action: hold\n", 3, 13,
	    "empty path pattern");
	/* An unquoted leading '!' is a YAML tag: say how to write it. */
	expect_error(V1 "fs:\n  - paths:\n      - a/**\n      - !a/b\n"
	                "    action: hold\n",
	    5, 9, "must be quoted");
}

static void
test_bad_hosts_and_cidrs(void **state)
{
	expect_error(V1 "net:\n  - cidrs: [10.0.0.0/33]\n    action: deny\n", 3,
	    13, "bad CIDR '10.0.0.0/33': prefix length must be 0..32");
	expect_error(V1 "net:\n  - cidrs: [10.1.0.0/8]\n    action: deny\n", 3,
	    13, "bits set past the /8");
	expect_error(V1 "net:\n  - cidrs: [\"fc00::/7\", nope]\n"
	                "    action: deny\n",
	    3, 25, "bad CIDR 'nope'");
	expect_error(V1 "net:\n  - hosts: [\"a.*.test\"]\n    action: deny\n",
	    3, 13, "bad host pattern 'a.*.test'");
	expect_error(V1 "net:\n  - hosts: [\"a.test:443\"]\n    action: deny\n",
	    3, 13, "ports:");
	expect_error(V1 "net:\n  - hosts: [\"@mirrors\"]\n    action: allow\n",
	    3, 13, "unknown host set '@mirrors'");
	expect_error(
	    V1 "tls:\n  intercept: [\"*x.test\"]\n", 3, 15, "bad host pattern");
}

static void
test_duplicate_keys(void **state)
{
	expect_error(V1 "version: 1\n", 2, 1,
	    "duplicate key 'version' (first at line 1)");
	expect_error(V1 "fs:\n  - paths: [a]\n    action: allow\n"
	                "    paths: [b]\n",
	    5, 5, "duplicate key 'paths' (first at line 3)");
	expect_error(V1 "defaults: {fs: allow, fs: hold}\n", 2, 23,
	    "duplicate key 'fs'");
	expect_error(V1 "telemetry:\n  otlp:\n    endpoint: http://x.test\n"
	                "    headers: {A: b, a: c}\n",
	    5, 21, "duplicate key 'a'");
}

static void
test_bad_actions_ops_durations(void **state)
{
	expect_error(V1 "fs:\n  - paths: [a]\n    action: maybe\n", 4, 13,
	    "unknown action 'maybe' (want allow, hold or deny)");
	expect_error(
	    V1 "defaults: {net: permit}\n", 2, 17, "unknown action 'permit'");
	expect_error(V1 "fs:\n  - paths: [a]\n    ops: [write, exec]\n"
	                "    action: hold\n",
	    4, 18, "unknown operation 'exec'");
	expect_error(V1 "fs:\n  - paths: [a]\n    ops: write\n"
	                "    action: hold\n",
	    4, 10, "ops must be a list");
	expect_error(
	    V1 "defaults: {hold_timeout: 120}\n", 2, 26, "needs a unit");
	expect_error(V1 "defaults: {hold_timeout: 2 minutes}\n", 2, 26,
	    "unknown unit ' minutes'");
	expect_error(
	    V1 "defaults: {hold_timeout: 0s}\n", 2, 26, "more than zero");
	expect_error(
	    V1 "defaults: {hold_timeout: 25h}\n", 2, 26, "at most 24h");
	expect_error(
	    V1 "defaults: {hold_timeout: -5s}\n", 2, 26, "must be a duration");
	expect_error(V1 "review: {command: [/x], timeout: 1y}\n", 2, 34,
	    "unknown unit 'y'");
	expect_error(V1 "proxy: {auth: sometimes}\n", 2, 15,
	    "off, optional or required");
}

static void
test_settings_errors(void **state)
{
	expect_error(V1
	    "review:\n  command: [/bin/true]\n  url: http://r.test\n",
	    4, 8, "not both");
	expect_error(
	    V1 "review: {command: [review-llm]}\n", 2, 19, "absolute path");
	expect_error(V1 "review: {command: []}\n", 2, 19, "must not be empty");
	expect_error(
	    V1 "review: {url: ftp://r.test}\n", 2, 15, "http:// or https://");
	expect_error(V1 "telemetry: {otlp: {headers: {a: b}}}\n", 2, 19,
	    "needs endpoint");
	expect_error(V1 "telemetry:\n  otlp:\n    endpoint: http://x.test\n"
	                "    headers: {\"a b\": c}\n",
	    5, 15, "bad header name");
	expect_error(V1
	    "telemetry: {otlp: {endpoint: \"http://x\", logs: 1}}\n",
	    2, 48, "true or false");
}

static void
test_yaml_errors(void **state)
{
	expect_error(V1 "fs: [\n", 3, 1, "did not find expected node content");
	expect_error(
	    V1 "fs:\n\t- paths: [a]\n", 3, 1, "cannot start any token");
	expect_error(V1 "a: &x 1\n", 2, 4, "anchors");
	expect_error(V1 "fs: *x\n", 2, 5, "aliases");
	expect_error(V1 "fs: !!seq []\n", 2, 5, "tags are not supported");
	expect_error(V1 "---\n" V1, 2, 1, "second one");
	expect_error("", 1, 1, "empty policy");
	expect_error("# nothing\n", 1, 1, "empty policy");
	expect_error(V1 "x: \"\xff\"\n", 2, 5, "invalid");
}

/* Deeper nesting than any policy needs is refused, not recursed into. */
static void
test_deep_nesting(void **state)
{
	char yaml[512];
	size_t n = 0;
	int i;

	n += (size_t)snprintf(yaml, sizeof(yaml), V1 "fs: ");
	for (i = 0; i < 100; i++)
		yaml[n++] = '[';
	for (i = 0; i < 100; i++)
		yaml[n++] = ']';
	yaml[n++] = '\n';
	yaml[n] = '\0';
	expect_error(yaml, 2, 36, "nesting deeper than 32");
}

static void
test_missing_file(void **state)
{
	struct policy_error err;

	assert_null(policy_load_file("/nonexistent/airlock.yaml", &err));
	assert_int_equal(err.line, 0);
	assert_int_equal(err.column, 0);
	assert_string_equal(err.file, "/nonexistent/airlock.yaml");
	assert_string_equal(err.text,
	    "/nonexistent/airlock.yaml: cannot open: "
	    "No such file or directory");
}

/* Every prefix of a valid policy either loads or is refused with a
 * position; none crashes and none leaks (ASan build). */
static void
test_truncations(void **state)
{
	struct policy_error err;
	struct policy *pol;
	size_t len, n, loaded = 0;
	const char *text = policy_default_text(&len);

	for (n = 0; n <= len; n++) {
		pol = policy_load_buffer("t.yaml", text, n, &err);
		if (pol != NULL) {
			loaded++;
			policy_free(pol);
			continue;
		}
		assert_true(err.line >= 1);
		assert_true(err.column >= 1);
	}
	assert_true(loaded >= 1); /* at least the whole text */
}

static char *
src_path(const char *rel)
{
	const char *srcdir = getenv("srcdir");
	char *p;

	if (srcdir == NULL)
		srcdir = ".";
	if (asprintf(&p, "%s/%s", srcdir, rel) < 0)
		abort();
	return p;
}

static struct policy *
load_src(const char *rel)
{
	struct policy_error err;
	struct policy *pol;
	char *path = src_path(rel);

	pol = policy_load_file(path, &err);
	if (pol == NULL)
		fail_msg("%s", err.text);
	free(path);
	return pol;
}

static void
test_shipped_policies(void **state)
{
	static const char *const files[] = { "conf/airlock.yaml",
		"conf/examples/strict.yaml", "conf/examples/ci.yaml",
		"conf/examples/review.yaml" };
	size_t i, len;
	const char *text = policy_default_text(&len);
	struct policy *pol;
	FILE *f;
	char *path, *buf;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		policy_free(load_src(files[i]));

	/* The embedded default is conf/airlock.yaml, byte for byte. */
	path = src_path("conf/airlock.yaml");
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(len + 2);
	assert_int_equal(fread(buf, 1, len + 1, f), len);
	assert_memory_equal(buf, text, len);
	fclose(f);
	free(buf);
	free(path);
	assert_int_equal(strlen(text), len);

	pol = load_src("conf/examples/strict.yaml");
	assert_int_equal(policy_settings(pol)->hold_timeout_ms, 300000);
	policy_free(pol);
}

static void
test_settings(void **state)
{
	const struct policy_settings *st;
	struct policy *pol = load_src("conf/examples/review.yaml");

	st = policy_settings(pol);
	assert_int_equal(st->hold_timeout_ms, 120000);
	assert_non_null(st->review_command);
	assert_string_equal(
	    st->review_command[0], "/usr/libexec/airlock/review-llm");
	assert_string_equal(st->review_command[1], "--model");
	assert_string_equal(st->review_command[2], "small");
	assert_null(st->review_command[3]);
	assert_null(st->review_url);
	assert_int_equal(st->review_timeout_ms, 20000);
	assert_string_equal(st->otlp_endpoint, "http://127.0.0.1:4318");
	assert_string_equal(
	    st->otlp_headers[0], "Authorization: Bearer not-a-real-token");
	assert_null(st->otlp_headers[1]);
	assert_int_equal(st->otlp_logs, 1);
	assert_int_equal(st->tls_sni_check, 1);
	assert_string_equal(st->tls_intercept_hosts[0], "api.example.com");
	assert_null(st->tls_intercept_hosts[1]);
	assert_true(policy_tls_intercepts(pol, "API.example.com."));
	assert_false(policy_tls_intercepts(pol, "example.com"));
	assert_int_equal(st->proxy_auth, PROXY_AUTH_OPTIONAL);
	assert_int_equal(strlen(policy_source_hash(pol)), 64);
	policy_free(pol);
}

static void
test_defaults_when_absent(void **state)
{
	struct policy_error err;
	const struct policy_settings *st;
	struct policy *pol = policy_load_buffer("m.yaml", V1, strlen(V1), &err);
	struct policy_verdict v;
	struct net_request req = { "x.test", 443, NULL, NULL };

	assert_non_null(pol);
	st = policy_settings(pol);
	assert_int_equal(st->hold_timeout_ms, 120000);
	assert_null(st->review_command);
	assert_null(st->review_url);
	assert_null(st->otlp_endpoint);
	assert_int_equal(st->tls_sni_check, 1);
	assert_null(st->tls_intercept_hosts);
	assert_int_equal(st->proxy_auth, PROXY_AUTH_OFF);
	policy_eval_fs(pol, FS_OP_WRITE, "a", 1, &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "m.yaml:defaults.fs");
	assert_int_equal(v.rule_index, -1);
	policy_eval_net(pol, &req, &v);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(v.rule, "m.yaml:defaults.net");
	assert_non_null(policy_registries(pol));
	assert_null(policy_registries(pol)[0]);
	assert_string_equal(policy_source_name(pol), "m.yaml");
	policy_free(pol);
}

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		unsigned ms;
	} cases[] = { { "500ms", 500 }, { "120s", 120000 }, { "2m", 120000 },
		{ "1h", 3600000 }, { "\"90s\"", 90000 } };
	struct policy_error err;
	struct policy *pol;
	char yaml[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml),
		    V1 "defaults: {hold_timeout: %s}\n", cases[i].text);
		pol = policy_load_buffer("d.yaml", yaml, strlen(yaml), &err);
		if (pol == NULL)
			fail_msg("%s", err.text);
		assert_int_equal(
		    policy_settings(pol)->hold_timeout_ms, cases[i].ms);
		policy_free(pol);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_globs),
		cmocka_unit_test(test_bad_hosts_and_cidrs),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_bad_actions_ops_durations),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_shipped_policies),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_defaults_when_absent),
		cmocka_unit_test(test_durations),
	};

	isolate_registries();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
