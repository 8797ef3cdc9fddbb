/*
 * What a rule can reach beneath a directory (common/policy_match.c
 * glob_match_below(), common/policy_eval.c policy_eval_fs_below() and
 * policy_eval_fs_ops()): differential checks against brute force over
 * every short name beneath a path, on random globs and random policies,
 * and the default policy's answers for the detours issue 7 names.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_priv.h"
#include "policy_testenv.h"
#define GLOB_RANDOM_SEED 2463534242u
#include "glob_random.h"

static int
is_dots(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Up to max_comps components, `**` one time in three. */
static void
random_glob(char *out, int max_comps)
{
	size_t n = 0;
	int k = 1 + (int)(rng() % (unsigned)max_comps), i;

	for (i = 0; i < k; i++) {
		if (i > 0)
			out[n++] = '/';
		if (rng() % 3 == 0) {
			memcpy(out + n, "**", 2);
			n += 2;
		} else {
			size_t start = n;

			random_comp(out, &n, 1);
			if (is_dots(out + start, n - start))
				out[n++] = 'a';
		}
	}
	out[n] = '\0';
}

/* A clean path of 1..3 components (no "." or ".."). */
static void
random_path(char *out)
{
	size_t n = 0, start;
	int k = 1 + (int)(rng() % 3), i;

	for (i = 0; i < k; i++) {
		if (i > 0)
			out[n++] = '/';
		start = n;
		random_comp(out, &n, 0);
		if (is_dots(out + start, n - start))
			out[n++] = 'a';
	}
	out[n] = '\0';
}

/* Every name of 1..3 bytes over "ab.", without "." and "..": each
 * component a random glob has is matched by one of them. */
static char names[64][4];
static size_t n_names;

static void
names_init(void)
{
	static const char abc[] = "ab.";
	size_t len, i, k, total;

	n_names = 0;
	for (len = 1; len <= 3; len++) {
		total = len == 1 ? 3 : len == 2 ? 9 : 27;
		for (i = 0; i < total; i++) {
			size_t v = i;

			for (k = 0; k < len; k++, v /= 3)
				names[n_names][k] = abc[v % 3];
			names[n_names][len] = '\0';
			if (!is_dots(names[n_names], len))
				n_names++;
		}
	}
}

/* Call fn on base/rest for every rest of 1..depth names; stop when fn
 * returns nonzero (and return that). */
static int
each_below(const char *base, int depth,
    int (*fn)(const char *path, const char *rest, void *arg), void *arg)
{
	char path[128];
	size_t bl = strlen(base), i, j, k;
	int rc;

	for (i = 0; i < n_names; i++) {
		for (j = 0; j <= (depth >= 2 ? n_names : 0); j++) {
			for (k = 0; k <= (depth >= 3 && j > 0 ? n_names : 0);
			     k++) {
				const char *b = j > 0 ? names[j - 1] : NULL;
				const char *c = k > 0 ? names[k - 1] : NULL;
				int n;

				n = snprintf(path, sizeof(path),
				    "%s%s%s%s%s%s%s", base, bl ? "/" : "",
				    names[i], b ? "/" : "", b ? b : "",
				    c ? "/" : "", c ? c : "");
				if (n < 0 || (size_t)n >= sizeof(path))
					continue;
				rc = fn(path, path + bl + (bl ? 1 : 0), arg);
				if (rc != 0)
					return rc;
			}
		}
	}
	return 0;
}

struct glob_probe {
	const struct glob *g;
	int is_free_start;
	int n_reach, n_anchored, n_all;
};

static int
probe_glob(const char *path, const char *rest, void *arg)
{
	struct glob_probe *p = arg;
	int m = glob_match(p->g, path, strlen(path));

	p->n_all++;
	if (m) {
		p->n_reach++;
		/* A match that a leading `**` alone could make matches rest
		 * too; one that cannot needs path's components. */
		if (!p->is_free_start || !glob_match(p->g, rest, strlen(rest)))
			p->n_anchored++;
	}
	return 0;
}

