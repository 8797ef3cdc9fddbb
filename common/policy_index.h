/*
 * policy_index: which rules can possibly match a request, so that
 * evaluation looks at a handful of rules instead of all of them while still
 * honouring file order (first match wins).
 *
 * At load time each rule files itself under keys that every request it
 * matches must have (a path's first component, its last component or its
 * extension; a host name or one of its parent domains) or, when no such
 * key exists, in the "always" list.  At evaluation the request's own keys
 * are looked up and the lists are merged in rule order.  Lists hold rule
 * indices in ascending order without duplicates.
 */
#ifndef AIRLOCK_POLICY_INDEX_H
#define AIRLOCK_POLICY_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "policy_arena.h"

/* Key kinds. */
#define INDEX_FIRST 'F' /* path: its first 1..INDEX_DIR_DEPTH components */
#define INDEX_DIR_DEPTH 4
#define INDEX_BASE 'B' /* path: last component */
#define INDEX_EXT 'E' /* path: last component's text after its last '.' */
#define INDEX_BASE_PREFIX 'b' /* path: last component's first 2 bytes */
#define INDEX_BASE_PREFIX_LEN 2
#define INDEX_HOST 'H' /* host: the whole name */
#define INDEX_PARENT 'P' /* host: a parent domain ("*.example.com") */
#define INDEX_ADDR 'A' /* host: any IP literal (rules with cidrs) */
#define INDEX_BELOW                                                            \
	'S' /* path: the first component a pattern can match
                         * beneath ("" for patterns that start with a
                         * wildcard: any) */

struct index_slot;
struct index_pending;

struct policy_index {
	struct index_slot *slots;
	size_t mask;
	const uint32_t *always;
	size_t n_always;
	/* While building (freed by index_build). */
	struct index_pending *pending;
	size_t n_pending, cap_pending;
	uint32_t *always_build;
	size_t n_always_build, cap_always_build;
};

struct index_list {
	const uint32_t *ids;
	size_t n;
};

void index_init(struct policy_index *ix);
void index_add(struct policy_index *ix, char kind, const char *key, size_t len,
    uint32_t id);
void index_add_always(struct policy_index *ix, uint32_t id);
/* Freeze the index into arena memory; no more adds afterwards. */
void index_build(struct policy_index *ix, struct policy_arena *arena);
/* Discard build state without building (load error paths). */
void index_discard(struct policy_index *ix);
/* The list under (kind, key); an empty list when there is none. */
struct index_list index_lookup(
    const struct policy_index *ix, char kind, const char *key, size_t len);

/* Merge up to INDEX_MERGE_MAX lists in ascending order, skipping
 * duplicates.  index_next() returns UINT32_MAX at the end. */
#define INDEX_MERGE_MAX 136
struct index_merge {
	struct index_list lists[INDEX_MERGE_MAX];
	size_t n;
	uint32_t last;
	int started;
	int is_overflow; /* a list was dropped: the caller must walk all */
};

void index_merge_init(struct index_merge *m);
void index_merge_add(struct index_merge *m, struct index_list l);
uint32_t index_next(struct index_merge *m);

#endif
