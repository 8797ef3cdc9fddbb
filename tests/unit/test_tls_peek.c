/*
 * test_tls_peek: SNI from real ClientHellos that OpenSSL writes into a
 * memory BIO, whole, in pieces, across records, and broken
 * (proxy/tls_peek.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "proxy/tls_peek.h"

/* The first flight of an OpenSSL client; sni NULL sends none. */
static size_t
make_hello(const char *sni, uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	BIO *rb, *wb;
	int n;

	assert_non_null(ctx);
	ssl = SSL_new(ctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	SSL_set_connect_state(ssl);
	assert_int_equal(SSL_do_handshake(ssl), -1); /* wants to read */
	n = BIO_read(wb, out, (int)cap);
	assert_true(n > 0);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

static void
test_sni(void **state)
{
	uint8_t hello[4096];
	char sni[TLS_PEEK_MAX_SNI];
	size_t n = make_hello("Example.COM", hello, sizeof hello), i;

	assert_int_equal(tls_peek_sni(hello, n, sni, sizeof sni), TLS_PEEK_SNI);
	assert_string_equal(sni, "example.com");
	/* Every prefix asks for more. */
	for (i = 0; i < n; i++)
		assert_int_equal(
		    tls_peek_sni(hello, i, sni, sizeof sni), TLS_PEEK_MORE);
}

static void
test_no_sni(void **state)
{
	uint8_t hello[4096];
	char sni[TLS_PEEK_MAX_SNI];
	size_t n = make_hello(NULL, hello, sizeof hello);

	assert_int_equal(
	    tls_peek_sni(hello, n, sni, sizeof sni), TLS_PEEK_NO_SNI);
}

/* Split the handshake message over two records: the peek reassembles. */
static void
test_two_records(void **state)
{
	uint8_t hello[4096], split[4200];
	char sni[TLS_PEEK_MAX_SNI];
	size_t n = make_hello("split.example", hello, sizeof hello);
	size_t body = n - 5, first = 40, m = 0;

	memcpy(split, hello, 3);
	split[3] = (uint8_t)(first >> 8);
	split[4] = (uint8_t)first;
	memcpy(split + 5, hello + 5, first);
	m = 5 + first;
	memcpy(split + m, hello, 3);
	split[m + 3] = (uint8_t)((body - first) >> 8);
	split[m + 4] = (uint8_t)(body - first);
	memcpy(split + m + 5, hello + 5 + first, body - first);
	m += 5 + body - first;
	assert_int_equal(tls_peek_sni(split, m, sni, sizeof sni), TLS_PEEK_SNI);
	assert_string_equal(sni, "split.example");
	assert_int_equal(
	    tls_peek_sni(split, 5 + first + 3, sni, sizeof sni), TLS_PEEK_MORE);
}

static void
test_not_tls(void **state)
{
	char sni[TLS_PEEK_MAX_SNI];
	const char *ssh = "SSH-2.0-OpenSSH_9.2\r\n";
	const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

	assert_int_equal(
	    tls_peek_sni((const uint8_t *)ssh, strlen(ssh), sni, sizeof sni),
	    TLS_PEEK_NOT_TLS);
	assert_int_equal(tls_peek_sni((const uint8_t *)"GET / HTTP/1.1", 14,
	                     sni, sizeof sni),
	    TLS_PEEK_NOT_TLS);
	assert_int_equal(tls_peek_sni(alert, sizeof alert, sni, sizeof sni),
	    TLS_PEEK_NOT_TLS);
	assert_int_equal(tls_peek_sni(NULL, 0, sni, sizeof sni), TLS_PEEK_MORE);
}

static void
test_malformed(void **state)
{
	uint8_t hello[4096], bad[4096];
	char sni[TLS_PEEK_MAX_SNI];
	size_t n = make_hello("example.com", hello, sizeof hello), i;
	enum tls_peek_result r;

	/* Not a ClientHello (ServerHello type). */
	memcpy(bad, hello, n);
	bad[5] = 2;
	assert_int_equal(tls_peek_sni(bad, n, sni, sizeof sni), TLS_PEEK_BAD);
	/* Flip each byte in turn: never a crash, never a wrong name that
	 * still claims to be example.com unless the name bytes were
	 * untouched. */
	for (i = 0; i < n; i++) {
		memcpy(bad, hello, n);
		bad[i] ^= 0xff;
		r = tls_peek_sni(bad, n, sni, sizeof sni);
		assert_true(r <= TLS_PEEK_SNI);
	}
	/* A name with a byte no host name has. */
	memcpy(bad, hello, n);
	for (i = 0; i + 11 <= n; i++)
		if (memcmp(bad + i, "example.com", 11) == 0)
			bad[i + 3] = '/';
	assert_int_equal(tls_peek_sni(bad, n, sni, sizeof sni), TLS_PEEK_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_two_records),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
