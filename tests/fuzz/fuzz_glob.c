/*
 * libFuzzer target for the glob compiler and matcher.  The input is a
 * pattern and a path separated by the first NUL byte; a compiled pattern
 * is matched against the path and against every prefix of it, which must
 * terminate (no exponential backtracking) and stay within bounds.
 * Seeds: tests/fuzz/corpus/glob.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy_arena.h"
#include "policy_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	size_t plen = nul != NULL ? (size_t)(nul - in) : size;
	const char *path = nul != NULL ? nul + 1 : "";
	size_t len = nul != NULL ? size - plen - 1 : 0, n;
	struct policy_arena arena;
	struct glob g;
	char why[256];
	size_t at;

	policy_arena_init(&arena);
	if (glob_compile(&g, in, plen, &arena, why, sizeof(why), &at) == 0) {
		for (n = 0; n <= len && n <= 64; n++)
			(void)glob_match(&g, path, len - n);
		/* A literal pattern matches itself. */
		if (g.is_exact && !glob_match(&g, g.prefix, g.prefix_len))
			__builtin_trap();
	} else if (at > plen || why[0] == '\0') {
		__builtin_trap();
	}
	policy_arena_free(&arena);
	return 0;
}
