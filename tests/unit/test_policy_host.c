/*
 * Host patterns, IP literals and CIDRs (common/policy_match.c), and how
 * policy_eval_net() uses them: case, trailing dot, IDN left as is,
 * `*.example.com` not matching example.com, IPv6 literals with and without
 * brackets, loose IPv4 forms, ports.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_testenv.h"
#include "policy_arena.h"
#include "policy_match.h"

static int
hm(const char *pattern, const char *host)
{
	struct policy_arena arena;
	struct host_pat h;
	char why[256], name[256];
	int n, rc;

	policy_arena_init(&arena);
	if (host_compile(&h, pattern, &arena, why, sizeof(why)) != 0)
		fail_msg("host pattern '%s' refused: %s", pattern, why);
	n = host_normalize(host, name, sizeof(name));
	assert_true(n > 0);
	rc = host_match(&h, name, (size_t)n);
	policy_arena_free(&arena);
	return rc;
}

static const char *
herr(const char *pattern)
{
	static char why[256];
	struct policy_arena arena;
	struct host_pat h;
	int rc;

	policy_arena_init(&arena);
	rc = host_compile(&h, pattern, &arena, why, sizeof(why));
	policy_arena_free(&arena);
	return rc == 0 ? NULL : why;
}

static void
test_exact_and_case(void **state)
{
	assert_true(hm("example.com", "example.com"));
	assert_true(hm("example.com", "EXAMPLE.Com"));
	assert_true(hm("Example.COM", "example.com"));
	assert_false(hm("example.com", "example.co"));
	assert_false(hm("example.com", "www.example.com"));
	assert_false(hm("example.com", "example.com.evil.test"));
}

static void
test_trailing_dot(void **state)
{
	assert_true(hm("example.com", "example.com."));
	assert_true(hm("example.com.", "example.com"));
	assert_true(hm("*.example.com", "a.example.com."));
}

/* `*.example.com` is strictly below example.com: the apex is not a
 * subdomain of itself and is listed on its own when wanted. */
static void
test_wildcard(void **state)
{
	assert_true(hm("*.example.com", "a.example.com"));
	assert_true(hm("*.example.com", "a.b.example.com"));
	assert_false(hm("*.example.com", "example.com"));
	assert_false(hm("*.example.com", "badexample.com"));
	assert_false(hm("*.example.com", "a.example.com.evil.test"));
	assert_true(hm("*", "anything.test"));
	assert_true(hm("*", "::1"));
}

/* IDN: compared bytewise, as sent.  A punycode label matches only its
 * punycode spelling (in any ASCII case), a UTF-8 label only its bytes. */
static void
test_idn(void **state)
{
	assert_true(hm("xn--bcher-kva.example", "xn--bcher-kva.example"));
	assert_true(hm("xn--bcher-kva.example", "XN--BCHER-KVA.example"));
	assert_true(hm("b\xc3\xbc"
	               "cher.example",
	    "b\xc3\xbc"
	    "cher.example"));
	assert_false(hm("b\xc3\xbc"
	                "cher.example",
	    "xn--bcher-kva.example"));
	assert_false(hm("xn--bcher-kva.example",
	    "b\xc3\xbc"
	    "cher.example"));
	/* Non-ASCII bytes are not case-folded. */
	assert_false(hm("b\xc3\xbc"
	                "cher.example",
	    "b\xc3\x9c"
	    "cher.example"));
}

static void
test_refused(void **state)
{
	assert_non_null(strstr(herr("a*.example.com"), "first label"));
	assert_non_null(strstr(herr("a.*.example.com"), "first label"));
	assert_non_null(strstr(herr("*example.com"), "first label"));
	assert_non_null(strstr(herr("example.com:443"), "ports"));
	assert_non_null(strstr(herr("10.0.0.0/8"), "cidrs"));
	assert_non_null(strstr(herr("a..b"), "empty"));
	assert_non_null(herr(""));
	assert_non_null(herr("exa mple.com"));
	assert_null(herr("under_score.example"));
}

static int
ipl(const char *text, const char *want)
{
	uint8_t addr[16], expect[16];
	int fam = ip_parse_literal(text, addr), want_fam;

	if (want == NULL)
		return fam == 0;
	want_fam = strchr(want, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(want_fam, want, expect), 1);
	return fam == want_fam &&
	    memcmp(addr, expect, want_fam == AF_INET ? 4 : 16) == 0;
}

static void
test_ip_literals(void **state)
{
	assert_true(ipl("127.0.0.1", "127.0.0.1"));
	assert_true(ipl("::1", "::1"));
	assert_true(ipl("[::1]", "::1"));
	assert_true(ipl("[2001:db8::1]", "2001:db8::1"));
	assert_true(ipl("fe80::1%eth0", "fe80::1"));
	assert_true(ipl("::ffff:10.1.2.3", "::ffff:10.1.2.3"));
	/* What resolvers take as addresses is an address here too. */
	assert_true(ipl("127.1", "127.0.0.1"));
	assert_true(ipl("2130706433", "127.0.0.1"));
	assert_true(ipl("0x7f.0.0.1", "127.0.0.1"));
	assert_true(ipl("example.com", NULL));
	assert_true(ipl("1.2.3.4.example.com", NULL));
	assert_true(ipl("[example.com]", NULL));
	assert_true(ipl("", NULL));
}

