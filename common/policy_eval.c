/*
 * policy_eval: first match wins, then the domain's default.
 *
 * Nothing here allocates, locks or touches YAML: a compiled policy is read
 * only, so any number of threads may evaluate against it at once.  Input
 * that breaks the callers' contract (a path with "..", an over-long host
 * name, an unknown operation) is denied by a built-in rule rather than
 * matched loosely: a decision path never fails open.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "policy_priv.h"

static const char *const decision_names[] = { "allow", "hold", "deny" };
static const char *const fs_op_names[] = { "read", "write", "create", "delete",
	"rename", "chmod", "link", "xattr" };

const char *
policy_decision_name(enum decision d)
{
	if ((unsigned)d < sizeof(decision_names) / sizeof(decision_names[0]))
		return decision_names[d];
	return "deny";
}

static int
fs_op_index(enum fs_op op)
{
	unsigned v = (unsigned)op;

	if (v == 0 || (v & (v - 1)) != 0 || v > FS_OP_XATTR)
		return -1;
	return __builtin_ctz(v);
}

const char *
policy_fs_op_name(enum fs_op op)
{
	int i = fs_op_index(op);

	return i < 0 ? "unknown" : fs_op_names[i];
}

int
policy_fs_op_parse(const char *name, enum fs_op *out)
{
	size_t i;

	for (i = 0; i < sizeof(fs_op_names) / sizeof(fs_op_names[0]); i++) {
		if (strcmp(name, fs_op_names[i]) == 0) {
			*out = (enum fs_op)(1u << i);
			return 0;
		}
	}
	return -1;
}

const char *
policy_source_hash(const struct policy *pol)
{
	return pol->source_hash;
}

const char *
policy_source_name(const struct policy *pol)
{
	return pol->name;
}

const struct policy_settings *
policy_settings(const struct policy *pol)
{
	return &pol->settings;
}

char *const *
policy_registries(const struct policy *pol)
{
	return pol->registries;
}

const struct policy_outside_rule *
policy_fs_outside(const struct policy *pol, size_t *n)
{
	*n = pol->n_outside;
	return pol->n_outside > 0 ? pol->outside : NULL;
}

int
policy_fs_checks_reads(const struct policy *pol)
{
	return pol->checks_reads;
}

/* File each fs rule under a key of each of its patterns, or "always". */
static void
prepare_fs_index(struct policy *pol)
{
	const char *key;
	size_t i, k, len;
	char kind;

	index_init(&pol->fs_index);
	for (i = 0; i < pol->n_fs; i++) {
		struct fs_rule *r = &pol->fs[i];

		for (k = 0; k < r->n_globs; k++)
			if (glob_index_key(&r->globs[k], &kind, &key, &len) !=
			    0)
				break;
		if (k < r->n_globs) {
			index_add_always(&pol->fs_index, (uint32_t)i);
			continue;
		}
		for (k = 0; k < r->n_globs; k++) {
			glob_index_key(&r->globs[k], &kind, &key, &len);
			index_add(&pol->fs_index, kind, key, len, (uint32_t)i);
		}
	}
	/* For policy_eval_fs_below(): a pattern whose first component is a
	 * literal name reaches only below that name (or the root). */
	for (i = 0; i < pol->n_fs; i++) {
		struct fs_rule *r = &pol->fs[i];

		for (k = 0; k < r->n_globs; k++) {
			const struct glob_comp *c = &r->globs[k].comps[0];

			if (!c->is_globstar && c->is_literal)
				index_add(&pol->fs_index, INDEX_BELOW, c->lit,
				    c->len, (uint32_t)i);
			else
				index_add(&pol->fs_index, INDEX_BELOW, "", 0,
				    (uint32_t)i);
		}
	}
	index_build(&pol->fs_index, &pol->arena);
}

/* Net rules: by exact host, by parent domain, by "has CIDRs", or always. */
static void
prepare_net_index(struct policy *pol)
{
	size_t i, k;

	index_init(&pol->net_index);
	for (i = 0; i < pol->n_net; i++) {
		const struct net_rule *r = &pol->net[i];
		int is_always = !r->has_target;

		for (k = 0; k < r->n_hosts; k++)
			if (r->hosts[k].kind == HOST_ANY)
				is_always = 1;
		if (is_always) {
			index_add_always(&pol->net_index, (uint32_t)i);
			continue;
		}
		for (k = 0; k < r->n_hosts; k++) {
			const struct host_pat *h = &r->hosts[k];

			if (h->kind == HOST_EXACT)
				index_add(&pol->net_index, INDEX_HOST, h->name,
				    h->len, (uint32_t)i);
			else {
				/* ".example.com" is filed as "example.com". */
				index_add(&pol->net_index, INDEX_PARENT,
				    h->name + 1, h->len - 1, (uint32_t)i);
				pol->has_parent_keys = 1;
			}
		}
		if (r->n_cidrs > 0)
			index_add(
			    &pol->net_index, INDEX_ADDR, "", 0, (uint32_t)i);
	}
	index_build(&pol->net_index, &pol->arena);
}

