/*
 * policy_load: YAML text to compiled rule tables.
 *
 * libyaml's event parser builds a small tree whose every node keeps its
 * line and column; a schema walk then checks each key and value and
 * compiles the rules.  Anything unexpected (an unknown or duplicate key, a
 * wrong type, a bad glob, CIDR, action, operation or duration) refuses the
 * whole policy with "file:line:column: what is wrong": bad configuration
 * never yields a policy, so it can never yield a more permissive one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "policy_priv.h"
#include "util.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_MAX_DEPTH 32
#define POLICY_MAX_HEADERS 64
#define DEFAULT_HOLD_TIMEOUT_MS 120000
#define DEFAULT_REVIEW_TIMEOUT_MS 20000

/* The embedded default (conf/airlock.yaml), generated at build time. */
extern const char airlock_default_policy[];
extern const size_t airlock_default_policy_len;
#define DEFAULT_POLICY_NAME "conf/airlock.yaml"

enum ynode_kind {
	YNODE_SCALAR,
	YNODE_SEQ,
	YNODE_MAP,
};

/* A YAML node; a map's children alternate key, value. */
struct ynode {
	enum ynode_kind kind;
	int line, col; /* 1-based */
	const char *value; /* scalars */
	size_t len;
	int is_plain;
	struct ynode *first, *last, *next;
	size_t n_children;
};

struct load_ctx {
	const char *name;
	struct policy_error *err;
	struct policy_arena tree; /* the YAML tree, freed after compiling */
	struct policy *pol;
	int registries_done;
};

