/*
 * Sentinels in streams and bodies (common/secret_scan.c): a sentinel cut
 * anywhere by the pieces a stream arrives in is still found, the body
 * rules (replace with body: true, keep for the secret's own host without
 * it, refuse elsewhere), the set's checks against a policy, and the
 * response redactor: a value cut anywhere by the pieces a response
 * arrives in is still overwritten whole, in place, same length.
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

/* What a value of len bytes is overwritten with. */
static void
redaction(char *out, size_t len)
{
	static const char mark[] = SECRET_REDACTION;
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = i < sizeof mark - 1 ? mark[i] : 'x';
}

/*
 * Pass text through r as airlock-proxy does: in pieces ending at cuts[],
 * each put behind what the last call held back, the clean bytes passed
 * on.  out gets what the client would see; returns how many bytes.
 */
static size_t
redact_stream(struct secret_redact *r, const char *text, size_t len,
    const size_t *cuts, size_t n_cuts, char *out)
{
	char hold[1024];
	size_t held = 0, at = 0, o = 0, i, end, clean;

	for (i = 0; i <= n_cuts; i++) {
		end = i < n_cuts ? cuts[i] : len;
		assert_true(held + end - at <= sizeof hold);
		memcpy(hold + held, text + at, end - at);
		held += end - at;
		at = end;
		clean = secret_redact_buf(r, hold, held, i == n_cuts);
		/* Bounded: never more than the longest value - 1 held. */
		assert_true(held - clean < r->max_len);
		memcpy(out + o, hold, clean);
		o += clean;
		memmove(hold, hold + clean, held - clean);
		held -= clean;
	}
	assert_int_equal(held, 0);
	return o;
}

static void
redact_setup(struct secret_redact *r)
{
	secret_redact_init(r);
	assert_int_equal(
	    secret_redact_add(r, forge, forge->value, forge->value_len, 0), 0);
	assert_int_equal(
	    secret_redact_add(r, pkgs, pkgs->value, pkgs->value_len, 0), 0);
}

/* Both values, twice and back to back, cut at every position and at
 * every pair of positions: always overwritten whole, nothing else moved. */
static void
test_redact_every_cut(void **state)
{
	static const char text[] =
	    "GET /x?k=FORGE-REAL HTTP/1.1\r\n"
	    "X: PKGS-REALFORGE-REAL\r\n\r\nbody PKGS-REAL.";
	size_t len = sizeof text - 1, cuts[2], i, j, n;
	char want[sizeof text], got[sizeof text];
	struct secret_redact r;
	const char *p;

	(void)state;
	memcpy(want, text, len);
	for (p = text; (p = strstr(p, "FORGE-REAL")) != NULL; p++)
		redaction(want + (p - text), 10);
	for (p = text; (p = strstr(p, "PKGS-REAL")) != NULL; p++)
		redaction(want + (p - text), 9);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			char copy[sizeof text];

			memcpy(copy, text, len);
			redact_setup(&r);
			cuts[0] = i;
			cuts[1] = j;
			n = redact_stream(&r, copy, len, cuts, 2, got);
			assert_int_equal(n, len);
			assert_memory_equal(got, want, len);
			assert_int_equal(r.hits, 3);
			secret_redact_reset(&r);
		}
	}
}

/* Byte by byte, as a chunked body of one-byte chunks would come. */
static void
test_redact_byte_by_byte(void **state)
{
	static const char text[] = "aFORGE-REALbPKGS-REALcFORGE-REA";
	size_t len = sizeof text - 1, cuts[sizeof text], i;
	char got[sizeof text];
	struct secret_redact r;

	(void)state;
	for (i = 0; i < len; i++)
		cuts[i] = i;
	redact_setup(&r);
	assert_int_equal(redact_stream(&r, text, len, cuts, len, got), len);
	assert_memory_equal(got,
	    "a[airlock:rb[airlock:c"
	    "FORGE-REA",
	    len);
	secret_redact_reset(&r);
}

