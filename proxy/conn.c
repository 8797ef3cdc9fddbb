/*
 * conn: a client connection from accept to close, and the decision of
 * each request it carries (see conn.h for the states).
 *
 * Rule of this file: a function that may free the connection says so in
 * its comment, and its callers return right after calling it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "conn.h"
#include "hold.h"
#include "pool.h"
#include "sentinel.h"
#include "tls_peek.h"
#include "tunnel.h"
#include "util.h"

/* Above this many bytes waiting for a slow reader, stop reading the other
 * side (backpressure); resume when it drained below CONN_LOW_WATER. */
#define CONN_READ_HIGH (1024 * 1024)
/* What one read or write may move: as much as one read of a plain
 * upstream brings (forward.c), so that a bulk body costs one write per
 * read; 256 KiB took two writes for each read, 3x the system calls. */
#define CONN_MAX_SINGLE_IO (1024 * 1024)
/* One read of a plain client: a piece of a request body being relayed;
 * anything else (a head, mostly) gets room for a large head at most, so
 * that 1,000 slow clients holding half a head hold 16 MiB, not 256. */
#define CONN_CLIENT_READ (256 * 1024)
#define CONN_CLIENT_READ_HEAD (16 * 1024)

/* The parser's scratch space: one per thread, never held across events. */
static __thread struct http_request conn_scratch;

static void conn_client_read_cb(struct bufferevent *bev, void *arg);
static void conn_client_write_cb(struct bufferevent *bev, void *arg);
static void conn_client_event_cb(
    struct bufferevent *bev, short what, void *arg);
static void conn_upstream_read_cb(struct bufferevent *bev, void *arg);
static void conn_upstream_write_cb(struct bufferevent *bev, void *arg);
static void conn_upstream_event_cb(
    struct bufferevent *bev, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_client_readable(evutil_socket_t fd, short what, void *arg);
static void conn_client_input_cb(
    struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg);
static void conn_read_head(struct conn *c);
static void conn_peek(struct conn *c, int is_timeout, int server_spoke);
static void conn_upstream_connected(struct conn *c);

static const char *
conn_status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return "Error";
}

void
conn_timer_set(struct conn *c, unsigned ms)
{
	struct timeval tv;

	if (ms == 0) {
		event_del(c->timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(c->timer, &tv);
}

static void
conn_set_nodelay(int fd)
{
	int one = 1;

	/* Without it a small request or a TLS record waits for an ACK
	 * (Nagle + delayed ACK: about 40 ms on every new connection). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct proxy *p = w->proxy;
	struct conn *c;
	static const char busy[] =
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 36\r\n"
	    "Connection: close\r\n\r\n"
	    "airlock-proxy: too many connections\n";

	if (atomic_fetch_add(&p->n_conns, 1) >= p->cfg.max_conns) {
		atomic_fetch_sub(&p->n_conns, 1);
		(void)send(
		    fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		goto fail;
	c->w = w;
	c->cfd = fd;
	c->ufd = -1;
	c->spl_pipe[0] = c->spl_pipe[1] = -1;
	/* TCP_NODELAY came with the socket: the listener has it set. */
	c->is_tcp_client =
	    sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
	c->copies_to_client = proxy_relay_copies(p, sa);
	c->timer = evtimer_new(w->base, conn_timer_cb, c);
	c->cbev = bufferevent_socket_new(w->base, fd, 0);
	c->crd = event_new(
	    w->base, fd, EV_READ | EV_PERSIST, conn_client_readable, c);
	if (c->timer == NULL || c->cbev == NULL || c->crd == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(c->cbev),
	        conn_client_input_cb, c) == NULL)
		goto fail;
	w->n_conns++;
	LIST_INSERT_HEAD(&w->conns, c, entry);
	conn_client_attach(c);
	return;
fail:
	if (c != NULL) {
		if (c->crd != NULL)
			event_free(c->crd);
		if (c->cbev != NULL)
			bufferevent_free(c->cbev);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
	}
	atomic_fetch_sub(&p->n_conns, 1);
	close(fd);
}

/* Bytes queued for the client, in the TLS filter and under it. */
static size_t
conn_client_pending(struct conn *c)
{
	struct bufferevent *under;
	size_t n;

	if (c->cbev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(c->cbev));
	under = bufferevent_get_underlying(c->cbev);
	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/*
 * libevent reads and writes at most 16 KiB per call by default: a bulk
 * body then costs a system call per 16 KiB each way.  Let one call move
 * as much as a socket buffer holds.
 */
void
conn_tune_bev(struct bufferevent *bev)
{
	(void)bufferevent_set_max_single_read(bev, CONN_MAX_SINGLE_IO);
	(void)bufferevent_set_max_single_write(bev, CONN_MAX_SINGLE_IO);
}

/*
 * Write a socket bufferevent's output now, from the callback that queued
 * it, instead of a loop turn later.  A socket bufferevent freezes its
 * output's start so that only it drains it; it does the same around its
 * own writes.  Returns how many bytes are left (EAGAIN, or an error the
 * bufferevent reports).
 */
static size_t
conn_write_now(struct evbuffer *out, int fd)
{
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write_atmost(out, fd, CONN_MAX_SINGLE_IO) < 0 &&
		    errno != EINTR)
			break;
	evbuffer_freeze(out, 1);
	return evbuffer_get_length(out);
}

/*
 * Write what is queued for a plain client now, from inside the callback
 * that queued it, instead of arming a write event and coming back on the
 * next turn of the loop: most answers fit in the socket buffer and leave
 * in this one call.  What does not fit is left to the bufferevent, whose
 * EV_WRITE stays enabled until it drained (conn_client_write_cb).  A TLS
 * filter (interception) writes through OpenSSL and always has EV_WRITE.
 * Never frees the connection; a write error shows on the next read.
 */
void
conn_client_flush(struct conn *c)
{
	struct evbuffer *out;

	if (c->cbev == NULL || c->is_intercept)
		return;
	out = bufferevent_get_output(c->cbev);
	if (conn_write_now(out, c->cfd) > 0)
		bufferevent_enable(c->cbev, EV_WRITE);
}

/*
 * A plain client is read here rather than by its bufferevent, which asks
 * the kernel how much is readable (ioctl FIONREAD) before every read: one
 * system call per request head for nothing.  The bytes go into the
 * bufferevent's input, which the rest of proxy/ reads as before; the
 * bufferevent still does the writing.  Reading stops while the input
 * holds CONN_READ_HIGH (backpressure, like a read high-watermark) and
 * resumes when it drained below (conn_client_input_cb).
 */
void
conn_client_reading(struct conn *c, int on)
{
	if (c->crd == NULL) {
		if (c->cbev == NULL)
			return;
		if (on)
			bufferevent_enable(c->cbev, EV_READ);
		else
			bufferevent_disable(c->cbev, EV_READ);
		return;
	}
	c->is_client_reading = on;
	if (on &&
	    evbuffer_get_length(bufferevent_get_input(c->cbev)) <
	        CONN_READ_HIGH)
		event_add(c->crd, NULL);
	else
		event_del(c->crd);
}

/* The input drained below CONN_READ_HIGH: read again if wanted. */
static void
conn_client_input_cb(
    struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_deleted == 0 || c->crd == NULL || !c->is_client_reading ||
	    evbuffer_get_length(in) >= CONN_READ_HIGH ||
	    event_pending(c->crd, EV_READ, NULL))
		return;
	event_add(c->crd, NULL);
}

