/*
 * Evaluation (common/policy_eval.c, policy_cache.c): first match wins, `!`
 * exceptions, per-domain defaults, the default policy's decisions on what
 * issue 2 lists, address rules (IPv4-mapped IPv6 included), HTTP methods
 * and paths against CONNECT, and the decision cache (hits, misses, and
 * equality with uncached evaluation).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_testenv.h"
#include "policy_priv.h"

/* Verdicts compare by field (the struct has padding). */
static void
assert_verdict_equal(
    const struct policy_verdict *a, const struct policy_verdict *b)
{
	assert_int_equal(a->decision, b->decision);
	assert_ptr_equal(a->rule, b->rule);
	assert_ptr_equal(a->reason, b->reason);
	assert_int_equal(a->rule_index, b->rule_index);
}

static struct policy *
load(const char *yaml)
{
	struct policy_error err;
	struct policy *pol =
	    policy_load_buffer("e.yaml", yaml, strlen(yaml), &err);

	if (pol == NULL)
		fail_msg("%s", err.text);
	return pol;
}

static struct policy_verdict
fs(const struct policy *pol, enum fs_op op, const char *path)
{
	struct policy_verdict v;

	policy_eval_fs(pol, op, path, strlen(path), &v);
	return v;
}

static struct policy_verdict
net(const struct policy *pol, const char *host, uint16_t port,
    const char *method, const char *path)
{
	struct net_request req = { host, port, method, path };
	struct policy_verdict v;

	policy_eval_net(pol, &req, &v);
	return v;
}

static struct policy_verdict
addr(const struct policy *pol, const char *text, uint16_t port)
{
	struct sockaddr_storage ss;
	struct policy_verdict v;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	policy_eval_addr(pol, (struct sockaddr *)&ss, port, &v);
	return v;
}

/* A cidrs: rule with methods:/paths: at the address check: for a tunnel
 * (method and path unknown) a hold or deny rule applies and an allow rule
 * does not; for a request whose method and path are known, each matches
 * as in policy_eval_net(). */
static void
test_addr_http(void **state)
{
	static const char yaml[] = "version: 1\n"
	                           "defaults: {net: deny}\n"
	                           "net:\n"
	                           "  - cidrs: [127.0.0.1/32]\n" /* 4 */
	                           "    paths: [/held/]\n"
	                           "    action: hold\n"
	                           "  - cidrs: [127.0.0.1/32]\n" /* 7 */
	                           "    methods: [GET]\n"
	                           "    action: allow\n";
	struct policy_error err;
	struct policy *pol =
	    policy_load_buffer("a.yaml", yaml, sizeof(yaml) - 1, &err);
	struct sockaddr_in sin;
	struct policy_verdict v;

	assert_non_null(pol);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	policy_eval_addr_http(
	    pol, (struct sockaddr *)&sin, 80, "GET", "/open/a", &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "a.yaml:7");
	policy_eval_addr_http(
	    pol, (struct sockaddr *)&sin, 80, "GET", "/held/a", &v);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(v.rule, "a.yaml:4");
	policy_eval_addr_http(
	    pol, (struct sockaddr *)&sin, 80, "POST", "/open/a", &v);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "builtin:special-addresses");
	/* A tunnel: the hold rule applies, as it always did. */
	v = addr(pol, "127.0.0.1", 80);
	assert_int_equal(v.decision, DECISION_HOLD);
	policy_free(pol);
}

static const char first_match[] =
    "version: 1\n"
    "defaults: {fs: hold, net: deny}\n"
    "fs:\n"
    "  - paths: [\"src/**\", \"!src/secret/**\", \"!**/*.key\"]\n" /* 4 */
    "    action: allow\n"
    "    reason: sources\n"
    "  - paths: [\"src/**\"]\n" /* 7 */
    "    action: deny\n"
    "  - paths: [\"docs/*.md\"]\n" /* 9 */
    "    ops: [read]\n"
    "    action: allow\n"
    "  - paths: [\"docs/*.md\"]\n" /* 12 */
    "    ops: [write, create]\n"
    "    action: hold\n"
    "    reason: docs are reviewed\n";

