/*
 * policy_arena: chunks of at least 16 KiB, handed out front to back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_arena.h"
#include "util.h"

#define ARENA_CHUNK_MIN 16384
#define ARENA_ALIGN 16

struct policy_arena_chunk {
	struct policy_arena_chunk *next;
	size_t used;
	size_t size;
	/* Data follows, aligned: the header is padded to ARENA_ALIGN. */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void
policy_arena_init(struct policy_arena *a)
{
	a->head = NULL;
}

void
policy_arena_free(struct policy_arena *a)
{
	struct policy_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

void *
policy_arena_alloc(struct policy_arena *a, size_t n)
{
	struct policy_arena_chunk *c = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;

		c = xmalloc(sizeof(*c) + size);
		c->used = 0;
		c->size = size;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

void *
policy_arena_array(struct policy_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		abort();
	return policy_arena_alloc(a, n * size);
}

char *
policy_arena_strndup(struct policy_arena *a, const char *s, size_t n)
{
	char *p = policy_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
policy_arena_strdup(struct policy_arena *a, const char *s)
{
	return policy_arena_strndup(a, s, strlen(s));
}
