/*
 * sentinel: credential sentinels in airlock-proxy (see sentinel.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sentinel.h"
#include "util.h"

/* The pipe carries one short line per secret: more is not a secret set. */
#define SENTINEL_PIPE_MAX (1024 * 1024)

/* Wipe what a scratch buffer held (real values), then free it. */
static void
sentinel_buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

int
sentinel_load(struct proxy *p, const struct policy *pol, int fd)
{
	char why[128];
	struct buf in;
	char chunk[4096];
	ssize_t n;
	int rc = -1;

	buf_init(&in);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "airlock-proxy: --secrets-fd %d: %s\n",
			    fd, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (in.len + (size_t)n > SENTINEL_PIPE_MAX) {
			fprintf(stderr,
			    "airlock-proxy: --secrets-fd %d: more than "
			    "%d bytes: not a secret set\n",
			    fd, SENTINEL_PIPE_MAX);
			goto out;
		}
		buf_add(&in, chunk, (size_t)n);
	}
	if (secret_set_decode(&p->secrets, in.data != NULL ? in.data : "",
	        in.len, why, sizeof why) != 0) {
		fprintf(
		    stderr, "airlock-proxy: --secrets-fd %d: %s\n", fd, why);
		goto out;
	}
	if (!secret_set_fits(&p->secrets, pol)) {
		fprintf(stderr,
		    "airlock-proxy: --secrets-fd %d: a secret's index is "
		    "beyond the policy's secrets (a set made for another "
		    "policy?)\n",
		    fd);
		secret_set_free(&p->secrets);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(chunk, sizeof chunk);
	sentinel_buf_wipe(&in);
	(void)close(fd);
	return rc;
}

int
sentinel_intercepts(
    const struct proxy *p, const struct policy *pol, const char *host)
{
	return p->secrets.n > 0 &&
	    secret_set_host_any(&p->secrets, pol, host, 0);
}

/* Feed len bytes of in's chains (from its start) to a scanner.  Returns 0,
 * or -1 with *v set when the scanner refused. */
static int
sentinel_scan_chains(struct secret_scan *s, const struct secret_set *set,
    const struct policy *pol, const char *host, struct evbuffer *in, size_t len,
    const struct secret_value **v)
{
	struct evbuffer_iovec vec[16];
	struct evbuffer_ptr ptr;
	size_t done = 0, l;
	int n, i;

	*v = NULL;
	while (done < len) {
		if (evbuffer_ptr_set(in, &ptr, done, EVBUFFER_PTR_SET) != 0)
			return -1;
		n = evbuffer_peek(in, (ev_ssize_t)(len - done), &ptr, vec, 16);
		if (n <= 0)
			return -1; /* fewer bytes than len: fail closed */
		if (n > 16)
			n = 16;
		for (i = 0; i < n && done < len; i++) {
			l = vec[i].iov_len < len - done ? vec[i].iov_len
			                                : len - done;
			if (secret_scan_feed(
			        s, set, pol, host, vec[i].iov_base, l, v) != 0)
				return -1;
			done += l;
		}
	}
	return 0;
}

/* Nonzero when a header that goes upstream carries Basic credentials: a
 * sentinel hides in them base64-encoded, out of a plain scan's sight. */
static int
sentinel_has_basic(const struct http_request *r)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++)
		if (r->headers[i].value_len > 6 &&
		    strncasecmp(r->headers[i].value, "Basic ", 6) == 0 &&
		    !http_header_is_hop(r->headers, r->n_headers, i))
			return 1;
	return 0;
}

int
sentinel_check_head(struct conn *c)
{
	struct proxy *p = c->w->proxy;
	const struct policy *pol = c->pol->pol;
	const struct http_request *r = c->req;
	const struct secret_value *v = NULL;
	struct secret_scan scan;
	struct buf tmp;
	size_t i;
	int n, total = 0, rc = -1;

	c->sec_in_head = 0;
	if (p->secrets.n == 0 ||
	    (!secret_any_sentinel(c->head, c->head_len) &&
	        (c->is_connect || !sentinel_has_basic(r))))
		return 0; /* the common case: one memmem over the head */
	buf_init(&tmp);
	secret_scan_init(&scan);
	/* A CONNECT's line and headers, and a host name (it goes to DNS),
	 * are never where a credential belongs. */
	if (c->is_connect) {
		(void)secret_scan_feed(
		    &scan, &p->secrets, pol, NULL, c->head, c->head_len, &v);
		goto out;
	}
	if (secret_scan_feed(&scan, &p->secrets, pol, NULL, c->host,
	        strlen(c->host), &v) != 0)
		goto out;
	n = secret_replace(
	    &p->secrets, pol, c->host, c->path, strlen(c->path), &tmp, &v);
	if (n < 0)
		goto out;
	total += n;
	for (i = 0; i < r->n_headers; i++) {
		/* Hop-by-hop headers and Host are not passed on. */
		if (http_header_is_hop(r->headers, r->n_headers, i) ||
		    (r->headers[i].name_len == 4 &&
		        strncasecmp(r->headers[i].name, "host", 4) == 0))
			continue;
		tmp.len = 0;
		n = secret_replace_header(&p->secrets, pol, c->host,
		    r->headers[i].value, r->headers[i].value_len, &tmp, &v);
		if (n < 0)
			goto out;
		total += n;
	}
	c->sec_in_head = total > 0;
	rc = 0;
out:
	sentinel_buf_wipe(&tmp);
	if (rc != 0)
		sentinel_refuse(c, v, 1);
	return rc;
}

