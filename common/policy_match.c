/*
 * policy_match: glob, host-pattern and CIDR matchers.
 *
 * Glob syntax (see doc/airlock.yaml.5): `*` any run of bytes within one
 * path component (dotfiles included: an agent's secrets are dotfiles),
 * `?` one byte, `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` a class, `\x` the
 * byte x, `**` as a whole component zero or more components, and a
 * trailing `/` the directory and everything beneath it.  Patterns are
 * anchored at the project root.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_index.h"
#include "policy_match.h"

#define GLOB_MAX_LEN 4096
#define GLOB_MAX_CLASSES 256
#define GLOB_MAX_COMPS (GLOB_MAX_LEN / 2 + 2)
/* A set of matcher states 0..n_comps, one bit each. */
#define GLOB_STATE_WORDS ((GLOB_MAX_COMPS + 1 + 63) / 64)

static void
why_set(char *why, size_t why_len, const char *msg)
{
	snprintf(why, why_len, "%s", msg);
}

/* A growing token array on the stack-or-heap, bounded by the pattern
 * length (each byte yields at most one token, a trailing "/" one comp). */
struct glob_build {
	uint16_t tok[GLOB_MAX_LEN];
	size_t n_tok;
	struct glob_comp comps[GLOB_MAX_COMPS];
	size_t n_comps;
	struct glob_class classes[GLOB_MAX_CLASSES];
	size_t n_classes;
};

static void
class_set(struct glob_class *c, unsigned b)
{
	c->bits[b >> 6] |= (uint64_t)1 << (b & 63);
}

static int
class_has(const struct glob_class *c, unsigned b)
{
	return (c->bits[b >> 6] >> (b & 63)) & 1;
}

/*
 * Parse a class starting at p[*i] == '['; on success *i is past the ']'.
 */
static int
glob_parse_class(struct glob_build *gb, const char *p, size_t e, size_t *i,
    char *why, size_t why_len)
{
	struct glob_class c;
	size_t j = *i + 1;
	int negate = 0, first = 1, k;

	memset(&c, 0, sizeof(c));
	if (j < e && (p[j] == '!' || p[j] == '^')) {
		negate = 1;
		j++;
	}
	for (;;) {
		unsigned lo, hi;

		if (j >= e) {
			why_set(why, why_len,
			    "unterminated character class "
			    "'[' (a class cannot contain '/')");
			return -1;
		}
		if (p[j] == ']' && !first)
			break;
		first = 0;
		if (p[j] == '[' && j + 1 < e && p[j + 1] == ':') {
			*i = j;
			why_set(why, why_len,
			    "named classes like [:alpha:] "
			    "are not supported");
			return -1;
		}
		if (p[j] == '\\') {
			if (++j >= e) {
				why_set(why, why_len,
				    "unterminated character class '['");
				return -1;
			}
		}
		lo = (unsigned char)p[j++];
		hi = lo;
		if (j + 1 < e && p[j] == '-' && p[j + 1] != ']') {
			j++;
			if (p[j] == '\\' && ++j >= e) {
				why_set(why, why_len,
				    "unterminated character class '['");
				return -1;
			}
			hi = (unsigned char)p[j++];
			if (hi < lo) {
				why_set(why, why_len,
				    "character class range "
				    "is reversed (write [a-z], not [z-a])");
				return -1;
			}
		}
		for (k = lo; k <= (int)hi; k++)
			class_set(&c, k);
	}
	if (negate)
		for (k = 0; k < 4; k++)
			c.bits[k] = ~c.bits[k];
	/* No component contains '/', but say so in the class too. */
	c.bits['/' >> 6] &= ~((uint64_t)1 << ('/' & 63));
	if (gb->n_classes >= GLOB_MAX_CLASSES) {
		why_set(why, why_len, "too many character classes");
		return -1;
	}
	gb->classes[gb->n_classes] = c;
	gb->tok[gb->n_tok++] = GLOB_TOK_CLASS + gb->n_classes++;
	*i = j + 1;
	return 0;
}

