/*
 * secret_scan: sentinels in streams and request bodies (see secret.h).
 *
 * The proxy forwards bodies as they arrive, in pieces it does not choose:
 * a sentinel cut in two by a read must still be found, without gathering
 * the body into one buffer.  The scanner keeps the last
 * SECRET_SENTINEL_LEN - 1 bytes of the stream; a new piece is searched in
 * place, and only its first SECRET_SENTINEL_LEN - 1 bytes are copied next
 * to that tail to look across the seam.
 *
 * The redactor (secret_redact_*) is the way back: values that went out in
 * a request, overwritten in place where a response repeats them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret.h"

#define SECRET_TAIL_MAX (SECRET_SENTINEL_LEN - 1)

void
secret_scan_init(struct secret_scan *s)
{
	s->tail_len = 0;
}

/* The set's entry for the sentinel at s when host may receive it, else
 * NULL with *refused set (NULL too for a sentinel of no set). */
static const struct secret_value *
secret_scan_allowed(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *s, const struct secret_value **refused)
{
	const struct secret_value *v = secret_set_find(set, s);

	if (v != NULL && host != NULL &&
	    policy_secret_host(pol, v->index, host))
		return v;
	*refused = v;
	return NULL;
}

/* The next sentinel in in[from..len) that starts before end, or len. */
static size_t
secret_scan_next(const char *in, size_t len, size_t from, size_t end)
{
	size_t at = secret_sentinel_next(in, len, from);

	return at < end ? at : len;
}

int
secret_scan_feed(struct secret_scan *s, const struct secret_set *set,
    const struct policy *pol, const char *host, const char *buf, size_t len,
    const struct secret_value **refused)
{
	char seam[2 * SECRET_TAIL_MAX];
	size_t head = len < SECRET_TAIL_MAX ? len : SECRET_TAIL_MAX, at, keep;

	*refused = NULL;
	/* Across the seam: sentinels that start in the tail. */
	if (s->tail_len > 0) {
		memcpy(seam, s->tail, s->tail_len);
		memcpy(seam + s->tail_len, buf, head);
		at = 0;
		while ((at = secret_scan_next(seam, s->tail_len + head, at,
		            s->tail_len)) < s->tail_len + head) {
			if (secret_scan_allowed(
			        set, pol, host, seam + at, refused) == NULL)
				return -1;
			at++;
		}
	}
	/* Inside the piece itself. */
	at = 0;
	while ((at = secret_scan_next(buf, len, at, len)) < len) {
		if (secret_scan_allowed(set, pol, host, buf + at, refused) ==
		    NULL)
			return -1;
		at += SECRET_SENTINEL_LEN;
	}
	/* The new tail: the last SECRET_TAIL_MAX bytes of tail + piece. */
	if (len >= SECRET_TAIL_MAX) {
		memcpy(s->tail, buf + len - SECRET_TAIL_MAX, SECRET_TAIL_MAX);
		s->tail_len = SECRET_TAIL_MAX;
	} else {
		keep = s->tail_len + len > SECRET_TAIL_MAX
		    ? SECRET_TAIL_MAX - len
		    : s->tail_len;
		memmove(s->tail, s->tail + s->tail_len - keep, keep);
		memcpy(s->tail + keep, buf, len);
		s->tail_len = keep + len;
	}
	return 0;
}

int
secret_replace_body(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *in, size_t len, struct buf *out,
    const struct secret_value **refused)
{
	const struct policy_secret *ps;
	const struct secret_value *v;
	size_t at = 0, s, n_ps;
	int n = 0;

	*refused = NULL;
	ps = policy_secrets(pol, &n_ps);
	while ((s = secret_scan_next(in, len, at, len)) < len) {
		v = secret_scan_allowed(set, pol, host, in + s, refused);
		if (v == NULL)
			return -1;
		buf_add(out, in + at, s - at);
		if (v->index < n_ps && ps[v->index].body) {
			buf_add(out, v->value, v->value_len);
			n++;
		} else {
			buf_add(out, in + s, SECRET_SENTINEL_LEN);
		}
		at = s + SECRET_SENTINEL_LEN;
	}
	buf_add(out, in + at, len - at);
	return n;
}