static void
test_first_match(void **state)
{
	struct policy *pol = load(first_match);
	struct policy_verdict v;

	v = fs(pol, FS_OP_WRITE, "src/a.c");
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "e.yaml:4");
	assert_string_equal(v.reason, "sources");
	assert_int_equal(v.rule_index, 0);

	/* The exceptions send these on to the next rule. */
	v = fs(pol, FS_OP_WRITE, "src/secret/a.c");
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "e.yaml:7");
	assert_string_equal(v.reason, "");
	assert_int_equal(v.rule_index, 1);
	v = fs(pol, FS_OP_READ, "src/x/server.key");
	assert_string_equal(v.rule, "e.yaml:7");

	/* ops: a rule for other operations does not match. */
	v = fs(pol, FS_OP_READ, "docs/a.md");
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "e.yaml:9");
	v = fs(pol, FS_OP_CREATE, "docs/a.md");
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(v.rule, "e.yaml:12");
	assert_int_equal(v.rule_index, 3);
	v = fs(pol, FS_OP_DELETE, "docs/a.md");
	assert_string_equal(v.rule, "e.yaml:defaults.fs");
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_int_equal(v.rule_index, -1);

	/* Defaults close the list. */
	v = fs(pol, FS_OP_WRITE, "README");
	assert_int_equal(v.decision, DECISION_HOLD);
	v = net(pol, "a.test", 443, NULL, NULL);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "e.yaml:defaults.net");
	policy_free(pol);
}

/* Paths outside the contract are denied, never matched loosely. */
static void
test_bad_paths(void **state)
{
	struct policy *pol = load("version: 1\ndefaults: {fs: allow}\n");
	struct policy_verdict v;

	v = fs(pol, FS_OP_WRITE, "../x");
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "builtin:bad-request");
	assert_int_equal(
	    fs(pol, FS_OP_WRITE, "a/../../x").decision, DECISION_DENY);
	assert_int_equal(
	    fs(pol, FS_OP_WRITE, "/etc/passwd").decision, DECISION_DENY);
	assert_int_equal(fs(pol, FS_OP_WRITE, "./a").decision, DECISION_DENY);
	assert_int_equal(fs(pol, FS_OP_WRITE, "a/..").decision, DECISION_DENY);
	assert_int_equal(fs(pol, (enum fs_op)3, "a").decision, DECISION_DENY);
	assert_int_equal(fs(pol, (enum fs_op)0, "a").decision, DECISION_DENY);
	/* Dots inside names are fine, as is the root and a trailing '/'. */
	assert_int_equal(
	    fs(pol, FS_OP_WRITE, "a/..b/.c").decision, DECISION_ALLOW);
	assert_int_equal(fs(pol, FS_OP_READ, "").decision, DECISION_ALLOW);
	assert_int_equal(fs(pol, FS_OP_READ, "a/").decision, DECISION_ALLOW);
	policy_free(pol);
}

static void
expect_fs(const struct policy *pol, enum fs_op op, const char *path,
    enum decision want)
{
	struct policy_verdict v = fs(pol, op, path);

	if (v.decision != want)
		fail_msg("%s %s: got %s by %s, want %s", policy_fs_op_name(op),
		    path, policy_decision_name(v.decision), v.rule,
		    policy_decision_name(want));
	/* A decision always names a rule of conf/airlock.yaml. */
	assert_int_equal(strncmp(v.rule, "conf/airlock.yaml:", 18), 0);
}

static void
expect_net(const struct policy *pol, const char *host, uint16_t port,
    enum decision want)
{
	struct policy_verdict v = net(pol, host, port, NULL, NULL);

	if (v.decision != want)
		fail_msg("%s:%u: got %s by %s, want %s", host, port,
		    policy_decision_name(v.decision), v.rule,
		    policy_decision_name(want));
}