/* Tokenise one component p[s..e), which holds no unescaped '/'. */
static int
glob_parse_comp(struct glob_build *gb, const char *p, size_t s, size_t e,
    char *why, size_t why_len, size_t *at)
{
	struct glob_comp *c = &gb->comps[gb->n_comps];
	size_t i = s, k;

	memset(c, 0, sizeof(*c));
	c->start = gb->n_tok;
	if (e - s == 2 && p[s] == '*' && p[s + 1] == '*') {
		c->is_globstar = 1;
		c->len = 0;
		gb->n_comps++;
		return 0;
	}
	while (i < e) {
		*at = i;
		switch (p[i]) {
		case '\\':
			if (i + 1 >= e) {
				why_set(why, why_len,
				    "a pattern cannot end "
				    "with '\\'");
				return -1;
			}
			if (p[i + 1] == '/') {
				why_set(why, why_len,
				    "'/' cannot be escaped: "
				    "it always separates components");
				return -1;
			}
			gb->tok[gb->n_tok++] = (unsigned char)p[i + 1];
			i += 2;
			break;
		case '*':
			if (i + 1 < e && p[i + 1] == '*') {
				why_set(why, why_len,
				    "'**' must be a whole "
				    "path component (as in a/**/b)");
				return -1;
			}
			gb->tok[gb->n_tok++] = GLOB_TOK_STAR;
			i++;
			break;
		case '?':
			gb->tok[gb->n_tok++] = GLOB_TOK_QUEST;
			i++;
			break;
		case '[':
			if (glob_parse_class(gb, p, e, &i, why, why_len) != 0)
				return -1;
			break;
		default:
			gb->tok[gb->n_tok++] = (unsigned char)p[i];
			i++;
			break;
		}
	}
	c->len = gb->n_tok - c->start;
	c->is_literal = 1;
	for (k = c->start; k < gb->n_tok; k++)
		if (gb->tok[k] > 0xff)
			c->is_literal = 0;
	if (c->is_literal && gb->tok[c->start] == '.' &&
	    (c->len == 1 || (c->len == 2 && gb->tok[c->start + 1] == '.'))) {
		*at = s;
		why_set(why, why_len,
		    "'.' and '..' components are not "
		    "allowed: paths are relative to the project root and "
		    "cannot leave it");
		return -1;
	}
	gb->n_comps++;
	return 0;
}

/* Fill the quick-check fields from the compiled components. */
static void
glob_compute_checks(struct glob *g, size_t len, struct policy_arena *arena)
{
	char *pre = policy_arena_alloc(arena, len + 1);
	size_t n = 0, i, k, n_real = 0;
	const struct glob_comp *last;

	g->is_exact = 1;
	for (i = 0; i < g->n_comps; i++) {
		const struct glob_comp *c = &g->comps[i];

		if (c->is_globstar || !c->is_literal)
			g->is_exact = 0;
	}
	for (i = 0; i < g->n_comps; i++) {
		const struct glob_comp *c = &g->comps[i];

		if (c->is_globstar)
			break;
		for (k = 0; k < c->len && g->tok[c->start + k] <= 0xff; k++)
			pre[n++] = (char)g->tok[c->start + k];
		if (!c->is_literal || i + 1 == g->n_comps ||
		    g->comps[i + 1].is_globstar)
			break;
		pre[n++] = '/';
	}
	g->prefix = pre;
	g->prefix_len = n;

	last = &g->comps[g->n_comps - 1];
	g->suffix = NULL;
	g->suffix_len = 0;
	if (!last->is_globstar && !g->is_exact) {
		k = last->len;
		while (k > 0 && g->tok[last->start + k - 1] <= 0xff)
			k--;
		if (k < last->len) {
			char *suf =
			    policy_arena_alloc(arena, last->len - k + 1);

			for (i = k; i < last->len; i++)
				suf[i - k] = (char)g->tok[last->start + i];
			g->suffix = suf;
			g->suffix_len = last->len - k;
		}
	}

	g->min_len = 0;
	for (i = 0; i < g->n_comps; i++) {
		const struct glob_comp *c = &g->comps[i];

		if (c->is_globstar)
			continue;
		n_real++;
		for (k = 0; k < c->len; k++)
			if (g->tok[c->start + k] != GLOB_TOK_STAR)
				g->min_len++;
	}
	if (n_real > 1)
		g->min_len += n_real - 1;
}

/* The leading literal components, for the index (policy_index.h). */
static void
glob_compute_dir_key(struct glob *g, size_t len, struct policy_arena *arena)
{
	char *key = policy_arena_alloc(arena, len + 1);
	size_t i, n = 0;

	for (i = 0; i < g->n_comps && i < INDEX_DIR_DEPTH; i++) {
		const struct glob_comp *c = &g->comps[i];

		if (c->is_globstar || !c->is_literal)
			break;
		if (i > 0)
			key[n++] = '/';
		memcpy(key + n, c->lit, c->len);
		n += c->len;
	}
	g->dir_key = key;
	g->dir_key_len = n;
	g->dir_depth = i;
}

