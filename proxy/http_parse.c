/*
 * http_parse: HTTP/1.x heads, body framing and proxy targets.  Pure
 * functions over caller buffers; see http_parse.h for the contract.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

/* RFC 9110 tchar. */
static int
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed inside a field value: VCHAR, obs-text, SP, HTAB. */
static int
http_is_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Find the end of the line that starts at p: returns the index of its
 * first terminator byte (CR of CRLF, or a lone LF) and sets *next past the
 * terminator.  -1 when the buffer ends first; -2 on a bare CR.
 */
static ssize_t
http_line_end(const char *buf, size_t len, size_t p, size_t *next)
{
	size_t i;

	for (i = p; i < len; i++) {
		if (buf[i] == '\n') {
			*next = i + 1;
			return (ssize_t)i;
		}
		if (buf[i] == '\r') {
			if (i + 1 >= len)
				return -1;
			if (buf[i + 1] != '\n')
				return -2;
			*next = i + 2;
			return (ssize_t)i;
		}
	}
	return -1;
}

static int
http_parse_version(const char *s, size_t len, int *minor)
{
	if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0)
		return -1;
	if (s[7] != '0' && s[7] != '1')
		return -1;
	*minor = s[7] - '0';
	return 0;
}

/*
 * Parse header lines from p up to and including the empty line.  Returns
 * the head length, or one of the HTTP_PARSE_* results.
 */
static ssize_t
http_parse_headers(
    const char *buf, size_t len, size_t p, struct http_header *h, size_t *n_out)
{
	size_t n = 0, next = 0, i, end, vs, ve;
	ssize_t e;

	for (;;) {
		e = http_line_end(buf, len, p, &next);
		if (e == -2)
			return HTTP_PARSE_BAD;
		if (e == -1)
			return len >= HTTP_MAX_HEAD ? HTTP_PARSE_TOO_LARGE
			                            : HTTP_PARSE_INCOMPLETE;
		end = (size_t)e;
		if (end == p)
			break; /* the empty line */
		if (n == HTTP_MAX_HEADERS)
			return HTTP_PARSE_TOO_LARGE;
		/* obs-fold and whitespace before a name are refused. */
		for (i = p; i < end && http_is_tchar((unsigned char)buf[i]);
		     i++)
			;
		if (i == p || i == end || buf[i] != ':')
			return HTTP_PARSE_BAD;
		h[n].name = buf + p;
		h[n].name_len = i - p;
		for (vs = i + 1;
		     vs < end && (buf[vs] == ' ' || buf[vs] == '\t'); vs++)
			;
		for (ve = end;
		     ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t');
		     ve--)
			;
		for (i = vs; i < ve; i++)
			if (!http_is_vchar((unsigned char)buf[i]))
				return HTTP_PARSE_BAD;
		h[n].value = buf + vs;
		h[n].value_len = ve - vs;
		n++;
		p = next;
	}
	if (next > HTTP_MAX_HEAD)
		return HTTP_PARSE_TOO_LARGE;
	*n_out = n;
	return (ssize_t)next;
}

ssize_t
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t p = 0, next = 0, end, sp1, sp2;
	ssize_t e;

	req->n_headers = 0;
	/* Skip a few empty lines left over from a previous message. */
	while (p < len && p < 8 && (buf[p] == '\r' || buf[p] == '\n'))
		p++;
	e = http_line_end(buf, len, p, &next);
	if (e == -2)
		return HTTP_PARSE_BAD;
	if (e == -1)
		return len >= HTTP_MAX_HEAD ? HTTP_PARSE_TOO_LARGE
		                            : HTTP_PARSE_INCOMPLETE;
	end = (size_t)e;

	for (sp1 = p; sp1 < end && http_is_tchar((unsigned char)buf[sp1]);
	     sp1++)
		;
	if (sp1 == p || sp1 >= end || buf[sp1] != ' ')
		return HTTP_PARSE_BAD;
	for (sp2 = sp1 + 1; sp2 < end && buf[sp2] > 0x20 && buf[sp2] < 0x7f;
	     sp2++)
		;
	if (sp2 == sp1 + 1 || sp2 >= end || buf[sp2] != ' ')
		return HTTP_PARSE_BAD;
	req->method = buf + p;
	req->method_len = sp1 - p;
	req->target = buf + sp1 + 1;
	req->target_len = sp2 - sp1 - 1;
	if (http_parse_version(
	        buf + sp2 + 1, end - sp2 - 1, &req->version_minor) != 0)
		return HTTP_PARSE_BAD;
	return http_parse_headers(
	    buf, len, next, req->headers, &req->n_headers);
}