static void
test_default_policy(void **state)
{
	struct policy_error err;
	struct policy *pol = policy_load_default(&err);
	static const char *const held_writes[] = { ".git/hooks/pre-commit",
		".git/hooks", ".git/config", ".github/workflows/ci.yml",
		".gitlab-ci.yml", ".circleci/config.yml", "Jenkinsfile",
		".travis.yml", "azure-pipelines.yml", ".buildkite/pipeline.yml",
		".bashrc", ".profile", ".zshrc", "home/u/.bash_profile",
		".config/fish/config.fish" };
	static const char *const secrets[] = { ".env", ".env.local",
		"app/.env.production", "certs/server.pem", "tls/server.key",
		"id_rsa", ".ssh/id_ed25519", ".npmrc", ".netrc" };
	static const char *const routine[] = { "src/main.c", "README.md",
		".env.example", "app/.env.example", ".gitignore",
		".git/objects/ab/cdef", ".git/HEAD", "docs/env.md",
		".github/CODEOWNERS", "environment.txt" };
	size_t i;

	assert_non_null(pol);
	assert_string_equal(policy_source_name(pol), "conf/airlock.yaml");
	for (i = 0; i < sizeof(held_writes) / sizeof(held_writes[0]); i++) {
		expect_fs(pol, FS_OP_WRITE, held_writes[i], DECISION_HOLD);
		expect_fs(pol, FS_OP_DELETE, held_writes[i], DECISION_HOLD);
		expect_fs(pol, FS_OP_RENAME, held_writes[i], DECISION_HOLD);
		expect_fs(pol, FS_OP_READ, held_writes[i], DECISION_ALLOW);
	}
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		expect_fs(pol, FS_OP_READ, secrets[i], DECISION_HOLD);
		expect_fs(pol, FS_OP_WRITE, secrets[i], DECISION_HOLD);
		expect_fs(pol, FS_OP_CREATE, secrets[i], DECISION_HOLD);
	}
	for (i = 0; i < sizeof(routine) / sizeof(routine[0]); i++) {
		expect_fs(pol, FS_OP_READ, routine[i], DECISION_ALLOW);
		expect_fs(pol, FS_OP_WRITE, routine[i], DECISION_ALLOW);
		expect_fs(pol, FS_OP_CREATE, routine[i], DECISION_ALLOW);
	}
	assert_true(policy_fs_checks_reads(pol));

	expect_net(pol, "github.com", 443, DECISION_ALLOW);
	expect_net(pol, "GitHub.com.", 443, DECISION_ALLOW);
	expect_net(pol, "raw.githubusercontent.com", 443, DECISION_ALLOW);
	expect_net(pol, "gitlab.com", 443, DECISION_ALLOW);
	expect_net(pol, "bitbucket.org", 443, DECISION_ALLOW);
	expect_net(pol, "github.com", 80, DECISION_HOLD);
	expect_net(pol, "github.com", 22, DECISION_HOLD);
	expect_net(pol, "example.org", 443, DECISION_HOLD);
	expect_net(pol, "githubusercontent.com", 443, DECISION_HOLD);
	expect_net(pol, "127.0.0.1", 443, DECISION_DENY);
	expect_net(pol, "127.0.0.1", 8080, DECISION_DENY);
	expect_net(pol, "localhost", 8080, DECISION_DENY);
	expect_net(pol, "app.localhost", 80, DECISION_DENY);
	expect_net(pol, "10.1.2.3", 443, DECISION_DENY);
	expect_net(pol, "172.20.0.1", 443, DECISION_DENY);
	expect_net(pol, "192.168.1.1", 80, DECISION_DENY);
	expect_net(pol, "169.254.169.254", 80, DECISION_DENY);
	expect_net(pol, "metadata.google.internal", 80, DECISION_DENY);
	expect_net(pol, "100.100.100.200", 80, DECISION_DENY);
	expect_net(pol, "[::1]", 443, DECISION_DENY);
	expect_net(pol, "::1", 443, DECISION_DENY);
	expect_net(pol, "[fd00::1]", 443, DECISION_DENY);
	expect_net(pol, "[fe80::1]", 443, DECISION_DENY);
	expect_net(pol, "[::ffff:127.0.0.1]", 443, DECISION_DENY);
	expect_net(pol, "[::ffff:169.254.169.254]", 80, DECISION_DENY);
	expect_net(pol, "2130706433", 80, DECISION_DENY);
	expect_net(pol, "0x7f.1", 80, DECISION_DENY);
	expect_net(pol, "0.0.0.0", 80, DECISION_DENY);
	expect_net(pol, "8.8.8.8", 443, DECISION_HOLD);
	policy_free(pol);
}

