/*
 * secret: per-session sentinels for the policy's secrets (policy.h,
 * `secrets:`).
 *
 * The agent never holds a real credential.  `airlock run` gathers each
 * secret's real value outside the room (from its own environment, or from a
 * file), makes a sentinel for it, and shows the agent the sentinel instead
 * (in the variable, or in a masked copy of the file).  airlock-proxy gets
 * the set over a pipe (never through the session directory: real values
 * are never written to disk) and puts the real value back only in requests
 * to the hosts the secret names; a sentinel on its way anywhere else is
 * refused.
 *
 * A sentinel is "airlock-sentinel-" and 32 lower-case hex digits (128 random
 * bits), so that it is found by a plain scan and no real token looks like
 * one.  Values are wiped from memory when the set is freed.
 */
#ifndef AIRLOCK_SECRET_H
#define AIRLOCK_SECRET_H

#include <stddef.h>
#include <sys/types.h>

#include "policy.h"
#include "util.h"

#define SECRET_SENTINEL_PREFIX "airlock-sentinel-"
#define SECRET_SENTINEL_PREFIX_LEN 17
#define SECRET_SENTINEL_LEN (SECRET_SENTINEL_PREFIX_LEN + 32)

struct secret_value {
	size_t index; /* in policy_secrets() */
	char sentinel[SECRET_SENTINEL_LEN + 1];
	char *value;
	size_t value_len;
};

struct secret_set {
	struct secret_value *v;
	size_t n;
};

void secret_set_init(struct secret_set *set);
/* Wipes every value, then frees. */
void secret_set_free(struct secret_set *set);
/* Adds (copies) one value; sentinel NULL makes a new one.  Returns the
 * entry, or NULL when sentinel is not a well-formed sentinel. */
struct secret_value *secret_set_add(struct secret_set *set, size_t index,
    const char *sentinel, const char *value, size_t value_len);

/* A new random sentinel in out (SECRET_SENTINEL_LEN + 1 bytes).  Returns 0,
 * or -1 with errno when the kernel gives no randomness. */
int secret_sentinel_make(char *out);
/* Whether buf[off..] starts a well-formed sentinel. */
int secret_sentinel_at(const char *buf, size_t len, size_t off);
/* Where the next well-formed sentinel in in[from..len) starts, or len. */
size_t secret_sentinel_next(const char *in, size_t len, size_t from);
/* The set's entry for the sentinel at s (SECRET_SENTINEL_LEN bytes), or
 * NULL. */
const struct secret_value *secret_set_find(
    const struct secret_set *set, const char *s);

/*
 * The secret inside a file's text: with match (a POSIX extended regex),
 * its first group's first match; without, the whole text less trailing
 * white space.  Returns 0 with *off and *vlen set, or -1 when there is none
 * (no match, an empty value, or a NUL byte in the text).  text[len] must
 * be a NUL (regexec reads to it).
 */
int secret_extract(
    const char *text, size_t len, const char *match, size_t *off, size_t *vlen);
/* text with [off, off + vlen) replaced by sentinel; caller frees; *out_len
 * is its length. */
char *secret_mask(const char *text, size_t len, size_t off, size_t vlen,
    const char *sentinel, size_t *out_len);

/*
 * The set as text, for a pipe to airlock-proxy: one line per value,
 * "INDEX SENTINEL HEX-OF-VALUE\n".  secret_set_decode() reads it back into
 * an empty set; -1 with why filled on any malformed line (the set is then
 * emptied: fail closed).
 */
void secret_set_encode(const struct secret_set *set, struct buf *out);
int secret_set_decode(struct secret_set *set, const char *data, size_t len,
    char *why, size_t why_len);

/*
 * Copy in[0..len) to out, replacing each sentinel of set that host may
 * receive (policy_secret_host) by its real value.  host NULL: nothing may
 * be replaced.  Returns how many were replaced, or -1 when a sentinel (of
 * this set or any other) would leave for a host that may not have it;
 * *refused is then the set entry (NULL for a sentinel not in the set), and
 * out holds nothing meaningful.
 */
int secret_replace(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *in, size_t len, struct buf *out,
    const struct secret_value **refused);

