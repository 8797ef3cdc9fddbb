/*
 * forward: plain http:// requests (and requests inside an intercepted
 * tunnel), relayed to the upstream with hop-by-hop headers removed and
 * "Via" added, bodies streamed in both directions as they arrive
 * (Content-Length, chunked, or until close), keep-alive on both sides.
 * A large Content-Length response body that nothing must see goes from
 * socket to socket through a pipe (forward_may_splice()).
 *
 * The request head goes upstream only after the request was decided (by
 * conn.c): forward_start() is the first byte the upstream sees.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"
#include "pool.h"
#include "sentinel.h"
#include "tunnel.h"
#include "util.h"

/* Stop reading a side while the other side has this much unsent. */
#define FORWARD_HIGH (1024 * 1024)

enum {
	RESP_HEAD,
	RESP_BODY,
	RESP_SPLICE, /* a Content-Length body, through a pipe */
	RESP_DONE,
};

/* Below this much body still to come, copying it costs no more. */
#define FORWARD_SPLICE_MIN (64 * 1024)
/* Rounds per wake-up, so that one large body cannot starve the others. */
#define FORWARD_SPLICE_ROUNDS 16

static void forward_splice_pump(struct conn *c);

static __thread struct http_response forward_scratch;

/* One read of a plain upstream: what a loopback or fast link's socket
 * buffer holds when the proxy wakes up (about 500 KiB here). */
#define FORWARD_READ_MAX (1024 * 1024)

/*
 * libevent 2.1 reads at most 4 KiB per call into a bufferevent, whatever
 * the socket holds: a large body then costs a system call per 4 KiB.  So
 * a plain (not TLS) upstream is read here, up to FORWARD_READ_MAX at a
 * time, into the bufferevent's input, which the rest of this file reads
 * as before; the bufferevent still does the writing.
 */
void
forward_upstream_readable(int fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->ubev);
	ssize_t n;

	if (c->state == CONN_FORWARD && c->resp_state == RESP_SPLICE) {
		forward_splice_pump(c);
		return;
	}
	n = conn_read_into(fd, in, FORWARD_READ_MAX);
	if (n == -2) {
		conn_end_request(c);
		conn_free(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->state != CONN_FORWARD) {
			c->up_is_idle = 0;
			conn_close_upstream(c); /* an idle upstream went away */
			return;
		}
		forward_upstream_event(
		    c, n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR);
		return;
	}
	if (c->state != CONN_FORWARD) {
		c->up_is_idle = 0; /* an idle upstream should say nothing */
		conn_close_upstream(c);
		return;
	}
	forward_upstream_read(c);
}

/* Start or stop reading the upstream. */
static void
forward_upstream_reading(struct conn *c, int on)
{
	if (c->up_is_tls || c->ufd < 0) {
		if (on)
			bufferevent_enable(c->ubev, EV_READ);
		else
			bufferevent_disable(c->ubev, EV_READ);
		return;
	}
	if (c->uread == NULL) {
		bufferevent_disable(c->ubev, EV_READ);
		c->uread = pool_conn_new(c->w->pool, c->ufd, c);
		if (c->uread == NULL) {
			bufferevent_enable(c->ubev, EV_READ); /* fall back */
			return;
		}
	}
	pool_conn_reading(c->uread, on);
}

/* Nonzero when header h is named in the NULL-terminated list skip. */
static int
forward_is_skipped(const struct http_header *h, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++)
		if (strlen(*skip) == h->name_len &&
		    strncasecmp(h->name, *skip, h->name_len) == 0)
			return 1;
	return 0;
}

/*
 * Append the headers of a head that are not hop-by-hop (nor in skip).
 * With c (a request whose head holds sentinels that may go), values pass
 * through sentinel_add_replaced().  Returns 0, or -1 when a value was
 * refused (c->sec_refused).
 */
