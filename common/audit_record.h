/*
 * audit_record: the line format of an audit record, shared by the writer
 * (common/audit.c), the checker (common/audit_verify.c), `airlock audit`
 * and the tests.  Callers that only log events need common/audit.h alone.
 *
 * A record is one flat JSON object on one line (no nested objects or
 * arrays), fields in the order audit_record_format() writes them:
 *
 *   {"ts":..,"seq":..,...,"duration_ms":..,"prev":"<64 hex>","hash":"<64 hex>"}
 *
 * The hash chain, precisely.  Let P_n be the bytes of line n from its
 * opening '{' up to and excluding the 75-byte suffix
 * ,"hash":"<64 hex>"}  -- that is, P_n ends with the prev field:
 * ,"prev":"<64 hex>".  Let H_0 be 64 ASCII '0's.  Then
 *
 *   H_n = lower-case hex of SHA-256( H_(n-1) as 64 ASCII bytes || P_n )
 *
 * and line n carries "prev":H_(n-1) and "hash":H_n.  Editing any byte of
 * line n changes H_n (or breaks the layout); deleting, inserting or
 * reordering lines breaks "prev" of the first line after the change.
 * Removing lines from the END of a file leaves a valid, shorter chain: only
 * an anchor kept elsewhere (the OTLP copy, a remembered count) shows it.
 */
#ifndef AIRLOCK_AUDIT_RECORD_H
#define AIRLOCK_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "util.h"

#define AUDIT_HASH_HEX 64
/* ,"hash":"  +  64 hex  +  "}  */
#define AUDIT_HASH_SUFFIX_LEN (9 + AUDIT_HASH_HEX + 2)
/* ,"prev":"  +  64 hex  +  "   */
#define AUDIT_PREV_SUFFIX_LEN (9 + AUDIT_HASH_HEX + 1)

extern const char audit_hash_zero[AUDIT_HASH_HEX + 1];

/*
 * Append record seq to b (no newline): the fields of ev, session and the
 * time wall_ns, chained to prev (64 hex).  hash_out receives the record's
 * hash (65 bytes, NUL-terminated).  When ev->op is "audit.dropped" or
 * another "audit.*" record of the log itself, decision and decided_by are
 * written as null: the log decided nothing.
 */
void audit_record_format(struct buf *b, const struct audit_event *ev,
    const char *session, unsigned long long wall_ns, uint64_t seq,
    const char *prev, char *hash_out);

/* H = hex(SHA-256(prev || text[0..len))) into out (65 bytes). */
void audit_record_hash(
    const char *prev, const char *text, size_t len, char *out);

/* A field of a parsed record: slices into the line, never copied. */
enum audit_json_type {
	AUDIT_JSON_STRING,
	AUDIT_JSON_NUMBER,
	AUDIT_JSON_NULL,
	AUDIT_JSON_BOOL,
};

struct audit_field {
	const char *key; /* raw key text, without quotes */
	size_t key_len;
	const char *val; /* strings: raw text between the quotes (escaped) */
	size_t val_len;
	enum audit_json_type type;
};

#define AUDIT_RECORD_MAX_FIELDS 40

struct audit_record {
	struct audit_field fields[AUDIT_RECORD_MAX_FIELDS];
	size_t n_fields;
};

/*
 * Parse one line (without its newline) as a flat JSON object.  Returns 0,
 * or -1 with why[] saying what is wrong (and where) when the line is not
 * one.  Never reads past line + len; the line need not be NUL-terminated.
 */
int audit_record_parse(const char *line, size_t len, struct audit_record *rec,
    char *why, size_t why_len);

/* The field named key, or NULL. */
const struct audit_field *audit_record_get(
    const struct audit_record *rec, const char *key);

/*
 * Unescape a string field into out (NUL-terminated, truncated to out_len);
 * a number, bool or null field is copied as its text ("" for null).
 * Control characters are kept: a terminal printer must sanitise them.
 * Returns the full unescaped length (like snprintf).
 */
size_t audit_field_text(const struct audit_field *f, char *out, size_t out_len);

/* A non-negative integer field; returns 0, or -1 when f is not one. */
int audit_field_u64(const struct audit_field *f, uint64_t *out);

/*
 * Check one complete line (no newline) on its own and against the line
 * before it.  expect_prev is the previous line's hash (audit_hash_zero for
 * the first line), or NULL to take the line's own prev field on trust (the
 * tail check at open).  expect_seq is the seq it must carry, or 0 for any.
 * On success returns 0 and fills hash_out (65 bytes) and *seq_out; on
 * failure returns -1 and why[] says what is wrong.
 */
int audit_record_check(const char *line, size_t len, const char *expect_prev,
    uint64_t expect_seq, char *hash_out, uint64_t *seq_out, char *why,
    size_t why_len);

#endif
