/*
 * fuzz_secret_scan: libFuzzer target for common/secret_scan.c.  A stream
 * fed in pieces (their sizes taken from the input's first bytes) must be
 * refused exactly when the whole holds a sentinel: no cut hides one, and
 * nothing that is not one is found.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct secret_value *who;
	struct secret_set set;
	struct secret_scan s;
	size_t n_sizes, at, piece, k = 0;
	int rc = 0;

	if (size < 1)
		return 0;
	n_sizes = 1 + data[0] % 8;
	if (size < 1 + n_sizes)
		return 0;
	secret_set_init(&set); /* empty: every sentinel is refused */
	secret_scan_init(&s);
	for (at = 1 + n_sizes; at < size && rc == 0; at += piece) {
		piece = 1 + data[1 + k++ % n_sizes] % 97;
		if (piece > size - at)
			piece = size - at;
		rc = secret_scan_feed(
		    &s, &set, NULL, NULL, (const char *)data + at, piece, &who);
	}
	if ((rc != 0) !=
	    secret_any_sentinel(
	        (const char *)data + 1 + n_sizes, size - 1 - n_sizes))
		abort();
	return 0;
}