static void
test_addresses(void **state)
{
	struct policy *pol = load("version: 1\n"
	                          "net:\n"
	                          "  - cidrs: [10.9.0.0/16]\n" /* line 3 */
	                          "    ports: [443]\n"
	                          "    action: allow\n"
	                          "    reason: the mirror\n"
	                          "  - cidrs: [203.0.113.0/24]\n" /* line 7 */
	                          "    action: hold\n"
	                          "  - hosts: [a.test]\n"
	                          "    action: deny\n");
	static const char *const special[] = { "127.0.0.1", "10.0.0.1",
		"172.16.5.5", "192.168.0.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1",
		"198.18.0.1", "::1", "::", "fd00::1", "fe80::1", "ff02::1",
		"2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1",
		"::127.0.0.1" };
	static const char *const public[] = { "8.8.8.8", "1.1.1.1",
		"2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808" };
	struct policy_verdict v;
	size_t i;

	v = addr(pol, "10.9.1.1", 443);
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "e.yaml:3");
	assert_string_equal(v.reason, "the mirror");
	/* IPv4-mapped IPv6 is the same address. */
	v = addr(pol, "::ffff:10.9.1.1", 443);
	assert_string_equal(v.rule, "e.yaml:3");
	/* Port does not match: on to the built-in rule. */
	v = addr(pol, "10.9.1.1", 80);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "builtin:special-addresses");
	/* A documentation range opened by a rule. */
	v = addr(pol, "203.0.113.9", 1);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(v.rule, "e.yaml:7");

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		v = addr(pol, special[i], 443);
		if (v.decision != DECISION_DENY ||
		    strcmp(v.rule, "builtin:special-addresses") != 0)
			fail_msg("%s: %s by %s", special[i],
			    policy_decision_name(v.decision), v.rule);
	}
	for (i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		v = addr(pol, public[i], 443);
		if (v.decision != DECISION_ALLOW)
			fail_msg("%s: %s by %s", public[i],
			    policy_decision_name(v.decision), v.rule);
		assert_int_equal(v.rule_index, -1);
	}
	policy_free(pol);
}

static void
test_http_rules(void **state)
{
	struct policy *pol = load("version: 1\n"
	                          "defaults: {net: hold}\n"
	                          "net:\n"
	                          "  - hosts: [api.test]\n" /* line 4 */
	                          "    methods: [delete]\n"
	                          "    action: deny\n"
	                          "  - hosts: [api.test]\n" /* line 7 */
	                          "    methods: [GET, HEAD]\n"
	                          "    paths: [\"/v1/\"]\n"
	                          "    action: allow\n"
	                          "  - hosts: [plain.test]\n" /* line 11 */
	                          "    paths: [\"/pub/\"]\n"
	                          "    action: allow\n");
	struct policy_verdict v;

	v = net(pol, "api.test", 80, "GET", "/v1/items?q=1");
	assert_string_equal(v.rule, "e.yaml:7");
	v = net(pol, "api.test", 80, "get", "/v1/items");
	assert_string_equal(v.rule, "e.yaml:7");
	v = net(pol, "api.test", 80, "POST", "/v1/items");
	assert_string_equal(v.rule, "e.yaml:defaults.net");
	v = net(pol, "api.test", 80, "GET", "/v2/items");
	assert_string_equal(v.rule, "e.yaml:defaults.net");
	v = net(pol, "api.test", 80, "DELETE", "/v1/items");
	assert_int_equal(v.decision, DECISION_DENY);
	/* A CONNECT tunnel might carry a DELETE: the deny rule applies; the
	 * allow rule cannot vouch for requests it does not see. */
	v = net(pol, "api.test", 443, NULL, NULL);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(v.rule, "e.yaml:4");
	v = net(pol, "plain.test", 443, NULL, NULL);
	assert_string_equal(v.rule, "e.yaml:defaults.net");
	v = net(pol, "plain.test", 80, "GET", "/pub/x");
	assert_string_equal(v.rule, "e.yaml:11");
	v = net(pol, "plain.test", 80, "GET", "/public");
	assert_string_equal(v.rule, "e.yaml:defaults.net");
	policy_free(pol);
}