/*
 * One readv(2) of up to want bytes from fd straight into the end of a
 * bufferevent's input (no FIONREAD, no copy).  Returns the bytes read,
 * 0 at end of stream, -1 with errno, or -2 when no room could be had.
 */
ssize_t
conn_read_into(int fd, struct evbuffer *in, size_t want)
{
	struct evbuffer_iovec vec[2];
	ssize_t n;
	int n_vec;

	/* A socket bufferevent freezes its input's end so that only it
	 * fills it; it does the same around its own reads. */
	evbuffer_unfreeze(in, 0);
	n_vec = evbuffer_reserve_space(in, (ev_ssize_t)want, vec, 2);
	if (n_vec <= 0) {
		evbuffer_freeze(in, 0);
		return -2;
	}
	n = readv(fd, (struct iovec *)vec, n_vec);
	if (n > 0 && (size_t)n <= vec[0].iov_len) {
		vec[0].iov_len = (size_t)n;
		n_vec = 1;
	} else if (n > 0) {
		vec[1].iov_len = (size_t)n - vec[0].iov_len;
	}
	evbuffer_commit_space(in, vec, n > 0 ? n_vec : 0);
	evbuffer_freeze(in, 0);
	return n;
}

/* A plain client's socket is readable.  May free the connection. */
static void
conn_client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	size_t len = evbuffer_get_length(in), want, max;
	ssize_t n;

	if (len >= CONN_READ_HIGH) {
		event_del(c->crd);
		return;
	}
	max = c->state == CONN_FORWARD && !c->req_done ? CONN_CLIENT_READ
	                                               : CONN_CLIENT_READ_HEAD;
	want = CONN_READ_HIGH - len;
	if (want > max)
		want = max;
	n = conn_read_into(fd, in, want);
	if (n == -2) {
		conn_end_request(c);
		conn_free(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* As the bufferevent does: stop reading, then say why. */
		conn_client_reading(c, 0);
		conn_client_event_cb(c->cbev,
		    BEV_EVENT_READING |
		        (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
		    c);
		return;
	}
	if (evbuffer_get_length(in) >= CONN_READ_HIGH)
		event_del(c->crd);
	conn_client_read_cb(c->cbev, c);
}

/* Stop reading a plain client here: TLS or a tunnel takes its socket. */
static void
conn_client_unwatch(struct conn *c)
{
	if (c->crd == NULL)
		return;
	event_free(c->crd);
	c->crd = NULL;
	c->is_client_reading = 0;
}

void
conn_client_attach(struct conn *c)
{
	conn_tune_bev(c->cbev);
	bufferevent_setcb(c->cbev, conn_client_read_cb, conn_client_write_cb,
	    conn_client_event_cb, c);
	/* A plain client is written by conn_client_flush(): no write event
	 * until something does not fit; and read by conn_client_readable(),
	 * which stops at CONN_READ_HIGH itself. */
	if (c->is_intercept) {
		bufferevent_setwatermark(c->cbev, EV_READ, 0, CONN_READ_HIGH);
		bufferevent_enable(c->cbev, EV_READ | EV_WRITE);
	} else {
		bufferevent_disable(c->cbev, EV_READ | EV_WRITE);
		conn_client_reading(c, 1);
	}
	c->state = CONN_HEAD;
	c->is_head_timed = 1;
	conn_timer_set(c, c->w->proxy->cfg.header_timeout_ms);
}

/*
 * Drop the upstream connection.  One whose last response ended cleanly,
 * with nothing unread, goes to the worker's pool for the next request to
 * the same host and checked address; any other is closed.
 */
void
conn_close_upstream(struct conn *c)
{
	int is_reusable = c->up_is_idle && !c->up_is_tls && c->ufd >= 0 &&
	    c->ubev != NULL && c->uread != NULL && c->up_addr < c->n_addrs &&
	    evbuffer_get_length(bufferevent_get_input(c->ubev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->ubev)) == 0;

	if (c->ubev != NULL) {
		bufferevent_free(c->ubev);
		c->ubev = NULL;
	}
	if (is_reusable) {
		pool_put(c->w->pool, c->uread, c->up_host, c->up_port,
		    (const struct sockaddr *)&c->addrs[c->up_addr],
		    c->addr_lens[c->up_addr]);
		c->uread = NULL;
		c->ufd = -1;
	}
	if (c->uread != NULL) {
		pool_conn_free(c->uread);
		c->uread = NULL;
	}
	if (c->ufd >= 0) {
		close(c->ufd);
		c->ufd = -1;
	}
	c->up_is_idle = 0;
	c->up_is_reused = 0;
	c->up_is_tls = 0;
	c->up_host[0] = '\0';
}

static void
conn_release_request(struct conn *c)
{
	sentinel_end_request(c);
	if (c->pol != NULL) {
		proxy_policy_put(c->pol);
		c->pol = NULL;
	}
	free(c->head);
	c->head = NULL;
	free(c->req);
	c->req = NULL;
	free(c->target);
	c->target = NULL;
	free(c->path);
	c->path = NULL;
}

void
conn_free(struct conn *c)
{
	struct worker *w = c->w;

	if (c->hold != NULL) {
		hold_cancel(c->hold);
		c->hold = NULL;
	}
	resolve_cancel(c);
	forward_splice_stop(c);
	conn_client_unwatch(c);
	if (c->tun != NULL)
		tunnel_free(c->tun);
	if (c->cbev != NULL)
		bufferevent_free(
		    c->cbev); /* a TLS filter frees its SSL and the socket bev */
	conn_close_upstream(c);
	if (c->cfd >= 0)
		close(c->cfd);
	event_free(c->timer);
	conn_release_request(c);
	LIST_REMOVE(c, entry);
	free(c);
	w->n_conns--;
	atomic_fetch_sub(&w->proxy->n_conns, 1);
	if (w->is_stopping && w->n_conns == 0)
		event_active(w->drain_ev, EV_READ, 0);
}

void
conn_close_idle(struct worker *w)
{
	struct conn *c, *next;

	for (c = LIST_FIRST(&w->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state != CONN_HEAD ||
		    evbuffer_get_length(bufferevent_get_input(c->cbev)) != 0)
			continue;
		/* Between requests, but the last response may still be on
		 * its way to a slow reader: it goes out first. */
		if (conn_client_pending(c) == 0)
			conn_free(c);
		else
			conn_close_after_flush(c);
	}
}

void
conn_audit_request(struct conn *c)
{
	struct proxy *p = c->w->proxy;
	struct audit_event ev;

	if (c->pol == NULL || c->target == NULL)
		return; /* no request, or already recorded */
	if (p->audit != NULL) {
		memset(&ev, 0, sizeof ev);
		ev.component = AUDIT_COMPONENT_PROXY;
		ev.op = c->is_connect ? "connect" : c->method;
		ev.target = c->target;
		ev.decision = c->verdict.decision;
		ev.outcome = c->outcome;
		ev.decided_by = c->decided_by;
		ev.rule = c->verdict.rule;
		ev.reason = c->verdict.reason;
		if (c->reviewer[0] != '\0')
			ev.reviewer = c->reviewer;
		if (c->reviewer_reason[0] != '\0')
			ev.reason = c->reviewer_reason;
		ev.caller = &c->caller;
		ev.bytes_in = c->bytes_in;
		ev.bytes_out = c->bytes_out;
		ev.duration_ms = (int64_t)(time_mono_ms() - c->t_start_ms);
		(void)audit_log_event(p->audit, &ev);
	}
	free(c->target);
	c->target = NULL;
}

void
conn_end_request(struct conn *c)
{
	conn_audit_request(c);
	conn_release_request(c);
}

/* Close the client once what is queued for it has been written.  May free
 * the connection. */
/*
 * Everything was written: half-close and read (and drop) what the client
 * still sends for a moment before closing.  Closing a socket with unread
 * bytes (a request body we refused) sends a reset, which can destroy the
 * answer before the client read it.  Frees the connection, now or later.
 */
static void
conn_linger(struct conn *c)
{
	/* A client that asked to close, and whose request was read to its
	 * end, has nothing more to send: close at once. */
	if (c->is_lingering || c->cbev == NULL ||
	    (c->is_clean_close &&
	        evbuffer_get_length(bufferevent_get_input(c->cbev)) == 0)) {
		conn_free(c);
		return;
	}
	c->is_lingering = 1;
	(void)shutdown(c->cfd, SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->cbev),
	    evbuffer_get_length(bufferevent_get_input(c->cbev)));
	conn_client_reading(c, 1);
	conn_timer_set(c, 2000);
}

