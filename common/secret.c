/*
 * secret: per-session sentinels, the masked copies that carry them, and
 * their replacement by the real values in requests (see secret.h).
 */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "secret.h"

/* The longest Basic credential decoded to look inside (bytes of base64). */
#define SECRET_BASIC_MAX 4096

static const char hexdig[] = "0123456789abcdef";

void
secret_set_init(struct secret_set *set)
{
	set->v = NULL;
	set->n = 0;
}

void
secret_set_free(struct secret_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		OPENSSL_cleanse(set->v[i].value, set->v[i].value_len);
		free(set->v[i].value);
	}
	free(set->v);
	secret_set_init(set);
}

int
secret_sentinel_make(char *out)
{
	unsigned char rnd[16];
	size_t i, got = 0;
	ssize_t n;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	memcpy(out, SECRET_SENTINEL_PREFIX, SECRET_SENTINEL_PREFIX_LEN);
	for (i = 0; i < sizeof(rnd); i++) {
		out[SECRET_SENTINEL_PREFIX_LEN + 2 * i] = hexdig[rnd[i] >> 4];
		out[SECRET_SENTINEL_PREFIX_LEN + 2 * i + 1] =
		    hexdig[rnd[i] & 15];
	}
	out[SECRET_SENTINEL_LEN] = '\0';
	return 0;
}

int
secret_sentinel_at(const char *buf, size_t len, size_t off)
{
	size_t i;

	if (off > len || len - off < SECRET_SENTINEL_LEN ||
	    memcmp(buf + off, SECRET_SENTINEL_PREFIX,
	        SECRET_SENTINEL_PREFIX_LEN) != 0)
		return 0;
	for (i = off + SECRET_SENTINEL_PREFIX_LEN;
	     i < off + SECRET_SENTINEL_LEN; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') ||
		        (buf[i] >= 'a' && buf[i] <= 'f')))
			return 0;
	return 1;
}

struct secret_value *
secret_set_add(struct secret_set *set, size_t index, const char *sentinel,
    const char *value, size_t value_len)
{
	struct secret_value *v;

	if (sentinel != NULL &&
	    (strlen(sentinel) != SECRET_SENTINEL_LEN ||
	        !secret_sentinel_at(sentinel, SECRET_SENTINEL_LEN, 0)))
		return NULL;
	set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
	v = &set->v[set->n];
	v->index = index;
	if (sentinel != NULL)
		memcpy(v->sentinel, sentinel, SECRET_SENTINEL_LEN + 1);
	else if (secret_sentinel_make(v->sentinel) != 0)
		return NULL;
	v->value = xmalloc(value_len + 1);
	memcpy(v->value, value, value_len);
	v->value[value_len] = '\0';
	v->value_len = value_len;
	set->n++;
	return v;
}

int
secret_extract(
    const char *text, size_t len, const char *match, size_t *off, size_t *vlen)
{
	regmatch_t m[2];
	regex_t rx;
	int rc;

	if (memchr(text, '\0', len) != NULL)
		return -1;
	if (match == NULL) {
		*off = 0;
		while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
			len--;
		*vlen = len;
		return len > 0 ? 0 : -1;
	}
	/* text is NUL-terminated by every caller's reader; regexec needs it. */
	if (text[len] != '\0' || regcomp(&rx, match, REG_EXTENDED) != 0)
		return -1;
	rc = regexec(&rx, text, 2, m, 0);
	regfree(&rx);
	if (rc != 0 || rx.re_nsub < 1 || m[1].rm_so < 0 ||
	    m[1].rm_eo <= m[1].rm_so)
		return -1;
	*off = (size_t)m[1].rm_so;
	*vlen = (size_t)(m[1].rm_eo - m[1].rm_so);
	return 0;
}

char *
secret_mask(const char *text, size_t len, size_t off, size_t vlen,
    const char *sentinel, size_t *out_len)
{
	size_t slen = strlen(sentinel), n = len - vlen + slen;
	char *out = xmalloc(n + 1);

	memcpy(out, text, off);
	memcpy(out + off, sentinel, slen);
	memcpy(out + off + slen, text + off + vlen, len - off - vlen);
	out[n] = '\0';
	*out_len = n;
	return out;
}

