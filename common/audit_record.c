/*
 * audit_record: a small scanner for our own record lines (flat JSON
 * objects), and the check of one line against the chain.  A dedicated
 * scanner rather than a general JSON or YAML parser: the lines are
 * untrusted input to `airlock audit verify`, and a scanner that accepts
 * only the shape we write has less to get wrong.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audit_record.h"

struct audit_scan {
	const char *start, *p, *end;
	char *why;
	size_t why_len;
};

static int
audit_scan_fail(struct audit_scan *s, const char *what)
{
	if (s->why_len > 0)
		snprintf(s->why, s->why_len, "column %zu: %s",
		    (size_t)(s->p - s->start) + 1, what);
	return -1;
}

static void
audit_scan_ws(struct audit_scan *s)
{
	while (s->p < s->end &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

static int
audit_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* A string at s->p (its opening quote); on success *val and *len hold its raw
 * content between the quotes and s->p is past the closing quote. */
static int
audit_scan_string(struct audit_scan *s, const char **val, size_t *len)
{
	const char *q;

	if (s->p >= s->end || *s->p != '"')
		return audit_scan_fail(s, "expected a string");
	q = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		unsigned char c = (unsigned char)*s->p;

		if (c < 0x20)
			return audit_scan_fail(
			    s, "control character in a string");
		if (c != '\\') {
			s->p++;
			continue;
		}
		if (s->end - s->p < 2)
			break;
		switch (s->p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			s->p += 2;
			break;
		case 'u':
			if (s->end - s->p < 6 || !audit_is_hex(s->p[2]) ||
			    !audit_is_hex(s->p[3]) || !audit_is_hex(s->p[4]) ||
			    !audit_is_hex(s->p[5]))
				return audit_scan_fail(s, "bad \\u escape");
			s->p += 6;
			break;
		default:
			return audit_scan_fail(s, "bad escape in a string");
		}
	}
	if (s->p >= s->end)
		return audit_scan_fail(s, "unterminated string");
	*val = q;
	*len = (size_t)(s->p - q);
	s->p++;
	return 0;
}

static int
audit_scan_number(struct audit_scan *s)
{
	const char *q = s->p;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (s->p < s->end && *s->p >= '1' && *s->p <= '9')
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	else {
		s->p = q;
		return audit_scan_fail(s, "expected a value");
	}
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return audit_scan_fail(s, "bad number");
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return audit_scan_fail(s, "bad number");
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	return 0;
}

static int
audit_scan_literal(struct audit_scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return audit_scan_fail(s, "expected a value");
	s->p += n;
	return 0;
}

static int
audit_scan_value(struct audit_scan *s, struct audit_field *f)
{
	const char *q = s->p;

	if (s->p >= s->end)
		return audit_scan_fail(s, "expected a value");
	switch (*s->p) {
	case '"':
		f->type = AUDIT_JSON_STRING;
		return audit_scan_string(s, &f->val, &f->val_len);
	case '{':
	case '[':
		return audit_scan_fail(s, "nested object or array");
	case 'n':
		f->type = AUDIT_JSON_NULL;
		if (audit_scan_literal(s, "null") != 0)
			return -1;
		break;
	case 't':
		f->type = AUDIT_JSON_BOOL;
		if (audit_scan_literal(s, "true") != 0)
			return -1;
		break;
	case 'f':
		f->type = AUDIT_JSON_BOOL;
		if (audit_scan_literal(s, "false") != 0)
			return -1;
		break;
	default:
		f->type = AUDIT_JSON_NUMBER;
		if (audit_scan_number(s) != 0)
			return -1;
		break;
	}
	f->val = q;
	f->val_len = (size_t)(s->p - q);
	return 0;
}

