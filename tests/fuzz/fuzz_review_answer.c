/*
 * libFuzzer target for the reviewer's answer reader
 * (common/reviewer_answer.c).  Any input must come back as a verdict with
 * a NUL-terminated reason, within bounds; only an input that parses may
 * say allow, deny or escalate, and a failed parse always says failed.
 * Seeds: tests/fuzz/corpus/review_answer.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reviewer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct review_answer a;
	int rc;

	rc = reviewer_parse_answer((const char *)data, size, &a);
	if (memchr(a.reason, '\0', sizeof(a.reason)) == NULL)
		__builtin_trap();
	if (rc == 0 && a.verdict != REVIEW_ALLOW && a.verdict != REVIEW_DENY &&
	    a.verdict != REVIEW_ESCALATE)
		__builtin_trap();
	if (rc != 0 && (rc != -1 || a.verdict != REVIEW_FAILED))
		__builtin_trap();
	return 0;
}
