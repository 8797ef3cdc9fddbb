/*
 * fuzz_tls_peek: libFuzzer target for proxy/tls_peek.c.  Every prefix of
 * an input that yields an answer must not contradict the whole: a prefix
 * may ask for more, but never names a different server.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/tls_peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sni[TLS_PEEK_MAX_SNI], sni2[TLS_PEEK_MAX_SNI];
	enum tls_peek_result r, r2;
	size_t half = size / 2;

	r = tls_peek_sni(data, size, sni, sizeof sni);
	if (r == TLS_PEEK_SNI &&
	    (strlen(sni) == 0 || strlen(sni) >= sizeof sni))
		abort();
	r2 = tls_peek_sni(data, half, sni2, sizeof sni2);
	if (r2 == TLS_PEEK_SNI && r == TLS_PEEK_SNI && strcmp(sni, sni2) != 0)
		abort();
	return 0;
}