int
audit_record_parse(const char *line, size_t len, struct audit_record *rec,
    char *why, size_t why_len)
{
	struct audit_scan s = { line, line, line + len, why, why_len };
	struct audit_field *f;
	size_t i;

	rec->n_fields = 0;
	audit_scan_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return audit_scan_fail(&s, "not a JSON object");
	s.p++;
	audit_scan_ws(&s);
	if (s.p < s.end && *s.p == '}') {
		s.p++;
		goto tail;
	}
	for (;;) {
		if (rec->n_fields == AUDIT_RECORD_MAX_FIELDS)
			return audit_scan_fail(&s, "too many fields");
		f = &rec->fields[rec->n_fields];
		audit_scan_ws(&s);
		if (audit_scan_string(&s, &f->key, &f->key_len) != 0)
			return -1;
		for (i = 0; i < rec->n_fields; i++)
			if (rec->fields[i].key_len == f->key_len &&
			    memcmp(rec->fields[i].key, f->key, f->key_len) == 0)
				return audit_scan_fail(&s, "duplicate key");
		audit_scan_ws(&s);
		if (s.p >= s.end || *s.p != ':')
			return audit_scan_fail(&s, "expected ':'");
		s.p++;
		audit_scan_ws(&s);
		if (audit_scan_value(&s, f) != 0)
			return -1;
		rec->n_fields++;
		audit_scan_ws(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			continue;
		}
		if (s.p < s.end && *s.p == '}') {
			s.p++;
			break;
		}
		return audit_scan_fail(&s, "expected ',' or '}'");
	}
tail:
	audit_scan_ws(&s);
	if (s.p != s.end)
		return audit_scan_fail(&s, "text after the object");
	return 0;
}

const struct audit_field *
audit_record_get(const struct audit_record *rec, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < rec->n_fields; i++)
		if (rec->fields[i].key_len == n &&
		    memcmp(rec->fields[i].key, key, n) == 0)
			return &rec->fields[i];
	return NULL;
}

/* Four hex digits the record's syntax check has let through. */
static unsigned
audit_hex4(const char *p)
{
	unsigned v = 0;

	(void)hex4_decode(p, &v);
	return v;
}

/* Append byte c at *n, counting past out_len without writing there. */
static void
audit_put(char *out, size_t out_len, size_t *n, char c)
{
	if (*n + 1 < out_len)
		out[*n] = c;
	(*n)++;
}