static int
forward_copy_headers(struct conn *c, struct evbuffer *out,
    const struct http_header *h, size_t n, const char *const *skip)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (http_header_is_hop(h, n, i) ||
		    forward_is_skipped(&h[i], skip))
			continue;
		evbuffer_add(out, h[i].name, h[i].name_len);
		evbuffer_add(out, ": ", 2);
		if (c != NULL && c->sec_in_head) {
			if (sentinel_add_replaced(
			        c, out, h[i].value, h[i].value_len, 1) != 0)
				return -1;
		} else {
			evbuffer_add(out, h[i].value, h[i].value_len);
		}
		evbuffer_add(out, "\r\n", 2);
	}
	return 0;
}

/* The Transfer-Encoding value to pass on when the body is chunked. */
static void
forward_add_te(struct evbuffer *out, const struct http_header *h, size_t n)
{
	int i = -1, j;

	for (j = http_header_find(h, n, 0, "transfer-encoding"); j >= 0;
	     j = http_header_find(h, n, (size_t)j + 1, "transfer-encoding"))
		i = j;
	if (i < 0)
		return;
	evbuffer_add_printf(out, "Transfer-Encoding: %.*s\r\n",
	    (int)h[i].value_len, h[i].value);
}

/* The chunk data of a scanned request body (http_chunked_feed_data). */
struct forward_scan {
	struct conn *c; /* NULL: not scanned */
	int is_refused;
};

static void
forward_scan_data(void *arg, const char *data, size_t len)
{
	struct forward_scan *fs = arg;

	if (!fs->is_refused && sentinel_scan(fs->c, data, len, 0) != 0)
		fs->is_refused = 1;
}

/*
 * Move up to the end of the current body from in to out.  Returns 1 when
 * the body ended, 0 when more is to come, -1 when it is malformed, -2
 * when scan (a request body checked for sentinels, or NULL) refused it:
 * the piece that holds the sentinel was not moved then.
 */
static int
forward_body(struct evbuffer *in, struct evbuffer *out, enum http_body kind,
    uint64_t *left, struct http_chunked *ch, uint64_t *count, struct conn *scan)
{
	struct evbuffer_iovec vec[16];
	struct forward_scan fs = { scan, 0 };
	size_t len = evbuffer_get_length(in), take = 0, i;
	ssize_t r;
	int n, done = 0;

	switch (kind) {
	case HTTP_BODY_NONE:
		return 1;
	case HTTP_BODY_LENGTH:
		take = (uint64_t)len < *left ? len : (size_t)*left;
		if (scan != NULL && sentinel_scan_evbuffer(scan, in, take) != 0)
			return -2;
		evbuffer_remove_buffer(in, out, take);
		*left -= take;
		*count += take;
		return *left == 0;
	case HTTP_BODY_CLOSE:
		evbuffer_add_buffer(out, in);
		*count += len;
		return 0;
	case HTTP_BODY_CHUNKED:
		/* 16 chains at a time, until the body ends or in is empty:
		 * what is left would wait for a read that may never come. */
		do {
			n = evbuffer_peek(in, -1, NULL, vec, 16);
			if (n > 16)
				n = 16;
			take = 0;
			for (i = 0; i < (size_t)n && !done; i++) {
				r = http_chunked_feed_data(ch, vec[i].iov_base,
				    vec[i].iov_len, &done,
				    scan != NULL ? forward_scan_data : NULL,
				    &fs);
				if (r < 0)
					return -1;
				/* The framing as sent, too: extensions,
				 * trailers. */
				if (scan != NULL &&
				    sentinel_scan(scan, vec[i].iov_base,
				        (size_t)r, 1) != 0)
					fs.is_refused = 1;
				if (fs.is_refused)
					return -2;
				take += (size_t)r;
			}
			evbuffer_remove_buffer(in, out, take);
			*count += take;
		} while (!done && take > 0 && evbuffer_get_length(in) > 0);
		return done;
	}
	return -1;
}

