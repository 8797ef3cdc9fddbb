/*
 * policy_arena: the bump allocator a compiled policy lives in, so that a
 * policy (or a half-built one, on error) is freed in one call and the rule
 * tables sit close together in memory.  Aborts on out-of-memory: it only
 * runs at load time.
 */
#ifndef AIRLOCK_POLICY_ARENA_H
#define AIRLOCK_POLICY_ARENA_H

#include <stddef.h>

struct policy_arena_chunk;

struct policy_arena {
	struct policy_arena_chunk *head;
};

void policy_arena_init(struct policy_arena *a);
/* Free every allocation made from a; a is reset and may be reused. */
void policy_arena_free(struct policy_arena *a);
/* Zeroed, aligned for any type. */
void *policy_arena_alloc(struct policy_arena *a, size_t n);
void *policy_arena_array(struct policy_arena *a, size_t n, size_t size);
char *policy_arena_strndup(struct policy_arena *a, const char *s, size_t n);
char *policy_arena_strdup(struct policy_arena *a, const char *s);

#endif
