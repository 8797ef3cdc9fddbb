/*
 * Sentinels in streams and bodies (common/secret_scan.c): a sentinel cut
 * anywhere by the pieces a stream arrives in is still found, the body
 * rules (replace with body: true, keep for the secret's own host without
 * it, refuse elsewhere), and the set's checks against a policy.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "secret.h"

static const char yaml[] = "version: 1\n"
                           "secrets:\n"
                           "  - name: forge\n"
                           "    env: FORGE_TOKEN\n"
                           "    hosts: [api.forge.example.test]\n"
                           "  - name: pkgs\n"
                           "    env: PKGS_TOKEN\n"
                           "    hosts: [pkgs.example.test]\n"
                           "    body: true\n";

static struct policy *pol;
static struct secret_set set;
static const struct secret_value *forge, *pkgs;

static int
setup(void **state)
{
	struct policy_error err;

	pol = policy_load_buffer("s.yaml", yaml, sizeof(yaml) - 1, &err);
	if (pol == NULL)
		return -1;
	secret_set_init(&set);
	forge = secret_set_add(&set, 0, NULL, "FORGE-REAL", 10);
	pkgs = secret_set_add(&set, 1, NULL, "PKGS-REAL", 9);
	/* secret_set_add may move the array: take the entries again. */
	forge = &set.v[0];
	pkgs = &set.v[1];
	return forge != NULL && pkgs != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	secret_set_free(&set);
	policy_free(pol);
	return 0;
}

/* Feed text in pieces cut at a and b; returns the first refusal's
 * result (-1) or 0, with *who the refused entry. */
static int
feed3(const char *host, const char *text, size_t a, size_t b,
    const struct secret_value **who)
{
	struct secret_scan s;
	size_t len = strlen(text);
	size_t cuts[4] = { 0, a, b, len };
	int i;

	secret_scan_init(&s);
	*who = NULL;
	for (i = 0; i < 3; i++)
		if (secret_scan_feed(&s, &set, pol, host, text + cuts[i],
		        cuts[i + 1] - cuts[i], who) != 0)
			return -1;
	return 0;
}

static void
test_scan_every_cut(void **state)
{
	char text[256];
	const struct secret_value *who;
	size_t len, a, b;

	snprintf(
	    text, sizeof(text), "POST body: token=%s&next=1", forge->sentinel);
	len = strlen(text);
	for (a = 0; a <= len; a++)
		for (b = a; b <= len; b++) {
			assert_int_equal(
			    feed3("other.example.test", text, a, b, &who), -1);
			assert_ptr_equal(who, forge);
			assert_int_equal(
			    feed3("api.forge.example.test", text, a, b, &who),
			    0);
			assert_int_equal(feed3(NULL, text, a, b, &who), -1);
		}
}

static void
test_scan_byte_by_byte(void **state)
{
	char text[256];
	const struct secret_value *who = NULL;
	struct secret_scan s;
	size_t i, len;
	int rc = 0;

	snprintf(text, sizeof(text), "xx%syy", pkgs->sentinel);
	len = strlen(text);
	secret_scan_init(&s);
	for (i = 0; i < len && rc == 0; i++)
		rc = secret_scan_feed(
		    &s, &set, pol, "api.forge.example.test", text + i, 1, &who);
	assert_int_equal(rc, -1);
	/* Found with its last byte, not before. */
	assert_int_equal(i, len - 2);
	assert_ptr_equal(who, pkgs);
}

static void
test_scan_unknown_and_near_misses(void **state)
{
	static const char unknown[] =
	    "k=airlock-sentinel-0123456789abcdef0123456789abcdef";
	static const char near[] = "airlock-sentinel-0123456789ABCDEF01234567"
	                           "89abcdef airlock-sentinel-12 "
	                           "airlock-sentinel-";
	const struct secret_value *who;
	size_t len = strlen(near), a;

	/* A well-formed sentinel of no secret of this set: refused, NULL. */
	assert_int_equal(
	    feed3("api.forge.example.test", unknown, 10, 30, &who), -1);
	assert_null(who);
	/* Upper-case hex, too short, a bare prefix: no sentinel. */
	for (a = 0; a <= len; a++)
		assert_int_equal(feed3(NULL, near, a, a, &who), 0);
}