/* May free the connection. */
static void
forward_response_done(struct conn *c)
{
	c->resp_state = RESP_DONE;
	c->is_clean_close = c->client_wants_close && c->req_done;
	if (c->resp_keeps_alive && c->req_done && c->ubev != NULL) {
		c->up_is_idle = 1;
		forward_upstream_reading(c, 1);
	} else {
		conn_close_upstream(c);
	}
	if (c->client_keeps_alive && c->req_done) {
		conn_next_request(c);
		return;
	}
	conn_end_request(c);
	conn_close_after_flush(c);
}

/*
 * The request head, as it goes upstream: Host rebuilt, hop-by-hop headers
 * dropped, sentinels replaced where they may go.  length: a body read
 * whole (SEC_BODY_BUFFER), sent with this Content-Length instead of its
 * own framing (and without Expect: it was answered here); else NULL.
 * Returns 0, or -1 when a sentinel was refused (c->sec_refused).
 */
static int
forward_send_head(struct conn *c, const uint64_t *length)
{
	/* A request that carries real values asks for an uncompressed
	 * answer, which can be checked for them (sentinel_redacts()). */
	static const char *const skip_plain[2][3] = { { "host", NULL },
		{ "host", "accept-encoding", NULL } };
	static const char *const skip_whole[2][5] = {
		{ "host", "content-length", "expect", NULL },
		{ "host", "content-length", "expect", "accept-encoding", NULL }
	};
	const struct http_request *r = c->req;
	struct evbuffer *out = bufferevent_get_output(c->ubev);
	size_t before = evbuffer_get_length(out);
	int ident = c->sec_in_head || sentinel_redacts(c);

	evbuffer_add_printf(out, "%s ", c->method);
	if (c->sec_in_head) {
		if (sentinel_add_replaced(
		        c, out, c->path, strlen(c->path), 0) != 0)
			goto fail;
	} else {
		evbuffer_add(out, c->path, strlen(c->path));
	}
	evbuffer_add_printf(out, " HTTP/1.%d\r\n", r->version_minor);
	if (strchr(c->host, ':') != NULL)
		evbuffer_add_printf(out, "Host: [%s]", c->host);
	else
		evbuffer_add_printf(out, "Host: %s", c->host);
	if (c->port != (c->is_intercept ? 443 : 80))
		evbuffer_add_printf(out, ":%u", c->port);
	evbuffer_add(out, "\r\n", 2);
	if (forward_copy_headers(c, out, r->headers, r->n_headers,
	        length != NULL ? skip_whole[ident] : skip_plain[ident]) != 0)
		goto fail;
	if (ident)
		evbuffer_add(out, "Accept-Encoding: identity\r\n", 27);
	if (length != NULL)
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)*length);
	else if (c->req_body == HTTP_BODY_CHUNKED)
		forward_add_te(out, r->headers, r->n_headers);
	evbuffer_add_printf(out, "Via: 1.%d airlock\r\n\r\n", r->version_minor);
	c->bytes_out += evbuffer_get_length(out) - before;
	return 0;
fail:
	/* Nothing of this head may leave. */
	evbuffer_drain(out, evbuffer_get_length(out) - before);
	return -1;
}

/* A body read whole (SEC_BODY_BUFFER) outgrew SENTINEL_BODY_MAX.  May
 * free the connection. */
static void
forward_too_large(struct conn *c)
{
	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = "builtin:secrets";
	c->verdict.reason = "a request body read whole to check it for "
	                    "credential sentinels is over 8 MiB";
	c->client_keeps_alive = 0;
	conn_reply_error(c, 413,
	    "airlock: a request body that must be checked whole for "
	    "credential sentinels may be at most 8 MiB\n");
}