void
secret_set_encode(const struct secret_set *set, struct buf *out)
{
	size_t i, j;

	for (i = 0; i < set->n; i++) {
		const struct secret_value *v = &set->v[i];

		buf_addf(out, "%zu %s ", v->index, v->sentinel);
		for (j = 0; j < v->value_len; j++) {
			char h[2] = { hexdig[(unsigned char)v->value[j] >> 4],
				hexdig[(unsigned char)v->value[j] & 15] };

			buf_add(out, h, 2);
		}
		buf_add(out, "\n", 1);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
secret_set_decode(struct secret_set *set, const char *data, size_t len,
    char *why, size_t why_len)
{
	const char *p = data, *end = data + len, *nl, *sp;
	char sentinel[SECRET_SENTINEL_LEN + 1], *val = NULL;
	unsigned long idx;
	size_t line = 0, hexlen, i;
	char *e;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			goto bad;
		idx = strtoul(p, &e, 10);
		if (e == p || *e != ' ' || idx > 1024)
			goto bad;
		p = e + 1;
		if (nl - p < SECRET_SENTINEL_LEN + 1 ||
		    !secret_sentinel_at(p, (size_t)(nl - p), 0) ||
		    p[SECRET_SENTINEL_LEN] != ' ')
			goto bad;
		memcpy(sentinel, p, SECRET_SENTINEL_LEN);
		sentinel[SECRET_SENTINEL_LEN] = '\0';
		sp = p + SECRET_SENTINEL_LEN + 1;
		hexlen = (size_t)(nl - sp);
		if (hexlen == 0 || hexlen % 2 != 0)
			goto bad;
		val = xmalloc(hexlen / 2 + 1);
		for (i = 0; i < hexlen / 2; i++) {
			int hi = hexval(sp[2 * i]), lo = hexval(sp[2 * i + 1]);

			if (hi < 0 || lo < 0)
				goto bad;
			val[i] = (char)(hi << 4 | lo);
		}
		if (secret_set_add(set, idx, sentinel, val, hexlen / 2) == NULL)
			goto bad;
		OPENSSL_cleanse(val, hexlen / 2);
		free(val);
		val = NULL;
		p = nl + 1;
	}
	return 0;
bad:
	if (val != NULL) {
		OPENSSL_cleanse(val, hexlen / 2);
		free(val);
	}
	snprintf(why, why_len, "secrets: line %zu is malformed", line);
	secret_set_free(set);
	return -1;
}

const struct secret_value *
secret_set_find(const struct secret_set *set, const char *s)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (memcmp(set->v[i].sentinel, s, SECRET_SENTINEL_LEN) == 0)
			return &set->v[i];
	return NULL;
}

size_t
secret_sentinel_next(const char *in, size_t len, size_t from)
{
	const char *p;

	while (from < len) {
		p = memmem(in + from, len - from, SECRET_SENTINEL_PREFIX,
		    SECRET_SENTINEL_PREFIX_LEN);
		if (p == NULL)
			return len;
		from = (size_t)(p - in);
		if (secret_sentinel_at(in, len, from))
			return from;
		from++;
	}
	return len;
}

int
secret_any_sentinel(const char *in, size_t len)
{
	return secret_sentinel_next(in, len, 0) < len;
}

int
secret_replace(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *in, size_t len, struct buf *out,
    const struct secret_value **refused)
{
	const struct secret_value *v;
	size_t at = 0, s;
	int n = 0;

	*refused = NULL;
	while ((s = secret_sentinel_next(in, len, at)) < len) {
		v = secret_set_find(set, in + s);
		if (v == NULL || host == NULL ||
		    !policy_secret_host(pol, v->index, host)) {
			*refused = v;
			return -1;
		}
		buf_add(out, in + at, s - at);
		buf_add(out, v->value, v->value_len);
		at = s + SECRET_SENTINEL_LEN;
		n++;
	}
	buf_add(out, in + at, len - at);
	return n;
}

int
secret_replace_header(const struct secret_set *set, const struct policy *pol,
    const char *host, const char *value, size_t len, struct buf *out,
    const struct secret_value **refused)
{
	unsigned char dec[SECRET_BASIC_MAX], enc[SECRET_BASIC_MAX * 2 + 4];
	struct buf plain;
	size_t b64len, declen, pad;
	int n, m, rc = -1;

	*refused = NULL;
	if (len < 6 || strncasecmp(value, "Basic ", 6) != 0)
		return secret_replace(set, pol, host, value, len, out, refused);
	b64len = len - 6;
	while (b64len > 0 && value[6 + b64len - 1] == ' ')
		b64len--;
	if (b64len == 0 || b64len % 4 != 0 || b64len > SECRET_BASIC_MAX)
		return secret_replace(set, pol, host, value, len, out, refused);
	m = EVP_DecodeBlock(dec, (const unsigned char *)value + 6, (int)b64len);
	if (m < 0)
		return secret_replace(set, pol, host, value, len, out, refused);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	pad = (value[6 + b64len - 1] == '=') + (value[6 + b64len - 2] == '=');
	declen = (size_t)m - pad;
	buf_init(&plain);
	n = secret_replace(
	    set, pol, host, (const char *)dec, declen, &plain, refused);
	if (n < 0)
		goto out;
	if (n == 0 || plain.len > SECRET_BASIC_MAX) {
		/* Nothing to put back (or too long to carry): as it was. */
		rc = secret_replace(set, pol, host, value, len, out, refused);
		goto out;
	}
	m = EVP_EncodeBlock(
	    enc, (const unsigned char *)plain.data, (int)plain.len);
	buf_add(out, value, 6);
	buf_add(out, enc, (size_t)m);
	OPENSSL_cleanse(enc, sizeof(enc));
	rc = n;
out:
	OPENSSL_cleanse(dec, sizeof(dec));
	if (plain.data != NULL)
		OPENSSL_cleanse(plain.data, plain.cap);
	buf_free(&plain);
	return rc;
}
