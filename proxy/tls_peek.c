/*
 * tls_peek: the SNI of a ClientHello (RFC 8446 4.1.2, RFC 6066 3).
 */
#include "config.h"

#include <string.h>

#include "tls_peek.h"

#define TLS_RECORD_HANDSHAKE 22
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_RECORD_MAX 18432 /* 2^14 + 2048: the largest legal record */

/* A cursor over a byte range: every read is bounds-checked. */
struct tls_cur {
	const uint8_t *p;
	size_t left;
};

static int
tls_cur_u8(struct tls_cur *c, size_t *v)
{
	if (c->left < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->left--;
	return 0;
}

static int
tls_cur_u16(struct tls_cur *c, size_t *v)
{
	if (c->left < 2)
		return -1;
	*v = (size_t)c->p[0] << 8 | c->p[1];
	c->p += 2;
	c->left -= 2;
	return 0;
}

static int
tls_cur_skip(struct tls_cur *c, size_t n)
{
	if (c->left < n)
		return -1;
	c->p += n;
	c->left -= n;
	return 0;
}

/* Split off the next n bytes as a sub-cursor. */
static int
tls_cur_sub(struct tls_cur *c, size_t n, struct tls_cur *sub)
{
	if (c->left < n)
		return -1;
	sub->p = c->p;
	sub->left = n;
	c->p += n;
	c->left -= n;
	return 0;
}

static enum tls_peek_result
tls_peek_server_name(struct tls_cur *ext, char *sni, size_t sni_size)
{
	struct tls_cur list;
	size_t list_len, type, name_len, i;

	if (tls_cur_u16(ext, &list_len) != 0 || list_len != ext->left ||
	    tls_cur_sub(ext, list_len, &list) != 0)
		return TLS_PEEK_BAD;
	/* Exactly one host_name entry; anything else is ambiguous. */
	if (tls_cur_u8(&list, &type) != 0 || type != 0 ||
	    tls_cur_u16(&list, &name_len) != 0 || name_len != list.left)
		return TLS_PEEK_BAD;
	if (name_len == 0 || name_len >= sni_size ||
	    name_len >= TLS_PEEK_MAX_SNI)
		return TLS_PEEK_BAD;
	for (i = 0; i < name_len; i++) {
		uint8_t ch = list.p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		        ch == '-' || ch == '_' || ch == '.'))
			return TLS_PEEK_BAD;
		sni[i] = (char)ch;
	}
	if (sni[0] == '.')
		return TLS_PEEK_BAD;
	if (name_len > 1 && sni[name_len - 1] == '.')
		name_len--;
	sni[name_len] = '\0';
	return TLS_PEEK_SNI;
}

static enum tls_peek_result
tls_peek_hello(const uint8_t *hello, size_t len, char *sni, size_t sni_size)
{
	struct tls_cur c = { hello, len }, exts, ext;
	size_t v, n, type, ext_len;
	enum tls_peek_result r = TLS_PEEK_NO_SNI;
	int seen_sni = 0;

	if (tls_cur_skip(&c, 2 + 32) != 0 || /* version, random */
	    tls_cur_u8(&c, &n) != 0 || n > 32 || tls_cur_skip(&c, n) != 0 ||
	    tls_cur_u16(&c, &n) != 0 || n < 2 || n % 2 != 0 ||
	    tls_cur_skip(&c, n) != 0 || /* cipher suites */
	    tls_cur_u8(&c, &n) != 0 || n < 1 || tls_cur_skip(&c, n) != 0)
		return TLS_PEEK_BAD;
	if (c.left == 0)
		return TLS_PEEK_NO_SNI; /* no extensions at all */
	if (tls_cur_u16(&c, &v) != 0 || v != c.left ||
	    tls_cur_sub(&c, v, &exts) != 0)
		return TLS_PEEK_BAD;
	while (exts.left > 0) {
		if (tls_cur_u16(&exts, &type) != 0 ||
		    tls_cur_u16(&exts, &ext_len) != 0 ||
		    tls_cur_sub(&exts, ext_len, &ext) != 0)
			return TLS_PEEK_BAD;
		if (type != TLS_EXT_SERVER_NAME)
			continue;
		if (seen_sni)
			return TLS_PEEK_BAD;
		seen_sni = 1;
		r = tls_peek_server_name(&ext, sni, sni_size);
		if (r != TLS_PEEK_SNI)
			return r;
	}
	return r;
}

enum tls_peek_result
tls_peek_sni(const uint8_t *buf, size_t len, char *sni, size_t sni_size)
{
	uint8_t hello[TLS_PEEK_MAX_HELLO];
	size_t have = 0, need = 0, off = 0, rec_len, take;
	int first = 1;

	if (sni_size > 0)
		sni[0] = '\0';
	if (len == 0)
		return TLS_PEEK_MORE;
	if (buf[0] != TLS_RECORD_HANDSHAKE)
		return TLS_PEEK_NOT_TLS;
	/* Reassemble the handshake message from consecutive records. */
	for (;;) {
		if (len - off < 5)
			return (len - off >= 2 && buf[off + 1] != 3)
			    ? TLS_PEEK_NOT_TLS
			    : TLS_PEEK_MORE;
		if (buf[off] != TLS_RECORD_HANDSHAKE || buf[off + 1] != 3)
			return first ? TLS_PEEK_NOT_TLS : TLS_PEEK_BAD;
		rec_len = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (rec_len == 0 || rec_len > TLS_RECORD_MAX)
			return TLS_PEEK_BAD;
		off += 5;
		take = len - off < rec_len ? len - off : rec_len;
		if (have + take > sizeof hello)
			take = sizeof hello - have;
		memcpy(hello + have, buf + off, take);
		have += take;
		if (first && have >= 4) {
			if (hello[0] != TLS_HANDSHAKE_CLIENT_HELLO)
				return TLS_PEEK_BAD;
			need = (size_t)hello[1] << 16 | (size_t)hello[2] << 8 |
			    hello[3];
			if (need + 4 > sizeof hello || need < 38)
				return TLS_PEEK_BAD;
			first = 0;
		}
		if (!first && have >= need + 4)
			return tls_peek_hello(hello + 4, need, sni, sni_size);
		if (len - off < rec_len)
			return TLS_PEEK_MORE;
		off += rec_len;
		if (first) /* a record too short to hold the message header */
			return TLS_PEEK_BAD;
	}
}

const char *
tls_peek_result_name(enum tls_peek_result r)
{
	switch (r) {
	case TLS_PEEK_MORE:
		return "incomplete";
	case TLS_PEEK_NOT_TLS:
		return "not TLS";
	case TLS_PEEK_BAD:
		return "malformed ClientHello";
	case TLS_PEEK_NO_SNI:
		return "no SNI";
	case TLS_PEEK_SNI:
		return "SNI";
	}
	return "?";
}
