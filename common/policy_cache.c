/*
 * policy_cache: a per-thread, direct-mapped decision cache.
 *
 * The key is the request itself, (domain, operation, target), laid out as
 * bytes; its xxh3 picks the slot.  A slot keeps the whole key and the id
 * of the policy that filled it, and a hit needs both to be equal: a hash
 * collision (an agent chooses its paths) or a reloaded policy costs a miss,
 * never a wrong decision.  Targets too long for a slot bypass the cache.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "policy_priv.h"
#include "util.h"

#define CACHE_KEY_MAX 232
#define CACHE_LOG2_MIN 1
#define CACHE_LOG2_MAX 24

struct cache_entry {
	uint64_t hash;
	uint64_t policy_id; /* 0: empty; ids start at 1 */
	struct policy_verdict verdict;
	uint32_t key_len;
	char key[CACHE_KEY_MAX];
};

struct policy_cache {
	size_t mask;
	struct cache_entry *entries;
};

struct policy_cache *
policy_cache_new(unsigned slots_log2)
{
	struct policy_cache *cache = xcalloc(1, sizeof(*cache));

	if (slots_log2 < CACHE_LOG2_MIN)
		slots_log2 = CACHE_LOG2_MIN;
	if (slots_log2 > CACHE_LOG2_MAX)
		slots_log2 = CACHE_LOG2_MAX;
	cache->mask = ((size_t)1 << slots_log2) - 1;
	cache->entries = xcalloc(cache->mask + 1, sizeof(*cache->entries));
	return cache;
}

void
policy_cache_free(struct policy_cache *cache)
{
	if (cache == NULL)
		return;
	free(cache->entries);
	free(cache);
}

void
policy_cache_clear(struct policy_cache *cache)
{
	size_t i;

	for (i = 0; i <= cache->mask; i++)
		cache->entries[i].policy_id = 0;
}

/* Look key up; on a miss return the slot to fill (hash set). */
static struct cache_entry *
cache_lookup(struct policy_cache *cache, const struct policy *pol,
    const char *key, size_t len, int *hit)
{
	uint64_t h = XXH3_64bits(key, len);
	struct cache_entry *e = &cache->entries[h & cache->mask];

	*hit = e->policy_id == pol->id && e->hash == h && e->key_len == len &&
	    memcmp(e->key, key, len) == 0;
	if (!*hit)
		e->hash = h;
	return e;
}

static void
cache_fill(struct cache_entry *e, const struct policy *pol, const char *key,
    size_t len, const struct policy_verdict *v)
{
	memcpy(e->key, key, len);
	e->key_len = (uint32_t)len;
	e->verdict = *v;
	e->policy_id = pol->id;
}

void
policy_eval_fs_cached(const struct policy *pol, struct policy_cache *cache,
    enum fs_op op, const char *path, size_t len, struct policy_verdict *out,
    int *hit)
{
	char key[CACHE_KEY_MAX];
	struct cache_entry *e;
	int is_hit;

	*hit = 0;
	if (cache == NULL || len + 2 > sizeof(key)) {
		policy_eval_fs(pol, op, path, len, out);
		return;
	}
	key[0] = 'F';
	key[1] = (char)op;
	memcpy(key + 2, path, len);
	e = cache_lookup(cache, pol, key, len + 2, &is_hit);
	if (is_hit) {
		*out = e->verdict;
		*hit = 1;
		return;
	}
	policy_eval_fs(pol, op, path, len, out);
	cache_fill(e, pol, key, len + 2, out);
}

/* 'N', flags, port, host, NUL, method, NUL, path. */
static size_t
cache_net_key(const struct net_request *req, char *key, size_t size)
{
	size_t hl, ml, pl, n;

	if (req->host == NULL)
		return 0;
	hl = strlen(req->host);
	ml = req->method != NULL ? strlen(req->method) : 0;
	pl = req->path != NULL ? strlen(req->path) : 0;
	n = 4 + hl + 1 + ml + 1 + pl;
	if (n > size)
		return 0;
	key[0] = 'N';
	key[1] = (char)((req->method != NULL) | (req->path != NULL) << 1);
	key[2] = (char)(req->port >> 8);
	key[3] = (char)(req->port & 0xff);
	memcpy(key + 4, req->host, hl);
	key[4 + hl] = '\0';
	if (ml > 0)
		memcpy(key + 5 + hl, req->method, ml);
	key[5 + hl + ml] = '\0';
	if (pl > 0)
		memcpy(key + 6 + hl + ml, req->path, pl);
	return n;
}

void
policy_eval_net_cached(const struct policy *pol, struct policy_cache *cache,
    const struct net_request *req, struct policy_verdict *out, int *hit)
{
	char key[CACHE_KEY_MAX];
	struct cache_entry *e;
	size_t len;
	int is_hit;

	*hit = 0;
	if (cache == NULL ||
	    (len = cache_net_key(req, key, sizeof(key))) == 0) {
		policy_eval_net(pol, req, out);
		return;
	}
	e = cache_lookup(cache, pol, key, len, &is_hit);
	if (is_hit) {
		*out = e->verdict;
		*hit = 1;
		return;
	}
	policy_eval_net(pol, req, out);
	cache_fill(e, pol, key, len, out);
}