void
conn_close_after_flush(struct conn *c)
{
	c->state = CONN_CLOSING;
	c->closing_ms = time_mono_ms();
	conn_close_upstream(c);
	conn_client_flush(c);
	if (conn_client_pending(c) == 0) {
		conn_linger(c);
		return;
	}
	/* A TLS filter hands its bytes to the socket's bufferevent, whose
	 * drain we are not told about: poll for it. */
	conn_timer_set(c, c->is_intercept ? 20 : 5000);
}

/* May free the connection. */
void
conn_reply_error(struct conn *c, int status, const char *body)
{
	const char *text = conn_status_text(status);
	size_t blen = strlen(body);

	if (c->cbev != NULL && c->state != CONN_PEEK &&
	    c->state != CONN_TUNNEL) {
		evbuffer_add_printf(bufferevent_get_output(c->cbev),
		    "HTTP/1.1 %d %s\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Length: %zu\r\n"
		    "%s"
		    "Via: 1.1 airlock\r\n"
		    "Connection: close\r\n\r\n",
		    status, text, blen,
		    status == 407
		        ? "Proxy-Authenticate: Basic realm=\"airlock\"\r\n"
		        : "");
		if (!c->is_head_request)
			bufferevent_write(c->cbev, body, blen);
		conn_client_flush(c);
	}
	conn_end_request(c);
	conn_close_after_flush(c);
}

