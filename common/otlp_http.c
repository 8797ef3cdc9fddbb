/*
 * otlp_http: the exporter's HTTP/1.1 client: parse an http:// or https://
 * endpoint, POST one body, read the status line.  https verifies the
 * collector's certificate chain against the system's trust store (or a CA
 * file the configuration names) and its name (or IP address) against the
 * endpoint's host, with TLS 1.2 at least; a failure is a connection error,
 * retried like any other.
 *
 * Blocking on purpose: it runs only on the exporter's own thread, and a
 * thread that waits on one socket with poll() is the simplest thing that
 * bounds every step.  The one step poll() cannot bound is name resolution
 * (getaddrinfo); an endpoint on loopback or an IP literal, the usual
 * collector, resolves without the network.
 *
 * One connection per request (Connection: close): a batch goes out at most
 * once a second, and a connection that is never reused is never found dead
 * half-way through a request.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "otlp_priv.h"
#include "util.h"

/* The response head we read; a collector's is a few hundred bytes. */
#define OTLP_HTTP_HEAD_MAX 16384
/* How often a wait looks again at the request's deadline. */
#define OTLP_POLL_SLICE_MS 50

static const char *const otlp_reserved_headers[] = {
	"host",
	"content-length",
	"content-type",
	"transfer-encoding",
	"connection",
	NULL,
};

static int
otlp_fail(char *why, size_t why_len, int err, const char *msg)
{
	snprintf(why, why_len, "%s", msg);
	errno = err;
	return -1;
}

static int
otlp_is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int
otlp_endpoint_parse(
    const char *url, struct otlp_endpoint *ep, char *why, size_t why_len)
{
	const char *auth, *end, *host, *colon = NULL, *p;
	size_t host_len, i;
	long port = 80;
	int is_v6 = 0;

	memset(ep, 0, sizeof(*ep));
	if (strncasecmp(url, "https://", 8) == 0) {
		ep->is_tls = 1;
		port = 443;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
	} else {
		return otlp_fail(why, why_len, EINVAL,
		    "the endpoint must start with http:// or https://");
	}
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return otlp_fail(why, why_len, EINVAL,
		    "credentials in the "
		    "endpoint URL are not supported: put them in "
		    "telemetry.otlp.headers");
	host = auth;
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (close == NULL)
			return otlp_fail(why, why_len, EINVAL,
			    "the endpoint's IPv6 address has no ']'");
		is_v6 = 1;
		host++;
		host_len = (size_t)(close - host);
		if (close + 1 < end) {
			if (close[1] != ':')
				return otlp_fail(why, why_len, EINVAL,
				    "junk after the endpoint's IPv6 address");
			colon = close + 1;
		}
		for (i = 0; i < host_len; i++)
			if (!(otlp_is_host_char(host[i]) || host[i] == ':' ||
			        host[i] == '%'))
				return otlp_fail(why, why_len, EINVAL,
				    "the "
				    "endpoint's IPv6 address is malformed");
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		host_len = (size_t)((colon != NULL ? colon : end) - host);
		for (i = 0; i < host_len; i++)
			if (!otlp_is_host_char(host[i]))
				return otlp_fail(why, why_len, EINVAL,
				    "the endpoint's host name is malformed");
	}
	if (host_len == 0)
		return otlp_fail(
		    why, why_len, EINVAL, "the endpoint has no host");
	if (colon != NULL) {
		port = 0;
		for (p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				break;
			port = port * 10 + (*p - '0');
		}
		if (p != end || p == colon + 1 || port < 1 || port > 65535)
			return otlp_fail(why, why_len, EINVAL,
			    "the endpoint's port is not a number in 1-65535");
	}
	for (p = end; *p != '\0' && *p != '#'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return otlp_fail(why, why_len, EINVAL,
			    "the endpoint's "
			    "path holds a space or a control character");

	ep->host = xstrndup(host, host_len);
	xasprintf(&ep->port, "%ld", port);
	if (*end == '/' && end[1] != '\0' && end[1] != '#')
		ep->path = xstrndup(end, strcspn(end, "#"));
	else /* none, "/", or only a query: the OTLP default path */
		xasprintf(&ep->path, "/v1/logs%.*s",
		    (int)strcspn(end + (*end == '/'), "#"),
		    end + (*end == '/'));
	xasprintf(
	    &ep->authority, is_v6 ? "[%s]:%s" : "%s:%s", ep->host, ep->port);
	xasprintf(&ep->display, "%s://%s", ep->is_tls ? "https" : "http",
	    ep->authority);
	return 0;
}

