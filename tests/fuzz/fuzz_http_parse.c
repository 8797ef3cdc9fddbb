/*
 * fuzz_http_parse: libFuzzer target for proxy/http_parse.c.  Feeds the
 * input to the request and response parsers, then (when a head parsed)
 * to the framing helpers and the chunked decoder over what follows, in
 * one piece and byte by byte, which must agree.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_request req;
static struct http_response resp;

static void
fuzz_chunked(const char *p, size_t n)
{
	struct http_chunked a, b;
	ssize_t ra, rb = 0, r;
	size_t i;
	int done_a = 0, done_b = 0;

	http_chunked_init(&a);
	ra = http_chunked_feed(&a, p, n, &done_a);
	http_chunked_init(&b);
	for (i = 0; i < n && !done_b; i++) {
		r = http_chunked_feed(&b, p + i, 1, &done_b);
		if (r < 0) {
			rb = -1;
			break;
		}
		rb += r;
	}
	if ((ra < 0) != (rb < 0) || (ra >= 0 && (ra != rb || done_a != done_b)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct http_url u;
	enum http_body body;
	uint64_t len;
	ssize_t r;
	size_t i;

	r = http_parse_request(s, size, &req);
	if (r > 0) {
		if ((size_t)r > size)
			abort();
		(void)http_request_body(&req, &body, &len);
		(void)http_keeps_alive(
		    req.version_minor, req.headers, req.n_headers);
		for (i = 0; i < req.n_headers; i++)
			(void)http_header_is_hop(req.headers, req.n_headers, i);
		(void)http_parse_url(req.target, req.target_len, &u);
		(void)http_parse_authority(req.target, req.target_len, &u);
		fuzz_chunked(s + r, size - (size_t)r);
	}
	r = http_parse_response(s, size, &resp);
	if (r > 0)
		(void)http_response_body(&resp, 0, &body, &len);
	(void)http_parse_url(s, size, &u);
	return 0;
}