static void
test_checks_reads(void **state)
{
	struct policy *pol;

	pol = load("version: 1\nfs:\n  - paths: [a]\n    ops: [write]\n"
	           "    action: hold\n  - paths: [b]\n    action: allow\n");
	assert_false(policy_fs_checks_reads(pol));
	policy_free(pol);
	pol = load("version: 1\nfs:\n  - paths: [a]\n    ops: [read]\n"
	           "    action: deny\n");
	assert_true(policy_fs_checks_reads(pol));
	policy_free(pol);
	pol = load("version: 1\ndefaults: {fs: hold}\n");
	assert_true(policy_fs_checks_reads(pol));
	policy_free(pol);
}

static void
test_names(void **state)
{
	enum fs_op op;

	assert_string_equal(policy_decision_name(DECISION_ALLOW), "allow");
	assert_string_equal(policy_decision_name(DECISION_HOLD), "hold");
	assert_string_equal(policy_decision_name(DECISION_DENY), "deny");
	assert_string_equal(policy_fs_op_name(FS_OP_XATTR), "xattr");
	assert_int_equal(policy_fs_op_parse("rename", &op), 0);
	assert_int_equal(op, FS_OP_RENAME);
	assert_int_equal(policy_fs_op_parse("exec", &op), -1);
}

static void
test_cache(void **state)
{
	struct policy_error err;
	struct policy *pol = policy_load_default(&err), *other;
	struct policy_cache *cache = policy_cache_new(8);
	struct policy_verdict v, u;
	struct net_request req = { "github.com", 443, NULL, NULL };
	char longpath[600];
	int hit;

	assert_non_null(pol);
	policy_eval_fs_cached(
	    pol, cache, FS_OP_WRITE, ".git/config", 11, &v, &hit);
	assert_false(hit);
	assert_int_equal(v.decision, DECISION_HOLD);
	policy_eval_fs_cached(
	    pol, cache, FS_OP_WRITE, ".git/config", 11, &v, &hit);
	assert_true(hit);
	assert_int_equal(v.decision, DECISION_HOLD);
	/* Another operation on the same path is another key. */
	policy_eval_fs_cached(
	    pol, cache, FS_OP_READ, ".git/config", 11, &v, &hit);
	assert_false(hit);
	assert_int_equal(v.decision, DECISION_ALLOW);

	policy_eval_net_cached(pol, cache, &req, &v, &hit);
	assert_false(hit);
	policy_eval_net_cached(pol, cache, &req, &v, &hit);
	assert_true(hit);
	assert_int_equal(v.decision, DECISION_ALLOW);
	req.port = 80;
	policy_eval_net_cached(pol, cache, &req, &v, &hit);
	assert_false(hit);
	assert_int_equal(v.decision, DECISION_HOLD);
	/* A method makes another key than no method. */
	req.method = "GET";
	req.path = "/";
	policy_eval_net_cached(pol, cache, &req, &v, &hit);
	assert_false(hit);

	/* A cache filled from one policy never answers for another. */
	other = load("version: 1\ndefaults: {fs: deny}\n");
	policy_eval_fs_cached(
	    other, cache, FS_OP_WRITE, ".git/config", 11, &v, &hit);
	assert_false(hit);
	assert_int_equal(v.decision, DECISION_DENY);
	policy_free(other);

	policy_cache_clear(cache);
	policy_eval_fs_cached(
	    pol, cache, FS_OP_READ, ".git/config", 11, &v, &hit);
	assert_false(hit);

	/* Too long for a slot: answered, never cached. */
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath + sizeof(longpath) - 4, ".pem", 4);
	policy_eval_fs_cached(
	    pol, cache, FS_OP_READ, longpath, sizeof(longpath), &v, &hit);
	policy_eval_fs(pol, FS_OP_READ, longpath, sizeof(longpath), &u);
	assert_false(hit);
	assert_int_equal(v.decision, DECISION_HOLD);
	policy_eval_fs_cached(
	    pol, cache, FS_OP_READ, longpath, sizeof(longpath), &v, &hit);
	assert_false(hit);
	assert_verdict_equal(&u, &v);

	policy_cache_free(cache);
	policy_free(pol);
}