void
policy_eval_prepare(struct policy *pol)
{
	size_t i;

	prepare_fs_index(pol);
	prepare_net_index(pol);
	/* Reads need a decision when any rule naming reads, or the default,
	 * is something other than allow. */
	pol->checks_reads = pol->fs_default.decision != DECISION_ALLOW;
	for (i = 0; i < pol->n_fs; i++)
		if (pol->fs[i].n_globs > 0 && (pol->fs[i].ops & FS_OP_READ) &&
		    pol->fs[i].action != DECISION_ALLOW)
			pol->checks_reads = 1;
}

static void
verdict_builtin(struct policy_verdict *out, enum decision d, const char *rule,
    const char *reason)
{
	out->decision = d;
	out->rule = rule;
	out->reason = reason;
	out->rule_index = -1;
}

/* The contract says callers pass clean relative paths; anything else is
 * denied so that no spelling of a path can step around a rule. */
static int
fs_path_is_clean(const char *path, size_t len)
{
	const char *p = path, *end = path + len, *dot;

	if (len > 0 && path[0] == '/')
		return 0;
	while ((dot = memchr(p, '.', (size_t)(end - p))) != NULL) {
		int at_start = dot == path || dot[-1] == '/';
		size_t n = 1;

		if (dot + 1 < end && dot[1] == '.')
			n = 2;
		if (at_start && (dot + n == end || dot[n] == '/'))
			return 0;
		p = dot + n;
	}
	return memchr(path, '\0', len) == NULL;
}

static int
fs_rule_match(const struct fs_rule *r, const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < r->n_globs; i++)
		if (glob_match(&r->globs[i], path, len))
			break;
	if (i == r->n_globs)
		return 0;
	for (i = 0; i < r->n_excepts; i++)
		if (glob_match(&r->excepts[i], path, len))
			return 0;
	return 1;
}

static void
verdict_rule(struct policy_verdict *out, enum decision d, const char *rule,
    const char *reason, size_t index)
{
	out->decision = d;
	out->rule = rule;
	out->reason = reason;
	out->rule_index = (int)index;
}

/* Check what every caller-supplied path must be; 0 when fine. */
static int
fs_request_bad(
    enum fs_op op, const char *path, size_t *len, struct policy_verdict *out)
{
	if (fs_op_index(op) < 0) {
		verdict_builtin(out, DECISION_DENY, "builtin:bad-request",
		    "unknown file operation");
		return 1;
	}
	while (*len > 0 && path[*len - 1] == '/')
		(*len)--;
	if (!fs_path_is_clean(path, *len)) {
		verdict_builtin(out, DECISION_DENY, "builtin:bad-request",
		    "path is not relative to the project root");
		return 1;
	}
	return 0;
}

void
policy_eval_fs_linear(const struct policy *pol, enum fs_op op, const char *path,
    size_t len, struct policy_verdict *out)
{
	const struct fs_rule *r;
	size_t i;

	if (fs_request_bad(op, path, &len, out))
		return;
	for (i = 0; i < pol->n_fs; i++) {
		r = &pol->fs[i];
		if ((r->ops & op) && fs_rule_match(r, path, len)) {
			verdict_rule(out, r->action, r->rule, r->reason, i);
			return;
		}
	}
	*out = pol->fs_default;
}

/* The rules that may match path, in rule order: the lists under its keys
 * and the "always" list.  0, or -1 when a list did not fit (walk all). */
static int
fs_candidates(const struct policy *pol, const char *path, size_t len,
    struct index_merge *m)
{
	const char *base, *dot;
	size_t first_len, depth;

