/*
 * sentinel: credential sentinels in airlock-proxy (common/secret.h, the
 * policy's `secrets:`).
 *
 * The agent holds sentinels, never real credentials.  The proxy gets the
 * real values at start-up over a pipe (--secrets-fd) and, on each request
 * to a host a secret names, puts the value back in place of its sentinel:
 * in header values (also inside Basic credentials) and the request
 * target, and in the body only for secrets with `body: true`.  A sentinel
 * on its way anywhere else (another host, a host name, a CONNECT line, a
 * body) is refused with 403 and audited as an exfiltration attempt.
 *
 * Without --secrets-fd (an empty set) none of this costs anything: there
 * are no sentinels in such a session to look for.
 *
 * The real values never appear in an audit record, a log line or an
 * answer: refusals name the secret and the host only, and a response to
 * a request that carried values has them overwritten (below).
 */
#ifndef AIRLOCK_PROXY_SENTINEL_H
#define AIRLOCK_PROXY_SENTINEL_H

#include <stddef.h>

#include "conn.h"
#include "proxy.h"

/* A body read whole (SEC_BODY_BUFFER) may be at most this long (413). */
#define SENTINEL_BODY_MAX (8 * 1024 * 1024)
/* A body up to this long is read whole before its head goes upstream, so
 * that a refused one leaves nothing at the origin. */
#define SENTINEL_BODY_SMALL (64 * 1024)

/*
 * Start-up: read fd to its end (a pipe the caller closes), decode it into
 * p->secrets and close fd.  Returns 0, or -1 with a message on stderr
 * (malformed data, an index pol has no secret for, a read error); the
 * message never holds a value.
 */
int sentinel_load(struct proxy *p, const struct policy *pol, int fd);

/* Nonzero when host may receive one of the set's secrets: its CONNECTs
 * are intercepted, so that the requests inside can be rewritten. */
int sentinel_intercepts(
    const struct proxy *p, const struct policy *pol, const char *host);

/*
 * A request head was parsed (host, path, target set): refuse it when it
 * carries a sentinel that may not go to its host, else note whether
 * anything is to be replaced (c->sec_in_head).  Returns 0, or -1 when it
 * was refused (the connection may then be freed).
 */
int sentinel_check_head(struct conn *c);

/* The body check for the request being forwarded (SEC_BODY_*); resets the
 * per-request scanners. */
enum sec_body sentinel_body_mode(struct conn *c);

/*
 * Append in[0..len) to out with the sentinels replaced that may go to
 * c->host (is_header: a header value, with Basic credentials decoded).
 * Returns 0, or -1 with c->sec_refused set.  The scratch copy holding
 * values is wiped.
 */
int sentinel_add_replaced(struct conn *c, struct evbuffer *out, const char *in,
    size_t len, int is_header);

/* The next len bytes of the body's data (is_raw: of a chunked body's
 * framing as sent).  Returns 0, or -1 with c->sec_refused set. */
int sentinel_scan(struct conn *c, const char *data, size_t len, int is_raw);
/* The same for the first len bytes of in, chain by chain, in place. */
int sentinel_scan_evbuffer(struct conn *c, struct evbuffer *in, size_t len);

/*
 * SEC_BODY_BUFFER: the whole body is in c->sec_buf; replace the
 * sentinels that may go in a body to c->host.  Returns 0, or -1 with
 * c->sec_refused set.  Looks at the buffer's chains in place; copies it
 * only when it holds a sentinel.
 */
int sentinel_body_finish(struct conn *c);

/* Refuse the request: 403 naming the secret and host (v NULL: a sentinel
 * of no secret of this session), an audit record marked as an
 * exfiltration attempt.  Without can_answer (a response is already under
 * way) only audits and closes.  May free the connection. */
void sentinel_refuse(
    struct conn *c, const struct secret_value *v, int can_answer);

/*
 * Responses.  A request that carried real values (noted by
 * sentinel_add_replaced() and sentinel_body_finish() as they go out) is
 * sent with "Accept-Encoding: identity", and its response has every
 * occurrence of those values overwritten in place, same length, so that
 * an origin that echoes its request does not hand the room the value.
 */

/* Nonzero when the current request's response is to be redacted. */
int sentinel_redacts(const struct conn *c);

/* Redact a response head in place (buffered whole). */
void sentinel_redact_head(struct conn *c, char *head, size_t len);

/* The body data not yet known clean (c->sec_hold, made on first use), or
 * NULL when out of memory. */
struct evbuffer *sentinel_hold(struct conn *c);

/*
 * Redact what c->sec_hold holds and move the bytes known clean to out:
 * all of them when is_final, else all but the last (longest value - 1),
 * which wait for the next bytes.  is_chunked: each move goes out as one
 * chunk, and is_final adds the last chunk (trailers are not passed on).
 * Returns 0, or -1 when out of memory.
 */
int sentinel_redact_flush(
    struct conn *c, struct evbuffer *out, int is_final, int is_chunked);

/* A response to a redacted request came with a body coding other than
 * identity (it cannot be checked): answer 502 and audit the cut.  May free
 * the connection. */
void sentinel_cut_encoded(struct conn *c);

/* Audit the redactions of the request (one record per secret), wipe its
 * notes, free the per-request state (sec_buf, sec_hold). */
void sentinel_end_request(struct conn *c);

#endif