static int load_fail(struct load_ctx *ctx, int line, int col, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static int
load_fail(struct load_ctx *ctx, int line, int col, const char *fmt, ...)
{
	struct policy_error *err = ctx->err;
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	str_copy(err->file, ctx->name, sizeof(err->file));
	err->line = line;
	err->column = col;
	if (line > 0)
		snprintf(err->text, sizeof(err->text), "%s:%d:%d: %s",
		    ctx->name, line, col, what);
	else
		snprintf(
		    err->text, sizeof(err->text), "%s: %s", ctx->name, what);
	return -1;
}

#define node_fail(ctx, n, ...) load_fail(ctx, (n)->line, (n)->col, __VA_ARGS__)

/* ---- YAML events to a tree ---- */

static struct ynode *
ynode_new(struct load_ctx *ctx, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n = policy_arena_alloc(&ctx->tree, sizeof(*n));

	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static void
ynode_append(struct ynode *parent, struct ynode *child)
{
	if (parent->last != NULL)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
	parent->n_children++;
}

/* Line and column of a byte offset, for reader errors (bad UTF-8). */
static void
offset_position(const char *buf, size_t len, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

static int
yaml_fail(struct load_ctx *ctx, yaml_parser_t *p, const char *buf, size_t len)
{
	int line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return load_fail(ctx, 0, 0, "out of memory");
	if (p->error == YAML_READER_ERROR) {
		offset_position(buf, len, p->problem_offset, &line, &col);
		return load_fail(ctx, line, col, "%s",
		    p->problem != NULL ? p->problem : "cannot read");
	}
	if (p->context != NULL)
		return load_fail(ctx, (int)p->problem_mark.line + 1,
		    (int)p->problem_mark.column + 1, "%s %s (line %d)",
		    p->problem != NULL ? p->problem : "syntax error",
		    p->context, (int)p->context_mark.line + 1);
	return load_fail(ctx, (int)p->problem_mark.line + 1,
	    (int)p->problem_mark.column + 1, "%s",
	    p->problem != NULL ? p->problem : "syntax error");
}

static int
load_parse_tree(
    struct load_ctx *ctx, const char *buf, size_t len, struct ynode **root)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct ynode *stack[POLICY_MAX_DEPTH + 1];
	int depth = 0, n_docs = 0, done = 0, rc = -1, has_event = 0;
	struct ynode *n;

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return load_fail(ctx, 0, 0, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_fail(ctx, &parser, buf, len);
			goto out;
		}
		has_event = 1;
		n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++n_docs > 1) {
				node_fail(ctx,
				    ynode_new(
				        ctx, YNODE_SCALAR, &ev.start_mark),
				    "a policy is one YAML "
				    "document; found a second one");
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			load_fail(ctx, (int)ev.start_mark.line + 1,
			    (int)ev.start_mark.column + 1,
			    "YAML aliases (*name) are not supported");
			goto out;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor, *tag;

			if (ev.type == YAML_SCALAR_EVENT) {
				anchor = ev.data.scalar.anchor;
				tag = ev.data.scalar.tag;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				anchor = ev.data.sequence_start.anchor;
				tag = ev.data.sequence_start.tag;
			} else {
				anchor = ev.data.mapping_start.anchor;
				tag = ev.data.mapping_start.tag;
			}
			if (anchor != NULL) {
				load_fail(ctx, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "YAML anchors (&name) are not supported");
				goto out;
			}
			if (tag != NULL) {
				load_fail(ctx, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "YAML tags are not supported (a leading "
				    "'!' "
				    "must be quoted: \"!%s\")",
				    tag[0] == '!' ? (const char *)tag + 1
				                  : (const char *)tag);
				goto out;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				n = ynode_new(
				    ctx, YNODE_SCALAR, &ev.start_mark);
				n->value = policy_arena_strndup(&ctx->tree,
				    (const char *)ev.data.scalar.value,
				    ev.data.scalar.length);
				n->len = ev.data.scalar.length;
				n->is_plain = ev.data.scalar.style ==
				    YAML_PLAIN_SCALAR_STYLE;
			} else
				n = ynode_new(ctx,
				    ev.type == YAML_SEQUENCE_START_EVENT
				        ? YNODE_SEQ
				        : YNODE_MAP,
				    &ev.start_mark);
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (n != NULL) {
			if (depth == 0)
				*root = n;
			else
				ynode_append(stack[depth - 1], n);
			if (n->kind != YNODE_SCALAR) {
				if (depth >= POLICY_MAX_DEPTH) {
					node_fail(ctx, n,
					    "nesting deeper than "
					    "%d levels",
					    POLICY_MAX_DEPTH);
					goto out;
				}
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
		has_event = 0;
	}
	if (*root == NULL) {
		load_fail(ctx, 1, 1,
		    "empty policy (want at least "
		    "\"version: 1\")");
		goto out;
	}
	rc = 0;
out:
	if (has_event)
		yaml_event_delete(&ev);
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- typed values ---- */

static const char *
ynode_kind_name(const struct ynode *n)
{
	if (n->kind == YNODE_MAP)
		return "a mapping";
	if (n->kind == YNODE_SEQ)
		return "a list";
	if (n->is_plain &&
	    (n->len == 0 || strcmp(n->value, "~") == 0 ||
	        strcmp(n->value, "null") == 0))
		return "nothing";
	return "a scalar";
}

static int
is_null(const struct ynode *n)
{
	return n->kind == YNODE_SCALAR && n->is_plain &&
	    (n->len == 0 || strcmp(n->value, "~") == 0 ||
	        strcmp(n->value, "null") == 0);
}

static int
want_string(struct load_ctx *ctx, const struct ynode *n, const char *what,
    const char **out)
{
	if (n->kind != YNODE_SCALAR || is_null(n))
		return node_fail(ctx, n, "%s must be a string, not %s", what,
		    ynode_kind_name(n));
	if (memchr(n->value, '\0', n->len) != NULL)
		return node_fail(ctx, n, "%s contains a NUL byte", what);
	*out = n->value;
	return 0;
}

static int
want_kind(struct load_ctx *ctx, const struct ynode *n, enum ynode_kind kind,
    const char *what)
{
	if (n->kind == kind)
		return 0;
	return node_fail(ctx, n, "%s must be %s, not %s", what,
	    kind == YNODE_MAP ? "a mapping" : "a list", ynode_kind_name(n));
}

static int
want_uint(struct load_ctx *ctx, const struct ynode *n, const char *what,
    unsigned long max, unsigned long *out)
{
	char *end;

	if (n->kind != YNODE_SCALAR || !n->is_plain || n->len == 0 ||
	    n->value[0] < '0' || n->value[0] > '9')
		return node_fail(ctx, n, "%s must be a number", what);
	errno = 0;
	*out = strtoul(n->value, &end, 10);
	if (*end != '\0' || errno != 0 || *out > max)
		return node_fail(
		    ctx, n, "%s must be a number from 0 to %lu", what, max);
	return 0;
}

static int
want_bool(
    struct load_ctx *ctx, const struct ynode *n, const char *what, int *out)
{
	if (n->kind == YNODE_SCALAR && n->is_plain) {
		if (strcmp(n->value, "true") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(n->value, "false") == 0) {
			*out = 0;
			return 0;
		}
	}
	return node_fail(ctx, n, "%s must be true or false", what);
}

/* "500ms", "120s", "2m", "1h"; more than 0, at most 24 hours. */
static int
want_duration(struct load_ctx *ctx, const struct ynode *n, const char *what,
    unsigned *out_ms)
{
	unsigned long long v = 0, mult;
	const char *p;

	if (n->kind != YNODE_SCALAR || n->len == 0 || n->value[0] < '0' ||
	    n->value[0] > '9')
		return node_fail(ctx, n,
		    "%s must be a duration such as 500ms, "
		    "120s or 2m",
		    what);
	for (p = n->value; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 100000000ULL)
			return node_fail(
			    ctx, n, "%s is too long (at most 24h)", what);
	}
	if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "m") == 0)
		mult = 60000;
	else if (strcmp(p, "h") == 0)
		mult = 3600000;
	else if (*p == '\0')
		return node_fail(ctx, n,
		    "%s needs a unit: ms, s, m or h (as "
		    "in 120s)",
		    what);
	else
		return node_fail(ctx, n,
		    "%s has an unknown unit '%s' (use ms, "
		    "s, m or h)",
		    what, p);
	v *= mult;
	if (v == 0)
		return node_fail(ctx, n, "%s must be more than zero", what);
	if (v > 24ULL * 3600000)
		return node_fail(ctx, n, "%s is too long (at most 24h)", what);
	*out_ms = (unsigned)v;
	return 0;
}

static int
want_action(struct load_ctx *ctx, const struct ynode *n, const char *what,
    enum decision *out)
{
	const char *s;

	if (want_string(ctx, n, what, &s) != 0)
		return -1;
	if (strcmp(s, "allow") == 0)
		*out = DECISION_ALLOW;
	else if (strcmp(s, "hold") == 0)
		*out = DECISION_HOLD;
	else if (strcmp(s, "deny") == 0)
		*out = DECISION_DENY;
	else
		return node_fail(ctx, n,
		    "unknown action '%s' (want allow, hold "
		    "or deny)",
		    s);
	return 0;
}

/* A list of strings, with at least one item when nonempty is set. */
static int
want_string_list(
    struct load_ctx *ctx, const struct ynode *n, const char *what, int nonempty)
{
	const struct ynode *it;
	const char *s;

	if (want_kind(ctx, n, YNODE_SEQ, what) != 0)
		return -1;
	if (nonempty && n->n_children == 0)
		return node_fail(ctx, n, "%s must not be empty", what);
	for (it = n->first; it != NULL; it = it->next)
		if (want_string(ctx, it, what, &s) != 0)
			return -1;
	return 0;
}

/*
 * Walk a mapping against the names in keys[] (NULL-terminated): an unknown
 * or repeated key is an error; values[i] is set to the node of keys[i].
 */
static int
map_collect(struct load_ctx *ctx, const struct ynode *map, const char *what,
    const char *const *keys, const struct ynode **values)
{
	const struct ynode *k, *v, *key_nodes[16];
	size_t i, n_keys;
	char known[256];

	if (want_kind(ctx, map, YNODE_MAP, what) != 0)
		return -1;
	for (n_keys = 0; keys[n_keys] != NULL; n_keys++)
		values[n_keys] = key_nodes[n_keys] = NULL;
	for (k = map->first; k != NULL; k = v->next) {
		v = k->next;
		if (k->kind != YNODE_SCALAR)
			return node_fail(ctx, k,
			    "keys must be plain names, "
			    "not %s",
			    ynode_kind_name(k));
		for (i = 0; i < n_keys; i++)
			if (strcmp(k->value, keys[i]) == 0)
				break;
		if (i == n_keys) {
			size_t off = 0, j;

			known[0] = '\0';
			for (j = 0; j < n_keys && off < sizeof(known); j++)
				off += (size_t)snprintf(known + off,
				    sizeof(known) - off, "%s%s", j ? ", " : "",
				    keys[j]);
			return node_fail(ctx, k,
			    "unknown key '%.64s' in %s "
			    "(known: %s)",
			    k->value, what, known);
		}
		if (values[i] != NULL)
			return node_fail(ctx, k,
			    "duplicate key '%s' (first at "
			    "line %d)",
			    keys[i], key_nodes[i]->line);
		values[i] = v;
		key_nodes[i] = k;
	}
	return 0;
}

/* ---- fs rules ---- */

static int
load_fs_ops(struct load_ctx *ctx, const struct ynode *n, unsigned *ops)
{
	const struct ynode *it;
	enum fs_op op;

	if (want_string_list(ctx, n, "ops", 1) != 0)
		return -1;
	*ops = 0;
	for (it = n->first; it != NULL; it = it->next) {
		if (strcmp(it->value, "all") == 0) {
			*ops |= FS_OP_ALL;
			continue;
		}
		if (policy_fs_op_parse(it->value, &op) != 0)
			return node_fail(ctx, it,
			    "unknown operation '%.64s' "
			    "(want read, write, create, delete, rename, chmod, "
			    "link, xattr or all)",
			    it->value);
		*ops |= op;
	}
	return 0;
}

/*
 * A path outside the project ("~", "~/..." or "/..."; "~user" stays a
 * project pattern, as it always was), clean (no empty,
 * "." or ".." component) and without "**", which glob(3) does not know.
 * Returns 0, or -1 with why filled.
 */
static int
outside_check(const char *p, size_t len, char *why, size_t why_len)
{
	size_t i, s;

	if (len >= 4096 || memchr(p, '\0', len) != NULL) {
		snprintf(why, why_len, "path is too long or holds a NUL byte");
		return -1;
	}
	if (len == 1 && p[0] == '/') {
		snprintf(why, why_len, "'/' itself cannot be named");
		return -1;
	}
	i = p[0] == '~' ? 1 : 0;
	for (s = i + 1; s <= len; s++) {
		size_t e = s;

		while (e < len && p[e] != '/')
			e++;
		if (e == s && e < len) {
			snprintf(why, why_len, "empty path component ('//')");
			return -1;
		}
		if ((e - s == 1 && p[s] == '.') ||
		    (e - s == 2 && p[s] == '.' && p[s + 1] == '.')) {
			snprintf(why, why_len,
			    "'.' and '..' components are not allowed");
			return -1;
		}
		if (memmem(p + s, e - s, "**", 2) != NULL) {
			snprintf(why, why_len,
			    "'**' is not supported outside the project "
			    "(name the directory: it stands for all beneath)");
			return -1;
		}
		s = e;
	}
	return 0;
}

static int
is_outside(const char *p)
{
	return p[0] == '/' || (p[0] == '~' && (p[1] == '\0' || p[1] == '/'));
}

/* An outside path kept in the rule (a trailing '/' dropped). */
static int
load_outside_path(struct load_ctx *ctx, const struct ynode *it,
    struct fs_rule *r, const char *p, size_t len, int is_except)
{
	char why[256];

	while (len > 1 && p[len - 1] == '/')
		len--;
	if (outside_check(p, len, why, sizeof(why)) != 0)
		return node_fail(
		    ctx, it, "bad path '%.128s': %s", it->value, why);
	if (is_except)
		r->outside_excepts[r->n_outside_excepts++] =
		    policy_arena_strndup(&ctx->pol->arena, p, len);
	else
		r->outside[r->n_outside++] =
		    policy_arena_strndup(&ctx->pol->arena, p, len);
	return 0;
}

static int
load_fs_paths(struct load_ctx *ctx, const struct ynode *n, struct fs_rule *r)
{
	struct policy_arena *arena = &ctx->pol->arena;
	const struct ynode *it;
	char why[256];
	size_t at;

	if (want_string_list(ctx, n, "paths", 1) != 0)
		return -1;
	r->globs = policy_arena_array(arena, n->n_children, sizeof(*r->globs));
	r->excepts =
	    policy_arena_array(arena, n->n_children, sizeof(*r->excepts));
	r->outside =
	    policy_arena_array(arena, n->n_children + 1, sizeof(*r->outside));
	r->outside_excepts = policy_arena_array(
	    arena, n->n_children + 1, sizeof(*r->outside_excepts));
	for (it = n->first; it != NULL; it = it->next) {
		int is_except = it->value[0] == '!';
		const char *p = it->value + is_except;
		size_t plen = it->len - (size_t)is_except;
		struct glob *g;

		if (plen > 0 && is_outside(p)) {
			if (load_outside_path(ctx, it, r, p, plen, is_except) !=
			    0)
				return -1;
			continue;
		}
		g = is_except ? &r->excepts[r->n_excepts++]
		              : &r->globs[r->n_globs++];
		if (glob_compile(g, p, plen, arena, why, sizeof(why), &at) != 0)
			return node_fail(ctx, it,
			    "bad path pattern '%.128s': "
			    "%s",
			    it->value, why);
	}
	if (r->n_globs == 0 && r->n_outside == 0)
		return node_fail(ctx, n,
		    "paths has only '!' exceptions; a "
		    "rule needs at least one pattern it matches");
	return 0;
}

static const char *
rule_name(struct load_ctx *ctx, const struct ynode *n)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s:%d", ctx->name, n->line);
	return policy_arena_strdup(&ctx->pol->arena, buf);
}