int
glob_compile(struct glob *g, const char *pattern, size_t len,
    struct policy_arena *arena, char *why, size_t why_len, size_t *at)
{
	struct glob_build *gb = NULL;
	size_t i, s;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	*at = 0;
	if (len == 0) {
		why_set(why, why_len, "empty path pattern");
		goto out;
	}
	if (len >= GLOB_MAX_LEN) {
		why_set(why, why_len, "path pattern is too long");
		goto out;
	}
	if (memchr(pattern, '\0', len) != NULL) {
		why_set(why, why_len, "path pattern contains a NUL byte");
		goto out;
	}
	if (pattern[0] == '/') {
		why_set(why, why_len,
		    "paths are relative to the project root "
		    "and cannot start with '/' (rules for paths outside the "
		    "project are not supported yet)");
		goto out;
	}
	/* Not zeroed (it is large): each entry is set as it is used. */
	gb = malloc(sizeof(*gb));
	if (gb != NULL)
		gb->n_tok = gb->n_comps = gb->n_classes = 0;
	if (gb == NULL) {
		why_set(why, why_len, "out of memory");
		goto out;
	}
	for (i = 0, s = 0; i <= len; i++) {
		if (i < len && pattern[i] == '\\') {
			if (i + 1 == len) {
				*at = i;
				why_set(why, why_len,
				    "a pattern cannot end "
				    "with '\\'");
				goto out;
			}
			i++;
			continue;
		}
		if (i < len && pattern[i] != '/')
			continue;
		if (i == s) {
			if (i == len) {
				/* A trailing '/': the directory and all
				 * beneath it, as "dir" followed by globstar. */
				memset(&gb->comps[gb->n_comps], 0,
				    sizeof(gb->comps[0]));
				gb->comps[gb->n_comps].is_globstar = 1;
				gb->comps[gb->n_comps].start = gb->n_tok;
				gb->n_comps++;
				break;
			}
			*at = i;
			why_set(why, why_len, "empty path component ('//')");
			goto out;
		}
		if (glob_parse_comp(gb, pattern, s, i < len ? i : len, why,
		        why_len, at) != 0)
			goto out;
		s = i + 1;
	}
	g->text = policy_arena_strndup(arena, pattern, len);
	g->n_comps = gb->n_comps;
	g->tok = policy_arena_array(arena, gb->n_tok + 1, sizeof(uint16_t));
	memcpy(g->tok, gb->tok, gb->n_tok * sizeof(uint16_t));
	g->comps = policy_arena_array(arena, gb->n_comps, sizeof(*g->comps));
	memcpy(g->comps, gb->comps, gb->n_comps * sizeof(*g->comps));
	g->classes =
	    policy_arena_array(arena, gb->n_classes + 1, sizeof(*g->classes));
	memcpy(g->classes, gb->classes, gb->n_classes * sizeof(*g->classes));
	for (i = 0; i < g->n_comps; i++) {
		struct glob_comp *c = &g->comps[i];
		char *lit;
		size_t k;

		if (!c->is_literal)
			continue;
		lit = policy_arena_alloc(arena, c->len + 1);
		for (k = 0; k < c->len; k++)
			lit[k] = (char)g->tok[c->start + k];
		c->lit = lit;
	}
	if (g->n_comps == 0) {
		why_set(why, why_len, "empty path pattern");
		goto out;
	}
	glob_compute_checks(g, len, arena);
	glob_compute_dir_key(g, len, arena);
	g->is_floating = g->n_comps == 2 && g->comps[0].is_globstar &&
	    !g->comps[1].is_globstar;
	rc = 0;
out:
	free(gb);
	return rc;
}

/* One component against its tokens: `*` backtracks to its last position
 * only (the classic linear wildcard match; no '/' can occur here). */