int
secret_set_host_any(const struct secret_set *set, const struct policy *pol,
    const char *host, int need_body)
{
	const struct policy_secret *ps;
	size_t i, n_ps;

	ps = policy_secrets(pol, &n_ps);
	for (i = 0; i < set->n; i++)
		if (set->v[i].index < n_ps &&
		    (!need_body || ps[set->v[i].index].body) &&
		    policy_secret_host(pol, set->v[i].index, host))
			return 1;
	return 0;
}

int
secret_set_fits(const struct secret_set *set, const struct policy *pol)
{
	size_t i, n_ps;

	(void)policy_secrets(pol, &n_ps);
	for (i = 0; i < set->n; i++)
		if (set->v[i].index >= n_ps)
			return 0;
	return 1;
}

const char *
secret_name(const struct policy *pol, const struct secret_value *v)
{
	const struct policy_secret *ps;
	size_t n_ps;

	ps = policy_secrets(pol, &n_ps);
	return v != NULL && v->index < n_ps ? ps[v->index].name : "?";
}

void
secret_redact_init(struct secret_redact *r)
{
	memset(r, 0, sizeof *r);
}

void
secret_redact_reset(struct secret_redact *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->pat[i].is_owned) {
			OPENSSL_cleanse((char *)r->pat[i].s, r->pat[i].len);
			free((char *)r->pat[i].s);
		}
	secret_redact_init(r);
}

int
secret_redact_add(struct secret_redact *r, const struct secret_value *v,
    const char *s, size_t len, int copy)
{
	char *own = NULL;
	size_t i;

	if (len == 0)
		return 0; /* nothing to find */
	for (i = 0; i < r->n; i++)
		if (r->pat[i].len == len && memcmp(r->pat[i].s, s, len) == 0)
			return 0;
	if (r->n == SECRET_REDACT_MAX)
		return -1;
	if (copy) {
		own = malloc(len);
		if (own == NULL)
			return -1;
		memcpy(own, s, len);
		s = own;
	}
	r->pat[r->n].s = s;
	r->pat[r->n].len = len;
	r->pat[r->n].v = v;
	r->pat[r->n].is_owned = copy;
	r->n++;
	if (len > r->max_len)
		r->max_len = len;
	return 0;
}

/* Where pattern i next occurs whole in buf[from..len), or len. */
static size_t
secret_redact_find(const struct secret_redact *r, size_t i, const char *buf,
    size_t len, size_t from)
{
	const char *p;

	if (from >= len || len - from < r->pat[i].len)
		return len;
	p = memmem(buf + from, len - from, r->pat[i].s, r->pat[i].len);
	return p != NULL ? (size_t)(p - buf) : len;
}

/* Overwrite buf[0..len) with the marker, then 'x'. */
static void
secret_redact_fill(char *buf, size_t len)
{
	static const char mark[] = SECRET_REDACTION;
	size_t m = len < sizeof mark - 1 ? len : sizeof mark - 1;

	memcpy(buf, mark, m);
	memset(buf + m, 'x', len - m);
}

/*
 * Matches are taken in the order they start, all patterns at once, and
 * overlapping ones merge into one region.  A region is only
 * written once the next match starts beyond it: every search reads bytes
 * from the current match on, which are then still as they came, so two
 * values that overlap are both found whole.
 */
size_t
secret_redact_buf(struct secret_redact *r, char *buf, size_t len, int is_final)
{
	size_t next[SECRET_REDACT_MAX];
	size_t i, best, s, e, rs = 0, re = 0, keep;
	int has_region = 0;

	for (i = 0; i < r->n; i++)
		next[i] = secret_redact_find(r, i, buf, len, 0);
	for (;;) {
		best = r->n;
		for (i = 0; i < r->n; i++)
			if (next[i] < len &&
			    (best == r->n || next[i] < next[best]))
				best = i;
		if (best == r->n)
			break;
		s = next[best];
		e = s + r->pat[best].len;
		r->hits |= 1u << best;
		if (has_region && s < re) {
			if (e > re)
				re = e;
		} else {
			if (has_region)
				secret_redact_fill(buf + rs, re - rs);
			rs = s;
			re = e;
			has_region = 1;
		}
		next[best] = secret_redact_find(r, best, buf, len, s + 1);
	}
	if (has_region)
		secret_redact_fill(buf + rs, re - rs);
	if (is_final)
		return len;
	keep = r->max_len > 0 ? r->max_len - 1 : 0;
	return len > keep ? len - keep : 0;
}