/* May free the connection. */
void
conn_deny(struct conn *c, const char *why)
{
	struct buf b;
	char *body;

	/* A held request keeps "hold" with its outcome (denied, timeout). */
	if (c->outcome != AUDIT_OUTCOME_DENIED &&
	    c->outcome != AUDIT_OUTCOME_TIMEOUT)
		c->verdict.decision = DECISION_DENY;
	buf_init(&b);
	buf_addf(&b, "airlock: %s %s denied by %s",
	    c->is_connect ? "CONNECT" : c->method,
	    c->target != NULL ? c->target : "?",
	    c->verdict.rule != NULL ? c->verdict.rule : "policy");
	if (c->verdict.reason != NULL && c->verdict.reason[0] != '\0')
		buf_addf(&b, ": %s", c->verdict.reason);
	buf_adds(&b, "\n");
	if (why != NULL && why[0] != '\0')
		buf_addf(&b, "%s\n", why);
	buf_adds(&b,
	    "To ask for access: ask the session's owner to allow it in "
	    "the policy (`airlock policy eval` names the deciding rule), or "
	    "to approve it while it is held (`airlock pending`, then "
	    "`airlock approve ID`).\n");
	body = buf_release(&b);
	conn_reply_error(c, 403, body);
	free(body);
}

/* Decode "Basic base64(user:password)" into the identity. */
static void
conn_parse_proxy_auth(struct conn *c, const char *v, size_t len)
{
	unsigned char out[512];
	size_t i, n;
	int r;

	if (len < 6 || strncasecmp(v, "basic ", 6) != 0)
		return;
	v += 6;
	len -= 6;
	while (len > 0 && *v == ' ') {
		v++;
		len--;
	}
	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof out)
		return;
	r = EVP_DecodeBlock(out, (const unsigned char *)v, (int)len);
	if (r <= 0)
		return;
	n = (size_t)r;
	while (n > 0 && out[n - 1] == '\0')
		n--;
	for (i = 0; i < n && out[i] != ':'; i++)
		if (out[i] < 0x20 || out[i] == 0x7f)
			return;
	if (i == n || i == 0 || i >= sizeof c->caller.identity)
		return;
	memcpy(c->caller.identity, out, i);
	c->caller.identity[i] = '\0';
}

static void
conn_copy_host(struct conn *c, const struct http_url *u)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t i, n = u->host_len;

	if (n >= sizeof c->host)
		n = sizeof c->host - 1;
	for (i = 0; i < n; i++)
		c->host[i] = (char)(u->host[i] >= 'A' && u->host[i] <= 'Z'
		        ? u->host[i] - 'A' + 'a'
		        : u->host[i]);
	/* "example.com." is "example.com" to the resolver: to rules, too. */
	if (n > 1 && c->host[n - 1] == '.')
		n--;
	c->host[n] = '\0';
	c->port = u->port;
	c->host_is_ip = inet_pton(AF_INET, c->host, buf) == 1 ||
	    inet_pton(AF_INET6, c->host, buf) == 1;
}

/* "host:port", with brackets around an IPv6 literal. */
static char *
conn_authority(const struct conn *c, int omit_port)
{
	char *s;

	if (omit_port)
		xasprintf(
		    &s, strchr(c->host, ':') != NULL ? "[%s]" : "%s", c->host);
	else
		xasprintf(&s,
		    strchr(c->host, ':') != NULL ? "[%s]:%u" : "%s:%u", c->host,
		    c->port);
	return s;
}

/*
 * Work out what the request asks for: method, host, port, path; fills
 * target and path.  Returns 0, or answers the client (400/405) and
 * returns -1 (the connection may then be freed).
 */
static int
conn_parse_target(struct conn *c)
{
	const struct http_request *r = c->req;
	struct http_url u;
	char *auth;

	if (r->method_len >= sizeof c->method) {
		conn_reply_error(c, 400, "airlock: malformed request\n");
		return -1;
	}
	memcpy(c->method, r->method, r->method_len);
	c->method[r->method_len] = '\0';
	c->is_connect = strcmp(c->method, "CONNECT") == 0;
	c->is_head_request = strcmp(c->method, "HEAD") == 0;

	if (c->is_intercept) {
		/* Inside an intercepted tunnel: origin-form to its host. */
		if (c->is_connect || r->target_len == 0 ||
		    r->target[0] != '/') {
			conn_reply_error(c, c->is_connect ? 405 : 400,
			    "airlock: expected an origin-form request inside "
			    "the "
			    "tunnel\n");
			return -1;
		}
		str_copy(c->host, c->tunnel_host, sizeof c->host);
		c->port = c->tunnel_port;
		c->host_is_ip = 0;
		c->path = xstrndup(r->target, r->target_len);
		auth = conn_authority(c, c->port == 443);
		xasprintf(&c->target, "https://%s%s", auth, c->path);
		free(auth);
		return 0;
	}
	if (c->is_connect) {
		if (http_parse_authority(r->target, r->target_len, &u) != 0) {
			conn_reply_error(
			    c, 400, "airlock: CONNECT needs host:port\n");
			return -1;
		}
		conn_copy_host(c, &u);
		c->target = conn_authority(c, 0);
		return 0;
	}
	if (http_parse_url(r->target, r->target_len, &u) != 0) {
		conn_reply_error(c, 400,
		    r->target_len > 0 && r->target[0] == '/'
		        ? "airlock: this is a proxy: send an absolute http:// "
		          "URL, or "
		          "CONNECT\n"
		        : "airlock: malformed request target\n");
		return -1;
	}
	if (u.is_https) {
		conn_reply_error(
		    c, 400, "airlock: use CONNECT for https:// URLs\n");
		return -1;
	}
	conn_copy_host(c, &u);
	c->path = u.path_len > 0 ? xstrndup(u.path, u.path_len) : xstrdup("/");
	if (c->path[0] == '?') {
		char *p;

		xasprintf(&p, "/%s", c->path);
		free(c->path);
		c->path = p;
	}
	auth = conn_authority(c, c->port == 80);
	xasprintf(&c->target, "http://%s%s", auth, c->path);
	free(auth);
	return 0;
}