static void
test_glob_below_differential(void **state)
{
	struct policy_arena arena;
	char pat[128], path[128], why[128];
	struct glob g;
	size_t at;
	int i, checked = 0, n_reach = 0, n_cover = 0, n_anch = 0;

	names_init();
	for (i = 0; i < 250; i++) {
		struct glob_probe p;
		unsigned below;

		random_glob(pat, 3);
		random_path(path);
		policy_arena_init(&arena);
		if (glob_compile(&g, pat, strlen(pat), &arena, why, sizeof(why),
		        &at) != 0) {
			policy_arena_free(&arena);
			continue;
		}
		memset(&p, 0, sizeof(p));
		p.g = &g;
		p.is_free_start = g.comps[0].is_globstar;
		(void)each_below(path, 3, probe_glob, &p);
		below = glob_match_below(&g, path, strlen(path));
		if (((below & GLOB_BELOW_REACH) != 0) != (p.n_reach > 0))
			fail_msg("'%s' below '%s': reach %u, brute %d", pat,
			    path, below, p.n_reach);
		if ((below & GLOB_BELOW_COVERS) && p.n_reach != p.n_all)
			fail_msg("'%s' below '%s': covers, brute %d of %d", pat,
			    path, p.n_reach, p.n_all);
		if (p.n_anchored > 0 && !(below & GLOB_BELOW_ANCHORED))
			fail_msg("'%s' below '%s': anchored missed", pat, path);
		if ((below & GLOB_BELOW_ANCHORED) &&
		    !(below & GLOB_BELOW_REACH))
			fail_msg(
			    "'%s' below '%s': anchored, no reach", pat, path);
		/* And below the root, everything a pattern can match. */
		below = glob_match_below(&g, "", 0);
		assert_true(below & GLOB_BELOW_REACH);
		assert_false(below & GLOB_BELOW_ANCHORED);
		n_reach += p.n_reach > 0;
		n_cover += p.n_reach == p.n_all;
		n_anch += p.n_anchored > 0;
		checked++;
		policy_arena_free(&arena);
	}
	/* the generator yields every kind of answer */
	assert_true(checked > 150);
	assert_true(n_reach > 50 && n_reach < checked);
	assert_true(n_cover > 5 && n_anch > 10);
}

static struct policy *
load(const char *yaml)
{
	struct policy_error err;
	struct policy *pol =
	    policy_load_buffer("b.yaml", yaml, strlen(yaml), &err);

	if (pol == NULL)
		fail_msg("%s\n%s", err.text, yaml);
	return pol;
}

static const char *const op_names[] = { "read", "write", "create", "delete",
	"rename" };
static const char *const actions[] = { "allow", "hold", "deny" };

/* A random glob the compiler takes ("a**" is refused, for one). */
static void
random_good_glob(char *out)
{
	struct policy_arena arena;
	char why[128];
	struct glob g;
	size_t at;
	int rc;

	do {
		random_glob(out, 3);
		policy_arena_init(&arena);
		rc = glob_compile(
		    &g, out, strlen(out), &arena, why, sizeof(why), &at);
		policy_arena_free(&arena);
	} while (rc != 0);
}

/* A random policy: 1..5 rules over random globs, some exceptions. */
static struct policy *
random_policy(void)
{
	char yaml[4096], pat[128];
	size_t n = 0;
	int n_rules = 1 + (int)(rng() % 5), i, k, n_ops;

	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
	    "version: 1\ndefaults: {fs: %s, net: deny}\nfs:\n",
	    rng() % 4 == 0 ? "hold" : "allow");
	for (i = 0; i < n_rules; i++) {
		n += (size_t)snprintf(
		    yaml + n, sizeof(yaml) - n, "  - paths: [");
		for (k = 0; k < 1 + (int)(rng() % 2); k++) {
			random_good_glob(pat);
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
			    "%s\"%s\"", k ? ", " : "", pat);
		}
		if (rng() % 4 == 0) {
			random_good_glob(pat);
			n += (size_t)snprintf(
			    yaml + n, sizeof(yaml) - n, ", \"!%s\"", pat);
		}
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]\n");
		if (rng() % 3 != 0) {
			n += (size_t)snprintf(
			    yaml + n, sizeof(yaml) - n, "    ops: [");
			for (k = 0, n_ops = 0; k < 5; k++)
				if (rng() % 2 == 0 || (k == 4 && n_ops == 0))
					n += (size_t)snprintf(yaml + n,
					    sizeof(yaml) - n, "%s%s",
					    n_ops++ ? ", " : "", op_names[k]);
			n +=
			    (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]\n");
		}
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
		    "    action: %s\n", actions[rng() % 3]);
	}
	return load(yaml);
}

