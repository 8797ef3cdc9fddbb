/*
 * Sentinels (common/secret.c): their form, the value inside a file and its
 * masked copy, the set's encoding for the pipe to airlock-proxy, and the
 * replacement that puts a real value back only for the hosts that may
 * receive it.
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
#include <openssl/evp.h>

#include "policy.h"
#include "secret.h"

static const char yaml[] = "version: 1\n"
                           "secrets:\n"
                           "  - name: forge\n"
                           "    env: FORGE_TOKEN\n"
                           "    hosts: [api.forge.example.test]\n"
                           "  - name: pkgs\n"
                           "    file: ~/.pkgrc\n"
                           "    match: 'token=([^[:space:]]+)'\n"
                           "    hosts: [pkgs.example.test]\n";

static struct policy *pol;

static int
setup(void **state)
{
	struct policy_error err;

	pol = policy_load_buffer("s.yaml", yaml, sizeof(yaml) - 1, &err);
	return pol != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	policy_free(pol);
	return 0;
}

static void
test_sentinel_form(void **state)
{
	char a[SECRET_SENTINEL_LEN + 1], b[SECRET_SENTINEL_LEN + 1];
	char bad[SECRET_SENTINEL_LEN + 1];

	assert_int_equal(secret_sentinel_make(a), 0);
	assert_int_equal(secret_sentinel_make(b), 0);
	assert_int_equal(strlen(a), SECRET_SENTINEL_LEN);
	assert_memory_equal(a, "airlock-sentinel-", 17);
	assert_string_not_equal(a, b);
	assert_true(secret_sentinel_at(a, strlen(a), 0));
	assert_false(secret_sentinel_at(a, strlen(a) - 1, 0));
	memcpy(bad, a, sizeof(bad));
	bad[20] = 'G';
	assert_false(secret_sentinel_at(bad, strlen(bad), 0));
	assert_true(secret_any_sentinel(a, strlen(a)));
	assert_false(secret_any_sentinel("airlock-sentinel-xyz", 20));
}

static void
test_extract_and_mask(void **state)
{
	static const char rc[] = "registry=https://pkgs.example.test/\n"
	                         "token=s3cr3t-value\nother=1\n";
	size_t off, vlen, mlen;
	char *masked;

	assert_int_equal(secret_extract(rc, sizeof(rc) - 1,
	                     "token=([^[:space:]]+)", &off, &vlen),
	    0);
	assert_int_equal(vlen, strlen("s3cr3t-value"));
	assert_memory_equal(rc + off, "s3cr3t-value", vlen);
	masked = secret_mask(rc, sizeof(rc) - 1, off, vlen,
	    "airlock-sentinel-00112233445566778899aabbccddeeff", &mlen);
	assert_string_equal(masked,
	    "registry=https://pkgs.example.test/\n"
	    "token=airlock-sentinel-00112233445566778899aabbccddeeff\n"
	    "other=1\n");
	assert_int_equal(mlen, strlen(masked));
	free(masked);

	/* No match, an empty group, a whole file, a NUL byte. */
	assert_int_equal(
	    secret_extract(rc, sizeof(rc) - 1, "password=(.*)", &off, &vlen),
	    -1);
	assert_int_equal(
	    secret_extract("token=\n", 7, "token=([^\n]*)", &off, &vlen), -1);
	assert_int_equal(secret_extract("abc \n\n", 6, NULL, &off, &vlen), 0);
	assert_int_equal(off, 0);
	assert_int_equal(vlen, 3);
	assert_int_equal(secret_extract("a\0b", 3, NULL, &off, &vlen), -1);
	assert_int_equal(secret_extract(" \n", 2, NULL, &off, &vlen), -1);
}