void
otlp_endpoint_free(struct otlp_endpoint *ep)
{
	free(ep->host);
	free(ep->port);
	free(ep->path);
	free(ep->authority);
	free(ep->display);
	SSL_CTX_free(ep->tls);
	memset(ep, 0, sizeof(*ep));
}

static int
otlp_is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int
otlp_headers_format(char *const *headers, char **out, char *why, size_t why_len)
{
	struct buf b;
	size_t i, k, name_len;
	const char *h, *v;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		h = headers[i];
		name_len = strcspn(h, ":");
		for (k = 0; k < name_len; k++)
			if (!otlp_is_token_char(h[k]))
				break;
		if (h[name_len] != ':' || name_len == 0 || k != name_len) {
			/* Not even a name: print nothing of it. */
			snprintf(why, why_len,
			    "header %zu is not \"Name: "
			    "value\" with a token for its name",
			    i + 1);
			goto fail;
		}
		for (k = 0; otlp_reserved_headers[k] != NULL; k++)
			if (strlen(otlp_reserved_headers[k]) == name_len &&
			    strncasecmp(
			        h, otlp_reserved_headers[k], name_len) == 0)
				break;
		if (otlp_reserved_headers[k] != NULL) {
			snprintf(why, why_len,
			    "header %zu (%.*s) is set by "
			    "the exporter itself",
			    i + 1, (int)name_len, h);
			goto fail;
		}
		v = h + name_len + 1;
		v += strspn(v, " \t");
		for (k = 0; v[k] != '\0'; k++)
			if ((unsigned char)v[k] < 0x20 && v[k] != '\t')
				break;
		if (v[k] != '\0' || (k > 0 && v[k - 1] == '\t')) {
			snprintf(why, why_len,
			    "header %zu (%.*s) has a control "
			    "character in its value",
			    i + 1, (int)name_len, h);
			goto fail;
		}
		buf_add(&b, h, name_len);
		buf_add(&b, ": ", 2);
		buf_adds(&b, v);
		buf_add(&b, "\r\n", 2);
	}
	*out = buf_release(&b);
	return 0;
fail:
	buf_free(&b);
	errno = EINVAL;
	return -1;
}

/*
 * Wait for fd to be ready for events, at most timeout_ms and never past
 * *deadline_ms.  The deadline may be brought forward by another thread
 * (a stop): it is re-read every OTLP_POLL_SLICE_MS.  Returns 0, or -1 with
 * errno (ETIMEDOUT).
 */
static int
otlp_poll(int fd, short events, unsigned timeout_ms,
    const unsigned long long *deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	unsigned long long now = time_mono_ms(), end = now + timeout_ms;
	unsigned long long deadline, left;
	int n;

	for (;;) {
		deadline = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);
		if (deadline < end)
			end = deadline;
		now = time_mono_ms();
		if (now >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		left = end - now;
		n = poll(&pfd, 1,
		    (int)(left < OTLP_POLL_SLICE_MS ? left
		                                    : OTLP_POLL_SLICE_MS));
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0)
			return 0;
	}
}

static int
otlp_connect(const struct otlp_endpoint *ep, unsigned timeout_ms,
    const unsigned long long *deadline_ms)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, err = ECONNREFUSED;
	socklen_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (rc != 0) {
		errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    otlp_poll(fd, POLLOUT, timeout_ms, deadline_ms) == 0) {
			len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
			        0 &&
			    err == 0)
				break;
		} else {
			err = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errno = err;
	return fd;
}

int
otlp_endpoint_tls(
    struct otlp_endpoint *ep, const char *ca_file, char *why, size_t why_len)
{
	SSL_CTX *ctx;
	int rc;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return otlp_fail(why, why_len, ENOMEM, "cannot set up TLS");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* A collector that closes without close_notify has still answered:
	 * we read up to the end of the head and no further. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (ca_file != NULL)
		rc = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		rc = SSL_CTX_set_default_verify_paths(ctx);
	if (rc != 1) {
		SSL_CTX_free(ctx);
		snprintf(why, why_len, "cannot load the %s",
		    ca_file != NULL ? "CA file" : "system trust store");
		errno = EINVAL;
		return -1;
	}
	ep->tls = ctx;
	return 0;
}