static int
load_fs_rule(struct load_ctx *ctx, const struct ynode *n, struct fs_rule *r)
{
	static const char *const keys[] = { "paths", "ops", "action", "reason",
		NULL };
	const struct ynode *v[5];

	if (map_collect(ctx, n, "an fs rule", keys, v) != 0)
		return -1;
	if (v[0] == NULL)
		return node_fail(ctx, n, "an fs rule needs paths:");
	if (v[2] == NULL)
		return node_fail(ctx, n,
		    "an fs rule needs action: (allow, "
		    "hold or deny)");
	if (load_fs_paths(ctx, v[0], r) != 0)
		return -1;
	r->ops = FS_OP_ALL;
	if (v[1] != NULL && load_fs_ops(ctx, v[1], &r->ops) != 0)
		return -1;
	if (want_action(ctx, v[2], "action", &r->action) != 0)
		return -1;
	r->reason = "";
	if (v[3] != NULL && want_string(ctx, v[3], "reason", &r->reason) != 0)
		return -1;
	r->reason = policy_arena_strdup(&ctx->pol->arena, r->reason);
	r->rule = rule_name(ctx, n);
	if (r->n_outside > 0) {
		struct policy_outside_rule *o =
		    &ctx->pol->outside[ctx->pol->n_outside++];

		o->action = r->action;
		o->ops = r->ops;
		o->rule = r->rule;
		o->reason = r->reason;
		o->paths = (const char *const *)r->outside;
		o->excepts = (const char *const *)r->outside_excepts;
	}
	return 0;
}