ssize_t
http_parse_response(const char *buf, size_t len, struct http_response *resp)
{
	size_t next = 0, end, i;
	ssize_t e;

	resp->n_headers = 0;
	e = http_line_end(buf, len, 0, &next);
	if (e == -2)
		return HTTP_PARSE_BAD;
	if (e == -1)
		return len >= HTTP_MAX_HEAD ? HTTP_PARSE_TOO_LARGE
		                            : HTTP_PARSE_INCOMPLETE;
	end = (size_t)e;
	/* "HTTP/1.x NNN[ reason]" */
	if (end < 12 || http_parse_version(buf, 8, &resp->version_minor) != 0 ||
	    buf[8] != ' ')
		return HTTP_PARSE_BAD;
	resp->status = 0;
	for (i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return HTTP_PARSE_BAD;
		resp->status = resp->status * 10 + (buf[i] - '0');
	}
	if (resp->status < 100)
		return HTTP_PARSE_BAD;
	if (end > 12 && buf[12] != ' ')
		return HTTP_PARSE_BAD;
	resp->reason = buf + (end > 12 ? 13 : 12);
	resp->reason_len = end > 12 ? end - 13 : 0;
	for (i = 0; i < resp->reason_len; i++)
		if (!http_is_vchar((unsigned char)resp->reason[i]))
			return HTTP_PARSE_BAD;
	return http_parse_headers(
	    buf, len, next, resp->headers, &resp->n_headers);
}