/* Decide the request by name with the policy (or its cache). */
static void
conn_decide(struct conn *c)
{
	struct worker *w = c->w;
	const struct policy *pol = c->pol->pol;
	struct net_request nr;
	int hit = 0;

	if (c->is_connect && sentinel_intercepts(w->proxy, pol, c->host)) {
		/* A secret's host: its requests must be seen to have the
		 * value put back.  Without a CA, refuse rather than let a
		 * sentinel through a tunnel blind. */
		c->verdict.rule_index = -1;
		if (!intercept_has_ca(w->proxy)) {
			c->verdict.decision = DECISION_DENY;
			c->verdict.rule = "builtin:secrets";
			c->verdict.reason = "a host that receives a secret "
			                    "needs TLS interception, which has "
			                    "no CA (--session or --ca-dir)";
			return;
		}
		c->verdict.decision = DECISION_ALLOW;
		c->verdict.rule = "tls.intercept";
		c->verdict.reason = "a secret's host: decided per request "
		                    "inside the tunnel";
		return;
	}
	if (c->is_connect && policy_tls_intercepts(pol, c->host)) {
		/* Each request inside is decided by method and path. */
		c->verdict.decision = DECISION_ALLOW;
		c->verdict.rule = "tls.intercept";
		c->verdict.reason = "decided per request inside the tunnel";
		c->verdict.rule_index = -1;
		return;
	}
	nr.host = c->host;
	nr.port = c->port;
	nr.method = c->is_connect ? NULL : c->method;
	nr.path = c->is_connect ? NULL : c->path;
	if (w->cache_generation != c->pol->generation) {
		policy_cache_clear(w->cache);
		w->cache_generation = c->pol->generation;
	}
	policy_eval_net_cached(pol, w->cache, &nr, &c->verdict, &hit);
	c->decided_by = hit ? AUDIT_DECIDER_CACHE : AUDIT_DECIDER_POLICY;
}

/* A head was parsed into c->req: decide it.  May free the connection. */
static void
conn_begin_request(struct conn *c)
{
	const struct http_request *r = c->req;
	const struct policy_settings *set;
	char tp[64];
	uint64_t len;
	int i;

	c->t_start_ms = time_mono_ms();
	c->pol = proxy_policy_get(c->w->proxy);
	c->outcome = AUDIT_OUTCOME_NONE;
	c->decided_by = AUDIT_DECIDER_POLICY;
	c->reviewer[0] = '\0';
	c->reviewer_reason[0] = '\0';
	c->bytes_in = c->bytes_out = 0;
	memset(&c->verdict, 0, sizeof c->verdict);
	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = "airlock-proxy";
	c->verdict.reason = "";
	c->verdict.rule_index = -1;
	c->caller.trace_id[0] = c->caller.span_id[0] = '\0';
	if (c->ubev == NULL)
		c->n_addrs = 0; /* else: a kept-alive upstream's address */
	c->addr_next = 0;
	c->connect_timed_out = 0;
	c->client_wants_close = 0;
	c->is_clean_close = 0;
	c->up_no_reuse = 0;
	c->state = CONN_DECIDE;

	if (conn_parse_target(c) != 0)
		return;
	set = policy_settings(c->pol->pol);
	if (!c->is_intercept) {
		c->caller.identity[0] = '\0';
		i = http_header_find(
		    r->headers, r->n_headers, 0, "proxy-authorization");
		if (i >= 0)
			conn_parse_proxy_auth(
			    c, r->headers[i].value, r->headers[i].value_len);
	}
	if (set->proxy_auth == PROXY_AUTH_REQUIRED &&
	    c->caller.identity[0] == '\0') {
		c->verdict.rule = "proxy_auth";
		c->verdict.reason = "Proxy-Authorization is required";
		conn_reply_error(c, 407,
		    "airlock: this proxy needs Proxy-Authorization (Basic) "
		    "naming the agent or session\n");
		return;
	}
	i = http_header_find(r->headers, r->n_headers, 0, "traceparent");
	if (i >= 0 && r->headers[i].value_len < sizeof tp) {
		memcpy(tp, r->headers[i].value, r->headers[i].value_len);
		tp[r->headers[i].value_len] = '\0';
		(void)caller_parse_traceparent(
		    tp, c->caller.trace_id, c->caller.span_id);
	}
	if (!c->is_connect) {
		if (http_request_body(r, &c->req_body, &len) != 0) {
			c->verdict.reason = "ambiguous request framing";
			conn_reply_error(c, 400,
			    "airlock: malformed request framing "
			    "(Content-Length / Transfer-Encoding)\n");
			return;
		}
		c->req_left = len;
		c->client_keeps_alive = http_keeps_alive(
		    r->version_minor, r->headers, r->n_headers);
		c->client_wants_close = !c->client_keeps_alive;
	}
	/* Before any decision: a sentinel on its way where it may not go
	 * is refused, never held for a person to let through. */
	if (sentinel_check_head(c) != 0)
		return;

	conn_decide(c);
	c->stage = STAGE_RESOLVE;
	switch (c->verdict.decision) {
	case DECISION_ALLOW:
		conn_continue(c);
		break;
	case DECISION_HOLD:
		hold_start(c);
		break;
	case DECISION_DENY:
	default:
		conn_deny(c, NULL);
		break;
	}
}

