/*
 * http_parse: a pure, allocation-free parser for HTTP/1.x message heads
 * over a byte buffer, plus the framing helpers a forwarding proxy needs
 * (which body follows a head, where a chunked body ends) and the URL and
 * authority forms a proxy request carries.
 *
 * Nothing here allocates, blocks or keeps state outside the structs the
 * caller passes in, so every function can be fuzzed on its own
 * (tests/fuzz/fuzz_http_parse.c).  Parsed fields are slices that point
 * into the caller's buffer: they live as long as it does.
 *
 * The parser is strict where leniency lets a request mean two things to
 * two parsers (request smuggling): no whitespace before a colon, no line
 * folding, no bare CR, no NUL, no control bytes in values, one version
 * (HTTP/1.0 or HTTP/1.1), and a request with both Content-Length and
 * Transfer-Encoding is refused.
 */
#ifndef AIRLOCK_PROXY_HTTP_PARSE_H
#define AIRLOCK_PROXY_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Request line and headers together may take at most this many bytes. */
#define HTTP_MAX_HEAD (64 * 1024)
#define HTTP_MAX_HEADERS 128

/* Results of the head parsers (a positive value is the head's length). */
#define HTTP_PARSE_INCOMPLETE 0
#define HTTP_PARSE_BAD (-1) /* malformed: answer 400 */
#define HTTP_PARSE_TOO_LARGE                                                   \
	(-2) /* over HTTP_MAX_HEAD or HTTP_MAX_HEADERS: 431 */

struct http_header {
	const char *name;
	size_t name_len;
	const char *value; /* without leading and trailing whitespace */
	size_t value_len;
};

struct http_request {
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int version_minor; /* 0 or 1: HTTP/1.0 or HTTP/1.1 */
	size_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
};

struct http_response {
	int version_minor;
	int status; /* 100..999 */
	const char *reason;
	size_t reason_len;
	size_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
};

/*
 * Parse a request head at the start of buf.  Returns the length of the
 * head (through its empty line) when complete, HTTP_PARSE_INCOMPLETE when
 * more bytes are needed, HTTP_PARSE_BAD or HTTP_PARSE_TOO_LARGE.  Empty
 * lines before the request line are skipped (RFC 9112, 2.2).
 */
ssize_t http_parse_request(
    const char *buf, size_t len, struct http_request *req);

/* The same for a response head (status line and headers). */
ssize_t http_parse_response(
    const char *buf, size_t len, struct http_response *resp);

/* Index of the first header named name (case-insensitive) at or after
 * from, or -1. */
int http_header_find(
    const struct http_header *h, size_t n, size_t from, const char *name);

/* Nonzero when the comma-separated list value holds token
 * (case-insensitive), as in "Connection: keep-alive, Upgrade". */
int http_list_has(const char *value, size_t len, const char *token);

/*
 * Hop-by-hop: the fixed set (Connection, Keep-Alive, Proxy-Connection,
 * Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding,
 * Upgrade) or a name listed in any Connection header of the same head.
 */
int http_header_is_hop(const struct http_header *h, size_t n, size_t index);

enum http_body {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH, /* *length bytes */
	HTTP_BODY_CHUNKED,
	HTTP_BODY_CLOSE, /* until the sender closes (responses only) */
};

/* Framing of a request's body.  Returns 0, or -1 when the framing is
 * ambiguous or invalid (both Content-Length and Transfer-Encoding,
 * differing or malformed lengths, a coding list not ending in chunked). */
int http_request_body(
    const struct http_request *req, enum http_body *body, uint64_t *length);

/* Framing of a response's body; is_head is nonzero when it answers HEAD. */
int http_response_body(const struct http_response *resp, int is_head,
    enum http_body *body, uint64_t *length);

/* Nonzero when the connection may carry another message after this one
 * (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive). */
int http_keeps_alive(int version_minor, const struct http_header *h, size_t n);

/*
 * A chunked body's end, found without decoding it: feed the bytes as they
 * come; the state remembers where it is between calls.
 */
struct http_chunked {
	int state;
	uint64_t left; /* bytes of chunk data still to come */
	unsigned digits;
	unsigned line; /* bytes of the current trailer / extension line */
};

void http_chunked_init(struct http_chunked *c);
/* Returns how many of len bytes belong to the body (all of them, or up to
 * and including its last byte: *done is then set to 1), or -1 when the
 * body is malformed. */
ssize_t http_chunked_feed(
    struct http_chunked *c, const char *buf, size_t len, int *done);
/* The same, also handing each span of chunk data (the body without its
 * framing, in pieces) to on_data as it passes: a scan for what a body
 * carries must see it whole, not cut by chunk sizes. */
typedef void http_chunk_data_fn(void *arg, const char *data, size_t len);
ssize_t http_chunked_feed_data(struct http_chunked *c, const char *buf,
    size_t len, int *done, http_chunk_data_fn *on_data, void *arg);

/* A request target split up.  host excludes brackets of an IPv6 literal. */
struct http_url {
	int is_https;
	const char *host;
	size_t host_len;
	int is_ipv6;
	uint16_t port;
	const char *path; /* from the first "/" or "?"; path_len 0 means "/" */
	size_t path_len;
};

/* Parse "http://host[:port][/path][?query]" (scheme case-insensitive;
 * https is recognised so that the caller can refuse it).  No userinfo, no
 * fragment.  Returns 0 or -1. */
int http_parse_url(const char *s, size_t len, struct http_url *u);

/* Parse a CONNECT target "host:port" or "[v6]:port" (port required,
 * 1..65535).  Returns 0 or -1. */
int http_parse_authority(const char *s, size_t len, struct http_url *u);

/* Nonzero when [s, s+len) is a well-formed host: a DNS name (letters,
 * digits, '-', '_', '.'), an IPv4 literal, or (is_ipv6) an IPv6 literal. */
int http_host_is_valid(const char *s, size_t len, int is_ipv6);

#endif