/* May free the connection. */
void
forward_start(struct conn *c)
{
	const struct http_request *r = c->req;
	int expects;

	c->state = CONN_FORWARD;
	c->up_is_idle = 0;
	c->req_done = c->req_body == HTTP_BODY_NONE;
	http_chunked_init(&c->req_chunk);
	c->resp_state = RESP_HEAD;
	c->resp_left = 0;
	http_chunked_init(&c->resp_chunk);
	c->sec_body = sentinel_body_mode(c);
	if (c->sec_body == SEC_BODY_BUFFER) {
		/* The head goes up with the whole body (forward_buffer). */
		if (c->req_body == HTTP_BODY_LENGTH &&
		    c->req_left > SENTINEL_BODY_MAX) {
			forward_too_large(c);
			return;
		}
		c->sec_buf = evbuffer_new();
		if (c->sec_buf == NULL) {
			conn_reply_error(c, 500, "airlock: out of memory\n");
			return;
		}
		/* The client may wait for "100 Continue" before it sends
		 * the body the head waits for: say it here. */
		expects =
		    http_header_find(r->headers, r->n_headers, 0, "expect");
		if (expects >= 0 && r->version_minor == 1 &&
		    http_list_has(r->headers[expects].value,
		        r->headers[expects].value_len, "100-continue")) {
			bufferevent_write(
			    c->cbev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			conn_client_flush(c);
		}
	} else if (forward_send_head(c, NULL) != 0) {
		sentinel_refuse(c, c->sec_refused, 1);
		return;
	}
	bufferevent_setwatermark(c->ubev, EV_WRITE, FORWARD_HIGH / 4, 0);
	bufferevent_setwatermark(c->cbev, EV_WRITE, FORWARD_HIGH / 4, 0);
	conn_upstream_flush(c);
	forward_upstream_reading(c, 1);
	conn_timer_set(c, c->w->proxy->cfg.idle_timeout_ms);
	forward_client_read(c);
}

static void
forward_buffer_data(void *arg, const char *data, size_t len)
{
	evbuffer_add(arg, data, len);
}

/*
 * Move a chunked body's data, without its framing, from in to the end of
 * to: until the body ends (*done), in is empty, or to holds more than
 * max.  Returns how many bytes of in it took, or -1 when malformed.
 */
static ssize_t
forward_dechunk(struct evbuffer *in, struct http_chunked *ch,
    struct evbuffer *to, size_t max, int *done)
{
	struct evbuffer_iovec vec[16];
	size_t take, all = 0, i;
	ssize_t r;
	int n;

	do { /* as in forward_body() */
		n = evbuffer_peek(in, -1, NULL, vec, 16);
		take = 0;
		for (i = 0; i < (size_t)(n > 16 ? 16 : n) && !*done; i++) {
			r = http_chunked_feed_data(ch, vec[i].iov_base,
			    vec[i].iov_len, done, forward_buffer_data, to);
			if (r < 0)
				return -1;
			take += (size_t)r;
		}
		evbuffer_drain(in, take);
		all += take;
	} while (!*done && take > 0 && evbuffer_get_length(in) > 0 &&
	    evbuffer_get_length(to) <= max);
	return (ssize_t)all;
}

/*
 * SEC_BODY_BUFFER: gather the body (a chunked one without its framing);
 * once whole, replace what may be replaced and send head and body.
 * Returns 1 when sent, 0 when more is to come, or answers the client and
 * returns -1 (the connection may be freed).
 */
static int
forward_buffer(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in), take = 0;
	uint64_t whole;
	int done = 0;

	if (c->req_body == HTTP_BODY_LENGTH) {
		take = (uint64_t)len < c->req_left ? len : (size_t)c->req_left;
		evbuffer_remove_buffer(in, c->sec_buf, take);
		c->req_left -= take;
		done = c->req_left == 0;
	} else if (forward_dechunk(in, &c->req_chunk, c->sec_buf,
	               SENTINEL_BODY_MAX, &done) < 0) {
		conn_reply_error(
		    c, 400, "airlock: malformed chunked request body\n");
		return -1;
	}
	if (evbuffer_get_length(c->sec_buf) > SENTINEL_BODY_MAX) {
		forward_too_large(c);
		return -1;
	}
	if (!done)
		return 0;
	if (sentinel_body_finish(c) != 0) {
		sentinel_refuse(c, c->sec_refused, 1);
		return -1;
	}
	whole = evbuffer_get_length(c->sec_buf);
	if (forward_send_head(c, &whole) != 0) {
		sentinel_refuse(c, c->sec_refused, 1);
		return -1;
	}
	c->bytes_out += whole;
	evbuffer_add_buffer(bufferevent_get_output(c->ubev), c->sec_buf);
	return 1;
}