/* Read and parse a request head.  May free the connection. */
static void
conn_read_head(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	size_t len = evbuffer_get_length(in), n;
	const char *data;
	ssize_t r;

	if (len == 0)
		return;
	if (!c->is_head_timed) {
		/* The first byte of a kept-alive connection's next request
		 * starts the header timeout. */
		c->is_head_timed = 1;
		conn_timer_set(c, c->w->proxy->cfg.header_timeout_ms);
	}
	n = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	data = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	r = http_parse_request(data, n, &conn_scratch);
	if (r == HTTP_PARSE_INCOMPLETE)
		return;
	if (r < 0) {
		conn_reply_error(c, r == HTTP_PARSE_TOO_LARGE ? 431 : 400,
		    r == HTTP_PARSE_TOO_LARGE
		        ? "airlock: request head larger than 64 KiB\n"
		        : "airlock: malformed request\n");
		return;
	}
	conn_timer_set(c, 0);
	c->head = xmalloc((size_t)r);
	memcpy(c->head, data, (size_t)r);
	c->head_len = (size_t)r;
	evbuffer_drain(in, (size_t)r);
	c->req = xmalloc(sizeof *c->req);
	if (http_parse_request(c->head, c->head_len, c->req) != r)
		abort(); /* the same bytes parse the same way */
	conn_begin_request(c);
}

/* May free the connection. */
void
conn_continue(struct conn *c)
{
	switch (c->stage) {
	case STAGE_RESOLVE:
		if (!c->is_connect && c->ubev != NULL && c->up_is_idle &&
		    c->up_port == c->port && c->up_addr < c->n_addrs &&
		    strcmp(c->up_host, c->host) == 0) {
			resolve_check_kept(c); /* then over the same upstream */
			return;
		}
		conn_close_upstream(c);
		resolve_start(c);
		break;
	case STAGE_CONNECT:
		conn_connect_upstream(c);
		break;
	}
}

/* May free the connection. */
void
conn_hold_done(struct conn *c, const struct approval_result *res)
{
	char why[400];

	c->outcome = res->outcome;
	c->decided_by = res->decided_by;
	if (res->decided_by == AUDIT_DECIDER_REVIEWER) {
		str_copy(c->reviewer, res->reviewer, sizeof c->reviewer);
		str_copy(
		    c->reviewer_reason, res->reason, sizeof c->reviewer_reason);
	}
	if (res->decision == DECISION_ALLOW) {
		conn_continue(c);
		return;
	}
	if (res->outcome == AUDIT_OUTCOME_TIMEOUT)
		snprintf(why, sizeof why,
		    "It was held for approval and the hold "
		    "timed out: no one approved it in time.");
	else
		snprintf(why, sizeof why,
		    "It was held for approval and denied "
		    "(%s)%s%s.",
		    audit_decider_name(res->decided_by),
		    res->reason[0] != '\0' ? ": " : "", res->reason);
	conn_deny(c, why);
}

/* Send "200 Connection established" and wait for the client's first
 * bytes.  May free the connection. */
static void
conn_send_established(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n"
	                         "Via: 1.1 airlock\r\n\r\n";

	bufferevent_write(c->cbev, ok, sizeof ok - 1);
	conn_client_flush(c);
	c->state = CONN_PEEK;
	free(c->req);
	c->req = NULL;
	free(c->head);
	c->head = NULL;
	str_copy(c->tunnel_host, c->host, sizeof c->tunnel_host);
	c->tunnel_port = c->port;
	if (c->ubev != NULL)
		bufferevent_enable(c->ubev, EV_READ);
	conn_timer_set(c, c->w->proxy->cfg.peek_timeout_ms);
	if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0)
		conn_peek(c, 0, 0);
}

