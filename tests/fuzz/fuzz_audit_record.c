/*
 * libFuzzer target for the audit record scanner, the line check that
 * `airlock audit verify` runs on untrusted files, and the JSON string
 * escaping of the writer.  Properties: the scanner never reads out of
 * bounds and always says why it refuses; unescaping fits any buffer size
 * and reports the same length; escape(unescape(escape(s))) == escape(s).
 * Seeds: tests/fuzz/corpus/audit_record.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_record.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fields(const struct audit_record *rec)
{
	char small[8], big[4096];
	size_t i, n_small, n_big;
	uint64_t v;

	for (i = 0; i < rec->n_fields; i++) {
		n_small =
		    audit_field_text(&rec->fields[i], small, sizeof(small));
		n_big = audit_field_text(&rec->fields[i], big, sizeof(big));
		if (n_small != n_big || strlen(small) >= sizeof(small) ||
		    (n_big < sizeof(big) && strlen(big) > n_big))
			__builtin_trap();
		(void)audit_field_u64(&rec->fields[i], &v);
	}
}

/* escape(unescape(escape(s))) == escape(s) for the C string s. */
static void
fuzz_escape_round_trip(const char *s)
{
	struct audit_record rec;
	struct buf once, twice;
	char why[128], *text;
	size_t n;

	buf_init(&once);
	buf_adds(&once, "{\"k\":");
	buf_add_json_string(&once, s);
	buf_adds(&once, "}");
	if (audit_record_parse(once.data, once.len, &rec, why, sizeof(why)) !=
	        0 ||
	    rec.n_fields != 1)
		__builtin_trap();
	n = audit_field_text(&rec.fields[0], NULL, 0);
	text = xmalloc(n + 1);
	audit_field_text(&rec.fields[0], text, n + 1);
	buf_init(&twice);
	buf_adds(&twice, "{\"k\":");
	buf_add_json_string(&twice, text);
	buf_adds(&twice, "}");
	if (twice.len != once.len || memcmp(twice.data, once.data, once.len))
		__builtin_trap();
	free(text);
	buf_free(&twice);
	buf_free(&once);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_record rec;
	char why[256], hash[AUDIT_HASH_HEX + 1], *s;
	uint64_t seq;

	why[0] = '\0';
	if (audit_record_parse(
	        (const char *)data, size, &rec, why, sizeof(why)) == 0)
		fuzz_fields(&rec);
	else if (why[0] == '\0')
		__builtin_trap();
	why[0] = '\0';
	if (audit_record_check((const char *)data, size, NULL, 0, hash, &seq,
	        why, sizeof(why)) != 0 &&
	    why[0] == '\0')
		__builtin_trap();
	(void)audit_record_check((const char *)data, size, audit_hash_zero, 1,
	    hash, &seq, why, sizeof(why));

	s = xstrndup((const char *)data, size);
	fuzz_escape_round_trip(s);
	free(s);
	return 0;
}
