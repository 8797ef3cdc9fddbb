/*
 * otlp_priv: what the exporter's files share (common/otlp.c, otlp_http.c,
 * otlp_encode.c).  Not a contract: callers use common/otlp.h.
 */
#ifndef AIRLOCK_OTLP_PRIV_H
#define AIRLOCK_OTLP_PRIV_H

#include <stddef.h>

struct ssl_ctx_st;

/* A parsed endpoint; everything is owned (otlp_endpoint_free). */
struct otlp_endpoint {
	int is_tls; /* https:// */
	char *host; /* without brackets */
	char *port; /* decimal */
	char *path; /* "/v1/logs" when the URL had none */
	char *authority; /* the Host header: "host:port", "[v6]:port" */
	char *display; /* "http://host:port": safe to print */
	struct ssl_ctx_st *tls; /* https: set up by otlp_endpoint_tls() */
};

/*
 * Parse url into *ep.  Returns 0, or -1 with errno (EINVAL malformed,
 * a scheme other than http or https) and why[] saying which (the URL
 * itself is not repeated: its query may hold a key).
 */
int otlp_endpoint_parse(
    const char *url, struct otlp_endpoint *ep, char *why, size_t why_len);
void otlp_endpoint_free(struct otlp_endpoint *ep);

/*
 * For an https endpoint: the TLS client context, trusting ca_file (PEM)
 * or, when NULL, the system's trust store.  Returns 0, or -1 with why[].
 */
int otlp_endpoint_tls(
    struct otlp_endpoint *ep, const char *ca_file, char *why, size_t why_len);

/*
 * Check the "Name: value" list and format it as request header lines
 * ("Name: value\r\n"...) into *out (malloc'd, caller frees).  Returns 0, or
 * -1 with why[] naming the header (by index and name, never its value).
 */
int otlp_headers_format(
    char *const *headers, char **out, char *why, size_t why_len);

/* What one POST came to. */
struct otlp_http_result {
	int status; /* the HTTP status, or 0 when none was read */
	int err; /* errno of a transport failure, else 0 */
	unsigned retry_after_s; /* Retry-After in whole seconds, or 0 */
	char detail[160]; /* a TLS failure in words, or "" */
};

/* Read a response head ("HTTP/1.1 503 ...\r\n...") into res: the status
 * and a Retry-After in seconds.  Returns 0, or -1 when it is not one. */
int otlp_http_parse_head(const char *head, struct otlp_http_result *res);

/*
 * POST body to ep with the extra header lines, HTTP/1.1, one connection
 * (Connection: close).  Each of connect, send and receive waits at most
 * timeout_ms, and the whole request ends by *deadline_ms (time_mono_ms()
 * clock) whatever those say; another thread may bring that deadline
 * forward (atomically) to cut the request short.  Returns 0 when a status line was read (see
 * res->status), -1 on a transport failure (res->err).
 */
int otlp_http_post(const struct otlp_endpoint *ep, const char *header_lines,
    const char *body, size_t len, unsigned timeout_ms,
    const unsigned long long *deadline_ms, struct otlp_http_result *res);

/*
 * As otlp_http_post(), and keep the whole response in *reply (head and
 * body as received, read until the server closes, at most max bytes;
 * more fails with res->err EMSGSIZE).  For common/reviewer.c, which needs
 * the answer's body.
 */
struct buf;
int otlp_http_post_reply(const struct otlp_endpoint *ep,
    const char *header_lines, const char *body, size_t len, unsigned timeout_ms,
    const unsigned long long *deadline_ms, struct otlp_http_result *res,
    struct buf *reply, size_t max);

#endif
