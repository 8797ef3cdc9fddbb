/*
 * policy_index: an open-addressing hash table of (kind, key) to sorted
 * rule lists, built once at load time and read without locks or
 * allocation afterwards.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "policy_index.h"
#include "util.h"

struct index_slot {
	uint64_t hash;
	const char *key; /* NULL: empty slot */
	uint32_t len;
	char kind;
	const uint32_t *ids;
	size_t n_ids;
};

struct index_pending {
	char kind;
	const char *key; /* borrowed until index_build */
	size_t len;
	uint32_t id;
};

static uint64_t
index_hash(char kind, const char *key, size_t len)
{
	return XXH3_64bits_withSeed(key, len, (unsigned char)kind);
}

void
index_init(struct policy_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
index_add(struct policy_index *ix, char kind, const char *key, size_t len,
    uint32_t id)
{
	struct index_pending *p;

	if (ix->n_pending == ix->cap_pending) {
		ix->cap_pending = ix->cap_pending ? ix->cap_pending * 2 : 64;
		ix->pending = xrealloc(
		    ix->pending, ix->cap_pending * sizeof(*ix->pending));
	}
	p = &ix->pending[ix->n_pending++];
	p->kind = kind;
	p->key = key;
	p->len = len;
	p->id = id;
}

void
index_add_always(struct policy_index *ix, uint32_t id)
{
	if (ix->n_always_build > 0 &&
	    ix->always_build[ix->n_always_build - 1] == id)
		return;
	if (ix->n_always_build == ix->cap_always_build) {
		ix->cap_always_build =
		    ix->cap_always_build ? ix->cap_always_build * 2 : 64;
		ix->always_build = xrealloc(
		    ix->always_build, ix->cap_always_build * sizeof(uint32_t));
	}
	ix->always_build[ix->n_always_build++] = id;
}

static int
pending_cmp(const void *a, const void *b)
{
	const struct index_pending *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

static int
pending_same_key(const struct index_pending *x, const struct index_pending *y)
{
	return x->kind == y->kind && x->len == y->len &&
	    memcmp(x->key, y->key, x->len) == 0;
}

void
index_build(struct policy_index *ix, struct policy_arena *arena)
{
	size_t i, j, n_keys = 0, size = 8;
	uint32_t *always;

	if (ix->n_pending > 0)
		qsort(ix->pending, ix->n_pending, sizeof(*ix->pending),
		    pending_cmp);
	for (i = 0; i < ix->n_pending; i++)
		if (i == 0 ||
		    !pending_same_key(&ix->pending[i - 1], &ix->pending[i]))
			n_keys++;
	/* A quarter full: most lookups miss, and a miss then costs about
	 * one probe. */
	while (size < n_keys * 4)
		size *= 2;
	ix->slots = policy_arena_array(arena, size, sizeof(*ix->slots));
	ix->mask = size - 1;
	for (i = 0; i < ix->n_pending; i = j) {
		struct index_slot *s;
		uint32_t *ids;
		size_t n = 0;
		uint64_t h;

		for (j = i; j < ix->n_pending &&
		     pending_same_key(&ix->pending[i], &ix->pending[j]);
		     j++)
			;
		ids = policy_arena_array(arena, j - i, sizeof(*ids));
		for (size_t k = i; k < j; k++)
			if (n == 0 || ids[n - 1] != ix->pending[k].id)
				ids[n++] = ix->pending[k].id;
		h = index_hash(ix->pending[i].kind, ix->pending[i].key,
		    ix->pending[i].len);
		for (s = &ix->slots[h & ix->mask]; s->key != NULL;
		     s = &ix->slots[(size_t)(s - ix->slots + 1) & ix->mask])
			;
		s->hash = h;
		s->key = policy_arena_strndup(
		    arena, ix->pending[i].key, ix->pending[i].len);
		s->len = (uint32_t)ix->pending[i].len;
		s->kind = ix->pending[i].kind;
		s->ids = ids;
		s->n_ids = n;
	}
	always =
	    policy_arena_array(arena, ix->n_always_build + 1, sizeof(*always));
	if (ix->n_always_build > 0)
		memcpy(always, ix->always_build,
		    ix->n_always_build * sizeof(*always));
	ix->always = always;
	ix->n_always = ix->n_always_build;
	index_discard(ix);
}

void
index_discard(struct policy_index *ix)
{
	free(ix->pending);
	free(ix->always_build);
	ix->pending = NULL;
	ix->always_build = NULL;
	ix->n_pending = ix->cap_pending = 0;
	ix->n_always_build = ix->cap_always_build = 0;
}

struct index_list
index_lookup(
    const struct policy_index *ix, char kind, const char *key, size_t len)
{
	struct index_list l = { NULL, 0 };
	const struct index_slot *s;
	uint64_t h;

	if (ix->slots == NULL)
		return l;
	h = index_hash(kind, key, len);
	for (s = &ix->slots[h & ix->mask]; s->key != NULL;
	     s = &ix->slots[(size_t)(s - ix->slots + 1) & ix->mask]) {
		if (s->hash == h && s->kind == kind && s->len == len &&
		    memcmp(s->key, key, len) == 0) {
			l.ids = s->ids;
			l.n = s->n_ids;
			break;
		}
	}
	return l;
}

void
index_merge_init(struct index_merge *m)
{
	m->n = 0;
	m->last = 0;
	m->started = 0;
	m->is_overflow = 0;
}

void
index_merge_add(struct index_merge *m, struct index_list l)
{
	if (l.n == 0)
		return;
	if (m->n == INDEX_MERGE_MAX) {
		m->is_overflow = 1;
		return;
	}
	m->lists[m->n++] = l;
}

uint32_t
index_next(struct index_merge *m)
{
	uint32_t best;
	size_t i, pick;

	for (;;) {
		best = UINT32_MAX;
		pick = m->n;
		for (i = 0; i < m->n; i++) {
			if (m->lists[i].n > 0 && m->lists[i].ids[0] < best) {
				best = m->lists[i].ids[0];
				pick = i;
			}
		}
		if (pick == m->n)
			return UINT32_MAX;
		m->lists[pick].ids++;
		m->lists[pick].n--;
		if (m->started && best == m->last)
			continue; /* the same rule under two keys */
		m->started = 1;
		m->last = best;
		return best;
	}
}
