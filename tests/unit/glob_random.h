/*
 * glob_random: what the glob tests that check against a reference share,
 * a seeded xorshift and random path components.  Define GLOB_RANDOM_SEED
 * before including it: each test keeps its own sequence.
 */
#ifndef AIRLOCK_GLOB_RANDOM_H
#define AIRLOCK_GLOB_RANDOM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint32_t rng_state = GLOB_RANDOM_SEED;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* One to three atoms appended at out + *n: literals, and with allow_wild
 * also '*', '?' and bracket expressions. */
static void
random_comp(char *out, size_t *n, int allow_wild)
{
	static const char *const atoms[] = { "a", "b", ".", "*", "?", "[ab]",
		"[!a]" };
	int k = 1 + (int)(rng() % 3), i;

	for (i = 0; i < k; i++) {
		const char *a = atoms[rng() % (allow_wild ? 7 : 3)];

		memcpy(out + *n, a, strlen(a));
		*n += strlen(a);
	}
}

#endif