/* ---- net rules ---- */

/* Strictly an address (config text, not a client's loose forms). */
static int
ip_literal_strict(const char *s, struct cidr *c)
{
	char buf[64];
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		c->prefix = 32;
		return 1;
	}
	if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		c->prefix = 128;
		return 1;
	}
	return 0;
}

static char **
load_registries(struct load_ctx *ctx)
{
	if (!ctx->registries_done) {
		ctx->pol->registries =
		    policy_registries_expand(&ctx->pol->arena);
		ctx->registries_done = 1;
		ctx->pol->uses_registries = 1;
	}
	return ctx->pol->registries;
}

static int
load_net_targets(struct load_ctx *ctx, const struct ynode *hosts,
    const struct ynode *cidrs, struct net_rule *r)
{
	struct policy_arena *arena = &ctx->pol->arena;
	const struct ynode *it;
	size_t max_hosts = 0, max_cidrs = 0;
	char why[256];
	char **reg;

	if (hosts != NULL) {
		if (want_string_list(ctx, hosts, "hosts", 1) != 0)
			return -1;
		for (it = hosts->first; it != NULL; it = it->next) {
			if (it->value[0] != '@') {
				max_hosts++;
				continue;
			}
			if (strcmp(it->value, "@registries") != 0)
				return node_fail(ctx, it,
				    "unknown host set "
				    "'%.64s' (the only one is @registries)",
				    it->value);
			for (reg = load_registries(ctx); *reg != NULL; reg++)
				max_hosts++;
		}
		max_cidrs += max_hosts;
	}
	if (cidrs != NULL) {
		if (want_string_list(ctx, cidrs, "cidrs", 1) != 0)
			return -1;
		max_cidrs += cidrs->n_children;
	}
	r->has_target = hosts != NULL || cidrs != NULL;
	r->hosts = policy_arena_array(arena, max_hosts + 1, sizeof(*r->hosts));
	r->cidrs = policy_arena_array(arena, max_cidrs + 1, sizeof(*r->cidrs));
	for (it = hosts != NULL ? hosts->first : NULL; it != NULL;
	     it = it->next) {
		if (it->value[0] == '@') {
			for (reg = load_registries(ctx); *reg != NULL; reg++) {
				if (ip_literal_strict(
				        *reg, &r->cidrs[r->n_cidrs])) {
					r->n_cidrs++;
					continue;
				}
				if (host_compile(&r->hosts[r->n_hosts], *reg,
				        arena, why, sizeof(why)) == 0)
					r->n_hosts++;
			}
			continue;
		}
		if (ip_literal_strict(it->value, &r->cidrs[r->n_cidrs])) {
			r->n_cidrs++;
			continue;
		}
		if (host_compile(&r->hosts[r->n_hosts], it->value, arena, why,
		        sizeof(why)) != 0)
			return node_fail(ctx, it,
			    "bad host pattern '%.128s': "
			    "%s",
			    it->value, why);
		r->n_hosts++;
	}
	for (it = cidrs != NULL ? cidrs->first : NULL; it != NULL;
	     it = it->next) {
		if (cidr_parse(&r->cidrs[r->n_cidrs], it->value, why,
		        sizeof(why)) != 0)
			return node_fail(
			    ctx, it, "bad CIDR '%.64s': %s", it->value, why);
		r->n_cidrs++;
	}
	return 0;
}

static int
load_net_ports(struct load_ctx *ctx, const struct ynode *n, struct net_rule *r)
{
	const struct ynode *it;
	unsigned long lo, hi;
	char *end;

	if (want_kind(ctx, n, YNODE_SEQ, "ports") != 0)
		return -1;
	if (n->n_children == 0)
		return node_fail(ctx, n, "ports must not be empty");
	r->ports = policy_arena_array(
	    &ctx->pol->arena, n->n_children, sizeof(*r->ports));
	for (it = n->first; it != NULL; it = it->next) {
		if (it->kind == YNODE_SCALAR && !it->is_plain &&
		    strchr(it->value, '-') != NULL) {
			/* "8000-8099" */
			errno = 0;
			lo = strtoul(it->value, &end, 10);
			if (end == it->value || *end != '-' || errno != 0)
				return node_fail(ctx, it,
				    "port range must read "
				    "\"LOW-HIGH\"");
			hi = strtoul(end + 1, &end, 10);
			if (*end != '\0' || errno != 0 || lo < 1 ||
			    hi > 65535 || lo > hi)
				return node_fail(ctx, it,
				    "port range must be "
				    "\"LOW-HIGH\" within 1-65535");
		} else {
			if (it->kind == YNODE_SCALAR && it->is_plain &&
			    strchr(it->value, '-') != NULL)
				return node_fail(ctx, it,
				    "quote a port range: "
				    "\"%.32s\"",
				    it->value);
			if (want_uint(ctx, it, "a port", 65535, &lo) != 0)
				return -1;
			if (lo == 0)
				return node_fail(ctx, it,
				    "port 0 is not a "
				    "port");
			hi = lo;
		}
		r->ports[r->n_ports].lo = (uint16_t)lo;
		r->ports[r->n_ports].hi = (uint16_t)hi;
		r->n_ports++;
	}
	return 0;
}