/* May free the connection. */
void
conn_connect_upstream(struct conn *c)
{
	struct worker *w = c->w;
	const struct sockaddr *sa;
	socklen_t sa_len;
	struct pool_conn *pc;
	int fd, is_pooled;

	if (c->is_connect && strcmp(c->verdict.rule, "tls.intercept") == 0) {
		/* Intercepted: each request inside connects on its own. */
		conn_send_established(c);
		return;
	}
	for (;;) {
		if (c->addr_next >= c->n_addrs) {
			c->verdict.decision = DECISION_ALLOW;
			if (c->connect_timed_out)
				conn_reply_error(c, 504,
				    "airlock: connecting "
				    "upstream timed out\n");
			else
				conn_reply_error(c, 502,
				    "airlock: cannot "
				    "connect upstream\n");
			return;
		}
		sa = (const struct sockaddr *)&c->addrs[c->addr_next];
		sa_len = c->addr_lens[c->addr_next];
		c->up_addr = c->addr_next++;
		/* Plain http:// only: a tunnel or a TLS upstream is never
		 * shared between requests. */
		pc = NULL;
		if (!c->is_connect && !c->is_intercept && !c->up_no_reuse)
			pc = pool_take(
			    w->pool, c->host, c->port, sa, sa_len, c, &fd);
		is_pooled = pc != NULL;
		if (!is_pooled) {
			fd = socket(sa->sa_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			conn_set_nodelay(fd);
		}
		c->ubev = bufferevent_socket_new(w->base, fd, 0);
		if (c->ubev == NULL) {
			pool_conn_free(pc);
			close(fd);
			continue;
		}
		c->ufd = fd;
		c->uread = pc;
		bufferevent_setcb(c->ubev, conn_upstream_read_cb,
		    conn_upstream_write_cb, conn_upstream_event_cb, c);
		bufferevent_setwatermark(c->ubev, EV_READ, 0, CONN_READ_HIGH);
		conn_tune_bev(c->ubev);
		if (is_pooled ||
		    bufferevent_socket_connect(c->ubev, sa, (int)sa_len) == 0)
			break;
		conn_close_upstream(c);
	}
	c->state = CONN_CONNECT;
	str_copy(c->up_host, c->host, sizeof c->up_host);
	c->up_port = c->port;
	if (is_pooled) {
		c->up_is_reused = 1;
		conn_upstream_connected(c);
		return;
	}
	conn_timer_set(c, w->proxy->cfg.connect_timeout_ms);
}

int
conn_retry_upstream(struct conn *c)
{
	/* Only a request that can be sent again whole: its head is kept,
	 * a body is not.  A server may close an idle connection just as we
	 * reuse it (RFC 9112 9.3.1); nothing of the answer came yet. */
	if (!c->up_is_reused || c->req == NULL ||
	    c->req_body != HTTP_BODY_NONE || c->bytes_in > 0 ||
	    c->ubev == NULL ||
	    evbuffer_get_length(bufferevent_get_input(c->ubev)) > 0 ||
	    c->up_addr >= c->n_addrs)
		return -1;
	c->up_is_idle = 0;
	conn_close_upstream(c);
	c->bytes_out = 0;
	c->up_no_reuse = 1;
	c->addr_next = c->up_addr;
	conn_connect_upstream(c);
	return 0;
}

void
conn_upstream_flush(struct conn *c)
{
	struct evbuffer *out;

	if (c->ubev == NULL)
		return;
	if (c->up_is_tls || c->ufd < 0) {
		bufferevent_enable(c->ubev, EV_WRITE);
		return;
	}
	out = bufferevent_get_output(c->ubev);
	if (conn_write_now(out, c->ufd) > 0)
		bufferevent_enable(c->ubev, EV_WRITE);
	else
		bufferevent_disable(c->ubev, EV_WRITE);
}

/* The upstream TCP connection is up.  May free the connection. */
static void
conn_upstream_connected(struct conn *c)
{
	conn_timer_set(c, 0);
	if (c->is_connect) {
		bufferevent_disable(c->ubev, EV_READ);
		conn_send_established(c);
		return;
	}
	if (c->is_intercept && !c->up_is_tls) {
		struct bufferevent *tls;

		/* Hand the socket to OpenSSL; the handshake reports back
		 * through the same event callback. */
		bufferevent_free(c->ubev);
		c->ubev = NULL;
		tls = intercept_upstream_bev(c, c->ufd);
		if (tls == NULL) {
			conn_reply_error(c, 502,
			    "airlock: cannot start TLS "
			    "upstream\n");
			return;
		}
		c->ubev = tls;
		c->ufd = -1; /* the TLS bufferevent closes it */
		c->up_is_tls = 1;
		bufferevent_setcb(c->ubev, conn_upstream_read_cb,
		    conn_upstream_write_cb, conn_upstream_event_cb, c);
		bufferevent_enable(c->ubev, EV_READ | EV_WRITE);
		conn_timer_set(c, c->w->proxy->cfg.connect_timeout_ms);
		return;
	}
	forward_start(c);
}

/*
 * The tunnel is allowed: move the bytes already read into user space, then
 * hand both sockets to tunnel.c.  May free the connection.
 */
static void
conn_start_tunnel(struct conn *c)
{
	struct evbuffer *to_client = evbuffer_new();
	struct evbuffer *to_upstream = evbuffer_new();
	unsigned flags = 0;

	conn_timer_set(c, 0);
	if (c->copies_to_client)
		flags |= TUNNEL_COPY_DOWN;
	if (proxy_relay_copies(
	        c->w->proxy, (const struct sockaddr *)&c->addrs[c->up_addr]))
		flags |= TUNNEL_COPY_UP;
	if (to_client == NULL || to_upstream == NULL)
		goto fail;
	evbuffer_add_buffer(to_client, bufferevent_get_output(c->cbev));
	evbuffer_add_buffer(to_client, bufferevent_get_input(c->ubev));
	evbuffer_add_buffer(to_upstream, bufferevent_get_input(c->cbev));
	evbuffer_add_buffer(to_upstream, bufferevent_get_output(c->ubev));
	bufferevent_free(c->cbev);
	c->cbev = NULL;
	bufferevent_free(c->ubev);
	c->ubev = NULL;
	c->state = CONN_TUNNEL;
	/* tunnel_start() owns both buffers from here, even on failure. */
	c->tun =
	    tunnel_start(c->w->base, c->cfd, c->ufd, to_client, to_upstream,
	        c->w->proxy->cfg.idle_timeout_ms, flags, conn_tunnel_done, c);
	to_client = to_upstream = NULL;
	if (c->tun == NULL)
		goto fail;
	return;
fail:
	if (to_client != NULL)
		evbuffer_free(to_client);
	if (to_upstream != NULL)
		evbuffer_free(to_upstream);
	conn_end_request(c);
	conn_free(c);
}

/* Called by tunnel.c when both directions ended.  Frees the connection. */
void
conn_tunnel_done(void *arg, uint64_t to_upstream, uint64_t to_client)
{
	struct conn *c = arg;

	c->bytes_out = to_upstream;
	c->bytes_in = to_client;
	conn_end_request(c);
	conn_free(c);
}

/* Refuse a tunnel after "200" was sent: the client only sees it close. */
static void
conn_deny_tunnel(struct conn *c, const char *rule, const char *reason)
{
	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = rule;
	c->verdict.reason = reason;
	c->decided_by = AUDIT_DECIDER_POLICY;
	fprintf(stderr, "airlock-proxy: CONNECT %s denied by %s: %s\n",
	    c->target != NULL ? c->target : "?", rule, reason);
	conn_end_request(c);
	conn_free(c);
}

/*
 * Look at the client's first bytes in a CONNECT tunnel (see
 * airlock-proxy(8), "SNI check"): a TLS ClientHello must name the CONNECT
 * host; a tunnel that is not TLS is allowed to ports other than 443 only.
 * May free the connection.
 */
static void
conn_peek(struct conn *c, int is_timeout, int server_spoke)
{
	const struct policy_settings *set = policy_settings(c->pol->pol);
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	size_t len = evbuffer_get_length(in), n;
	enum tls_peek_result r = TLS_PEEK_MORE;
	char sni[TLS_PEEK_MAX_SNI];
	int check = set->tls_sni_check;

	n = len < TLS_PEEK_MAX_HELLO + 64 ? len : TLS_PEEK_MAX_HELLO + 64;
	if (n > 0)
		r = tls_peek_sni(
		    evbuffer_pullup(in, (ev_ssize_t)n), n, sni, sizeof sni);
	if (r == TLS_PEEK_MORE && n >= TLS_PEEK_MAX_HELLO + 64)
		r = TLS_PEEK_BAD;
	if (r == TLS_PEEK_MORE && !is_timeout && !server_spoke)
		return;
	if (r == TLS_PEEK_MORE)
		r = TLS_PEEK_NOT_TLS; /* silence, or the server spoke first */

	if (c->is_intercept || strcmp(c->verdict.rule, "tls.intercept") == 0) {
		if (r != TLS_PEEK_SNI && r != TLS_PEEK_NO_SNI) {
			conn_deny_tunnel(c, "builtin:tls-intercept",
			    "an intercepted host needs TLS");
			return;
		}
	}
	if (check) {
		if (r == TLS_PEEK_SNI && strcmp(sni, c->tunnel_host) != 0) {
			fprintf(stderr, "airlock-proxy: SNI %s != CONNECT %s\n",
			    sni, c->tunnel_host);
			conn_deny_tunnel(c, "builtin:tls-sni",
			    "the ClientHello "
			    "names another host than CONNECT (domain "
			    "fronting)");
			return;
		}
		if (r == TLS_PEEK_NO_SNI && !c->host_is_ip) {
			conn_deny_tunnel(c, "builtin:tls-sni",
			    "a ClientHello "
			    "without SNI for a named host");
			return;
		}
		if (r == TLS_PEEK_BAD) {
			conn_deny_tunnel(
			    c, "builtin:tls-sni", "a malformed ClientHello");
			return;
		}
		if (r == TLS_PEEK_NOT_TLS && c->tunnel_port == 443) {
			conn_deny_tunnel(c, "builtin:tls-sni",
			    "no TLS ClientHello on port 443");
			return;
		}
	}
	c->is_tls_peeked = 1;
	/* The client's socket is read by OpenSSL's or the tunnel's own
	 * watch from here on. */
	conn_client_unwatch(c);
	if (strcmp(c->verdict.rule, "tls.intercept") == 0) {
		if (intercept_start(c) != 0) {
			conn_end_request(c);
			conn_free(c);
		}
		return;
	}
	conn_start_tunnel(c);
}

/* Go back to reading a request head (keep-alive).  May free the conn. */
void
conn_next_request(struct conn *c)
{
	conn_end_request(c);
	c->state = CONN_HEAD;
	c->is_head_timed = 0;
	conn_timer_set(c, c->w->proxy->cfg.idle_timeout_ms);
	conn_client_reading(c, 1);
	if (c->w->is_stopping) {
		conn_close_after_flush(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0)
		conn_read_head(c);
}

static void
conn_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_HEAD:
		conn_read_head(c);
		break;
	case CONN_PEEK:
		conn_peek(c, 0, 0);
		break;
	case CONN_FORWARD:
		forward_client_read(c);
		break;
	case CONN_CLOSING:
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		break;
	default:
		/* Pipelined bytes wait until the request is decided. */
		break;
	}
}