struct pol_probe {
	const struct policy *pol;
	unsigned ops;
	enum decision worst;
};

static int
probe_policy(const char *path, const char *rest, void *arg)
{
	struct pol_probe *p = arg;
	struct policy_verdict v;

	(void)rest;
	policy_eval_fs_ops(p->pol, p->ops, path, strlen(path), &v, NULL);
	if (v.decision > p->worst)
		p->worst = v.decision;
	return 0;
}

/* The reference: every rule, in order, without the index. */
static enum decision
ref_below(const struct policy *pol, unsigned ops, const char *path, int how)
{
	unsigned left = ops,
	         reach = how == POLICY_BELOW_ANCHORED ? GLOB_BELOW_ANCHORED
	                                              : GLOB_BELOW_REACH;
	enum decision worst = DECISION_ALLOW;
	int has = 0;
	size_t i, k;

	for (i = 0; i < pol->n_fs && left != 0; i++) {
		const struct fs_rule *r = &pol->fs[i];
		unsigned all = 0;

		if ((r->ops & left) == 0)
			continue;
		for (k = 0; k < r->n_globs; k++)
			all |=
			    glob_match_below(&r->globs[k], path, strlen(path));
		if (r->n_excepts > 0)
			all &= ~GLOB_BELOW_COVERS;
		if (all & reach) {
			has = 1;
			if (r->action > worst)
				worst = r->action;
		}
		if (all & GLOB_BELOW_COVERS)
			left &= ~r->ops;
	}
	if ((left != 0 || !has) && pol->fs_default.decision > worst)
		worst = pol->fs_default.decision;
	return worst;
}

static void
test_policy_ops_and_below(void **state)
{
	char path[128];
	int i, j, n_strict = 0, n_exact = 0;

	isolate_registries();
	names_init();
	for (i = 0; i < 80; i++) {
		struct policy *pol = random_policy();

		for (j = 0; j < 6; j++) {
			unsigned ops = 1 + rng() % 0x1f, op;
			struct policy_verdict v, one, below, anch;
			enum decision worst = DECISION_ALLOW;
			struct pol_probe p;
			enum fs_op by;

			random_path(path);
			/* ops: the strictest single-op answer, named */
			policy_eval_fs_ops(
			    pol, ops, path, strlen(path), &v, &by);
			for (op = 1; op <= ops; op <<= 1) {
				if (!(ops & op))
					continue;
				policy_eval_fs(pol, (enum fs_op)op, path,
				    strlen(path), &one);
				if (one.decision > worst)
					worst = one.decision;
			}
			assert_int_equal(v.decision, worst);
			assert_true(ops & (unsigned)by);
			policy_eval_fs(pol, by, path, strlen(path), &one);
			assert_int_equal(one.decision, v.decision);
			assert_ptr_equal(one.rule, v.rule);

			/* below: never laxer than any name beneath, and
			 * what the reference says */
			memset(&p, 0, sizeof(p));
			p.pol = pol;
			p.ops = ops;
			p.worst = DECISION_ALLOW;
			(void)each_below(path, 2, probe_policy, &p);
			policy_eval_fs_below(pol, ops, path, strlen(path),
			    POLICY_BELOW_ANY, &below, NULL);
			if (below.decision < p.worst)
				fail_msg("below '%s' ops %#x: %s, brute %s",
				    path, ops,
				    policy_decision_name(below.decision),
				    policy_decision_name(p.worst));
			assert_int_equal(below.decision,
			    ref_below(pol, ops, path, POLICY_BELOW_ANY));
			policy_eval_fs_below(pol, ops, path, strlen(path),
			    POLICY_BELOW_ANCHORED, &anch, NULL);
			assert_int_equal(anch.decision,
			    ref_below(pol, ops, path, POLICY_BELOW_ANCHORED));
			n_exact += below.decision == p.worst;
			n_strict += below.decision > p.worst;
		}
		policy_free(pol);
	}
	/* mostly exact; stricter only where short names do not reach */
	assert_true(n_exact > n_strict);
}