static int
load_net_methods(
    struct load_ctx *ctx, const struct ynode *n, struct net_rule *r)
{
	const struct ynode *it;
	size_t i;

	if (want_string_list(ctx, n, "methods", 1) != 0)
		return -1;
	r->methods = policy_arena_array(
	    &ctx->pol->arena, n->n_children, sizeof(*r->methods));
	for (it = n->first; it != NULL; it = it->next) {
		char *m = policy_arena_strdup(&ctx->pol->arena, it->value);

		for (i = 0; m[i] != '\0'; i++) {
			if (m[i] >= 'a' && m[i] <= 'z')
				m[i] = (char)(m[i] - 'a' + 'A');
			else if (m[i] < 'A' || m[i] > 'Z')
				return node_fail(ctx, it,
				    "a method is letters "
				    "only, as in GET");
		}
		if (i == 0)
			return node_fail(ctx, it, "empty method");
		r->methods[r->n_methods++] = m;
	}
	return 0;
}

static int
load_net_paths(struct load_ctx *ctx, const struct ynode *n, struct net_rule *r)
{
	const struct ynode *it;

	if (want_string_list(ctx, n, "paths", 1) != 0)
		return -1;
	r->paths = policy_arena_array(
	    &ctx->pol->arena, n->n_children, sizeof(*r->paths));
	r->path_lens = policy_arena_array(
	    &ctx->pol->arena, n->n_children, sizeof(*r->path_lens));
	for (it = n->first; it != NULL; it = it->next) {
		if (it->value[0] != '/')
			return node_fail(ctx, it,
			    "a URL path prefix starts "
			    "with '/'");
		r->paths[r->n_paths] =
		    policy_arena_strdup(&ctx->pol->arena, it->value);
		r->path_lens[r->n_paths++] = it->len;
	}
	return 0;
}

static int
load_net_rule(struct load_ctx *ctx, const struct ynode *n, struct net_rule *r)
{
	static const char *const keys[] = { "hosts", "cidrs", "ports",
		"methods", "paths", "action", "reason", NULL };
	const struct ynode *v[8];

	if (map_collect(ctx, n, "a net rule", keys, v) != 0)
		return -1;
	if (v[5] == NULL)
		return node_fail(ctx, n,
		    "a net rule needs action: (allow, "
		    "hold or deny)");
	if (load_net_targets(ctx, v[0], v[1], r) != 0)
		return -1;
	if (v[2] != NULL && load_net_ports(ctx, v[2], r) != 0)
		return -1;
	if (v[3] != NULL && load_net_methods(ctx, v[3], r) != 0)
		return -1;
	if (v[4] != NULL && load_net_paths(ctx, v[4], r) != 0)
		return -1;
	if (want_action(ctx, v[5], "action", &r->action) != 0)
		return -1;
	r->reason = "";
	if (v[6] != NULL && want_string(ctx, v[6], "reason", &r->reason) != 0)
		return -1;
	r->reason = policy_arena_strdup(&ctx->pol->arena, r->reason);
	r->rule = rule_name(ctx, n);
	return 0;
}

/* ---- sections ---- */

static int
load_rules(struct load_ctx *ctx, const struct ynode *n, int is_fs)
{
	struct policy *pol = ctx->pol;
	const struct ynode *it;
	size_t i = 0;

	if (is_null(n))
		return 0;
	if (want_kind(ctx, n, YNODE_SEQ, is_fs ? "fs" : "net") != 0)
		return -1;
	if (is_fs) {
		pol->fs = policy_arena_array(
		    &pol->arena, n->n_children + 1, sizeof(*pol->fs));
		pol->outside = policy_arena_array(
		    &pol->arena, n->n_children + 1, sizeof(*pol->outside));
	} else
		pol->net = policy_arena_array(
		    &pol->arena, n->n_children + 1, sizeof(*pol->net));
	for (it = n->first; it != NULL; it = it->next, i++) {
		if (is_fs) {
			if (load_fs_rule(ctx, it, &pol->fs[i]) != 0)
				return -1;
			pol->n_fs++;
		} else {
			if (load_net_rule(ctx, it, &pol->net[i]) != 0)
				return -1;
			pol->n_net++;
		}
	}
	return 0;
}

static int
load_defaults(struct load_ctx *ctx, const struct ynode *n)
{
	static const char *const keys[] = { "fs", "net", "hold_timeout", NULL };
	struct policy *pol = ctx->pol;
	const struct ynode *v[4];

	if (map_collect(ctx, n, "defaults", keys, v) != 0)
		return -1;
	if (v[0] != NULL &&
	    want_action(ctx, v[0], "defaults.fs", &pol->fs_default.decision) !=
	        0)
		return -1;
	if (v[1] != NULL &&
	    want_action(
	        ctx, v[1], "defaults.net", &pol->net_default.decision) != 0)
		return -1;
	if (v[2] != NULL &&
	    want_duration(
	        ctx, v[2], "hold_timeout", &pol->settings.hold_timeout_ms) != 0)
		return -1;
	return 0;
}

static char *const *
arena_argv(struct load_ctx *ctx, const struct ynode *list)
{
	char **argv = policy_arena_array(
	    &ctx->pol->arena, list->n_children + 1, sizeof(*argv));
	const struct ynode *it;
	size_t i = 0;

	for (it = list->first; it != NULL; it = it->next)
		argv[i++] = policy_arena_strdup(&ctx->pol->arena, it->value);
	return argv;
}

static int
want_url(struct load_ctx *ctx, const struct ynode *n, const char *what,
    const char **out)
{
	const char *s;

	if (want_string(ctx, n, what, &s) != 0)
		return -1;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return node_fail(ctx, n,
		    "%s must be an http:// or https:// "
		    "URL",
		    what);
	*out = policy_arena_strdup(&ctx->pol->arena, s);
	return 0;
}