/* Request body bytes from the client.  May free the connection. */
void
forward_client_read(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	struct evbuffer *out;
	int r;

	if (c->req_done || c->ubev == NULL)
		return; /* pipelined bytes wait for the response */
	out = bufferevent_get_output(c->ubev);
	conn_timer_set(c, c->w->proxy->cfg.idle_timeout_ms);
	if (c->sec_body == SEC_BODY_BUFFER) {
		r = forward_buffer(c, in);
		if (r < 0)
			return;
		conn_upstream_flush(c);
	} else {
		r = forward_body(in, out, c->req_body, &c->req_left,
		    &c->req_chunk, &c->bytes_out,
		    c->sec_body == SEC_BODY_SCAN ? c : NULL);
		if (r == -2) {
			/* Nothing of it went up; an answer under way cannot
			 * turn into a 403. */
			sentinel_refuse(
			    c, c->sec_refused, c->resp_state == RESP_HEAD);
			return;
		}
		conn_upstream_flush(c);
	}
	if (r < 0) {
		c->client_keeps_alive = 0;
		if (c->resp_state == RESP_HEAD) {
			conn_reply_error(c, 400,
			    "airlock: malformed chunked "
			    "request body\n");
			return;
		}
		conn_end_request(c);
		conn_free(c);
		return;
	}
	if (r == 1) {
		c->req_done = 1;
		if (c->resp_state == RESP_DONE) {
			/* The upstream answered before the body ended. */
			c->client_keeps_alive = 0;
			forward_response_done(c);
		}
		return;
	}
	if (evbuffer_get_length(out) >= FORWARD_HIGH)
		conn_client_reading(c, 0);
}

/* The client took what we had for it: resume reading the upstream.
 * May free the connection. */
void
forward_client_drained(struct conn *c)
{
	if (c->resp_state == RESP_SPLICE)
		forward_splice_pump(c);
	else if (c->ubev != NULL && c->resp_state != RESP_DONE)
		forward_upstream_reading(c, 1);
}

/*
 * Splicing a response body.  A body with a Content-Length, to a request
 * that carried no real secret value (nothing to redact in it) and whose
 * own body was sent whole, between two plain sockets, moves from the
 * upstream socket to the client's through a pipe, as a CONNECT tunnel
 * does, without a copy through user space: exactly the Content-Length
 * bytes that were not read yet (what the head parser had read of it went
 * to the client's output first, and is written before any spliced byte),
 * then the connection reads the next request head.  Chunked bodies,
 * bodies to end of stream, HEAD, 1xx/204/304, TLS on either side,
 * redacted responses and clients that are copied to (proxy_relay_copies():
 * a reader on this host) keep the buffered path.
 */
static int
forward_may_splice(const struct conn *c)
{
	return c->resp_body == HTTP_BODY_LENGTH &&
	    c->resp_left >= FORWARD_SPLICE_MIN && c->req_done &&
	    !c->copies_to_client && !c->is_intercept && !c->up_is_tls &&
	    c->crd != NULL && c->uread != NULL && c->ufd >= 0 &&
	    c->cbev != NULL && !sentinel_redacts(c) &&
	    evbuffer_get_length(bufferevent_get_input(c->ubev)) == 0;
}

void
forward_splice_stop(struct conn *c)
{
	if (c->spl_wr != NULL) {
		event_free(c->spl_wr);
		c->spl_wr = NULL;
	}
	if (c->spl_pipe[0] < 0)
		return;
	if (c->spl_in_pipe == 0) {
		tunnel_pipe_put(c->spl_pipe);
	} else {
		close(c->spl_pipe[0]); /* bytes that will never be written */
		close(c->spl_pipe[1]);
		c->spl_pipe[0] = c->spl_pipe[1] = -1;
	}
	c->spl_in_pipe = 0;
}