enum sec_body
sentinel_body_mode(struct conn *c)
{
	struct proxy *p = c->w->proxy;

	c->sec_refused = NULL;
	secret_scan_init(&c->sec_scan);
	secret_scan_init(&c->sec_scan_raw);
	if (p->secrets.n == 0 || c->req_body == HTTP_BODY_NONE)
		return SEC_BODY_NONE;
	/* A host with a body: true secret gets its value in the body: the
	 * length changes, so the head waits for the whole body.  A small
	 * body waits too, so that a refused one leaves nothing upstream. */
	if (secret_set_host_any(&p->secrets, c->pol->pol, c->host, 1) ||
	    (c->req_body == HTTP_BODY_LENGTH &&
	        c->req_left <= SENTINEL_BODY_SMALL))
		return SEC_BODY_BUFFER;
	return SEC_BODY_SCAN;
}

/* Note s[0..len) of v for the response's redaction; the table is made
 * on first use.  Returns as secret_redact_add(). */
static int
sentinel_note(struct conn *c, const struct secret_value *v, const char *s,
    size_t len, int copy)
{
	if (c->sec_redact == NULL) {
		c->sec_redact = malloc(sizeof *c->sec_redact);
		if (c->sec_redact == NULL)
			return -1;
		secret_redact_init(c->sec_redact);
	}
	return secret_redact_add(c->sec_redact, v, s, len, copy);
}

/*
 * Note the values that host may receive (with need_body: of secrets with
 * body: true) found in data[0..len), a request's bytes as they go out:
 * the response is to be redacted for them.  Returns 0, or -1 with
 * c->sec_refused set when they cannot all be noted (then they must not
 * go: a value not noted would come back unredacted).  *first (unless
 * NULL) is set to the first value found, if any.
 */
static int
sentinel_note_sent(struct conn *c, const char *data, size_t len, int need_body,
    const struct secret_value **first)
{
	const struct secret_set *set = &c->w->proxy->secrets;
	const struct policy *pol = c->pol->pol;
	const struct policy_secret *ps;
	const struct secret_value *v;
	size_t i, n_ps;

	ps = policy_secrets(pol, &n_ps);
	for (i = 0; i < set->n; i++) {
		v = &set->v[i];
		if (v->index >= n_ps || (need_body && !ps[v->index].body) ||
		    v->value_len == 0 ||
		    memmem(data, len, v->value, v->value_len) == NULL ||
		    !policy_secret_host(pol, v->index, c->host))
			continue;
		if (first != NULL && *first == NULL)
			*first = v;
		if (sentinel_note(c, v, v->value, v->value_len, 0) != 0) {
			c->sec_refused = v;
			return -1;
		}
	}
	return 0;
}

/*
 * A Basic credential that got a value: the origin may echo it encoded,
 * so the encoded token is noted too (a copy, wiped with the notes), and
 * the values inside it.  Returns as sentinel_note_sent().
 */