/*
 * The same for a header value, where a credential also hides inside
 * "Basic base64(user:password)": that is decoded, replaced and encoded
 * again.  Same returns as secret_replace().
 */
int secret_replace_header(const struct secret_set *set,
    const struct policy *pol, const char *host, const char *value, size_t len,
    struct buf *out, const struct secret_value **refused);

/* Whether in[0..len) holds any sentinel (of any set): the check for places
 * where nothing is ever replaced (a CONNECT line, a plain HTTP body). */
int secret_any_sentinel(const char *in, size_t len);

/*
 * Streams and bodies (secret_scan.c).
 *
 * A sentinel may straddle two reads of a stream: the scanner keeps the
 * last SECRET_SENTINEL_LEN - 1 bytes it saw, so that it finds one whose
 * start was in an earlier piece, and never copies more than that.
 */
struct secret_scan {
	char tail[SECRET_SENTINEL_LEN - 1];
	size_t tail_len;
};

void secret_scan_init(struct secret_scan *s);
/*
 * Feed the next len bytes of a stream.  Returns 0 when every sentinel
 * that ends in them may go to host (one of set that policy_secret_host
 * allows; host NULL allows none), or -1 with *refused set as for
 * secret_replace() (NULL: a sentinel not in the set).
 */
int secret_scan_feed(struct secret_scan *s, const struct secret_set *set,
    const struct policy *pol, const char *host, const char *buf, size_t len,
    const struct secret_value **refused);

/*
 * A request body to host: each sentinel of a secret with `body: true` that
 * host may receive is replaced by its value; one that host may receive
 * without `body: true` stays as it is (it is host's own credential, only
 * not put back there); any other is refused.  Same returns as
 * secret_replace().
 */
int secret_replace_body(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *in, size_t len, struct buf *out,
    const struct secret_value **refused);

/*
 * Responses (secret_scan.c): a request that carried real values may get
 * them echoed back (an API that repeats its request in an error).  The
 * values sent are noted as patterns; each occurrence in the response is
 * overwritten in place with as many bytes of SECRET_REDACTION (then 'x'),
 * so that lengths (Content-Length, chunk sizes) stay right.
 */
#define SECRET_REDACT_MAX 16
#define SECRET_REDACTION "[airlock:redacted]"

struct secret_redact {
	struct {
		const char *s; /* the value (set's), or an owned copy */
		size_t len;
		const struct secret_value *v; /* whose it is, for the audit */
		int is_owned; /* s is ours: wiped and freed by the reset */
	} pat[SECRET_REDACT_MAX];
	size_t n;
	size_t max_len; /* the longest pattern */
	unsigned hits; /* bit i: pattern i was found and overwritten */
};

void secret_redact_init(struct secret_redact *r);
/* Wipe and free the owned patterns, forget all. */
void secret_redact_reset(struct secret_redact *r);
/*
 * Note s[0..len) (of v) as a pattern; copy: it is copied (a value that is
 * not in the set as is, like an encoded Basic credential).  A pattern
 * already noted is not noted twice.  Returns 0, or -1 when the table is
 * full or out of memory (the caller must not send the value then).
 */
int secret_redact_add(struct secret_redact *r, const struct secret_value *v,
    const char *s, size_t len, int copy);
/*
 * Overwrite every occurrence of a pattern that lies whole in buf[0..len).
 * Returns how many leading bytes are clean for good: all of them when
 * is_final (nothing follows), else all but the last max_len - 1 (a value
 * may start there and end in bytes still to come: the caller holds them
 * back and passes them again, in front of the next bytes).
 */
size_t secret_redact_buf(
    struct secret_redact *r, char *buf, size_t len, int is_final);

/* Nonzero when host may receive a secret of set (with need_body: one with
 * `body: true`). */
int secret_set_host_any(const struct secret_set *set, const struct policy *pol,
    const char *host, int need_body);

/* Nonzero when every index of set names one of pol's secrets. */
int secret_set_fits(const struct secret_set *set, const struct policy *pol);

/* The policy name of v's secret ("?" when pol has no such index). */
const char *secret_name(const struct policy *pol, const struct secret_value *v);

#endif
