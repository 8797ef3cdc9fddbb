/*
 * policy_match: the matchers a compiled policy is made of (private to the
 * policy module, its tests, fuzz targets and bench).
 *
 * Globs are compiled into component tokens and matched iteratively with
 * one backtracking point for `*` inside a component and one for `**`
 * across components, so a match costs O(pattern x path) at worst and never
 * recurses or allocates.  Host patterns and CIDRs are compiled into
 * lower-case names and network-order prefixes.
 */
#ifndef AIRLOCK_POLICY_MATCH_H
#define AIRLOCK_POLICY_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "policy_arena.h"

/* Glob tokens: 0..255 a literal byte, then the wildcards. */
#define GLOB_TOK_STAR 0x100
#define GLOB_TOK_QUEST 0x101
#define GLOB_TOK_CLASS 0x200 /* + index into glob->classes */

struct glob_comp {
	uint32_t start; /* first token in glob->tok */
	uint32_t len; /* number of tokens; 0 for `**` */
	int is_globstar;
	int is_literal; /* only literal tokens: compare lit */
	const char *lit; /* the literal bytes when is_literal */
};

struct glob_class {
	uint64_t bits[4];
};

struct glob {
	const char *text; /* the pattern as written, without a leading '!' */
	uint16_t *tok;
	struct glob_comp *comps;
	size_t n_comps;
	struct glob_class *classes;
	/* Quick checks that reject most paths before the matcher runs. */
	const char *prefix; /* every match starts with these bytes */
	size_t prefix_len;
	const char *suffix; /* every match ends with these bytes */
	size_t suffix_len;
	size_t min_len;
	int is_exact; /* no wildcard at all: prefix is the whole path */
	char base_prefix[2]; /* the INDEX_BASE_PREFIX key's bytes */
	const char *dir_key; /* leading literal components, "a/b" */
	size_t dir_key_len;
	size_t dir_depth; /* how many components dir_key holds */
	int is_floating; /* "**\/name": matches the same names anywhere */
};

/*
 * Compile pattern (len bytes) into g, allocating from arena.  Returns 0, or
 * -1 with a message in why (why_len bytes) and the 0-based byte offset of
 * the problem in *at.
 */
int glob_compile(struct glob *g, const char *pattern, size_t len,
    struct policy_arena *arena, char *why, size_t why_len, size_t *at);
/*
 * A key every path matching g has (policy_index.h): INDEX_BASE with the
 * last component, INDEX_FIRST with the leading literal components (at
 * most INDEX_DIR_DEPTH, joined by '/'), INDEX_EXT with the
 * extension or INDEX_BASE_PREFIX with the last component's first bytes
 * (kept in g->base_prefix).  Returns 0 and sets *kind (key borrows from g), or -1 when g
 * has no such key (it goes on the "always" list).
 */
int glob_index_key(struct glob *g, char *kind, const char **key, size_t *len);
/* Nonzero when path (len bytes, relative, no trailing slash) matches g. */
int glob_match(const struct glob *g, const char *path, size_t len);

/*
 * What g can match strictly beneath the directory path (len bytes, as for
 * glob_match(); "" is the root), as a mask:
 *  GLOB_BELOW_REACH     g matches path/rest for some non-empty rest;
 *  GLOB_BELOW_ANCHORED  some such match needs path's own components, not
 *                       only a leading `**` that swallows them: "**\/.env"
 *                       reaches below any directory but is anchored below
 *                       none, ".git/hooks/" is anchored below ".git";
 *  GLOB_BELOW_COVERS    g matches path/rest for every non-empty rest.
 * Every component of g is taken to match some name (over-reaching for an
 * empty class, never under-reaching).  No allocation; O(pattern x path).
 */
#define GLOB_BELOW_REACH 0x1
#define GLOB_BELOW_ANCHORED 0x2
#define GLOB_BELOW_COVERS 0x4
unsigned glob_match_below(const struct glob *g, const char *path, size_t len);

enum host_kind {
	HOST_EXACT, /* "example.com" */
	HOST_SUFFIX, /* "*.example.com": any name strictly below example.com */
	HOST_ANY, /* "*" */
};

struct host_pat {
	enum host_kind kind;
	const char
	    *name; /* lower case, no trailing dot; for SUFFIX ".example.com" */
	size_t len;
};

/*
 * Normalise a host name as the matchers compare it: ASCII lower case, one
 * trailing dot and IPv6 brackets removed.  Returns the length written to
 * out (out_len bytes), or -1 when the name does not fit or is empty.
 */
int host_normalize(const char *host, char *out, size_t out_len);
/* Compile a host pattern; returns 0 or -1 with why filled. */
int host_compile(struct host_pat *h, const char *pattern,
    struct policy_arena *arena, char *why, size_t why_len);
/* name is normalised (host_normalize) and name_len long. */
int host_match(const struct host_pat *h, const char *name, size_t name_len);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix; /* bits */
};

/* Parse "a.b.c.d/n", "x::y/n" or a bare address (full length). */
int cidr_parse(struct cidr *c, const char *text, char *why, size_t why_len);
/*
 * Parse an IP literal as a client may send it (IPv4 in any form inet_aton
 * takes, IPv6 with or without brackets).  Returns AF_INET/AF_INET6 with the
 * address in addr, or 0 when text is not an IP literal.
 */
int ip_parse_literal(const char *text, uint8_t addr[16]);
/* Nonzero when the address (family, network order) lies in c.  An
 * IPv4-mapped IPv6 address also matches the IPv4 CIDRs of its IPv4 form. */
int cidr_match(const struct cidr *c, int family, const uint8_t *addr);

#endif