static int
sentinel_note_basic(struct conn *c, const char *hdr, size_t len)
{
	const struct secret_value *v = NULL;
	const char *tok = hdr + 6;
	size_t tok_len = len - 6;
	unsigned char *dec;
	int m, rc = -1;

	dec = malloc(tok_len + 1);
	if (dec == NULL)
		return -1;
	/* The value may also have been put in as it is (not base64). */
	if (sentinel_note_sent(c, tok, tok_len, 0, &v) != 0)
		goto out;
	m = EVP_DecodeBlock(dec, (const unsigned char *)tok, (int)tok_len);
	if (m >= 0 &&
	    sentinel_note_sent(c, (const char *)dec, (size_t)m, 0, &v) != 0)
		goto out;
	if (sentinel_note(c, v, tok, tok_len, 1) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(dec, tok_len + 1);
	free(dec);
	return rc;
}

int
sentinel_add_replaced(struct conn *c, struct evbuffer *out, const char *in,
    size_t len, int is_header)
{
	struct proxy *p = c->w->proxy;
	const struct secret_value *v = NULL;
	struct buf tmp;
	int n;

	buf_init(&tmp);
	n = is_header ? secret_replace_header(&p->secrets, c->pol->pol, c->host,
	                    in, len, &tmp, &v)
	              : secret_replace(&p->secrets, c->pol->pol, c->host, in,
	                    len, &tmp, &v);
	if (n < 0) {
		c->sec_refused = v;
		goto out;
	}
	/* Note what goes out before it goes: fail closed. */
	if (n > 0 &&
	    (is_header && len > 6 && tmp.len > 6 &&
	                strncasecmp(in, "Basic ", 6) == 0 &&
	                strncasecmp(tmp.data, "Basic ", 6) == 0
	            ? sentinel_note_basic(c, tmp.data, tmp.len)
	            : sentinel_note_sent(c, tmp.data, tmp.len, 0, NULL)) != 0) {
		n = -1;
		goto out;
	}
	evbuffer_add(out, tmp.data != NULL ? tmp.data : "", tmp.len);
out:
	sentinel_buf_wipe(&tmp);
	return n < 0 ? -1 : 0;
}

int
sentinel_scan(struct conn *c, const char *data, size_t len, int is_raw)
{
	struct proxy *p = c->w->proxy;
	const struct secret_value *v = NULL;

	if (secret_scan_feed(is_raw ? &c->sec_scan_raw : &c->sec_scan,
	        &p->secrets, c->pol->pol, c->host, data, len, &v) == 0)
		return 0;
	c->sec_refused = v;
	return -1;
}

int
sentinel_scan_evbuffer(struct conn *c, struct evbuffer *in, size_t len)
{
	struct proxy *p = c->w->proxy;
	const struct secret_value *v = NULL;

	if (sentinel_scan_chains(&c->sec_scan, &p->secrets, c->pol->pol,
	        c->host, in, len, &v) == 0)
		return 0;
	c->sec_refused = v;
	return -1;
}

int
sentinel_body_finish(struct conn *c)
{
	struct proxy *p = c->w->proxy;
	struct evbuffer *b = c->sec_buf;
	const struct secret_value *v = NULL;
	struct secret_scan scan;
	size_t len = evbuffer_get_length(b);
	const char *data;
	struct buf tmp;
	int n, rc = -1;

	/* First in place: a scanner that lets nothing go stops at the
	 * first sentinel of any kind.  Most bodies have none. */
	secret_scan_init(&scan);
	if (sentinel_scan_chains(
	        &scan, &p->secrets, c->pol->pol, NULL, b, len, &v) == 0)
		return 0;
	buf_init(&tmp);
	data = (const char *)evbuffer_pullup(b, -1);
	if (data == NULL && len > 0)
		goto out;
	n = secret_replace_body(
	    &p->secrets, c->pol->pol, c->host, data, len, &tmp, &v);
	if (n < 0) {
		c->sec_refused = v;
		goto out;
	}
	if (n > 0 && sentinel_note_sent(c, tmp.data, tmp.len, 1, NULL) != 0)
		goto out;
	if (n > 0) {
		evbuffer_drain(b, len);
		evbuffer_add(b, tmp.data, tmp.len);
	}
	rc = 0;
out:
	sentinel_buf_wipe(&tmp);
	return rc;
}

void
sentinel_refuse(struct conn *c, const struct secret_value *v, int can_answer)
{
	const struct policy *pol = c->pol->pol;
	const struct policy_secret *ps;
	size_t n_ps;
	char body[512];

	ps = policy_secrets(pol, &n_ps);
	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = v != NULL && v->index < n_ps ? ps[v->index].rule
	                                               : "builtin:secrets";
	snprintf(c->sec_reason, sizeof c->sec_reason,
	    "exfiltration attempt: a credential sentinel for secret %s may "
	    "not go to %s",
	    v != NULL ? secret_name(pol, v) : "(unknown to this session)",
	    c->host);
	c->verdict.reason = c->sec_reason;
	c->outcome = AUDIT_OUTCOME_NONE;
	c->decided_by = AUDIT_DECIDER_POLICY;
	c->reviewer[0] = '\0';
	c->reviewer_reason[0] = '\0';
	c->client_keeps_alive = 0;
	fprintf(stderr, "airlock-proxy: %s %s refused: %s\n",
	    c->is_connect ? "CONNECT" : c->method,
	    c->target != NULL ? c->target : "?", c->sec_reason);
	if (!can_answer) {
		conn_end_request(c);
		conn_free(c);
		return;
	}
	snprintf(body, sizeof body,
	    "airlock: a credential sentinel for secret %s may not go to %s\n",
	    v != NULL ? secret_name(pol, v) : "(unknown to this session)",
	    c->host);
	conn_reply_error(c, 403, body);
}

int
sentinel_redacts(const struct conn *c)
{
	return c->sec_redact != NULL && c->sec_redact->n > 0;
}

void
sentinel_redact_head(struct conn *c, char *head, size_t len)
{
	(void)secret_redact_buf(c->sec_redact, head, len, 1);
}

struct evbuffer *
sentinel_hold(struct conn *c)
{
	if (c->sec_hold == NULL)
		c->sec_hold = evbuffer_new();
	return c->sec_hold;
}

int
sentinel_redact_flush(
    struct conn *c, struct evbuffer *out, int is_final, int is_chunked)
{
	struct evbuffer *h = c->sec_hold;
	size_t len = h != NULL ? evbuffer_get_length(h) : 0, clean = 0;
	char *data;

	if (len > 0) {
		/* One copy, on this path only: a value may straddle chains. */
		data = (char *)evbuffer_pullup(h, -1);
		if (data == NULL)
			return -1;
		clean = secret_redact_buf(c->sec_redact, data, len, is_final);
	}
	if (clean > 0) {
		if (is_chunked)
			evbuffer_add_printf(out, "%zx\r\n", clean);
		evbuffer_remove_buffer(h, out, clean);
		if (is_chunked)
			evbuffer_add(out, "\r\n", 2);
	}
	if (is_final && is_chunked)
		evbuffer_add(out, "0\r\n\r\n", 5);
	return 0;
}

void
sentinel_cut_encoded(struct conn *c)
{
	const struct policy *pol = c->pol->pol;
	const struct secret_value *v = c->sec_redact->pat[0].v;

	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = "builtin:secrets";
	snprintf(c->sec_reason, sizeof c->sec_reason,
	    "the response of %s to a request that carried secret %s is "
	    "compressed and cannot be checked for it: cut",
	    c->host, secret_name(pol, v));
	c->verdict.reason = c->sec_reason;
	c->client_keeps_alive = 0;
	fprintf(stderr, "airlock-proxy: %s %s: %s\n", c->method,
	    c->target != NULL ? c->target : "?", c->sec_reason);
	conn_reply_error(c, 502,
	    "airlock: the upstream compressed a response that must be "
	    "checked for credentials\n");
}

/* One audit record per secret whose value a response repeated. */
static void
sentinel_audit_redactions(struct conn *c)
{
	struct proxy *p = c->w->proxy;
	const struct policy *pol = c->pol->pol;
	const struct secret_redact *r = c->sec_redact;
	const struct policy_secret *ps;
	const struct secret_value *v;
	struct audit_event ev;
	char target[300], reason[384];
	size_t i, j, n_ps;

	ps = policy_secrets(pol, &n_ps);
	snprintf(target, sizeof target, "%s:%u", c->host, c->port);
	for (i = 0; i < r->n; i++) {
		if ((r->hits & (1u << i)) == 0)
			continue;
		v = r->pat[i].v;
		for (j = 0; j < i; j++)
			if ((r->hits & (1u << j)) != 0 && r->pat[j].v == v)
				break;
		if (j < i)
			continue; /* this secret is recorded already */
		snprintf(reason, sizeof reason,
		    "secret %s echoed by %s: redacted", secret_name(pol, v),
		    c->host);
		fprintf(stderr, "airlock-proxy: %s %s: %s\n", c->method, target,
		    reason);
		if (p->audit == NULL)
			continue;
		memset(&ev, 0, sizeof ev);
		ev.component = AUDIT_COMPONENT_PROXY;
		ev.op = "redact";
		ev.target = target;
		ev.decision = DECISION_DENY;
		ev.decided_by = AUDIT_DECIDER_POLICY;
		ev.rule = v != NULL && v->index < n_ps ? ps[v->index].rule
		                                       : "builtin:secrets";
		ev.reason = reason;
		ev.caller = &c->caller;
		ev.duration_ms = -1;
		(void)audit_log_event(p->audit, &ev);
	}
}

void
sentinel_end_request(struct conn *c)
{
	if (c->sec_redact != NULL) {
		if (c->sec_redact->hits != 0 && c->pol != NULL)
			sentinel_audit_redactions(c);
		secret_redact_reset(c->sec_redact);
		free(c->sec_redact);
		c->sec_redact = NULL;
	}
	if (c->sec_hold != NULL) {
		evbuffer_free(c->sec_hold);
		c->sec_hold = NULL;
	}
	if (c->sec_buf != NULL) {
		evbuffer_free(c->sec_buf);
		c->sec_buf = NULL;
	}
	c->sec_body = SEC_BODY_NONE;
	c->sec_in_head = 0;
}