/* One request's connection: the socket, and TLS on it for https. */
struct otlp_conn {
	int fd;
	SSL *ssl;
	unsigned timeout_ms;
	const unsigned long long *deadline_ms;
	char *detail; /* res->detail */
	size_t detail_len;
};

/* Note why TLS failed, in words a person can act on. */
static void
otlp_tls_detail(struct otlp_conn *c)
{
	long v = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();
	char text[128];

	if (v != X509_V_OK) {
		snprintf(c->detail, c->detail_len,
		    "TLS: the collector's "
		    "certificate does not verify: %s",
		    X509_verify_cert_error_string(v));
	} else if (e != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		snprintf(c->detail, c->detail_len, "TLS: %s", text);
	} else {
		snprintf(c->detail, c->detail_len,
		    "TLS: the connection "
		    "failed");
	}
	ERR_clear_error();
}

/*
 * Finish an SSL call that returned r <= 0: wait for what it wants and
 * return 1 to call it again, or return -1 (errno set; for a TLS error,
 * EPROTO and the detail noted).
 */
static int
otlp_tls_wait(struct otlp_conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return otlp_poll(
		           c->fd, POLLIN, c->timeout_ms, c->deadline_ms) == 0
		    ? 1
		    : -1;
	case SSL_ERROR_WANT_WRITE:
		return otlp_poll(
		           c->fd, POLLOUT, c->timeout_ms, c->deadline_ms) == 0
		    ? 1
		    : -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		ERR_clear_error();
		return -1;
	default:
		otlp_tls_detail(c);
		errno = EPROTO;
		return -1;
	}
}

/* TLS on c->fd, with SNI and the host (or IP) checked against the
 * certificate.  Returns 0, or -1 with errno. */
static int
otlp_tls_start(struct otlp_conn *c, const struct otlp_endpoint *ep)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int is_ip, r;

	ERR_clear_error();
	c->ssl = SSL_new(ep->tls);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		otlp_tls_detail(c);
		errno = ENOMEM;
		return -1;
	}
	is_ip = inet_pton(AF_INET, ep->host, addr) == 1 ||
	    inet_pton(AF_INET6, ep->host, addr) == 1;
	if (is_ip) {
		r = X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(c->ssl), ep->host);
	} else {
		r = SSL_set_tlsext_host_name(c->ssl, ep->host) == 1 &&
		    SSL_set1_host(c->ssl, ep->host) == 1;
	}
	if (r != 1) {
		otlp_tls_detail(c);
		errno = EINVAL;
		return -1;
	}
	while ((r = SSL_connect(c->ssl)) != 1)
		if (otlp_tls_wait(c, r) != 1)
			return -1;
	return 0;
}