static void
test_scan_long_stream(void **state)
{
	static char big[200000];
	const struct secret_value *who;
	struct secret_scan s;
	size_t off;
	int rc = 0;

	memset(big, 'a', sizeof(big));
	memcpy(big + 123457, forge->sentinel, SECRET_SENTINEL_LEN);
	secret_scan_init(&s);
	/* 4 KiB pieces: the sentinel straddles 122880 + 4096. */
	for (off = 0; off < sizeof(big) && rc == 0; off += 4096)
		rc = secret_scan_feed(&s, &set, pol, "pkgs.example.test",
		    big + off,
		    sizeof(big) - off < 4096 ? sizeof(big) - off : 4096, &who);
	assert_int_equal(rc, -1);
	assert_ptr_equal(who, forge);
}

static void
test_replace_body(void **state)
{
	char in[256], want[256];
	const struct secret_value *who;
	struct buf out;

	/* body: true, to its host: replaced. */
	snprintf(in, sizeof(in), "a=%s&b=%s", pkgs->sentinel, pkgs->sentinel);
	buf_init(&out);
	assert_int_equal(secret_replace_body(&set, pol, "pkgs.example.test", in,
	                     strlen(in), &out, &who),
	    2);
	assert_int_equal(out.len, strlen("a=PKGS-REAL&b=PKGS-REAL"));
	assert_memory_equal(out.data, "a=PKGS-REAL&b=PKGS-REAL", out.len);
	buf_free(&out);
	/* Without body: true, to its own host: kept as it is. */
	snprintf(in, sizeof(in), "t=%s", forge->sentinel);
	buf_init(&out);
	assert_int_equal(
	    secret_replace_body(&set, pol, "api.forge.example.test", in,
	        strlen(in), &out, &who),
	    0);
	assert_int_equal(out.len, strlen(in));
	assert_memory_equal(out.data, in, out.len);
	buf_free(&out);
	/* Either, elsewhere: refused. */
	snprintf(in, sizeof(in), "t=%s", pkgs->sentinel);
	buf_init(&out);
	assert_int_equal(
	    secret_replace_body(&set, pol, "api.forge.example.test", in,
	        strlen(in), &out, &who),
	    -1);
	assert_ptr_equal(who, pkgs);
	buf_free(&out);
	/* No sentinel: the same bytes. */
	snprintf(want, sizeof(want), "plain body");
	buf_init(&out);
	assert_int_equal(secret_replace_body(
	                     &set, pol, NULL, want, strlen(want), &out, &who),
	    0);
	assert_memory_equal(out.data, want, strlen(want));
	buf_free(&out);
}

static void
test_set_checks(void **state)
{
	struct secret_set other;
	struct policy_error err;
	struct policy *one;
	static const char one_yaml[] = "version: 1\n"
	                               "secrets:\n"
	                               "  - name: forge\n"
	                               "    env: FORGE_TOKEN\n"
	                               "    hosts: [api.forge.example.test]\n";

	assert_true(
	    secret_set_host_any(&set, pol, "api.forge.example.test", 0));
	assert_false(
	    secret_set_host_any(&set, pol, "api.forge.example.test", 1));
	assert_true(secret_set_host_any(&set, pol, "pkgs.example.test", 1));
	assert_false(secret_set_host_any(&set, pol, "other.example.test", 0));
	assert_string_equal(secret_name(pol, forge), "forge");
	assert_string_equal(secret_name(pol, NULL), "?");
	assert_true(secret_set_fits(&set, pol));
	one = policy_load_buffer(
	    "one.yaml", one_yaml, sizeof(one_yaml) - 1, &err);
	assert_non_null(one);
	assert_false(secret_set_fits(&set, one));
	secret_set_init(&other);
	assert_true(secret_set_fits(&other, one));
	assert_non_null(secret_set_add(&other, 0, NULL, "x", 1));
	assert_true(secret_set_fits(&other, one));
	secret_set_free(&other);
	policy_free(one);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_every_cut),
		cmocka_unit_test(test_scan_byte_by_byte),
		cmocka_unit_test(test_scan_unknown_and_near_misses),
		cmocka_unit_test(test_scan_long_stream),
		cmocka_unit_test(test_replace_body),
		cmocka_unit_test(test_set_checks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