static void
audit_put_utf8(char *out, size_t out_len, size_t *n, unsigned cp)
{
	if (cp < 0x80)
		audit_put(out, out_len, n, (char)cp);
	else if (cp < 0x800) {
		audit_put(out, out_len, n, (char)(0xc0 | (cp >> 6)));
		audit_put(out, out_len, n, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		audit_put(out, out_len, n, (char)(0xe0 | (cp >> 12)));
		audit_put(out, out_len, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		audit_put(out, out_len, n, (char)(0x80 | (cp & 0x3f)));
	} else {
		audit_put(out, out_len, n, (char)(0xf0 | (cp >> 18)));
		audit_put(out, out_len, n, (char)(0x80 | ((cp >> 12) & 0x3f)));
		audit_put(out, out_len, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		audit_put(out, out_len, n, (char)(0x80 | (cp & 0x3f)));
	}
}

size_t
audit_field_text(const struct audit_field *f, char *out, size_t out_len)
{
	const char *p = f->val, *end = f->val + f->val_len;
	size_t n = 0;

	if (f->type == AUDIT_JSON_NULL)
		p = end;
	while (p < end) {
		unsigned cp;

		if (f->type != AUDIT_JSON_STRING || *p != '\\') {
			audit_put(out, out_len, &n, *p++);
			continue;
		}
		/* The scanner let only well-formed escapes through. */
		switch (p[1]) {
		case 'b':
			audit_put(out, out_len, &n, '\b');
			break;
		case 'f':
			audit_put(out, out_len, &n, '\f');
			break;
		case 'n':
			audit_put(out, out_len, &n, '\n');
			break;
		case 'r':
			audit_put(out, out_len, &n, '\r');
			break;
		case 't':
			audit_put(out, out_len, &n, '\t');
			break;
		case 'u':
			cp = audit_hex4(p + 2);
			p += 6;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u') {
				unsigned lo = audit_hex4(p + 2);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* a lone surrogate */
			audit_put_utf8(out, out_len, &n, cp);
			continue;
		default:
			audit_put(out, out_len, &n, p[1]);
			break;
		}
		p += 2;
	}
	if (out_len > 0)
		out[n < out_len ? n : out_len - 1] = '\0';
	return n;
}

int
audit_field_u64(const struct audit_field *f, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (f == NULL || f->type != AUDIT_JSON_NUMBER || f->val_len == 0 ||
	    f->val_len > 20)
		return -1;
	for (i = 0; i < f->val_len; i++) {
		unsigned d;

		if (f->val[i] < '0' || f->val[i] > '9')
			return -1;
		d = (unsigned)(f->val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
audit_is_hash(const char *p)
{
	int i;

	for (i = 0; i < AUDIT_HASH_HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		        (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static int
audit_key_is(const struct audit_field *f, const char *key)
{
	return f->key_len == strlen(key) &&
	    memcmp(f->key, key, f->key_len) == 0;
}

int
audit_record_check(const char *line, size_t len, const char *expect_prev,
    uint64_t expect_seq, char *hash_out, uint64_t *seq_out, char *why,
    size_t why_len)
{
	struct audit_record rec;
	const char *hash, *prev;
	char parse_why[128], computed[AUDIT_HASH_HEX + 1];
	size_t body_len;
	uint64_t seq;

	if (len == 0) {
		snprintf(why, why_len, "empty line");
		return -1;
	}
	if (audit_record_parse(line, len, &rec, parse_why, sizeof(parse_why)) !=
	    0) {
		snprintf(why, why_len, "not an audit record (%s)", parse_why);
		return -1;
	}
	/* The layout is fixed: ... ,"prev":"<hex>","hash":"<hex>"} */
	if (len < AUDIT_HASH_SUFFIX_LEN + AUDIT_PREV_SUFFIX_LEN + 1 ||
	    rec.n_fields < 2 ||
	    !audit_key_is(&rec.fields[rec.n_fields - 1], "hash") ||
	    !audit_key_is(&rec.fields[rec.n_fields - 2], "prev") ||
	    memcmp(line + len - AUDIT_HASH_SUFFIX_LEN, ",\"hash\":\"", 9) !=
	        0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0) {
		snprintf(why, why_len,
		    "no \"prev\" and \"hash\" at the end of "
		    "the record");
		return -1;
	}
	body_len = len - AUDIT_HASH_SUFFIX_LEN;
	hash = line + body_len + 9;
	prev = line + body_len - AUDIT_PREV_SUFFIX_LEN + 9;
	if (memcmp(prev - 9, ",\"prev\":\"", 9) != 0 || !audit_is_hash(prev) ||
	    !audit_is_hash(hash)) {
		snprintf(why, why_len,
		    "\"prev\" or \"hash\" is not 64 "
		    "lower-case hex digits");
		return -1;
	}
	if (expect_prev != NULL &&
	    memcmp(prev, expect_prev, AUDIT_HASH_HEX) != 0) {
		snprintf(why, why_len,
		    "\"prev\" is not the hash of the line "
		    "before: a line was deleted, inserted or reordered here");
		return -1;
	}
	audit_record_hash(prev, line, body_len, computed);
	if (memcmp(computed, hash, AUDIT_HASH_HEX) != 0) {
		snprintf(why, why_len,
		    "\"hash\" does not match the record: "
		    "the line was edited");
		return -1;
	}
	if (audit_field_u64(audit_record_get(&rec, "seq"), &seq) != 0) {
		snprintf(why, why_len, "no \"seq\" number");
		return -1;
	}
	if (expect_seq != 0 && seq != expect_seq) {
		snprintf(why, why_len, "\"seq\" is %llu where %llu was due",
		    (unsigned long long)seq, (unsigned long long)expect_seq);
		return -1;
	}
	memcpy(hash_out, computed, sizeof(computed));
	*seq_out = seq;
	return 0;
}
