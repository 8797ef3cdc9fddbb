/*
 * test_http_parse: request and response heads, framing, chunked bodies,
 * proxy targets (proxy/http_parse.c).
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

#include "proxy/http_parse.h"

static struct http_request req;
static struct http_response resp;

static ssize_t
parse(const char *s)
{
	return http_parse_request(s, strlen(s), &req);
}

static void
test_request_simple(void **state)
{
	const char *s = "GET http://example.com/a?b HTTP/1.1\r\n"
	                "Host: example.com\r\nAccept:  */* \r\n\r\nBODY";
	ssize_t r = parse(s);

	assert_int_equal(r, (ssize_t)(strlen(s) - 4));
	assert_int_equal(req.method_len, 3);
	assert_memory_equal(req.method, "GET", 3);
	assert_int_equal(req.target_len, strlen("http://example.com/a?b"));
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.n_headers, 2);
	assert_int_equal(req.headers[1].value_len, 3); /* trimmed */
	assert_memory_equal(req.headers[1].value, "*/*", 3);
	assert_int_equal(
	    http_header_find(req.headers, req.n_headers, 0, "ACCEPT"), 1);
}

static void
test_request_incomplete(void **state)
{
	const char *s = "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t i;

	/* Every strict prefix needs more bytes, never errs. */
	for (i = 0; i < strlen(s); i++)
		assert_int_equal(
		    http_parse_request(s, i, &req), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse(s), (ssize_t)strlen(s));
	/* Bare LF line ends are accepted. */
	assert_int_equal(parse("GET http://a/ HTTP/1.0\nHost: a\n\n"), 32);
	assert_int_equal(req.version_minor, 0);
	/* A leading empty line is skipped. */
	assert_true(parse("\r\nGET http://a/ HTTP/1.1\r\n\r\n") > 0);
}