/* Cached answers equal uncached ones, over many paths and hosts that
 * collide in a small cache. */
static void
test_cache_equality(void **state)
{
	static const char *const dirs[] = { "", "src/", ".git/", ".git/hooks/",
		"a/b/", ".github/workflows/", "certs/" };
	static const char *const names[] = { "main.c", ".env", ".env.example",
		"config", "x.pem", "id_rsa", ".bashrc", "ci.yml",
		"pre-commit" };
	static const char *const hosts[] = { "github.com", "a.test",
		"127.0.0.1", "[::1]", "raw.githubusercontent.com", "10.0.0.8" };
	struct policy_error err;
	struct policy *pol = policy_load_default(&err);
	struct policy_cache *cache = policy_cache_new(3);
	struct policy_verdict v, u;
	char path[128];
	int hit, hits = 0, round, i, j, k;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 7; i++) {
			for (j = 0; j < 9; j++) {
				for (k = 0; k < 8; k++) {
					enum fs_op op = (enum fs_op)(1 << k);
					size_t n =
					    (size_t)snprintf(path, sizeof(path),
					        "%s%s", dirs[i], names[j]);

					policy_eval_fs_cached(
					    pol, cache, op, path, n, &v, &hit);
					policy_eval_fs(pol, op, path, n, &u);
					assert_verdict_equal(&u, &v);
					/* Straight after, it is a hit. */
					policy_eval_fs_cached(
					    pol, cache, op, path, n, &v, &hit);
					hits += hit;
					assert_true(hit);
					assert_verdict_equal(&u, &v);
				}
			}
		}
		for (i = 0; i < 6; i++) {
			for (k = 0; k < 3; k++) {
				struct net_request req = { hosts[i],
					(uint16_t)(k == 0 ? 443 : 80 + k), NULL,
					NULL };

				policy_eval_net_cached(
				    pol, cache, &req, &v, &hit);
				policy_eval_net(pol, &req, &u);
				hits += hit;
				assert_verdict_equal(&u, &v);
			}
		}
	}
	assert_true(hits > 0);
	policy_cache_free(cache);
	policy_free(pol);
}

/* ---- the index against a walk of every rule ---- */

static uint32_t rng_state = 987654321u;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const char *
pick(const char *const *list, size_t n)
{
	return list[rng() % n];
}

#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

static const char *const comp_atoms[] = { "a", "b", "src", ".env", "x.c", "*",
	"*.c", "?", "[ab]*", "**", ".e*", "id_*", "lib", "*.tar.gz", "ab",
	"c" };
static const char *const path_atoms[] = { "a", "b", "src", ".env", "x.c", "y.c",
	"ab", "lib", "id_rsa", "f.tar.gz", ".envrc", "c", "bb" };

static void
random_glob_text(char *out, size_t size)
{
	size_t n = 0;
	int k = 1 + (int)(rng() % 4), i, prev_globstar = 0;

	if (rng() % 8 == 0)
		n += (size_t)snprintf(out + n, size - n, "!");
	for (i = 0; i < k; i++) {
		const char *c = PICK(comp_atoms);

		if (prev_globstar && strcmp(c, "**") == 0)
			c = "a";
		prev_globstar = strcmp(c, "**") == 0;
		n += (size_t)snprintf(
		    out + n, size - n, "%s%s", i ? "/" : "", c);
	}
	if (rng() % 10 == 0 && out[n - 1] != '*')
		n += (size_t)snprintf(out + n, size - n, "/");
}

static void
random_path_text(char *out, size_t size)
{
	size_t n = 0;
	int k = (int)(rng() % 6), i;

	out[0] = '\0';
	for (i = 0; i < k; i++)
		n += (size_t)snprintf(
		    out + n, size - n, "%s%s", i ? "/" : "", PICK(path_atoms));
}

static const char *const host_pats[] = { "a.test", "b.a.test", "*.a.test",
	"*.test", "x.example", "*.b.a.test", "*", "192.0.2.1",
	"[2001:db8::1]" };
static const char *const req_hosts[] = { "a.test", "b.a.test", "c.b.a.test",
	"test", "x.example", "A.TEST.", "192.0.2.1", "192.0.2.9", "2001:db8::1",
	"::ffff:192.0.2.1", "10.0.0.1", "zz.test", "example" };