/* Values that overlap, or one inside another, are both overwritten
 * whole; a value longer than the marker is padded with 'x'. */
static void
test_redact_overlaps(void **state)
{
	static const char long_value[] = "0123456789abcdefghijklmnopqrstuv";
	struct secret_redact r;
	char buf[128];
	size_t n;

	(void)state;
	secret_redact_init(&r);
	assert_int_equal(secret_redact_add(&r, forge, "abcdef", 6, 0), 0);
	assert_int_equal(secret_redact_add(&r, pkgs, "defghi", 6, 0), 0);
	strcpy(buf, "--abcdefghi--defghi--");
	n = strlen(buf);
	assert_int_equal(secret_redact_buf(&r, buf, n, 1), n);
	assert_string_equal(buf, "--[airlock:--[airlo--");
	secret_redact_reset(&r);

	secret_redact_init(&r);
	assert_int_equal(secret_redact_add(&r, forge, "VALUE", 5, 0), 0);
	assert_int_equal(secret_redact_add(&r, pkgs, "SECRETVALUE", 11, 0), 0);
	strcpy(buf, "a VALUE b SECRETVALUE c");
	n = strlen(buf);
	assert_int_equal(secret_redact_buf(&r, buf, n, 1), n);
	assert_string_equal(buf, "a [airl b [airlock:re c");
	assert_int_equal(r.hits, 3);
	secret_redact_reset(&r);

	secret_redact_init(&r);
	assert_int_equal(
	    secret_redact_add(&r, forge, long_value, sizeof long_value - 1, 0),
	    0);
	snprintf(buf, sizeof buf, "<%s>", long_value);
	n = strlen(buf);
	/* Not final: the last 31 bytes may begin a value; held back. */
	assert_int_equal(secret_redact_buf(&r, buf, n, 0), n - 31);
	assert_string_equal(buf, "<[airlock:redacted]xxxxxxxxxxxxxx>");
	assert_int_equal(secret_redact_buf(&r, buf, 10, 0), 0);
	secret_redact_reset(&r);
}

/* The table: a pattern once, a bounded number, owned copies freed (ASan
 * sees a leak otherwise), nothing noted finds nothing. */
static void
test_redact_table(void **state)
{
	struct secret_redact r;
	char src[8], buf[32];
	size_t i;

	(void)state;
	secret_redact_init(&r);
	strcpy(buf, "FORGE-REAL");
	assert_int_equal(secret_redact_buf(&r, buf, 10, 0), 10);
	assert_string_equal(buf, "FORGE-REAL");
	assert_int_equal(secret_redact_add(&r, forge, "", 0, 0), 0);
	assert_int_equal(r.n, 0);
	strcpy(src, "tok-1");
	assert_int_equal(secret_redact_add(&r, forge, src, 5, 1), 0);
	assert_int_equal(secret_redact_add(&r, forge, "tok-1", 5, 1), 0);
	assert_int_equal(r.n, 1);
	src[0] = 'X'; /* the copy is the table's own */
	strcpy(buf, "a tok-1 b");
	assert_int_equal(secret_redact_buf(&r, buf, 9, 1), 9);
	assert_string_equal(buf, "a [airl b");
	for (i = 1; i < SECRET_REDACT_MAX; i++) {
		snprintf(src, sizeof src, "v%zu", i);
		assert_int_equal(
		    secret_redact_add(&r, pkgs, src, strlen(src), 1), 0);
	}
	assert_int_equal(secret_redact_add(&r, pkgs, "one-more", 8, 1), -1);
	secret_redact_reset(&r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.max_len, 0);
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
		cmocka_unit_test(test_redact_every_cut),
		cmocka_unit_test(test_redact_byte_by_byte),
		cmocka_unit_test(test_redact_overlaps),
		cmocka_unit_test(test_redact_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
