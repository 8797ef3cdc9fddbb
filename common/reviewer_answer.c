/*
 * reviewer_answer: the strict reader of a reviewer's answer (see
 * reviewer.h).
 *
 * A hand parser rather than a JSON library, because the answer has one
 * shape and anything else must be refused, not tolerated: one object,
 * string members "decision" and "reason" only, no duplicate, standard
 * escapes with paired surrogates, no raw control byte, no NUL, nothing
 * after the object but whitespace.  It reads at most len bytes, never
 * allocates and keeps no state, so it can be fuzzed on its own
 * (tests/fuzz/fuzz_review_answer.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reviewer.h"
#include "util.h"

struct answer_reader {
	const char *p, *end;
	const char *why; /* the first error, or NULL */
};

/* A decoded string: at most cap - 1 bytes are kept, the rest counted. */
struct answer_str {
	char *s;
	size_t cap, len;
	int is_truncated;
};

static int
answer_fail(struct answer_reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return -1;
}

static void
answer_skip_ws(struct answer_reader *r)
{
	while (r->p < r->end &&
	    (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
answer_expect(struct answer_reader *r, char c, const char *why)
{
	answer_skip_ws(r);
	if (r->p >= r->end || *r->p != c)
		return answer_fail(r, why);
	r->p++;
	return 0;
}

static void
answer_put(struct answer_str *out, const char *b, size_t n)
{
	if (out->len + n < out->cap)
		memcpy(out->s + out->len, b, n);
	else
		out->is_truncated = 1;
	if (!out->is_truncated)
		out->len += n;
}

/* Four hex digits after "\u".  Returns the value or -1. */
static long
answer_hex4(struct answer_reader *r)
{
	long v = 0;
	int i;
	char c;

	if (r->end - r->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = r->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	r->p += 4;
	return v;
}

/* After "\u": one code point (a surrogate pair counts as one), as UTF-8. */
static int
answer_unicode(struct answer_reader *r, struct answer_str *out)
{
	long cp, lo;
	char u[4];
	size_t n;

	if ((cp = answer_hex4(r)) < 0)
		return answer_fail(r, "a \\u escape without four hex digits");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return answer_fail(r, "a lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
			return answer_fail(r, "a lone high surrogate");
		r->p += 2;
		lo = answer_hex4(r);
		if (lo < 0xdc00 || lo > 0xdfff)
			return answer_fail(r, "a lone high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return answer_fail(r, "a NUL in a string");
	n = utf8_encode(cp, u);
	answer_put(out, u, n);
	return 0;
}

/* A JSON string at r->p (after whitespace) into *out, NUL-terminated. */
static int
answer_string(struct answer_reader *r, struct answer_str *out)
{
	unsigned char c;
	char e;

	out->len = 0;
	out->is_truncated = 0;
	if (answer_expect(r, '"', "a string was expected") != 0)
		return -1;
	for (;;) {
		if (r->p >= r->end)
			return answer_fail(r, "an unterminated string");
		c = (unsigned char)*r->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return answer_fail(r, "a control byte in a string");
		if (c != '\\') {
			answer_put(out, (const char *)&c, 1);
			continue;
		}
		if (r->p >= r->end)
			return answer_fail(r, "an unterminated string");
		switch ((e = *r->p++)) {
		case '"':
		case '\\':
		case '/':
			answer_put(out, &e, 1);
			break;
		case 'b':
			answer_put(out, "\b", 1);
			break;
		case 'f':
			answer_put(out, "\f", 1);
			break;
		case 'n':
			answer_put(out, "\n", 1);
			break;
		case 'r':
			answer_put(out, "\r", 1);
			break;
		case 't':
			answer_put(out, "\t", 1);
			break;
		case 'u':
			if (answer_unicode(r, out) != 0)
				return -1;
			break;
		default:
			return answer_fail(r, "an unknown escape in a string");
		}
	}
	out->s[out->len] = '\0';
	return 0;
}

int
reviewer_parse_answer(const char *buf, size_t len, struct review_answer *out)
{
	struct answer_reader r = { .p = buf, .end = buf + len };
	char key_s[16], dec_s[16];
	struct answer_str key = { .s = key_s, .cap = sizeof(key_s) };
	struct answer_str dec = { .s = dec_s, .cap = sizeof(dec_s) };
	struct answer_str why = { .s = out->reason,
		.cap = sizeof(out->reason) };
	int has_decision = 0, has_reason = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL) {
		answer_fail(&r, "no answer");
		goto out;
	}
	if (answer_expect(&r, '{', "the answer is not a JSON object") != 0)
		goto out;
	answer_skip_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		answer_fail(&r, "the answer has no decision");
		goto out;
	}
	for (;;) {
		if (answer_string(&r, &key) != 0)
			goto out;
		if (key.is_truncated) {
			answer_fail(&r, "the answer has an unknown member");
			goto out;
		}
		if (answer_expect(&r, ':', "a ':' was expected") != 0)
			goto out;
		if (strcmp(key_s, "decision") == 0 && !has_decision) {
			if (answer_string(&r, &dec) != 0)
				goto out;
			has_decision = 1;
		} else if (strcmp(key_s, "reason") == 0 && !has_reason) {
			if (answer_string(&r, &why) != 0)
				goto out;
			has_reason = 1;
		} else if (strcmp(key_s, "decision") == 0 ||
		    strcmp(key_s, "reason") == 0) {
			answer_fail(&r, "the answer repeats a member");
			goto out;
		} else {
			answer_fail(&r, "the answer has an unknown member");
			goto out;
		}
		answer_skip_ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (answer_expect(&r, '}', "a ',' or '}' was expected") != 0)
			goto out;
		break;
	}
	answer_skip_ws(&r);
	if (r.p != r.end) {
		answer_fail(&r, "something follows the answer");
		goto out;
	}
	if (!has_decision) {
		answer_fail(&r, "the answer has no decision");
		goto out;
	}
	if (dec.is_truncated) {
		answer_fail(&r, "the answer's decision is unknown");
		goto out;
	}
	if (strcmp(dec_s, "allow") == 0)
		out->verdict = REVIEW_ALLOW;
	else if (strcmp(dec_s, "deny") == 0)
		out->verdict = REVIEW_DENY;
	else if (strcmp(dec_s, "escalate") == 0)
		out->verdict = REVIEW_ESCALATE;
	else {
		answer_fail(&r, "the answer's decision is unknown");
		goto out;
	}
	if (!has_reason)
		out->reason[0] = '\0';
	rc = 0;
out:
	if (rc != 0) {
		out->verdict = REVIEW_FAILED;
		snprintf(out->reason, sizeof(out->reason),
		    "malformed answer: %s",
		    r.why != NULL ? r.why : "unreadable");
	}
	return rc;
}

const char *
reviewer_verdict_name(enum review_verdict v)
{
	switch (v) {
	case REVIEW_ALLOW:
		return "allow";
	case REVIEW_DENY:
		return "deny";
	case REVIEW_ESCALATE:
		return "escalate";
	case REVIEW_FAILED:
	default:
		return "failed";
	}
}