static void
forward_splice_writable(evutil_socket_t fd, short what, void *arg)
{
	forward_splice_pump(arg);
}

/* Returns 0, or -1 when no pipe or event could be had (the buffered path
 * goes on then). */
static int
forward_splice_start(struct conn *c)
{
	if (tunnel_pipe_get(c->spl_pipe) != 0) {
		c->spl_pipe[0] = c->spl_pipe[1] = -1;
		return -1;
	}
	c->spl_in_pipe = 0;
	c->spl_wr = event_new(c->w->base, c->cfd, EV_WRITE | EV_PERSIST,
	    forward_splice_writable, c);
	if (c->spl_wr == NULL) {
		forward_splice_stop(c);
		return -1;
	}
	c->resp_state = RESP_SPLICE;
	return 0;
}

/*
 * Move what the upstream and the client allow: splice in at most what is
 * left of the body, splice out what the pipe holds.  While the client is
 * slow, the upstream is not read (backpressure: the pipe is the buffer);
 * the write watch calls again.  May free the connection.
 */
static void
forward_splice_pump(struct conn *c)
{
	ssize_t n;
	size_t want;
	int round, is_blocked = 0, moved;

	/* Bytes the head parser read with the head go first: the
	 * bufferevent writes them, then calls forward_client_drained(). */
	conn_client_flush(c);
	if (evbuffer_get_length(bufferevent_get_output(c->cbev)) > 0) {
		forward_upstream_reading(c, 0);
		event_del(c->spl_wr);
		return;
	}
	conn_timer_set(c, c->w->proxy->cfg.idle_timeout_ms);
	for (round = 0; round < FORWARD_SPLICE_ROUNDS; round++) {
		moved = 0;
		if (c->resp_left > 0) {
			want = c->resp_left < FORWARD_READ_MAX
			    ? (size_t)c->resp_left
			    : FORWARD_READ_MAX;
			n = splice(c->ufd, NULL, c->spl_pipe[1], NULL, want,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				c->resp_left -= (uint64_t)n;
				c->spl_in_pipe += (size_t)n;
				c->bytes_in += (uint64_t)n;
				moved = 1;
			} else if (n == 0 ||
			    (errno != EAGAIN && errno != EINTR)) {
				goto fail; /* the upstream ended mid-body */
			}
		}
		if (c->spl_in_pipe > 0) {
			n = splice(c->spl_pipe[0], NULL, c->cfd, NULL,
			    c->spl_in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				c->spl_in_pipe -= (size_t)n;
				moved = 1;
			} else if (n < 0 && errno == EAGAIN) {
				is_blocked = 1;
			} else if (n == 0 || errno != EINTR) {
				goto fail; /* the client went away */
			}
		}
		if (c->resp_left == 0 && c->spl_in_pipe == 0) {
			forward_splice_stop(c);
			c->resp_state = RESP_BODY;
			forward_response_done(c);
			return;
		}
		if (!moved || is_blocked)
			break;
	}
	forward_upstream_reading(c, !is_blocked && c->resp_left > 0);
	if (is_blocked)
		event_add(c->spl_wr, NULL);
	else
		event_del(c->spl_wr);
	return;
fail:
	conn_end_request(c);
	conn_free(c);
}

/* Nonzero when a body comes in a coding other than identity (chunked
 * aside): one that a redacted response may not have. */
static int
forward_is_encoded(const struct conn *c, const struct http_response *resp)
{
	const struct http_header *h = resp->headers;
	size_t n = resp->n_headers;
	int i;

	if (c->resp_body == HTTP_BODY_NONE)
		return 0;
	for (i = http_header_find(h, n, 0, "content-encoding"); i >= 0;
	     i = http_header_find(h, n, (size_t)i + 1, "content-encoding"))
		if (!(h[i].value_len == 8 &&
		        strncasecmp(h[i].value, "identity", 8) == 0))
			return 1;
	for (i = http_header_find(h, n, 0, "transfer-encoding"); i >= 0;
	     i = http_header_find(h, n, (size_t)i + 1, "transfer-encoding"))
		if (!(h[i].value_len == 7 &&
		        strncasecmp(h[i].value, "chunked", 7) == 0))
			return 1;
	return 0;
}