	index_merge_init(m);
	if (len > 0) {
		/* "a", "a/b", ... up to INDEX_DIR_DEPTH components. */
		for (depth = 0, first_len = 0;
		     depth < INDEX_DIR_DEPTH && first_len < len; depth++) {
			const char *slash = memchr(
			    path + first_len + 1, '/', len - first_len - 1);

			first_len =
			    slash != NULL ? (size_t)(slash - path) : len;
			index_merge_add(m,
			    index_lookup(
			        &pol->fs_index, INDEX_FIRST, path, first_len));
		}
		base = memrchr(path, '/', len);
		base = base != NULL ? base + 1 : path;
		index_merge_add(m,
		    index_lookup(&pol->fs_index, INDEX_BASE, base,
		        (size_t)(path + len - base)));
		if (path + len - base >= INDEX_BASE_PREFIX_LEN)
			index_merge_add(m,
			    index_lookup(&pol->fs_index, INDEX_BASE_PREFIX,
			        base, INDEX_BASE_PREFIX_LEN));
		dot = memrchr(base, '.', (size_t)(path + len - base));
		if (dot != NULL)
			index_merge_add(m,
			    index_lookup(&pol->fs_index, INDEX_EXT, dot + 1,
			        (size_t)(path + len - dot - 1)));
	}
	index_merge_add(m,
	    (struct index_list){
	        pol->fs_index.always, pol->fs_index.n_always });
	return m->is_overflow ? -1 : 0;
}

void
policy_eval_fs(const struct policy *pol, enum fs_op op, const char *path,
    size_t len, struct policy_verdict *out)
{
	struct index_merge m;
	const struct fs_rule *r;
	uint32_t id;

	if (fs_request_bad(op, path, &len, out))
		return;
	if (fs_candidates(pol, path, len, &m) != 0) {
		policy_eval_fs_linear(pol, op, path, len, out);
		return;
	}
	while ((id = index_next(&m)) != UINT32_MAX) {
		r = &pol->fs[id];
		if ((r->ops & op) && fs_rule_match(r, path, len)) {
			verdict_rule(out, r->action, r->rule, r->reason, id);
			return;
		}
	}
	*out = pol->fs_default;
}

/* Keep the stricter of *best and (d, rule): the first one seen on a tie,
 * so that file order names the rule.  Returns 1 when it took the new one. */
static int
verdict_stricter(struct policy_verdict *best, int *has_best, enum decision d,
    const struct policy_verdict *v)
{
	if (*has_best && d <= best->decision)
		return 0;
	*best = *v;
	*has_best = 1;
	return 1;
}

/* The lowest operation in mask, for naming what decided. */
static enum fs_op
fs_op_lowest(unsigned mask)
{
	return (enum fs_op)(mask & -mask);
}

void
policy_eval_fs_ops(const struct policy *pol, unsigned ops, const char *path,
    size_t len, struct policy_verdict *out, enum fs_op *op)
{
	struct policy_verdict v;
	struct index_merge m;
	const struct fs_rule *r;
	unsigned left = ops, hit;
	uint32_t id = 0;
	size_t i = 0;
	int has = 0, is_linear;
	enum fs_op by = fs_op_lowest(ops);

	if (ops == 0 || (ops & ~(unsigned)FS_OP_ALL) != 0)
		by = (enum fs_op)0; /* denied as an unknown operation */
	if (fs_request_bad(by, path, &len, out))
		goto out;
	is_linear = fs_candidates(pol, path, len, &m) != 0;
	/* Each operation is decided by the first rule that names it and
	 * matches; once every operation is decided, later rules cannot
	 * change anything. */
	while (left != 0) {
		if (is_linear)
			id = i < pol->n_fs ? (uint32_t)i++ : UINT32_MAX;
		else
			id = index_next(&m);
		if (id == UINT32_MAX)
			break;
		r = &pol->fs[id];
		hit = r->ops & left;
		if (hit == 0 || !fs_rule_match(r, path, len))
			continue;
		left &= ~hit;
		verdict_rule(&v, r->action, r->rule, r->reason, id);
		if (verdict_stricter(out, &has, r->action, &v))
			by = fs_op_lowest(hit);
	}
	if (left != 0 &&
	    verdict_stricter(
	        out, &has, pol->fs_default.decision, &pol->fs_default))
		by = fs_op_lowest(left);
out:
	if (op != NULL)
		*op = by;
}

/* What rule r's patterns can match beneath path (GLOB_BELOW_*). */
static unsigned
fs_rule_below(const struct fs_rule *r, const char *path, size_t len,
    unsigned reach, const char **pattern)
{
	unsigned all = 0, one;
	size_t i;

	*pattern = NULL;
	for (i = 0; i < r->n_globs; i++) {
		one = glob_match_below(&r->globs[i], path, len);
		if ((one & reach) && *pattern == NULL)
			*pattern = r->globs[i].text;
		all |= one;
	}
	/* An exception may leave holes: then r covers nothing. */
	if (r->n_excepts > 0)
		all &= ~GLOB_BELOW_COVERS;
	return all;
}