static void
test_default_policy(void **state)
{
	struct policy_error err;
	struct policy *pol;
	struct policy_verdict v;
	const char *pat;
	enum fs_op by;
	unsigned gone = FS_OP_RENAME | FS_OP_DELETE;

	isolate_registries();
	pol = policy_load_default(&err);
	assert_non_null(pol);

	/* renaming .git changes .git/hooks/... and .git/config */
	policy_eval_fs_below(pol, gone, ".git", 4, POLICY_BELOW_ANY, &v, &pat);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(pat, ".git/hooks/**");
	/* a symlink at .git or .github would redirect governed names */
	policy_eval_fs_below(
	    pol, FS_OP_CREATE, ".git", 4, POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_HOLD);
	policy_eval_fs_below(
	    pol, FS_OP_CREATE, ".github", 7, POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(pat, ".github/workflows/**");
	policy_eval_fs_below(pol, FS_OP_CREATE, "home/.config", 12,
	    POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_string_equal(pat, "**/.config/fish/**");
	/* ... but not one in an ordinary directory */
	policy_eval_fs_below(
	    pol, FS_OP_CREATE, "src", 3, POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_ALLOW);
	policy_eval_fs_below(pol, FS_OP_CREATE, "node_modules/.bin", 17,
	    POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_ALLOW);
	/* any directory may hold a .env: the walk decides those */
	policy_eval_fs_below(pol, gone, "src", 3, POLICY_BELOW_ANY, &v, &pat);
	assert_int_equal(v.decision, DECISION_HOLD);
	/* an ordinary file's rename is allowed for every op it implies */
	policy_eval_fs_ops(
	    pol, gone | FS_OP_CREATE | FS_OP_WRITE, "src/a.c", 7, &v, &by);
	assert_int_equal(v.decision, DECISION_ALLOW);
	policy_eval_fs_ops(pol, gone, ".git/hooks/pre-commit", 21, &v, &by);
	assert_int_equal(v.decision, DECISION_HOLD);
	assert_int_equal(by, FS_OP_DELETE);
	/* a bad mask or path denies */
	policy_eval_fs_ops(pol, 0, "src", 3, &v, NULL);
	assert_int_equal(v.decision, DECISION_DENY);
	policy_eval_fs_ops(pol, 0x100, "src", 3, &v, NULL);
	assert_int_equal(v.decision, DECISION_DENY);
	policy_eval_fs_below(
	    pol, FS_OP_CREATE, "a/../b", 6, POLICY_BELOW_ANCHORED, &v, NULL);
	assert_int_equal(v.decision, DECISION_DENY);
	policy_free(pol);
}

static void
test_cover_hides_later_rules(void **state)
{
	struct policy *pol;
	struct policy_verdict v;
	const char *pat;

	isolate_registries();
	pol = load("version: 1\ndefaults: {fs: allow, net: deny}\nfs:\n"
	           "  - paths: [\"vendor/**\"]\n    action: allow\n"
	           "  - paths: [\"**/*.pem\", \"secret/**\"]\n"
	           "    action: deny\n");
	policy_eval_fs_below(
	    pol, FS_OP_RENAME, "vendor/x", 8, POLICY_BELOW_ANY, &v, &pat);
	assert_int_equal(v.decision, DECISION_ALLOW);
	policy_eval_fs_below(
	    pol, FS_OP_RENAME, "src", 3, POLICY_BELOW_ANY, &v, &pat);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(pat, "**/*.pem");
	policy_eval_fs_below(
	    pol, FS_OP_RENAME, "src", 3, POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_ALLOW);
	policy_eval_fs_below(
	    pol, FS_OP_RENAME, "secret", 6, POLICY_BELOW_ANCHORED, &v, &pat);
	assert_int_equal(v.decision, DECISION_DENY);
	assert_string_equal(pat, "secret/**");
	policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_below_differential),
		cmocka_unit_test(test_policy_ops_and_below),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_cover_hides_later_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