static int
cm(const char *cidr, const char *addr_text)
{
	struct cidr c;
	uint8_t addr[16];
	char why[256];
	int fam = strchr(addr_text, ':') != NULL ? AF_INET6 : AF_INET;

	if (cidr_parse(&c, cidr, why, sizeof(why)) != 0)
		fail_msg("cidr '%s' refused: %s", cidr, why);
	assert_int_equal(inet_pton(fam, addr_text, addr), 1);
	return cidr_match(&c, fam, addr);
}

static const char *
cerr(const char *cidr)
{
	static char why[256];
	struct cidr c;

	return cidr_parse(&c, cidr, why, sizeof(why)) == 0 ? NULL : why;
}

static void
test_cidrs(void **state)
{
	assert_true(cm("10.0.0.0/8", "10.1.2.3"));
	assert_false(cm("10.0.0.0/8", "11.0.0.1"));
	assert_true(cm("172.16.0.0/12", "172.31.255.255"));
	assert_false(cm("172.16.0.0/12", "172.32.0.0"));
	assert_true(cm("0.0.0.0/0", "8.8.4.4"));
	assert_true(cm("192.0.2.7", "192.0.2.7"));
	assert_false(cm("192.0.2.7", "192.0.2.8"));
	assert_true(cm("fc00::/7", "fd12:3456::1"));
	assert_false(cm("fc00::/7", "fe80::1"));
	assert_true(cm("::1/128", "::1"));
	/* IPv4-mapped IPv6 is the IPv4 address. */
	assert_true(cm("10.0.0.0/8", "::ffff:10.9.9.9"));
	assert_false(cm("10.0.0.0/8", "::ffff:11.9.9.9"));
	assert_true(cm("::ffff:0:0/96", "127.0.0.1"));
	assert_false(cm("fc00::/7", "10.0.0.1"));

	assert_non_null(strstr(cerr("10.1.0.0/8"), "bits set"));
	assert_non_null(strstr(cerr("10.0.0.0/33"), "0..32"));
	assert_non_null(strstr(cerr("::/129"), "0..128"));
	assert_non_null(strstr(cerr("300.1.1.1/8"), "not an IPv4"));
	assert_non_null(strstr(cerr("10.0.0.0/"), "number"));
	assert_non_null(strstr(cerr("10.0.0.0/8x"), "0..32"));
	assert_non_null(cerr("/8"));
	assert_non_null(cerr("example.com/8"));
	assert_non_null(cerr("127.1/8")); /* config text is strict */
}

static const char net_policy[] =
    "version: 1\n"
    "defaults: {net: hold}\n"
    "net:\n"
    "  - hosts: [\"*.example.test\"]\n" /* line 4 */
    "    ports: [443]\n"
    "    action: allow\n"
    "  - hosts: [\"example.test\", \"[2001:db8::5]\", 192.0.2.5]\n" /* 7 */
    "    ports: [443, \"8000-8099\"]\n"
    "    action: allow\n"
    "  - cidrs: [198.51.100.0/24]\n" /* line 10 */
    "    action: deny\n";

static const char *
net_rule(const struct policy *pol, const char *host, uint16_t port)
{
	struct net_request req = { host, port, NULL, NULL };
	static struct policy_verdict v;

	policy_eval_net(pol, &req, &v);
	return v.rule;
}

static void
test_eval_hosts_and_ports(void **state)
{
	struct policy_error err;
	struct policy *pol = policy_load_buffer(
	    "n.yaml", net_policy, sizeof(net_policy) - 1, &err);

	assert_non_null(pol);
	assert_string_equal(net_rule(pol, "a.example.test", 443), "n.yaml:4");
	assert_string_equal(net_rule(pol, "A.Example.Test.", 443), "n.yaml:4");
	assert_string_equal(
	    net_rule(pol, "a.example.test", 80), "n.yaml:defaults.net");
	assert_string_equal(net_rule(pol, "example.test", 443), "n.yaml:7");
	assert_string_equal(net_rule(pol, "example.test", 8050), "n.yaml:7");
	assert_string_equal(
	    net_rule(pol, "example.test", 8100), "n.yaml:defaults.net");
	/* IPv6 literal with and without brackets, IPv4 literal hosts. */
	assert_string_equal(net_rule(pol, "[2001:db8::5]", 443), "n.yaml:7");
	assert_string_equal(net_rule(pol, "2001:db8::5", 443), "n.yaml:7");
	assert_string_equal(net_rule(pol, "2001:DB8:0::5", 443), "n.yaml:7");
	assert_string_equal(net_rule(pol, "192.0.2.5", 443), "n.yaml:7");
	assert_string_equal(net_rule(pol, "::ffff:192.0.2.5", 443), "n.yaml:7");
	/* An IP-literal host is checked against the CIDRs. */
	assert_string_equal(net_rule(pol, "198.51.100.20", 443), "n.yaml:10");
	assert_string_equal(
	    net_rule(pol, "[::ffff:198.51.100.20]", 1), "n.yaml:10");
	/* A name that merely looks numeric-ish is a name. */
	assert_string_equal(
	    net_rule(pol, "198.51.100.20.example.test", 443), "n.yaml:4");
	/* Over-long names are refused, not matched loosely. */
	{
		char longname[400];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_string_equal(
		    net_rule(pol, longname, 443), "builtin:bad-request");
		assert_string_equal(
		    net_rule(pol, "", 443), "builtin:bad-request");
	}
	policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_case),
		cmocka_unit_test(test_trailing_dot),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_idn),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ip_literals),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_eval_hosts_and_ports),
	};

	isolate_registries();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