static const char *const cidr_pats[] = { "192.0.2.0/24", "10.0.0.0/8",
	"2001:db8::/32", "0.0.0.0/0" };

static char *
random_policy(void)
{
	static const char *const actions[] = { "allow", "hold", "deny" };
	static const char *const ops[] = { "read", "write", "create",
		"delete" };
	char *text = NULL, glob[128];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int i, j, n;

	fprintf(f, "version: 1\ndefaults: {fs: %s, net: %s}\nfs:\n",
	    PICK(actions), PICK(actions));
	for (i = 0; i < 30; i++) {
		fprintf(f, "  - paths: [");
		n = 1 + (int)(rng() % 3);
		for (j = 0; j < n; j++) {
			random_glob_text(glob, sizeof(glob));
			if (j == 0 && glob[0] == '!')
				memmove(glob, glob + 1, strlen(glob));
			fprintf(f, "%s\"%s\"", j ? ", " : "", glob);
		}
		fprintf(f, "]\n");
		if (rng() % 2)
			fprintf(f, "    ops: [%s, %s]\n", PICK(ops), PICK(ops));
		fprintf(f, "    action: %s\n", PICK(actions));
	}
	fprintf(f, "net:\n");
	for (i = 0; i < 20; i++) {
		fprintf(f, "  - action: %s\n", PICK(actions));
		if (rng() % 4 != 0)
			fprintf(f, "    hosts: [\"%s\", \"%s\"]\n",
			    PICK(host_pats), PICK(host_pats));
		if (rng() % 3 == 0)
			fprintf(f, "    cidrs: [\"%s\"]\n", PICK(cidr_pats));
		if (rng() % 3 == 0)
			fprintf(f, "    ports: [443]\n");
	}
	fclose(f);
	return text;
}

static void
test_index_equals_linear(void **state)
{
	struct policy_error err;
	struct policy_verdict v, u;
	char path[256], *text;
	int round, i, k, loaded = 0, fs_ruled = 0, net_ruled = 0;

	for (round = 0; round < 200; round++) {
		struct policy *pol;

		text = random_policy();
		pol = policy_load_buffer("r.yaml", text, strlen(text), &err);
		if (pol == NULL) {
			/* Random globs may be refused (a trailing "/" after a globstar). */
			free(text);
			continue;
		}
		loaded++;
		for (i = 0; i < 300; i++) {
			enum fs_op op = (enum fs_op)(1u << (rng() % 4));

			random_path_text(path, sizeof(path));
			policy_eval_fs(pol, op, path, strlen(path), &v);
			policy_eval_fs_linear(pol, op, path, strlen(path), &u);
			if (v.rule != u.rule)
				fail_msg("%s %s: index %s, linear %s\n%s",
				    policy_fs_op_name(op), path, v.rule, u.rule,
				    text);
			assert_verdict_equal(&u, &v);
			fs_ruled += v.rule_index >= 0;
		}
		for (i = 0; i < 13; i++) {
			for (k = 0; k < 2; k++) {
				struct net_request req = { req_hosts[i],
					(uint16_t)(k ? 443 : 80), NULL, NULL };

				policy_eval_net(pol, &req, &v);
				policy_eval_net_linear(pol, &req, &u);
				if (v.rule != u.rule)
					fail_msg("%s: index %s, linear %s\n%s",
					    req_hosts[i], v.rule, u.rule, text);
				assert_verdict_equal(&u, &v);
				net_ruled += v.rule_index >= 0;
			}
		}
		policy_free(pol);
		free(text);
	}
	assert_true(loaded > 150);
	/* Most requests are decided by a rule, not the default. */
	print_message("index vs linear: %d policies, %d/%d fs and %d/%d net "
	              "decisions by a rule\n",
	    loaded, fs_ruled, loaded * 300, net_ruled, loaded * 26);
	assert_true(fs_ruled > loaded * 100);
	assert_true(net_ruled > loaded * 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_http_rules),
		cmocka_unit_test(test_checks_reads),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_addr_http),
		cmocka_unit_test(test_cache_equality),
		cmocka_unit_test(test_index_equals_linear),
	};

	isolate_registries();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