static void
test_encode_decode(void **state)
{
	struct secret_set set, back;
	struct buf b;
	char why[128];

	secret_set_init(&set);
	secret_set_init(&back);
	assert_non_null(secret_set_add(&set, 0, NULL, "tok\n en", 7));
	assert_non_null(secret_set_add(&set, 1, NULL, "\x01\xff", 2));
	assert_null(secret_set_add(&set, 1, "not-a-sentinel", "x", 1));
	buf_init(&b);
	secret_set_encode(&set, &b);
	assert_int_equal(
	    secret_set_decode(&back, b.data, b.len, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[0].sentinel, set.v[0].sentinel);
	assert_int_equal(back.v[0].value_len, 7);
	assert_memory_equal(back.v[0].value, "tok\n en", 7);
	assert_int_equal(back.v[1].index, 1);
	assert_memory_equal(back.v[1].value, "\x01\xff", 2);
	secret_set_free(&back);

	/* Any malformed line empties the set: fail closed. */
	b.data[b.len - 2] = 'z';
	assert_int_equal(
	    secret_set_decode(&back, b.data, b.len, why, sizeof(why)), -1);
	assert_int_equal(back.n, 0);
	assert_non_null(strstr(why, "line 2"));
	assert_int_equal(
	    secret_set_decode(&back, "0 x 41\n", 7, why, sizeof(why)), -1);
	assert_int_equal(
	    secret_set_decode(&back, b.data, b.len - 1, why, sizeof(why)), -1);
	assert_int_equal(secret_set_decode(&back, "", 0, why, sizeof(why)), 0);
	buf_free(&b);
	secret_set_free(&set);
}

static void
test_replace(void **state)
{
	const struct secret_value *refused, *forge, *pkgs;
	struct secret_set set;
	char in[256], other[SECRET_SENTINEL_LEN + 1];
	struct buf out;

	secret_set_init(&set);
	forge = secret_set_add(&set, 0, NULL, "REAL-FORGE", 10);
	assert_non_null(forge);
	pkgs = secret_set_add(&set, 1, NULL, "REAL-PKGS", 9);
	assert_non_null(pkgs);
	forge = &set.v[0];
	pkgs = &set.v[1];

	/* Put back for the host that may have it, every occurrence. */
	snprintf(in, sizeof(in), "/repos?t=%s&u=%s", forge->sentinel,
	    forge->sentinel);
	buf_init(&out);
	assert_int_equal(secret_replace(&set, pol, "API.forge.example.test", in,
	                     strlen(in), &out, &refused),
	    2);
	assert_int_equal(out.len, strlen("/repos?t=REAL-FORGE&u=REAL-FORGE"));
	assert_memory_equal(
	    out.data, "/repos?t=REAL-FORGE&u=REAL-FORGE", out.len);
	buf_free(&out);

	/* Refused for any other host, and with no host at all. */
	buf_init(&out);
	assert_int_equal(secret_replace(&set, pol, "pkgs.example.test", in,
	                     strlen(in), &out, &refused),
	    -1);
	assert_ptr_equal(refused, forge);
	buf_free(&out);
	buf_init(&out);
	assert_int_equal(
	    secret_replace(&set, pol, NULL, in, strlen(in), &out, &refused),
	    -1);
	buf_free(&out);

	/* A sentinel not in this set (another session's) is refused too. */
	assert_int_equal(secret_sentinel_make(other), 0);
	buf_init(&out);
	assert_int_equal(secret_replace(&set, pol, "api.forge.example.test",
	                     other, strlen(other), &out, &refused),
	    -1);
	assert_null(refused);
	buf_free(&out);

	/* Text without sentinels passes unchanged. */
	buf_init(&out);
	assert_int_equal(
	    secret_replace(&set, pol, NULL, "plain", 5, &out, &refused), 0);
	assert_memory_equal(out.data, "plain", 5);
	buf_free(&out);
	(void)pkgs;
	secret_set_free(&set);
}

/* git sends a token as Basic base64("user:token"). */
static void
test_replace_basic(void **state)
{
	const struct secret_value *refused;
	unsigned char enc[256], dec[256];
	struct secret_set set;
	char plain[128], hdr[300];
	struct buf out;
	int n;

	secret_set_init(&set);
	assert_non_null(secret_set_add(&set, 0, NULL, "REAL-FORGE", 10));
	snprintf(plain, sizeof(plain), "x-access-token:%s", set.v[0].sentinel);
	n = EVP_EncodeBlock(enc, (unsigned char *)plain, (int)strlen(plain));
	snprintf(hdr, sizeof(hdr), "Basic %.*s", n, enc);

	buf_init(&out);
	assert_int_equal(
	    secret_replace_header(&set, pol, "api.forge.example.test", hdr,
	        strlen(hdr), &out, &refused),
	    1);
	assert_memory_equal(out.data, "Basic ", 6);
	n = EVP_DecodeBlock(
	    dec, (unsigned char *)out.data + 6, (int)out.len - 6);
	assert_true(n >= (int)strlen("x-access-token:REAL-FORGE"));
	assert_memory_equal(dec, "x-access-token:REAL-FORGE",
	    strlen("x-access-token:REAL-FORGE"));
	buf_free(&out);

	/* Hidden in base64 on its way elsewhere: still refused. */
	buf_init(&out);
	assert_int_equal(secret_replace_header(&set, pol, "pkgs.example.test",
	                     hdr, strlen(hdr), &out, &refused),
	    -1);
	assert_ptr_equal(refused, &set.v[0]);
	buf_free(&out);

	/* A Basic credential without a sentinel is left as it was. */
	buf_init(&out);
	assert_int_equal(secret_replace_header(&set, pol, "pkgs.example.test",
	                     "Basic dXNlcjpwYXNz", 18, &out, &refused),
	    0);
	assert_int_equal(out.len, 18);
	assert_memory_equal(out.data, "Basic dXNlcjpwYXNz", 18);
	buf_free(&out);
	secret_set_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentinel_form),
		cmocka_unit_test(test_extract_and_mask),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_replace_basic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