static int
load_review(struct load_ctx *ctx, const struct ynode *n)
{
	static const char *const keys[] = { "command", "url", "timeout", NULL };
	struct policy_settings *st = &ctx->pol->settings;
	const struct ynode *v[4];
	const char *s;

	if (map_collect(ctx, n, "review", keys, v) != 0)
		return -1;
	if (v[0] != NULL && v[1] != NULL)
		return node_fail(ctx, v[1],
		    "review takes command: or url:, "
		    "not both");
	if (v[0] != NULL) {
		if (v[0]->kind == YNODE_SCALAR) {
			char **argv;

			if (want_string(ctx, v[0], "review.command", &s) != 0)
				return -1;
			argv = policy_arena_array(
			    &ctx->pol->arena, 2, sizeof(*argv));
			argv[0] = policy_arena_strdup(&ctx->pol->arena, s);
			st->review_command = argv;
		} else {
			if (want_string_list(ctx, v[0], "review.command", 1) !=
			    0)
				return -1;
			st->review_command = arena_argv(ctx, v[0]);
		}
		if (st->review_command[0][0] != '/')
			return node_fail(ctx, v[0],
			    "review.command must name "
			    "a program by its absolute path");
	}
	if (v[1] != NULL &&
	    want_url(ctx, v[1], "review.url", &st->review_url) != 0)
		return -1;
	if (v[2] != NULL &&
	    want_duration(
	        ctx, v[2], "review.timeout", &st->review_timeout_ms) != 0)
		return -1;
	return 0;
}

static int
load_otlp_headers(struct load_ctx *ctx, const struct ynode *n)
{
	const struct ynode *k, *v, *k2;
	char **list;
	size_t i = 0;
	const char *name, *value;

	if (want_kind(ctx, n, YNODE_MAP, "telemetry.otlp.headers") != 0)
		return -1;
	if (n->n_children / 2 > POLICY_MAX_HEADERS)
		return node_fail(
		    ctx, n, "more than %d headers", POLICY_MAX_HEADERS);
	list = policy_arena_array(
	    &ctx->pol->arena, n->n_children / 2 + 1, sizeof(*list));
	for (k = n->first; k != NULL; k = v->next) {
		v = k->next;
		if (want_string(ctx, k, "a header name", &name) != 0)
			return -1;
		if (name[strcspn(name, " \t:\r\n")] != '\0')
			return node_fail(
			    ctx, k, "bad header name '%.64s'", name);
		for (k2 = n->first; k2 != k; k2 = k2->next->next)
			if (strcasecmp(k2->value, name) == 0)
				return node_fail(ctx, k,
				    "duplicate key '%.64s' "
				    "(first at line %d)",
				    name, k2->line);
		if (want_string(ctx, v, "a header value", &value) != 0)
			return -1;
		if (value[strcspn(value, "\r\n")] != '\0')
			return node_fail(ctx, v,
			    "a header value cannot span "
			    "lines");
		list[i] = policy_arena_alloc(
		    &ctx->pol->arena, strlen(name) + strlen(value) + 3);
		sprintf(list[i], "%s: %s", name, value);
		i++;
	}
	ctx->pol->settings.otlp_headers = list;
	return 0;
}

static int
load_telemetry(struct load_ctx *ctx, const struct ynode *n)
{
	static const char *const keys[] = { "otlp", NULL };
	static const char *const otlp_keys[] = { "endpoint", "headers", "logs",
		NULL };
	struct policy_settings *st = &ctx->pol->settings;
	const struct ynode *v[2], *o[4];

	if (map_collect(ctx, n, "telemetry", keys, v) != 0)
		return -1;
	if (v[0] == NULL)
		return 0;
	if (map_collect(ctx, v[0], "telemetry.otlp", otlp_keys, o) != 0)
		return -1;
	if (o[0] == NULL)
		return node_fail(ctx, v[0], "telemetry.otlp needs endpoint:");
	if (want_url(
	        ctx, o[0], "telemetry.otlp.endpoint", &st->otlp_endpoint) != 0)
		return -1;
	if (o[1] != NULL && load_otlp_headers(ctx, o[1]) != 0)
		return -1;
	if (o[2] != NULL &&
	    want_bool(ctx, o[2], "telemetry.otlp.logs", &st->otlp_logs) != 0)
		return -1;
	return 0;
}

static int
load_tls(struct load_ctx *ctx, const struct ynode *n)
{
	static const char *const keys[] = { "sni_check", "intercept", NULL };
	struct policy *pol = ctx->pol;
	const struct ynode *v[3], *it;
	char why[256];

	if (map_collect(ctx, n, "tls", keys, v) != 0)
		return -1;
	if (v[0] != NULL &&
	    want_bool(
	        ctx, v[0], "tls.sni_check", &pol->settings.tls_sni_check) != 0)
		return -1;
	if (v[1] == NULL)
		return 0;
	if (want_string_list(ctx, v[1], "tls.intercept", 0) != 0)
		return -1;
	pol->intercept = policy_arena_array(
	    &pol->arena, v[1]->n_children + 1, sizeof(*pol->intercept));
	for (it = v[1]->first; it != NULL; it = it->next) {
		if (host_compile(&pol->intercept[pol->n_intercept], it->value,
		        &pol->arena, why, sizeof(why)) != 0)
			return node_fail(ctx, it,
			    "bad host pattern '%.128s': "
			    "%s",
			    it->value, why);
		pol->n_intercept++;
	}
	pol->settings.tls_intercept_hosts = arena_argv(ctx, v[1]);
	return 0;
}

static int
load_proxy(struct load_ctx *ctx, const struct ynode *n)
{
	static const char *const keys[] = { "auth", NULL };
	const struct ynode *v[2];
	const char *s;

	if (map_collect(ctx, n, "proxy", keys, v) != 0)
		return -1;
	if (v[0] == NULL)
		return 0;
	if (want_string(ctx, v[0], "proxy.auth", &s) != 0)
		return -1;
	if (strcmp(s, "off") == 0)
		ctx->pol->settings.proxy_auth = PROXY_AUTH_OFF;
	else if (strcmp(s, "optional") == 0)
		ctx->pol->settings.proxy_auth = PROXY_AUTH_OPTIONAL;
	else if (strcmp(s, "required") == 0)
		ctx->pol->settings.proxy_auth = PROXY_AUTH_REQUIRED;
	else
		return node_fail(ctx, v[0],
		    "proxy.auth must be off, optional "
		    "or required");
	return 0;
}