static int
otlp_send_all(struct otlp_conn *c, const char *p, size_t n)
{
	size_t done;
	ssize_t w;
	int r;

	while (n > 0) {
		if (c->ssl != NULL) {
			r = SSL_write_ex(c->ssl, p, n, &done);
			if (r != 1) {
				if (otlp_tls_wait(c, r) != 1)
					return -1;
				continue;
			}
			w = (ssize_t)done;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR)
				continue;
			if (w == -1 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (otlp_poll(c->fd, POLLOUT, c->timeout_ms,
				        c->deadline_ms) != 0)
					return -1;
				continue;
			}
			if (w == -1)
				return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read some bytes: their count, 0 at the end of the stream, or -1. */
static ssize_t
otlp_recv_some(struct otlp_conn *c, char *p, size_t n)
{
	size_t got;
	ssize_t r;
	int rc;

	for (;;) {
		if (c->ssl != NULL) {
			rc = SSL_read_ex(c->ssl, p, n, &got);
			if (rc == 1)
				return (ssize_t)got;
			if (SSL_get_error(c->ssl, rc) == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (otlp_tls_wait(c, rc) != 1)
				return -1;
			continue;
		}
		r = recv(c->fd, p, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (otlp_poll(c->fd, POLLIN, c->timeout_ms, c->deadline_ms) !=
		    0)
			return -1;
	}
}

/* Read until the end of the response head; returns its length (the
 * buffer is NUL-terminated), or -1 with errno. */
static ssize_t
otlp_recv_head(struct otlp_conn *c, char *head, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap) {
		r = otlp_recv_some(c, head + n, cap - 1 - n);
		if (r == -1)
			return -1;
		if (r == 0)
			break; /* what we have may still hold a status line */
		n += (size_t)r;
		head[n] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL)
			break;
	}
	head[n] = '\0';
	return (ssize_t)n;
}

int
otlp_http_parse_head(const char *head, struct otlp_http_result *res)
{
	const char *line;
	unsigned long v;
	char *end;

	if (strncmp(head, "HTTP/1.", 7) != 0 || head[7] == '\0' ||
	    head[8] != ' ')
		return -1;
	v = strtoul(head + 9, &end, 10);
	if (end != head + 12 || v < 100 || v > 599)
		return -1;
	res->status = (int)v;
	for (line = strstr(head, "\r\n"); line != NULL;
	     line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Retry-After:", 12) != 0)
			continue;
		v = strtoul(line + 14 + strspn(line + 14, " \t"), &end, 10);
		if (*end == '\r' && v < 3600)
			res->retry_after_s = (unsigned)v;
		break;
	}
	return 0;
}

/*
 * POST and read the status line; with reply, keep the whole response too
 * (head and body, until the server closes, at most max bytes: more is
 * EMSGSIZE).
 */
static int
otlp_http_exchange(const struct otlp_endpoint *ep, const char *header_lines,
    const char *body, size_t len, unsigned timeout_ms,
    const unsigned long long *deadline_ms, struct otlp_http_result *res,
    struct buf *reply, size_t max)
{
	struct otlp_conn c = {
		.fd = -1, .timeout_ms = timeout_ms, .deadline_ms = deadline_ms
	};
	char *req = NULL, *head = NULL;
	ssize_t n;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	c.detail = res->detail;
	c.detail_len = sizeof(res->detail);
	c.fd = otlp_connect(ep, timeout_ms, deadline_ms);
	if (c.fd == -1)
		goto fail;
	if (ep->is_tls && otlp_tls_start(&c, ep) != 0)
		goto fail;
	xasprintf(&req,
	    "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: airlock/%s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
	    ep->path, ep->authority, PACKAGE_VERSION, len, header_lines);
	if (otlp_send_all(&c, req, strlen(req)) != 0 ||
	    otlp_send_all(&c, body, len) != 0)
		goto fail;
	head = xmalloc(OTLP_HTTP_HEAD_MAX);
	if ((n = otlp_recv_head(&c, head, OTLP_HTTP_HEAD_MAX)) == -1)
		goto fail;
	if (otlp_http_parse_head(head, res) != 0) {
		errno = EPROTO;
		goto fail;
	}
	if (reply != NULL) {
		buf_add(reply, head, (size_t)n);
		while ((n = otlp_recv_some(&c, head, OTLP_HTTP_HEAD_MAX)) > 0) {
			buf_add(reply, head, (size_t)n);
			if (reply->len > max) {
				errno = EMSGSIZE;
				goto fail;
			}
		}
		if (n == -1)
			goto fail;
	}
	rc = 0;
fail:
	if (rc != 0)
		res->err = errno != 0 ? errno : EIO;
	if (c.ssl != NULL)
		SSL_free(c.ssl); /* no close_notify: we are closing anyway */
	if (c.fd != -1)
		close(c.fd);
	free(req);
	free(head);
	return rc;
}

int
otlp_http_post(const struct otlp_endpoint *ep, const char *header_lines,
    const char *body, size_t len, unsigned timeout_ms,
    const unsigned long long *deadline_ms, struct otlp_http_result *res)
{
	return otlp_http_exchange(
	    ep, header_lines, body, len, timeout_ms, deadline_ms, res, NULL, 0);
}

int
otlp_http_post_reply(const struct otlp_endpoint *ep, const char *header_lines,
    const char *body, size_t len, unsigned timeout_ms,
    const unsigned long long *deadline_ms, struct otlp_http_result *res,
    struct buf *reply, size_t max)
{
	return otlp_http_exchange(ep, header_lines, body, len, timeout_ms,
	    deadline_ms, res, reply, max);
}