static void
test_request_malformed(void **state)
{
	static const char *const bad[] = {
		"GET  http://a/ HTTP/1.1\r\n\r\n", /* two spaces */
		"GET http://a/ HTTP/2.0\r\n\r\n", /* version */
		"GET http://a/ HTTP/1.1 x\r\n\r\n",
		"G(T http://a/ HTTP/1.1\r\n\r\n", /* method token */
		"GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n", /* space before colon */
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", /* obs-fold */
		"GET http://a/ HTTP/1.1\r\nHost: a\rb\r\n\r\n", /* bare CR */
		"GET http://a/ HTTP/1.1\r\n: a\r\n\r\n", /* empty name */
		"GET http://a/ HTTP/1.1\r\nX: a\x01\r\n\r\n", /* control byte */
		"GET http://a/\x7f HTTP/1.1\r\n\r\n",
		" GET http://a/ HTTP/1.1\r\n\r\n",
		"GET\r\n\r\n",
		NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(parse(bad[i]), HTTP_PARSE_BAD);
	/* A NUL inside the head. */
	assert_int_equal(
	    http_parse_request(
	        "GET http://a/ HTTP/1.1\r\nX: \0\r\n\r\n", 31, &req),
	    HTTP_PARSE_BAD);
}

static void
test_request_too_large(void **state)
{
	size_t len = HTTP_MAX_HEAD + 100, i;
	char *s = malloc(len);
	size_t n;

	assert_non_null(s);
	n = (size_t)snprintf(s, len, "GET http://a/ HTTP/1.1\r\nX: ");
	for (i = n; i < len; i++)
		s[i] = 'a';
	assert_int_equal(
	    http_parse_request(s, len, &req), HTTP_PARSE_TOO_LARGE);
	/* Too many headers. */
	n = (size_t)snprintf(s, len, "GET http://a/ HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)snprintf(s + n, len - n, "X: y\r\n");
	n += (size_t)snprintf(s + n, len - n, "\r\n");
	assert_int_equal(http_parse_request(s, n, &req), HTTP_PARSE_TOO_LARGE);
	free(s);
}

static void
test_framing(void **state)
{
	enum http_body b;
	uint64_t len;

	assert_true(
	    parse("POST http://a/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_LENGTH);
	assert_int_equal(len, 12);
	assert_true(parse("POST http://a/ HTTP/1.1\r\nTransfer-Encoding: "
	                  "chunked\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_CHUNKED);
	assert_true(parse("GET http://a/ HTTP/1.1\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_NONE);
	/* Smuggling shapes are refused. */
	assert_true(parse("POST http://a/ HTTP/1.1\r\nContent-Length: 3\r\n"
	                  "Transfer-Encoding: chunked\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), -1);
	assert_true(parse("POST http://a/ HTTP/1.1\r\nContent-Length: 3\r\n"
	                  "Content-Length: 4\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), -1);
	assert_true(
	    parse("POST http://a/ HTTP/1.1\r\nContent-Length: +3\r\n\r\n") > 0);
	assert_int_equal(http_request_body(&req, &b, &len), -1);
	assert_true(
	    parse(
	        "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") >
	    0);
	assert_int_equal(http_request_body(&req, &b, &len), -1);

	/* Responses. */
	assert_true(
	    http_parse_response("HTTP/1.1 200 OK\r\n\r\n", 19, &resp) > 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(http_response_body(&resp, 0, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_CLOSE);
	assert_int_equal(http_response_body(&resp, 1, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_NONE);
	assert_true(http_parse_response("HTTP/1.1 304 Not Modified\r\n"
	                                "Content-Length: 5\r\n\r\n",
	                48, &resp) > 0);
	assert_int_equal(http_response_body(&resp, 0, &b, &len), 0);
	assert_int_equal(b, HTTP_BODY_NONE);
	assert_true(http_parse_response("HTTP/1.0 200\r\n\r\n", 16, &resp) > 0);
	assert_int_equal(resp.version_minor, 0);
	assert_int_equal(
	    http_parse_response("HTTP/1.1 2000 OK\r\n\r\n", 20, &resp),
	    HTTP_PARSE_BAD);
}

static void
test_hop_by_hop(void **state)
{
	assert_true(
	    parse("GET http://a/ HTTP/1.1\r\nConnection: close, X-Secret\r\n"
	          "X-Secret: 1\r\nKeep-Alive: 5\r\nAccept: a\r\n"
	          "Proxy-Authorization: Basic eA==\r\n\r\n") > 0);
	assert_true(http_header_is_hop(req.headers, req.n_headers, 0));
	assert_true(http_header_is_hop(req.headers, req.n_headers, 1));
	assert_true(http_header_is_hop(req.headers, req.n_headers, 2));
	assert_false(http_header_is_hop(req.headers, req.n_headers, 3));
	assert_true(http_header_is_hop(req.headers, req.n_headers, 4));
	assert_false(http_keeps_alive(1, req.headers, req.n_headers));
	assert_true(
	    parse("GET http://a/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") >
	    0);
	assert_true(http_keeps_alive(0, req.headers, req.n_headers));
	assert_true(parse("GET http://a/ HTTP/1.0\r\n\r\n") > 0);
	assert_false(http_keeps_alive(0, req.headers, req.n_headers));
}

static void
test_chunked(void **state)
{
	const char *body =
	    "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	size_t len = strlen(body) - 4, i;
	struct http_chunked c;
	ssize_t r;
	int done;

	http_chunked_init(&c);
	r = http_chunked_feed(&c, body, strlen(body), &done);
	assert_int_equal(r, (ssize_t)len);
	assert_true(done);
	/* Byte by byte gives the same end. */
	http_chunked_init(&c);
	for (i = 0; i < len; i++) {
		assert_false(done && i > 0 && 0);
		r = http_chunked_feed(&c, body + i, 1, &done);
		assert_int_equal(r, 1);
		assert_int_equal(done, i == len - 1);
	}
	http_chunked_init(&c);
	assert_int_equal(http_chunked_feed(&c, "zz\r\n", 4, &done), -1);
	http_chunked_init(&c);
	assert_int_equal(http_chunked_feed(&c, "1\r\nab\r\n", 7, &done), -1);
	http_chunked_init(&c);
	assert_int_equal(
	    http_chunked_feed(&c, "ffffffffffffffffff\r\n", 20, &done), -1);
}

/* Collects the data spans http_chunked_feed_data() hands out. */
static void
collect_data(void *arg, const char *data, size_t len)
{
	strncat(arg, data, len);
}

static void
test_chunked_data(void **state)
{
	const char *body =
	    "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
	size_t len = strlen(body), i;
	struct http_chunked c;
	char got[64];
	int done = 0;

	/* Whole, then byte by byte: the data without its framing. */
	got[0] = '\0';
	http_chunked_init(&c);
	assert_int_equal(
	    http_chunked_feed_data(&c, body, len, &done, collect_data, got),
	    (ssize_t)len);
	assert_true(done);
	assert_string_equal(got, "Wikipedia");
	got[0] = '\0';
	http_chunked_init(&c);
	for (i = 0; i < len; i++)
		assert_int_equal(http_chunked_feed_data(
		                     &c, body + i, 1, &done, collect_data, got),
		    1);
	assert_string_equal(got, "Wikipedia");
}

static void
test_url(void **state)
{
	struct http_url u;

	assert_int_equal(
	    http_parse_url("http://Example.COM:8080/a/b?c=d", 31, &u), 0);
	assert_int_equal(u.host_len, 11);
	assert_int_equal(u.port, 8080);
	assert_int_equal(u.path_len, 8);
	assert_int_equal(http_parse_url("http://a", 8, &u), 0);
	assert_int_equal(u.port, 80);
	assert_int_equal(u.path_len, 0);
	assert_int_equal(http_parse_url("https://a/", 10, &u), 0);
	assert_true(u.is_https);
	assert_int_equal(u.port, 443);
	assert_int_equal(http_parse_url("http://[::1]:99/", 16, &u), 0);
	assert_true(u.is_ipv6);
	assert_int_equal(u.host_len, 3);
	assert_int_equal(http_parse_url("http://user@a/", 14, &u), -1);
	assert_int_equal(http_parse_url("http://a/#f", 11, &u), -1);
	assert_int_equal(http_parse_url("ftp://a/", 8, &u), -1);
	assert_int_equal(http_parse_url("http://a:0/", 11, &u), -1);
	assert_int_equal(http_parse_url("http://a:65536/", 15, &u), -1);
	assert_int_equal(http_parse_url("http://a..b/", 12, &u), -1);
	assert_int_equal(http_parse_url("http://a%2eb/", 13, &u), -1);
	assert_int_equal(http_parse_url("/relative", 9, &u), -1);

	assert_int_equal(http_parse_authority("example.com:443", 15, &u), 0);
	assert_int_equal(u.port, 443);
	assert_int_equal(http_parse_authority("[2001:db8::1]:443", 17, &u), 0);
	assert_true(u.is_ipv6);
	assert_int_equal(http_parse_authority("example.com", 11, &u), -1);
	assert_int_equal(http_parse_authority("example.com:", 12, &u), -1);
	assert_int_equal(http_parse_authority("::1:443", 7, &u), -1);
	assert_int_equal(http_parse_authority("a b:443", 7, &u), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_simple),
		cmocka_unit_test(test_request_incomplete),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_request_too_large),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_hop_by_hop),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_data),
		cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