void
policy_eval_fs_below(const struct policy *pol, unsigned ops, const char *path,
    size_t len, int how, struct policy_verdict *out, const char **pattern)
{
	struct policy_verdict v;
	struct index_merge m;
	const struct fs_rule *r;
	const char *slash, *pat, *best_pat = NULL;
	unsigned left = ops, hit, below;
	unsigned reach = how == POLICY_BELOW_ANCHORED ? GLOB_BELOW_ANCHORED
	                                              : GLOB_BELOW_REACH;
	uint32_t id = 0;
	size_t i = 0;
	int has = 0, is_linear = 1;

	if (ops == 0 || (ops & ~(unsigned)FS_OP_ALL) != 0) {
		fs_request_bad((enum fs_op)0, path, &len, out);
		goto out;
	}
	if (fs_request_bad(fs_op_lowest(ops), path, &len, out))
		goto out;
	if (len > 0) {
		/* Only patterns starting with path's first component, or
		 * with a wildcard, reach below it. */
		slash = memchr(path, '/', len);
		index_merge_init(&m);
		index_merge_add(&m,
		    index_lookup(&pol->fs_index, INDEX_BELOW, path,
		        slash != NULL ? (size_t)(slash - path) : len));
		index_merge_add(
		    &m, index_lookup(&pol->fs_index, INDEX_BELOW, "", 0));
		is_linear = m.is_overflow;
	}
	while (left != 0) {
		if (is_linear)
			id = i < pol->n_fs ? (uint32_t)i++ : UINT32_MAX;
		else
			id = index_next(&m);
		if (id == UINT32_MAX)
			break;
		r = &pol->fs[id];
		hit = r->ops & left;
		if (hit == 0 || r->n_globs == 0)
			continue;
		below = fs_rule_below(r, path, len, reach, &pat);
		if (below & reach) {
			verdict_rule(&v, r->action, r->rule, r->reason, id);
			if (verdict_stricter(out, &has, r->action, &v))
				best_pat = pat;
		}
		if (below & GLOB_BELOW_COVERS)
			left &= ~hit;
	}
	/* Ops no rule covers (or none reached: only free patterns covered
	 * them) may fall to the default somewhere beneath. */
	if ((left != 0 || !has) &&
	    verdict_stricter(
	        out, &has, pol->fs_default.decision, &pol->fs_default))
		best_pat = NULL;
out:
	if (pattern != NULL)
		*pattern = best_pat;
}

static int
port_match(const struct net_rule *r, uint16_t port)
{
	size_t i;

	if (r->n_ports == 0)
		return 1;
	for (i = 0; i < r->n_ports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return 1;
	return 0;
}

/*
 * Methods and URL paths are unknown inside a CONNECT tunnel.  A rule that
 * names them then matches only if it restricts (hold or deny): the tunnel
 * might carry the very request the rule is about, while an allow rule
 * cannot vouch for requests it does not see.
 */
static int
http_match(const struct net_rule *r, const char *method, const char *path)
{
	size_t i;

	if (r->n_methods > 0) {
		if (method == NULL) {
			if (r->action == DECISION_ALLOW)
				return 0;
		} else {
			for (i = 0; i < r->n_methods; i++)
				if (strcasecmp(method, r->methods[i]) == 0)
					break;
			if (i == r->n_methods)
				return 0;
		}
	}
	if (r->n_paths > 0) {
		if (path == NULL) {
			if (r->action == DECISION_ALLOW)
				return 0;
		} else {
			for (i = 0; i < r->n_paths; i++)
				if (strncmp(path, r->paths[i],
				        r->path_lens[i]) == 0)
					break;
			if (i == r->n_paths)
				return 0;
		}
	}
	return 1;
}

static int
cidrs_match(const struct net_rule *r, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < r->n_cidrs; i++)
		if (cidr_match(&r->cidrs[i], family, addr))
			return 1;
	return 0;
}

static int
target_match(const struct net_rule *r, const char *name, size_t len, int family,
    const uint8_t *addr)
{
	size_t i;

	if (!r->has_target)
		return 1;
	for (i = 0; i < r->n_hosts; i++) {
		/* Name patterns do not apply to an address, but "*" does. */
		if (family != 0 && r->hosts[i].kind != HOST_ANY)
			continue;
		if (host_match(&r->hosts[i], name, len))
			return 1;
	}
	return family != 0 && cidrs_match(r, family, addr);
}