/* Write the response head to the client.  Returns 0, -1 (malformed) or
 * -2 (a redacted response in a coding that cannot be checked). */
static int
forward_response_head(
    struct conn *c, const struct http_response *resp, size_t head_len)
{
	struct evbuffer *out = bufferevent_get_output(c->cbev);
	int is_interim = resp->status >= 100 && resp->status < 200;
	int keep;

	if (resp->status == 101)
		return -1; /* Upgrade was not passed on: nothing to switch to */
	if (http_response_body(
	        resp, c->is_head_request, &c->resp_body, &c->resp_left) != 0)
		return -1;
	if (sentinel_redacts(c) && forward_is_encoded(c, resp))
		return -2;
	keep = c->client_keeps_alive && c->resp_body != HTTP_BODY_CLOSE;
	evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", resp->status,
	    (int)resp->reason_len, resp->reason);
	(void)forward_copy_headers(
	    NULL, out, resp->headers, resp->n_headers, NULL);
	if (c->resp_body == HTTP_BODY_CHUNKED)
		forward_add_te(out, resp->headers, resp->n_headers);
	evbuffer_add(out, "Via: 1.1 airlock\r\n", 18);
	if (!is_interim) {
		if (!keep)
			evbuffer_add(out, "Connection: close\r\n", 19);
		else if (c->req != NULL && c->req->version_minor == 0)
			evbuffer_add(out, "Connection: keep-alive\r\n", 24);
		c->client_keeps_alive = keep;
		c->resp_keeps_alive = http_keeps_alive(resp->version_minor,
		                          resp->headers, resp->n_headers) &&
		    c->resp_body != HTTP_BODY_CLOSE;
	}
	evbuffer_add(out, "\r\n", 2);
	c->bytes_in += head_len;
	return 0;
}

/*
 * The body of a response to a request that carried real values: its
 * data goes through the hold (sentinel_redact_flush()), which passes on
 * what is known clean and keeps the rest until more comes or the body
 * ends (is_eof: the upstream closed).  A chunked body is passed on in
 * chunks of our own: the values are overwritten in the data, whatever
 * the chunk sizes cut.  Returns as forward_body().
 */
static int
forward_body_redacted(
    struct conn *c, struct evbuffer *in, struct evbuffer *out, int is_eof)
{
	struct evbuffer *hold = sentinel_hold(c);
	size_t len = evbuffer_get_length(in), take;
	ssize_t r;
	int done = 0;

	if (hold == NULL)
		return -1;
	switch (c->resp_body) {
	case HTTP_BODY_NONE:
		done = 1;
		break;
	case HTTP_BODY_LENGTH:
		take =
		    (uint64_t)len < c->resp_left ? len : (size_t)c->resp_left;
		evbuffer_remove_buffer(in, hold, take);
		c->resp_left -= take;
		c->bytes_in += take;
		done = c->resp_left == 0;
		break;
	case HTTP_BODY_CLOSE:
		c->bytes_in += len;
		evbuffer_add_buffer(hold, in);
		break;
	case HTTP_BODY_CHUNKED:
		r = forward_dechunk(in, &c->resp_chunk, hold, SIZE_MAX, &done);
		if (r < 0)
			return -1;
		c->bytes_in += (uint64_t)r;
		break;
	}
	if (sentinel_redact_flush(
	        c, out, done || is_eof, c->resp_body == HTTP_BODY_CHUNKED) != 0)
		return -1;
	return done;
}