/* ---- secrets ---- */

static int
secret_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		        *s == '.'))
			return 0;
	return n > 0 && n <= 64;
}

static int
env_name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	        *s == '_'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* The regex must compile and have a group: its first group is the
 * secret.  Checked here so that a bad one refuses the policy. */
static int
secret_match_ok(struct load_ctx *ctx, const struct ynode *n, const char *re)
{
	char why[200];
	regex_t rx;
	int rc;

	rc = regcomp(&rx, re, REG_EXTENDED);
	if (rc != 0) {
		regerror(rc, &rx, why, sizeof(why));
		return node_fail(ctx, n, "bad regex: %s", why);
	}
	rc = rx.re_nsub >= 1;
	regfree(&rx);
	if (!rc)
		return node_fail(
		    ctx, n, "match needs a group: (...) around the secret");
	return 0;
}

static int
load_secret_hosts(
    struct load_ctx *ctx, const struct ynode *n, struct secret_hosts *sh)
{
	struct policy_arena *arena = &ctx->pol->arena;
	const struct ynode *it;
	size_t max = 0;
	char why[256];
	char **reg;
	struct cidr c;

	if (want_string_list(ctx, n, "secrets.hosts", 1) != 0)
		return -1;
	for (it = n->first; it != NULL; it = it->next) {
		if (strcmp(it->value, "@registries") == 0) {
			for (reg = load_registries(ctx); *reg != NULL; reg++)
				max++;
			continue;
		}
		if (it->value[0] == '@')
			return node_fail(ctx, it,
			    "unknown host set '%.64s' (the only one is "
			    "@registries)",
			    it->value);
		if (strcmp(it->value, "*") == 0)
			return node_fail(ctx, it,
			    "a secret cannot go to any host: name the hosts "
			    "that may receive it");
		if (ip_literal_strict(it->value, &c))
			return node_fail(ctx, it,
			    "'%.64s' is an address: a secret goes to a named "
			    "host (its TLS certificate names it)",
			    it->value);
		max++;
	}
	sh->pats = policy_arena_array(arena, max + 1, sizeof(*sh->pats));
	for (it = n->first; it != NULL; it = it->next) {
		if (it->value[0] == '@') {
			for (reg = load_registries(ctx); *reg != NULL; reg++)
				if (!ip_literal_strict(*reg, &c) &&
				    host_compile(&sh->pats[sh->n], *reg, arena,
				        why, sizeof(why)) == 0)
					sh->n++;
			continue;
		}
		if (host_compile(&sh->pats[sh->n], it->value, arena, why,
		        sizeof(why)) != 0)
			return node_fail(ctx, it,
			    "bad host pattern '%.128s': %s", it->value, why);
		sh->n++;
	}
	return 0;
}

static int
load_secret(struct load_ctx *ctx, const struct ynode *n,
    struct policy_secret *s, struct secret_hosts *sh)
{
	static const char *const keys[] = { "name", "env", "file", "match",
		"hosts", "body", NULL };
	const struct ynode *v[7];
	const char *str;
	size_t i;

	if (map_collect(ctx, n, "a secret", keys, v) != 0)
		return -1;
	if (v[0] == NULL)
		return node_fail(ctx, n, "a secret needs a name:");
	if (want_string(ctx, v[0], "secrets.name", &s->name) != 0)
		return -1;
	if (!secret_name_ok(s->name))
		return node_fail(ctx, v[0],
		    "secret names are 1 to 64 letters, digits, '_', '-' or "
		    "'.'");
	for (i = 0; i < ctx->pol->n_secrets; i++)
		if (strcmp(ctx->pol->secrets[i].name, s->name) == 0)
			return node_fail(ctx, v[0],
			    "secret '%s' is already defined (at %s)", s->name,
			    ctx->pol->secrets[i].rule);
	if ((v[1] == NULL) == (v[2] == NULL))
		return node_fail(ctx, n,
		    "secret '%s' takes exactly one of env: or file:", s->name);
	if (v[1] != NULL) {
		if (want_string(ctx, v[1], "secrets.env", &s->env) != 0)
			return -1;
		if (!env_name_ok(s->env))
			return node_fail(ctx, v[1],
			    "'%.64s' is not a variable name", s->env);
		if (v[3] != NULL)
			return node_fail(
			    ctx, v[3], "match: applies to file: secrets only");
	} else {
		if (want_string(ctx, v[2], "secrets.file", &s->file) != 0)
			return -1;
		if (s->file[0] != '/' &&
		    !(s->file[0] == '~' && s->file[1] == '/' &&
		        s->file[2] != '\0'))
			return node_fail(ctx, v[2],
			    "secrets.file must be absolute or start with ~/");
		if (v[3] != NULL &&
		    (want_string(ctx, v[3], "secrets.match", &str) != 0 ||
		        secret_match_ok(ctx, v[3], str) != 0))
			return -1;
		s->match = v[3] != NULL ? v[3]->value : NULL;
	}
	if (v[4] == NULL)
		return node_fail(ctx, n,
		    "secret '%s' needs hosts: (who may receive it)", s->name);
	if (load_secret_hosts(ctx, v[4], sh) != 0)
		return -1;
	s->hosts = (const char *const *)arena_argv(ctx, v[4]);
	if (v[5] != NULL && want_bool(ctx, v[5], "secrets.body", &s->body) != 0)
		return -1;
	s->rule = rule_name(ctx, n);
	/* The strings above point into the parse tree, which goes away
	 * after loading: keep copies in the policy. */
	s->name = policy_arena_strdup(&ctx->pol->arena, s->name);
	if (s->env != NULL)
		s->env = policy_arena_strdup(&ctx->pol->arena, s->env);
	if (s->file != NULL)
		s->file = policy_arena_strdup(&ctx->pol->arena, s->file);
	if (s->match != NULL)
		s->match = policy_arena_strdup(&ctx->pol->arena, s->match);
	return 0;
}