int
http_header_find(
    const struct http_header *h, size_t n, size_t from, const char *name)
{
	size_t i, len = strlen(name);

	for (i = from; i < n; i++)
		if (h[i].name_len == len &&
		    strncasecmp(h[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int
http_list_has(const char *value, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0, s, e;

	while (i < len) {
		while (i < len &&
		    (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		s = i;
		while (i < len && value[i] != ',')
			i++;
		e = i;
		while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t'))
			e--;
		if (e - s == tlen && tlen > 0 &&
		    strncasecmp(value + s, token, tlen) == 0)
			return 1;
	}
	return 0;
}

static const char *const http_hop_headers[] = {
	"connection",
	"keep-alive",
	"proxy-connection",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	NULL,
};

int
http_header_is_hop(const struct http_header *h, size_t n, size_t index)
{
	const struct http_header *x = &h[index];
	char name[64];
	size_t i;
	int c;

	for (i = 0; http_hop_headers[i] != NULL; i++)
		if (strlen(http_hop_headers[i]) == x->name_len &&
		    strncasecmp(http_hop_headers[i], x->name, x->name_len) == 0)
			return 1;
	if (x->name_len >= sizeof name)
		return 0;
	memcpy(name, x->name, x->name_len);
	name[x->name_len] = '\0';
	for (c = http_header_find(h, n, 0, "connection"); c >= 0;
	     c = http_header_find(h, n, (size_t)c + 1, "connection"))
		if (http_list_has(h[c].value, h[c].value_len, name))
			return 1;
	return 0;
}

/* Parse a Content-Length value: digits only, no overflow. */
static int
http_parse_length(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Nonzero when the last coding of a Transfer-Encoding list is chunked. */
static int
http_te_ends_chunked(const char *v, size_t len)
{
	size_t e = len, s;

	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	s = e;
	while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
		s--;
	return e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

/*
 * Common framing: fills *body and *length from Transfer-Encoding and
 * Content-Length.  Returns 0, 1 when neither header is present, or -1.
 * On a request both headers are an error; on a response TE wins.
 */
static int
http_framing(const struct http_header *h, size_t n, int is_request,
    enum http_body *body, uint64_t *length)
{
	int i, te = -1, seen_cl = 0;
	uint64_t v, cl = 0;

	for (i = http_header_find(h, n, 0, "transfer-encoding"); i >= 0;
	     i = http_header_find(h, n, (size_t)i + 1, "transfer-encoding")) {
		if (te >= 0 && is_request)
			return -1; /* one TE header, or the last one is ambiguous */
		te = i;
	}
	for (i = http_header_find(h, n, 0, "content-length"); i >= 0;
	     i = http_header_find(h, n, (size_t)i + 1, "content-length")) {
		if (http_parse_length(h[i].value, h[i].value_len, &v) != 0)
			return -1;
		if (seen_cl && v != cl)
			return -1;
		cl = v;
		seen_cl = 1;
	}
	if (te >= 0) {
		if (is_request && seen_cl)
			return -1;
		if (http_te_ends_chunked(h[te].value, h[te].value_len)) {
			*body = HTTP_BODY_CHUNKED;
			return 0;
		}
		if (is_request)
			return -1;
		*body = HTTP_BODY_CLOSE;
		return 0;
	}
	if (seen_cl) {
		*body = cl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		*length = cl;
		return 0;
	}
	return 1;
}

int
http_request_body(
    const struct http_request *req, enum http_body *body, uint64_t *length)
{
	int r;

	*length = 0;
	r = http_framing(req->headers, req->n_headers, 1, body, length);
	if (r == 1)
		*body = HTTP_BODY_NONE;
	return r < 0 ? -1 : 0;
}

int
http_response_body(const struct http_response *resp, int is_head,
    enum http_body *body, uint64_t *length)
{
	int r;

	*length = 0;
	if (is_head || (resp->status >= 100 && resp->status < 200) ||
	    resp->status == 204 || resp->status == 304) {
		*body = HTTP_BODY_NONE;
		return 0;
	}
	r = http_framing(resp->headers, resp->n_headers, 0, body, length);
	if (r == 1)
		*body = HTTP_BODY_CLOSE;
	return r < 0 ? -1 : 0;
}

int
http_keeps_alive(int version_minor, const struct http_header *h, size_t n)
{
	int i, has_close = 0, has_keep = 0;

	for (i = http_header_find(h, n, 0, "connection"); i >= 0;
	     i = http_header_find(h, n, (size_t)i + 1, "connection")) {
		if (http_list_has(h[i].value, h[i].value_len, "close"))
			has_close = 1;
		if (http_list_has(h[i].value, h[i].value_len, "keep-alive"))
			has_keep = 1;
	}
	if (has_close)
		return 0;
	return version_minor >= 1 || has_keep;
}

enum {
	CHUNK_SIZE, /* hex digits of the size */
	CHUNK_EXT, /* ";ext" up to the end of the size line */
	CHUNK_SIZE_LF, /* after CR of the size line */
	CHUNK_DATA,
	CHUNK_DATA_CR, /* CR after the data */
	CHUNK_DATA_LF,
	CHUNK_TRAILER, /* start of a trailer line (or the final empty line) */
	CHUNK_TRAILER_LINE,
	CHUNK_TRAILER_LF,
	CHUNK_END_LF, /* LF of the final empty line */
	CHUNK_DONE,
};

#define CHUNK_MAX_LINE 4096

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CHUNK_SIZE;
}

static int
http_hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* After a size line: data follows, or the trailer when the size is 0. */
static void
http_chunked_size_done(struct http_chunked *c)
{
	c->state = c->left > 0 ? CHUNK_DATA : CHUNK_TRAILER;
	c->line = 0;
}

ssize_t
http_chunked_feed(
    struct http_chunked *c, const char *buf, size_t len, int *done)
{
	return http_chunked_feed_data(c, buf, len, done, NULL, NULL);
}

ssize_t
http_chunked_feed_data(struct http_chunked *c, const char *buf, size_t len,
    int *done, http_chunk_data_fn *on_data, void *arg)
{
	size_t i = 0, take;
	int v;

	*done = c->state == CHUNK_DONE;
	while (i < len && c->state != CHUNK_DONE) {
		char ch = buf[i];

		switch (c->state) {
		case CHUNK_SIZE:
			v = http_hex_value(ch);
			if (v >= 0) {
				if (c->digits >= 15)
					return -1;
				c->left = c->left * 16 + (uint64_t)v;
				c->digits++;
			} else if (c->digits == 0) {
				return -1;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CHUNK_EXT;
			} else if (ch == '\r') {
				c->state = CHUNK_SIZE_LF;
			} else if (ch == '\n') {
				http_chunked_size_done(c);
			} else {
				return -1;
			}
			i++;
			break;
		case CHUNK_EXT:
			if (ch == '\r')
				c->state = CHUNK_SIZE_LF;
			else if (ch == '\n')
				http_chunked_size_done(c);
			else if (!http_is_vchar((unsigned char)ch) ||
			    ++c->line > CHUNK_MAX_LINE)
				return -1;
			i++;
			break;
		case CHUNK_SIZE_LF:
			if (ch != '\n')
				return -1;
			http_chunked_size_done(c);
			i++;
			break;
		case CHUNK_DATA:
			take = len - i;
			if ((uint64_t)take > c->left)
				take = (size_t)c->left;
			c->left -= take;
			if (on_data != NULL && take > 0)
				on_data(arg, buf + i, take);
			i += take;
			if (c->left == 0)
				c->state = CHUNK_DATA_CR;
			break;
		case CHUNK_DATA_CR:
			if (ch == '\r')
				c->state = CHUNK_DATA_LF;
			else if (ch == '\n')
				c->state = CHUNK_SIZE;
			else
				return -1;
			c->digits = 0;
			i++;
			break;
		case CHUNK_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CHUNK_SIZE;
			c->digits = 0;
			i++;
			break;
		case CHUNK_TRAILER:
			if (ch == '\r') {
				c->state = CHUNK_END_LF;
			} else if (ch == '\n') {
				c->state = CHUNK_DONE;
			} else {
				c->state = CHUNK_TRAILER_LINE;
				c->line = 1;
			}
			i++;
			break;
		case CHUNK_TRAILER_LINE:
			if (ch == '\r')
				c->state = CHUNK_TRAILER_LF;
			else if (ch == '\n')
				c->state = CHUNK_TRAILER;
			else if (++c->line > CHUNK_MAX_LINE)
				return -1;
			i++;
			break;
		case CHUNK_TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = CHUNK_TRAILER;
			i++;
			break;
		case CHUNK_END_LF:
			if (ch != '\n')
				return -1;
			c->state = CHUNK_DONE;
			i++;
			break;
		default:
			return -1;
		}
	}
	*done = c->state == CHUNK_DONE;
	return (ssize_t)i;
}

int
http_host_is_valid(const char *s, size_t len, int is_ipv6)
{
	size_t i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (is_ipv6) {
			if (!((ch >= '0' && ch <= '9') ||
			        (ch >= 'a' && ch <= 'f') ||
			        (ch >= 'A' && ch <= 'F') || ch == ':' ||
			        ch == '.'))
				return 0;
		} else if (!((ch >= 'a' && ch <= 'z') ||
		               (ch >= 'A' && ch <= 'Z') ||
		               (ch >= '0' && ch <= '9') || ch == '-' ||
		               ch == '_' || ch == '.')) {
			return 0;
		}
	}
	/* No empty labels (a single trailing dot is allowed for names). */
	if (!is_ipv6) {
		if (s[0] == '.')
			return 0;
		for (i = 1; i < len; i++)
			if (s[i] == '.' && s[i - 1] == '.')
				return 0;
	}
	return 1;
}

/* Parse "host[:port]" or "[v6][:port]" in s; needs_port demands a port. */
static int
http_parse_hostport(const char *s, size_t len, int needs_port,
    uint16_t default_port, struct http_url *u)
{
	const char *colon = NULL;
	size_t hlen, i;
	unsigned long port = 0;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return -1;
		u->host = s + 1;
		u->host_len = (size_t)(rb - s) - 1;
		u->is_ipv6 = 1;
		if ((size_t)(rb - s) + 1 < len) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		u->host = s;
		u->host_len = colon != NULL ? (size_t)(colon - s) : len;
		u->is_ipv6 = 0;
	}
	if (!http_host_is_valid(u->host, u->host_len, u->is_ipv6))
		return -1;
	if (colon == NULL) {
		if (needs_port)
			return -1;
		u->port = default_port;
		return 0;
	}
	hlen = (size_t)(colon - s) + 1;
	if (hlen >= len || len - hlen > 5)
		return -1;
	for (i = hlen; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port == 0 || port > 65535)
		return -1;
	u->port = (uint16_t)port;
	return 0;
}

int
http_parse_url(const char *s, size_t len, struct http_url *u)
{
	size_t skip, i, auth_end;

	memset(u, 0, sizeof *u);
	if (len >= 7 && strncasecmp(s, "http://", 7) == 0) {
		skip = 7;
	} else if (len >= 8 && strncasecmp(s, "https://", 8) == 0) {
		skip = 8;
		u->is_https = 1;
	} else {
		return -1;
	}
	for (auth_end = skip; auth_end < len && s[auth_end] != '/' &&
	     s[auth_end] != '?' && s[auth_end] != '#';
	     auth_end++)
		if (s[auth_end] == '@')
			return -1; /* userinfo has no place in a proxy request */
	if (auth_end < len && s[auth_end] == '#')
		return -1;
	for (i = auth_end; i < len; i++)
		if (s[i] == '#')
			return -1;
	if (http_parse_hostport(
	        s + skip, auth_end - skip, 0, u->is_https ? 443 : 80, u) != 0)
		return -1;
	u->path = s + auth_end;
	u->path_len = len - auth_end;
	return 0;
}

int
http_parse_authority(const char *s, size_t len, struct http_url *u)
{
	memset(u, 0, sizeof *u);
	if (http_parse_hostport(s, len, 1, 0, u) != 0)
		return -1;
	u->path = NULL;
	u->path_len = 0;
	return 0;
}