/* Response bytes from the upstream.  May free the connection. */
void
forward_upstream_read(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->ubev);
	struct evbuffer *out = bufferevent_get_output(c->cbev);
	size_t len, n;
	ssize_t r;
	char *head;
	int done;

	conn_timer_set(c, c->w->proxy->cfg.idle_timeout_ms);
	while (c->resp_state == RESP_HEAD) {
		len = evbuffer_get_length(in);
		if (len == 0) {
			conn_client_flush(c); /* an interim answer, if any */
			return;
		}
		n = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
		head = (char *)evbuffer_pullup(in, (ev_ssize_t)n);
		r = http_parse_response(head, n, &forward_scratch);
		if (r == HTTP_PARSE_INCOMPLETE) {
			conn_client_flush(c); /* an interim answer, if any */
			return;
		}
		/* The parsed head's slices point into head: redacted with
		 * it, before any of it is copied out. */
		if (r > 0 && sentinel_redacts(c))
			sentinel_redact_head(c, head, (size_t)r);
		done = r < 0
		    ? -1
		    : forward_response_head(c, &forward_scratch, (size_t)r);
		if (done == -2) {
			sentinel_cut_encoded(c);
			return;
		}
		if (done != 0) {
			c->client_keeps_alive = 0;
			conn_reply_error(c, 502,
			    "airlock: malformed response "
			    "from the upstream\n");
			return;
		}
		evbuffer_drain(in, (size_t)r);
		if (forward_scratch.status >= 100 &&
		    forward_scratch.status < 200)
			continue; /* an interim answer: the final one follows */
		c->resp_state = RESP_BODY;
	}
	if (c->resp_state != RESP_BODY)
		return;
	if (sentinel_redacts(c))
		done = forward_body_redacted(c, in, out, 0);
	else
		done = forward_body(in, out, c->resp_body, &c->resp_left,
		    &c->resp_chunk, &c->bytes_in, NULL);
	conn_client_flush(c);
	if (done < 0) {
		conn_end_request(c);
		conn_free(c);
		return;
	}
	if (done == 1) {
		if (!c->req_done) {
			/* Answered before the request body ended: stop here. */
			c->resp_state = RESP_DONE;
			c->client_keeps_alive = 0;
			c->resp_keeps_alive = 0;
			forward_response_done(c);
			return;
		}
		forward_response_done(c);
		return;
	}
	if (forward_may_splice(c) && forward_splice_start(c) == 0) {
		forward_splice_pump(c);
		return;
	}
	if (evbuffer_get_length(out) >= FORWARD_HIGH)
		forward_upstream_reading(c, 0);
}

/* EOF, error or timeout on the upstream.  May free the connection. */
void
forward_upstream_event(struct conn *c, short what)
{
	/* A reused connection the server had closed: once more, anew. */
	if (c->resp_state == RESP_HEAD && (what & BEV_EVENT_TIMEOUT) == 0 &&
	    conn_retry_upstream(c) == 0)
		return;
	if (c->resp_state == RESP_BODY && c->resp_body == HTTP_BODY_CLOSE &&
	    (what & BEV_EVENT_EOF) != 0) {
		if (!sentinel_redacts(c)) {
			forward_upstream_read(c); /* whatever is buffered */
		} else if (forward_body_redacted(c,
		               bufferevent_get_input(c->ubev),
		               bufferevent_get_output(c->cbev), 1) < 0) {
			conn_end_request(c);
			conn_free(c);
			return;
		} else {
			/* ... and what the hold kept back, now known clean */
			conn_client_flush(c);
		}
		c->client_keeps_alive = 0;
		c->resp_keeps_alive = 0;
		forward_response_done(c);
		return;
	}
	if (c->resp_state == RESP_HEAD) {
		c->client_keeps_alive = 0;
		conn_reply_error(c, (what & BEV_EVENT_TIMEOUT) ? 504 : 502,
		    (what & BEV_EVENT_TIMEOUT)
		        ? "airlock: the upstream did not answer in time\n"
		        : "airlock: the upstream closed the connection\n");
		return;
	}
	/* Mid-body: the client sees the connection end early. */
	conn_end_request(c);
	conn_free(c);
}