static int
glob_match_comp(
    const struct glob *g, const struct glob_comp *c, const char *s, size_t n)
{
	const uint16_t *tok = g->tok + c->start;
	size_t nt = c->len, ti = 0, bi = 0, star_ti = 0, star_bi = 0;
	int has_star = 0;

	if (c->is_literal)
		return n == nt && memcmp(s, c->lit, n) == 0;
	while (bi < n) {
		if (ti < nt) {
			uint16_t t = tok[ti];
			unsigned char b = (unsigned char)s[bi];

			if (t == GLOB_TOK_STAR) {
				has_star = 1;
				star_ti = ++ti;
				star_bi = bi;
				continue;
			}
			if (t == b || t == GLOB_TOK_QUEST ||
			    (t >= GLOB_TOK_CLASS &&
			        class_has(
			            &g->classes[t - GLOB_TOK_CLASS], b))) {
				ti++;
				bi++;
				continue;
			}
		}
		if (!has_star)
			return 0;
		ti = star_ti;
		bi = ++star_bi;
	}
	while (ti < nt && tok[ti] == GLOB_TOK_STAR)
		ti++;
	return ti == nt;
}

static size_t
path_comp_end(const char *path, size_t len, size_t from)
{
	const char *slash = memchr(path + from, '/', len - from);

	return slash != NULL ? (size_t)(slash - path) : len;
}

int
glob_match(const struct glob *g, const char *path, size_t len)
{
	size_t pi = 0, si = 0, end, bt_si = 0, ce;
	size_t bt_pi = 0;
	int has_bt = 0;

	if (len < g->min_len)
		return 0;
	if (g->is_exact)
		return len == g->prefix_len &&
		    memcmp(path, g->prefix, len) == 0;
	if (g->prefix_len > 0 &&
	    (len < g->prefix_len ||
	        memcmp(path, g->prefix, g->prefix_len) != 0))
		return 0;
	if (g->suffix_len > 0 &&
	    (len < g->suffix_len ||
	        memcmp(path + len - g->suffix_len, g->suffix, g->suffix_len) !=
	            0))
		return 0;

	/* A last component that is not `**` must match the path's last
	 * component: one cheap check that rejects most "**\/x" patterns. */
	if (len > 0 && !g->comps[g->n_comps - 1].is_globstar) {
		const char *slash = memrchr(path, '/', len);
		size_t base = slash != NULL ? (size_t)(slash - path) + 1 : 0;

		if (!glob_match_comp(
		        g, &g->comps[g->n_comps - 1], path + base, len - base))
			return 0;
	}

	/* Component offsets: a component starts at si < end; "" has none. */
	end = len == 0 ? 0 : len + 1;
	for (;;) {
		if (pi < g->n_comps && g->comps[pi].is_globstar) {
			has_bt = 1;
			bt_pi = ++pi;
			bt_si = si;
			continue;
		}
		if (pi < g->n_comps && si < end) {
			ce = path_comp_end(path, len, si);
			if (glob_match_comp(
			        g, &g->comps[pi], path + si, ce - si)) {
				pi++;
				si = ce + 1;
				continue;
			}
		} else if (pi == g->n_comps && si >= end)
			return 1;
		/* Mismatch: the last `**` swallows one more component. */
		if (!has_bt || bt_si >= end)
			return 0;
		bt_si = path_comp_end(path, len, bt_si) + 1;
		si = bt_si;
		pi = bt_pi;
	}
}

static int
state_has(const uint64_t *s, size_t i)
{
	return (s[i >> 6] >> (i & 63)) & 1;
}