/* The normalised host and, for an IP literal, its address. */
struct net_subject {
	char name[POLICY_HOST_MAX];
	size_t len;
	int family; /* 0 for a name */
	uint8_t addr[16];
};

static int
net_subject_make(const struct net_request *req, struct net_subject *sub,
    struct policy_verdict *out)
{
	int len;

	if (req->host == NULL ||
	    (len = host_normalize(req->host, sub->name, sizeof(sub->name))) <
	        0) {
		verdict_builtin(out, DECISION_DENY, "builtin:bad-request",
		    "host name is empty or too long");
		return -1;
	}
	sub->len = (size_t)len;
	sub->family = ip_parse_literal(req->host, sub->addr);
	return 0;
}

static int
net_rule_match(const struct net_rule *r, const struct net_subject *sub,
    const struct net_request *req)
{
	return port_match(r, req->port) &&
	    target_match(r, sub->name, sub->len, sub->family, sub->addr) &&
	    http_match(r, req->method, req->path);
}

void
policy_eval_net_linear(const struct policy *pol, const struct net_request *req,
    struct policy_verdict *out)
{
	struct net_subject sub;
	size_t i;

	if (net_subject_make(req, &sub, out) != 0)
		return;
	for (i = 0; i < pol->n_net; i++) {
		const struct net_rule *r = &pol->net[i];

		if (net_rule_match(r, &sub, req)) {
			verdict_rule(out, r->action, r->rule, r->reason, i);
			return;
		}
	}
	*out = pol->net_default;
}

void
policy_eval_net(const struct policy *pol, const struct net_request *req,
    struct policy_verdict *out)
{
	const struct policy_index *ix = &pol->net_index;
	struct net_subject sub;
	struct index_merge m;
	const char *p;
	uint32_t id;

	if (net_subject_make(req, &sub, out) != 0)
		return;
	index_merge_init(&m);
	if (sub.family != 0)
		index_merge_add(&m, index_lookup(ix, INDEX_ADDR, "", 0));
	else {
		index_merge_add(
		    &m, index_lookup(ix, INDEX_HOST, sub.name, sub.len));
		/* Every parent domain: "a.b.example.com" looks up
		 * "b.example.com", "example.com" and "com". */
		for (p = sub.name; pol->has_parent_keys &&
		     (p = memchr(p, '.', sub.len - (size_t)(p - sub.name))) !=
		         NULL;) {
			p++;
			index_merge_add(&m,
			    index_lookup(ix, INDEX_PARENT, p,
			        sub.len - (size_t)(p - sub.name)));
		}
	}
	index_merge_add(&m, (struct index_list){ ix->always, ix->n_always });
	if (m.is_overflow) {
		policy_eval_net_linear(pol, req, out);
		return;
	}
	while ((id = index_next(&m)) != UINT32_MAX) {
		const struct net_rule *r = &pol->net[id];

		if (net_rule_match(r, &sub, req)) {
			verdict_rule(out, r->action, r->rule, r->reason, id);
			return;
		}
	}
	*out = pol->net_default;
}

/* Addresses no agent needs to reach directly (see policy.h). */
static const struct cidr special_v4[] = {
	{ AF_INET, { 0 }, 8 }, /* "this" network */
	{ AF_INET, { 10 }, 8 }, /* RFC 1918 */
	{ AF_INET, { 100, 64 }, 10 }, /* CGNAT */
	{ AF_INET, { 127 }, 8 }, /* loopback */
	{ AF_INET, { 169, 254 }, 16 }, /* link-local, metadata */
	{ AF_INET, { 172, 16 }, 12 }, /* RFC 1918 */
	{ AF_INET, { 192, 0, 0 }, 24 }, /* IETF protocol assignments */
	{ AF_INET, { 192, 0, 2 }, 24 }, /* documentation */
	{ AF_INET, { 192, 88, 99 }, 24 }, /* 6to4 relay anycast */
	{ AF_INET, { 192, 168 }, 16 }, /* RFC 1918 */
	{ AF_INET, { 198, 18 }, 15 }, /* benchmarking */
	{ AF_INET, { 198, 51, 100 }, 24 }, /* documentation */
	{ AF_INET, { 203, 0, 113 }, 24 }, /* documentation */
	{ AF_INET, { 224 }, 4 }, /* multicast */
	{ AF_INET, { 240 }, 4 }, /* reserved, broadcast */
};