static void
conn_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	/* Drained: back to writing from conn_client_flush(). */
	if (!c->is_intercept &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	if (c->state == CONN_CLOSING) {
		if (conn_client_pending(c) == 0)
			conn_linger(c);
	} else if (c->state == CONN_FORWARD)
		forward_client_drained(c);
}

static void
conn_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return; /* our TLS handshake with the client finished */
	if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_ERROR) == 0 &&
	    (c->state == CONN_DECIDE || c->state == CONN_CONNECT ||
	        (c->state == CONN_FORWARD && c->req_done))) {
		/* The client finished sending (half-close): answer it. */
		c->client_keeps_alive = 0;
		conn_client_reading(c, 0);
		return;
	}
	conn_end_request(c);
	conn_free(c);
}

static void
conn_upstream_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_PEEK)
		conn_peek(c, 0, 1);
	else if (c->state == CONN_FORWARD)
		forward_upstream_read(c);
	else if (c->up_is_idle) { /* an idle upstream should say nothing */
		c->up_is_idle = 0;
		conn_close_upstream(c);
	}
}

static void
conn_upstream_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_FORWARD && c->cbev != NULL && !c->req_done)
		conn_client_reading(c, 1);
}

static void
conn_upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CONNECT) {
		if (what & BEV_EVENT_CONNECTED) {
			conn_upstream_connected(c);
			return;
		}
		if (c->up_is_tls) {
			/* A failed handshake (certificate) is final. */
			c->verdict.decision = DECISION_ALLOW;
			conn_reply_error(c, 502,
			    "airlock: TLS to the upstream "
			    "failed (its certificate did not verify)\n");
			return;
		}
		conn_close_upstream(c);
		conn_connect_upstream(c); /* the next address */
		return;
	}
	if (c->state == CONN_PEEK) {
		/* Upstream closed before the tunnel started. */
		conn_end_request(c);
		conn_free(c);
		return;
	}
	if (c->state == CONN_FORWARD) {
		forward_upstream_event(c, what);
		return;
	}
	/* An idle kept-alive upstream went away. */
	c->up_is_idle = 0;
	conn_close_upstream(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_HEAD:
		/* Slow or silent clients lose their slot. */
		if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0) {
			conn_reply_error(c, 408,
			    "airlock: request head not received in time\n");
			return;
		}
		conn_free(c);
		return;
	case CONN_CONNECT:
		conn_close_upstream(c);
		c->connect_timed_out = 1;
		conn_connect_upstream(c); /* the next address, or 504 */
		return;
	case CONN_PEEK:
		conn_peek(c, 1, 0);
		return;
	case CONN_FORWARD:
		forward_upstream_event(c, BEV_EVENT_TIMEOUT);
		return;
	case CONN_CLOSING:
		if (c->is_lingering || time_mono_ms() - c->closing_ms >= 5000) {
			conn_free(c);
			return;
		}
		if (conn_client_pending(c) > 0) {
			conn_timer_set(c, 20);
			return;
		}
		conn_linger(c);
		return;
	default:
		conn_end_request(c);
		conn_free(c);
		return;
	}
}