static void
state_set(uint64_t *s, size_t i)
{
	s[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Add what `**` reaches without consuming anything: state i is "the next
 * component to match is comps[i]", and a `**` may match none. */
static void
state_close(const struct glob *g, uint64_t *s)
{
	size_t i;

	for (i = 0; i < g->n_comps; i++)
		if (g->comps[i].is_globstar && state_has(s, i))
			state_set(s, i + 1);
}

/* Consume one path component c (n bytes) from the states in *from into
 * *to (cleared first): a `**` keeps its state, a matching component moves
 * on.  With skip_free, the leading `**`'s own loop is left out. */
static void
state_step(const struct glob *g, const uint64_t *from, uint64_t *to,
    size_t n_words, const char *c, size_t n, int skip_free)
{
	size_t i;

	memset(to, 0, n_words * sizeof(*to));
	for (i = 0; i < g->n_comps; i++) {
		if (!state_has(from, i))
			continue;
		if (g->comps[i].is_globstar) {
			if (!(skip_free && i == 0))
				state_set(to, i);
		} else if (glob_match_comp(g, &g->comps[i], c, n))
			state_set(to, i + 1);
	}
	state_close(g, to);
}

/*
 * The states after path, run as a set (no backtracking needed).  all:
 * every state path can leave the matcher in; anchored: those reached by a
 * path that is not the leading `**` swallowing every component.  Beneath
 * path, any state short of the end matches some more components.
 */
unsigned
glob_match_below(const struct glob *g, const char *path, size_t len)
{
	uint64_t all[GLOB_STATE_WORDS], anchored[GLOB_STATE_WORDS];
	uint64_t next[GLOB_STATE_WORDS];
	size_t n = g->n_comps, n_words = (n + 1 + 63) / 64, i, si, ce;
	unsigned out = 0;

	/* "**\/name" reaches below every directory, whatever its name, and
	 * covers none (the most common pattern: answered without a walk). */
	if (g->is_floating)
		return GLOB_BELOW_REACH;
	/* Every match starts with g->prefix: "path/" must agree with it. */
	if (len > 0)
		for (i = 0; i < g->prefix_len && i <= len; i++)
			if ((i < len ? path[i] : '/') != g->prefix[i])
				return 0;
	memset(all, 0, sizeof(all));
	memset(anchored, 0, sizeof(anchored));
	state_set(all, 0);
	state_close(g, all);
	for (si = 0; len > 0 && si <= len; si = ce + 1) {
		ce = path_comp_end(path, len, si);
		state_step(g, all, anchored, n_words, path + si, ce - si,
		    g->comps[0].is_globstar);
		state_step(g, all, next, n_words, path + si, ce - si, 0);
		memcpy(all, next, n_words * sizeof(*all));
	}
	for (i = 0; i < n; i++) {
		if (state_has(all, i))
			out |= GLOB_BELOW_REACH;
		if (state_has(anchored, i))
			out |= GLOB_BELOW_ANCHORED;
	}
	if (g->comps[n - 1].is_globstar && state_has(all, n - 1))
		out |= GLOB_BELOW_COVERS;
	return out;
}

int
glob_index_key(struct glob *g, char *kind, const char **key, size_t *len)
{
	const struct glob_comp *last = &g->comps[g->n_comps - 1];
	const char *dot;

	/* Prefer what splits rules finely: two or more directories, a
	 * whole file name, one directory, an extension, a name's start. */
	if (g->dir_depth >= 2 ||
	    (g->dir_depth == 1 && (last->is_globstar || !last->is_literal))) {
		*kind = INDEX_FIRST;
		*key = g->dir_key;
		*len = g->dir_key_len;
		return 0;
	}
	if (!last->is_globstar && last->is_literal) {
		*kind = INDEX_BASE;
		*key = last->lit;
		*len = last->len;
		return 0;
	}
	if (!last->is_globstar && g->suffix_len > 0 &&
	    (dot = memrchr(g->suffix, '.', g->suffix_len)) != NULL) {
		*kind = INDEX_EXT;
		*key = dot + 1;
		*len = g->suffix_len - (size_t)(dot + 1 - g->suffix);
		return 0;
	}
	/* ".env*", "id_*": the last component starts with known bytes. */
	if (!last->is_globstar && last->len >= INDEX_BASE_PREFIX_LEN &&
	    g->tok[last->start] <= 0xff && g->tok[last->start + 1] <= 0xff) {
		char *pre = g->base_prefix;

		pre[0] = (char)g->tok[last->start];
		pre[1] = (char)g->tok[last->start + 1];
		*kind = INDEX_BASE_PREFIX;
		*key = pre;
		*len = INDEX_BASE_PREFIX_LEN;
		return 0;
	}
	return -1;
}

int
host_normalize(const char *host, char *out, size_t out_len)
{
	size_t n = strlen(host), i;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= out_len)
		return -1;
	for (i = 0; i < n; i++) {
		char c = host[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return (int)n;
}

/* Letters, digits, '-' and '_' (seen in real names), bytes >= 0x80 (IDN
 * left as is); labels of 1..63 bytes, names of at most 253. */
static int
host_name_valid(const char *name, size_t len, char *why, size_t why_len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253) {
		why_set(why, why_len,
		    "host name is empty or longer than 253 "
		    "bytes");
		return -1;
	}
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63) {
				why_set(why, why_len,
				    "host name has an empty "
				    "or over-long label");
				return -1;
			}
			label = 0;
			continue;
		}
		label++;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c >= 0x80)
			continue;
		if (c == '*')
			why_set(why, why_len,
			    "'*' may only be a host pattern's "
			    "whole first label, as in *.example.com");
		else if (c == '/')
			why_set(why, why_len,
			    "a host cannot contain '/' (put "
			    "address ranges under cidrs:)");
		else if (c == ':')
			why_set(why, why_len,
			    "a host cannot contain ':' (put "
			    "ports under ports:)");
		else
			snprintf(why, why_len,
			    "a host name cannot contain "
			    "'%c'",
			    c >= 0x20 && c < 0x7f ? c : '?');
		return -1;
	}
	return 0;
}