static const struct cidr special_v6[] = {
	{ AF_INET6, { 0 }, 128 }, /* :: */
	{ AF_INET6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	    128 }, /* ::1 */
	{ AF_INET6, { 0x01, 0x00 }, 64 }, /* discard */
	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, /* doc */
	{ AF_INET6, { 0x20, 0x01, 0x00, 0x02, 0, 0 }, 48 }, /* bench */
	{ AF_INET6, { 0xfc }, 7 }, /* ULA */
	{ AF_INET6, { 0xfe, 0x80 }, 10 }, /* link-local */
	{ AF_INET6, { 0xfe, 0xc0 }, 10 }, /* site-local */
	{ AF_INET6, { 0xff }, 8 }, /* multicast */
};

static int
addr_is_special_v4(const uint8_t *a4)
{
	size_t i;

	for (i = 0; i < sizeof(special_v4) / sizeof(special_v4[0]); i++)
		if (cidr_match(&special_v4[i], AF_INET, a4))
			return 1;
	return 0;
}

static int
addr_is_special(int family, const uint8_t *addr)
{
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t compat[12] = { 0 };
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	size_t i;

	if (family == AF_INET)
		return addr_is_special_v4(addr);
	/* IPv6 forms that carry an IPv4 address reach that address. */
	if (memcmp(addr, mapped, 12) == 0 || memcmp(addr, nat64, 12) == 0 ||
	    memcmp(addr, compat, 12) == 0)
		return addr_is_special_v4(addr + 12) ||
		    memcmp(addr, compat, 16) == 0;
	if (addr[0] == 0x20 && addr[1] == 0x02) /* 6to4 */
		return addr_is_special_v4(addr + 2);
	for (i = 0; i < sizeof(special_v6) / sizeof(special_v6[0]); i++)
		if (cidr_match(&special_v6[i], AF_INET6, addr))
			return 1;
	return 0;
}

void
policy_eval_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, struct policy_verdict *out)
{
	policy_eval_addr_http(pol, sa, port, NULL, NULL, out);
}

void
policy_eval_addr_http(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char *method, const char *path,
    struct policy_verdict *out)
{
	const struct net_rule *r;
	uint8_t addr[16];
	int family;
	size_t i;

	if (sa == NULL) {
		verdict_builtin(
		    out, DECISION_DENY, "builtin:bad-request", "no address");
		return;
	}
	family = sa->sa_family;
	if (family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else {
		verdict_builtin(out, DECISION_DENY, "builtin:bad-request",
		    "not an IP address");
		return;
	}
	for (i = 0; i < pol->n_net; i++) {
		r = &pol->net[i];
		if (r->n_cidrs == 0 || !port_match(r, port) ||
		    !cidrs_match(r, family, addr) ||
		    !http_match(r, method, path))
			continue;
		out->decision = r->action;
		out->rule = r->rule;
		out->reason = r->reason;
		out->rule_index = (int)i;
		return;
	}
	if (addr_is_special(family, addr))
		verdict_builtin(out, DECISION_DENY, "builtin:special-addresses",
		    "loopback, private, link-local and other special "
		    "addresses are closed unless a cidrs: rule opens them");
	else
		verdict_builtin(
		    out, DECISION_ALLOW, "builtin:public-address", "");
}

int
policy_tls_intercepts(const struct policy *pol, const char *host)
{
	char name[POLICY_HOST_MAX];
	int len;
	size_t i;

	if (pol->n_intercept == 0 || host == NULL ||
	    (len = host_normalize(host, name, sizeof(name))) < 0)
		return 0;
	for (i = 0; i < pol->n_intercept; i++)
		if (host_match(&pol->intercept[i], name, (size_t)len))
			return 1;
	return 0;
}

const struct policy_secret *
policy_secrets(const struct policy *pol, size_t *n)
{
	*n = pol->n_secrets;
	return pol->n_secrets > 0 ? pol->secrets : NULL;
}

int
policy_secret_host(const struct policy *pol, size_t i, const char *host)
{
	char name[POLICY_HOST_MAX];
	int len;
	size_t j;

	if (i >= pol->n_secrets || host == NULL ||
	    (len = host_normalize(host, name, sizeof(name))) < 0)
		return 0;
	for (j = 0; j < pol->secret_hosts[i].n; j++)
		if (host_match(
		        &pol->secret_hosts[i].pats[j], name, (size_t)len))
			return 1;
	return 0;
}
