/*
 * tls_peek: find the server name (SNI) in a TLS ClientHello without
 * terminating TLS.  Pure and allocation-free over the bytes a client sent
 * first in a CONNECT tunnel, so it can be fuzzed on its own
 * (tests/fuzz/fuzz_tls_peek.c).
 *
 * The ClientHello may span several handshake records; up to
 * TLS_PEEK_MAX_HELLO bytes of it are reassembled.
 */
#ifndef AIRLOCK_PROXY_TLS_PEEK_H
#define AIRLOCK_PROXY_TLS_PEEK_H

#include <stddef.h>
#include <stdint.h>

#define TLS_PEEK_MAX_HELLO 16384
#define TLS_PEEK_MAX_SNI 256

enum tls_peek_result {
	TLS_PEEK_MORE, /* a ClientHello so far: need more bytes */
	TLS_PEEK_NOT_TLS, /* the first bytes are not a TLS handshake record */
	TLS_PEEK_BAD, /* a TLS handshake, but not a well-formed ClientHello */
	TLS_PEEK_NO_SNI, /* a ClientHello without a server_name */
	TLS_PEEK_SNI, /* a ClientHello naming sni (lower-cased, no trailing dot) */
};

/*
 * Look at the first len bytes a client sent.  On TLS_PEEK_SNI the name is
 * copied NUL-terminated into sni (at least TLS_PEEK_MAX_SNI bytes).
 */
enum tls_peek_result tls_peek_sni(
    const uint8_t *buf, size_t len, char *sni, size_t sni_size);

const char *tls_peek_result_name(enum tls_peek_result r);

#endif