int
host_compile(struct host_pat *h, const char *pattern,
    struct policy_arena *arena, char *why, size_t why_len)
{
	char name[256];
	int n;

	memset(h, 0, sizeof(*h));
	if (strcmp(pattern, "*") == 0) {
		h->kind = HOST_ANY;
		h->name = "";
		return 0;
	}
	n = host_normalize(pattern, name, sizeof(name));
	if (n < 0) {
		why_set(why, why_len, "host name is empty or too long");
		return -1;
	}
	if (n >= 2 && name[0] == '*' && name[1] == '.') {
		if (host_name_valid(name + 2, (size_t)n - 2, why, why_len) != 0)
			return -1;
		h->kind = HOST_SUFFIX;
		h->name = policy_arena_strndup(arena, name + 1, (size_t)n - 1);
		h->len = (size_t)n - 1;
		return 0;
	}
	if (host_name_valid(name, (size_t)n, why, why_len) != 0)
		return -1;
	h->kind = HOST_EXACT;
	h->name = policy_arena_strndup(arena, name, (size_t)n);
	h->len = (size_t)n;
	return 0;
}

int
host_match(const struct host_pat *h, const char *name, size_t name_len)
{
	switch (h->kind) {
	case HOST_EXACT:
		return name_len == h->len &&
		    memcmp(name, h->name, name_len) == 0;
	case HOST_SUFFIX:
		return name_len > h->len &&
		    memcmp(name + name_len - h->len, h->name, h->len) == 0;
	case HOST_ANY:
		return 1;
	}
	return 0;
}

int
cidr_parse(struct cidr *c, const char *text, char *why, size_t why_len)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long bits, max, i;
	char *end;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(addr)) {
		why_set(why, why_len,
		    "not an address range (want 10.0.0.0/8 "
		    "or fc00::/7)");
		return -1;
	}
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		snprintf(
		    why, why_len, "'%s' is not an IPv4 or IPv6 address", addr);
		return -1;
	}
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9') {
			why_set(why, why_len,
			    "prefix length after '/' must be "
			    "a number");
			return -1;
		}
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max) {
			snprintf(
			    why, why_len, "prefix length must be 0..%lu", max);
			return -1;
		}
	}
	c->prefix = (unsigned)bits;
	for (i = bits; i < max; i++) {
		if (c->addr[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, why_len,
			    "'%s' has bits set past the /%lu "
			    "prefix",
			    text, bits);
			return -1;
		}
	}
	return 0;
}

int
ip_parse_literal(const char *text, uint8_t addr[16])
{
	char buf[64];
	size_t n = strlen(text);
	const char *pct;
	struct in_addr in4;

	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (strchr(buf, ':') != NULL) {
		/* Drop a zone ("fe80::1%eth0"): the address is what counts. */
		pct = strchr(buf, '%');
		if (pct != NULL)
			buf[pct - buf] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1 ? AF_INET6 : 0;
	}
	/* inet_aton takes what resolvers take: "127.1", "0x7f.0.0.1",
	 * "2130706433".  Treat all of them as the address they denote. */
	if (buf[0] < '0' || buf[0] > '9')
		return 0;
	if (strspn(buf, "0123456789.xXabcdefABCDEF") != n)
		return 0;
	if (inet_aton(buf, &in4) == 0)
		return 0;
	memcpy(addr, &in4.s_addr, 4);
	return AF_INET;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff00 >> rest) & 0xff) == 0;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

int
cidr_match(const struct cidr *c, int family, const uint8_t *addr)
{
	uint8_t mapped[16];

	if (family == c->family)
		return prefix_equal(addr, c->addr, c->prefix);
	if (family == AF_INET6 && c->family == AF_INET &&
	    memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
		return prefix_equal(addr + 12, c->addr, c->prefix);
	if (family == AF_INET && c->family == AF_INET6) {
		memcpy(mapped, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(mapped + 12, addr, 4);
		return prefix_equal(mapped, c->addr, c->prefix);
	}
	return 0;
}