static int
load_secrets(struct load_ctx *ctx, const struct ynode *n)
{
	struct policy *pol = ctx->pol;
	const struct ynode *it;

	if (want_kind(ctx, n, YNODE_SEQ, "secrets") != 0)
		return -1;
	pol->secrets = policy_arena_array(
	    &pol->arena, n->n_children + 1, sizeof(*pol->secrets));
	pol->secret_hosts = policy_arena_array(
	    &pol->arena, n->n_children + 1, sizeof(*pol->secret_hosts));
	for (it = n->first; it != NULL; it = it->next) {
		if (load_secret(ctx, it, &pol->secrets[pol->n_secrets],
		        &pol->secret_hosts[pol->n_secrets]) != 0)
			return -1;
		pol->n_secrets++;
	}
	return 0;
}

static int
load_top(struct load_ctx *ctx, const struct ynode *root)
{
	static const char *const keys[] = { "version", "defaults", "fs", "net",
		"review", "telemetry", "tls", "proxy", "secrets", NULL };
	const struct ynode *v[10];
	unsigned long version;

	if (map_collect(ctx, root, "the policy", keys, v) != 0)
		return -1;
	if (v[0] == NULL)
		return node_fail(ctx, root, "the policy needs \"version: 1\"");
	if (want_uint(ctx, v[0], "version", 1000, &version) != 0)
		return -1;
	if (version != 1)
		return node_fail(ctx, v[0],
		    "unsupported version %lu (this "
		    "airlock reads version 1)",
		    version);
	if (v[1] != NULL && load_defaults(ctx, v[1]) != 0)
		return -1;
	if (v[2] != NULL && load_rules(ctx, v[2], 1) != 0)
		return -1;
	if (v[3] != NULL && load_rules(ctx, v[3], 0) != 0)
		return -1;
	if (v[4] != NULL && load_review(ctx, v[4]) != 0)
		return -1;
	if (v[5] != NULL && load_telemetry(ctx, v[5]) != 0)
		return -1;
	if (v[6] != NULL && load_tls(ctx, v[6]) != 0)
		return -1;
	if (v[7] != NULL && load_proxy(ctx, v[7]) != 0)
		return -1;
	if (v[8] != NULL && load_secrets(ctx, v[8]) != 0)
		return -1;
	return 0;
}

static void
load_hash_source(struct policy *pol, const char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;

	if (EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL) != 1)
		md_len = 0;
	for (i = 0; i < md_len && i < 32; i++)
		snprintf(pol->source_hash + 2 * i, 3, "%02x", md[i]);
	pol->source_hash[2 * i] = '\0';
}

static void
load_set_defaults(struct load_ctx *ctx)
{
	struct policy *pol = ctx->pol;
	struct policy_settings *st = &pol->settings;
	char buf[300];

	pol->fs_default.decision = DECISION_ALLOW;
	snprintf(buf, sizeof(buf), "%s:defaults.fs", ctx->name);
	pol->fs_default.rule = policy_arena_strdup(&pol->arena, buf);
	pol->fs_default.reason = "the default for files";
	pol->fs_default.rule_index = -1;
	pol->net_default.decision = DECISION_HOLD;
	snprintf(buf, sizeof(buf), "%s:defaults.net", ctx->name);
	pol->net_default.rule = policy_arena_strdup(&pol->arena, buf);
	pol->net_default.reason = "the default for the network";
	pol->net_default.rule_index = -1;
	st->hold_timeout_ms = DEFAULT_HOLD_TIMEOUT_MS;
	st->review_timeout_ms = DEFAULT_REVIEW_TIMEOUT_MS;
	st->otlp_logs = 1;
	st->tls_sni_check = 1;
	st->proxy_auth = PROXY_AUTH_OFF;
}

struct policy *
policy_load_buffer(
    const char *name, const char *buf, size_t len, struct policy_error *err)
{
	static uint64_t next_id;
	struct load_ctx ctx;
	struct ynode *root;
	struct policy *pol = NULL;
	char **empty;

	memset(err, 0, sizeof(*err));
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = name;
	ctx.err = err;
	policy_arena_init(&ctx.tree);
	if (len > POLICY_MAX_BYTES) {
		load_fail(&ctx, 0, 0, "policy is larger than %d bytes",
		    POLICY_MAX_BYTES);
		goto out;
	}
	if (load_parse_tree(&ctx, buf, len, &root) != 0)
		goto out;
	pol = xcalloc(1, sizeof(*pol));
	policy_arena_init(&pol->arena);
	ctx.pol = pol;
	pol->name = policy_arena_strdup(&pol->arena, name);
	load_set_defaults(&ctx);
	if (load_top(&ctx, root) != 0) {
		policy_free(pol);
		pol = NULL;
		goto out;
	}
	if (pol->registries == NULL) {
		empty = policy_arena_array(&pol->arena, 1, sizeof(*empty));
		pol->registries = empty;
	}
	load_hash_source(pol, buf, len);
	pol->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	policy_eval_prepare(pol);
out:
	policy_arena_free(&ctx.tree);
	return pol;
}

struct policy *
policy_load_file(const char *path, struct policy_error *err)
{
	struct load_ctx ctx;
	struct policy *pol = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 65536;
	ssize_t n;
	int fd;

	memset(err, 0, sizeof(*err));
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = path;
	ctx.err = err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		load_fail(&ctx, 0, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > POLICY_MAX_BYTES) {
				load_fail(&ctx, 0, 0,
				    "policy is larger than "
				    "%d bytes",
				    POLICY_MAX_BYTES);
				goto out;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			load_fail(
			    &ctx, 0, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	pol = policy_load_buffer(path, buf, len, err);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return pol;
}

const char *
policy_default_text(size_t *len)
{
	if (len != NULL)
		*len = airlock_default_policy_len;
	return airlock_default_policy;
}

struct policy *
policy_load_default(struct policy_error *err)
{
	return policy_load_buffer(DEFAULT_POLICY_NAME, airlock_default_policy,
	    airlock_default_policy_len, err);
}

void
policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	policy_arena_free(&pol->arena);
	free(pol);
}

struct policy *
policy_load(const char *path, struct policy_error *err)
{
	memset(err, 0, sizeof *err);
	return path != NULL ? policy_load_file(path, err)
	                    : policy_load_default(err);
}
