/*
 * Glob matching (common/policy_match.c): anchored patterns, `*` within a
 * component and over dotfiles, `**` at the start, end and middle, trailing
 * slash, classes, escapes, the patterns refused, and a differential check
 * against a small recursive reference matcher and fnmatch(3).
 */
#include "config.h"

#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_arena.h"
#include "policy_match.h"
#define GLOB_RANDOM_SEED 12345
#include "glob_random.h"

static int
gm(const char *pattern, const char *path)
{
	struct policy_arena arena;
	struct glob g;
	char why[256];
	size_t at;
	int rc;

	policy_arena_init(&arena);
	if (glob_compile(&g, pattern, strlen(pattern), &arena, why, sizeof(why),
	        &at) != 0)
		fail_msg("pattern '%s' refused: %s", pattern, why);
	rc = glob_match(&g, path, strlen(path));
	policy_arena_free(&arena);
	return rc;
}

/* The refusal message of a bad pattern (static buffer), or NULL. */
static const char *
gerr(const char *pattern)
{
	static char why[256];
	struct policy_arena arena;
	struct glob g;
	size_t at;
	int rc;

	policy_arena_init(&arena);
	rc = glob_compile(
	    &g, pattern, strlen(pattern), &arena, why, sizeof(why), &at);
	policy_arena_free(&arena);
	return rc == 0 ? NULL : why;
}

#define MATCH(p, s) assert_true(gm(p, s))
#define NOMATCH(p, s) assert_false(gm(p, s))

static void
test_literal(void **state)
{
	MATCH("a/b", "a/b");
	NOMATCH("a/b", "a/bc");
	NOMATCH("a/b", "a");
	NOMATCH("a/b", "a/b/c");
	NOMATCH("a/b", "x/a/b"); /* anchored at the root */
	MATCH(".git/config", ".git/config");
	NOMATCH(".git/config", ".git/configx");
	NOMATCH("Makefile", "makefile"); /* case matters */
}

static void
test_star(void **state)
{
	MATCH("*.c", "main.c");
	MATCH("*.c", ".c");
	NOMATCH("*.c", "src/main.c"); /* `*` stays in one component */
	NOMATCH("*.c", "main.h");
	MATCH("src/*.c", "src/main.c");
	NOMATCH("src/*.c", "src/a/main.c");
	MATCH("*a*b*c", "xaybzc");
	NOMATCH("*a*b*c", "xaycb");
	MATCH("a*", "a");
	MATCH("*", "x");
	NOMATCH("*", "a/b");
	MATCH("*/*", "a/b");
	NOMATCH("*/*", "a");
}

/* `*` matches a leading dot: agents' secrets are dotfiles, so a rule
 * written as "*" or "**" must cover them. */
static void
test_dotfiles(void **state)
{
	MATCH("*", ".env");
	MATCH("*env", ".env");
	MATCH("**/*", "a/.hidden");
	MATCH("**", ".git/config");
	MATCH("?env", ".env");
	MATCH("**/.env*", ".env");
	MATCH("**/.env*", "a/b/.env.local");
	NOMATCH("**/.env*", "a/b/env");
	NOMATCH("[!.]*", ".env");
	MATCH("[!.]*", "env");
}

static void
test_question(void **state)
{
	MATCH("?.c", "a.c");
	NOMATCH("?.c", "ab.c");
	NOMATCH("?.c", ".c");
	NOMATCH("a?b", "a/b"); /* never a '/' */
}

static void
test_globstar_start(void **state)
{
	MATCH("**/x", "x");
	MATCH("**/x", "a/x");
	MATCH("**/x", "a/b/x");
	NOMATCH("**/x", "ax");
	NOMATCH("**/x", "x/a");
	MATCH("**/*.pem", "server.pem");
	MATCH("**/*.pem", "a/b/c/server.pem");
	NOMATCH("**/*.pem", "a/b/c/server.pem.txt");
}

static void
test_globstar_end(void **state)
{
	MATCH("a/**", "a");
	MATCH("a/**", "a/b");
	MATCH("a/**", "a/b/c");
	NOMATCH("a/**", "ab");
	NOMATCH("a/**", "b/a");
	MATCH(".git/hooks/**", ".git/hooks");
	MATCH(".git/hooks/**", ".git/hooks/pre-commit");
	NOMATCH(".git/hooks/**", ".git/hooksx/pre-commit");
	MATCH("**", "");
	MATCH("**", "a");
	MATCH("**", "a/b/c");
}

static void
test_globstar_middle(void **state)
{
	MATCH("a/**/b", "a/b");
	MATCH("a/**/b", "a/x/b");
	MATCH("a/**/b", "a/x/y/b");
	NOMATCH("a/**/b", "a/xb");
	NOMATCH("a/**/b", "ab");
	NOMATCH("a/**/b", "a/b/c");
	MATCH("**/a/**/b", "a/b");
	MATCH("**/a/**/b", "x/a/y/z/b");
	NOMATCH("**/a/**/b", "b/a");
	/* Needs the `**` to back up after a component matched too early. */
	MATCH("**/a/*/c", "a/a/x/c");
	MATCH("**/a/b", "a/a/a/b");
	MATCH("**/**/x", "x");
	MATCH("a/**/**/b", "a/b");
}

static void
test_trailing_slash(void **state)
{
	/* "dir/" is the directory and everything beneath it. */
	MATCH("build/", "build");
	MATCH("build/", "build/x/y");
	NOMATCH("build/", "builds");
	NOMATCH("build/", "x/build");
	MATCH("**/node_modules/", "a/node_modules/b");
}

static void
test_classes(void **state)
{
	MATCH("[abc].c", "b.c");
	NOMATCH("[abc].c", "d.c");
	MATCH("[a-c]x", "bx");
	NOMATCH("[a-c]x", "dx");
	MATCH("[!a-c]x", "dx");
	NOMATCH("[!a-c]x", "ax");
	MATCH("[^a-c]x", "dx");
	NOMATCH("[^a-c]x", "bx");
	MATCH("[]]x", "]x");
	MATCH("[!]]x", "ax");
	NOMATCH("[!]]x", "]x");
	MATCH("[a\\]]", "]");
	MATCH("[a-]", "-");
	MATCH("[0-9][0-9]", "42");
	NOMATCH("a[!x]b", "a/b"); /* a negated class never matches '/' */
	MATCH("id_[rde]*", "id_rsa");
	NOMATCH("id_[rde]*", "id_x");
}

static void
test_escapes(void **state)
{
	MATCH("\\*", "*");
	NOMATCH("\\*", "a");
	MATCH("a\\?b", "a?b");
	NOMATCH("a\\?b", "axb");
	MATCH("\\[x]", "[x]");
	NOMATCH("\\[x]", "x");
	MATCH("\\!x", "!x");
	MATCH("a\\\\b", "a\\b");
}

static void
test_refused(void **state)
{
	assert_non_null(gerr(""));
	assert_non_null(strstr(gerr("/etc/passwd"), "relative"));
	assert_non_null(strstr(gerr("a/../b"), "'..'"));
	assert_non_null(strstr(gerr(".."), "'..'"));
	assert_non_null(strstr(gerr("./a"), "'.'"));
	assert_non_null(strstr(gerr("a/./b"), "'.'"));
	assert_non_null(strstr(gerr("a//b"), "empty path component"));
	assert_non_null(strstr(gerr("[abc"), "unterminated"));
	assert_non_null(strstr(gerr("a[b/c]"), "unterminated"));
	assert_non_null(strstr(gerr("a\\"), "end with"));
	assert_non_null(strstr(gerr("a**"), "whole path component"));
	assert_non_null(strstr(gerr("**b"), "whole path component"));
	assert_non_null(strstr(gerr("a/***/b"), "whole path component"));
	assert_non_null(strstr(gerr("[z-a]"), "reversed"));
	assert_non_null(strstr(gerr("[[:alpha:]]"), "named classes"));
	assert_non_null(strstr(gerr("a\\/b"), "cannot be escaped"));
	/* Escaped dots still spell "..". */
	assert_non_null(strstr(gerr("a/\\.\\./b"), "'..'"));
	/* Fine: dots inside names. */
	assert_null(gerr("a/..b/c"));
	assert_null(gerr("...x"));
}

/* Pathological inputs finish (no exponential backtracking). */
static void
test_pathological(void **state)
{
	char path[4001], deep[3001];
	size_t i;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	NOMATCH("*a*a*a*a*a*a*a*a*a*b", path);
	MATCH("*a*a*a*a*a*a*a*a*a*a", path);
	for (i = 0; i + 1 < sizeof(deep); i += 2) {
		deep[i] = 'a';
		deep[i + 1] = '/';
	}
	deep[sizeof(deep) - 2] = '\0';
	NOMATCH("**/a/**/a/**/a/**/b", deep);
	MATCH("**/a/**/a/**/a/**/a", deep);
}

/* ---- differential: a recursive reference and fnmatch(3) ---- */

/* Reference for one component (bytes, no '/'), recursive. */
static int
ref_comp(const char *p, const char *pe, const char *s, const char *se)
{
	if (p == pe)
		return s == se;
	if (*p == '*')
		return ref_comp(p + 1, pe, s, se) ||
		    (s < se && ref_comp(p, pe, s + 1, se));
	if (s == se)
		return 0;
	if (*p == '?')
		return ref_comp(p + 1, pe, s + 1, se);
	if (*p == '[') { /* only [ab] and [!a] are generated */
		const char *q = memchr(p, ']', (size_t)(pe - p));
		int neg = p[1] == '!', in;

		in = memchr(p + 1 + neg, *s, (size_t)(q - p - 1 - neg)) != NULL;
		return in != neg && ref_comp(q + 1, pe, s + 1, se);
	}
	return *p == *s && ref_comp(p + 1, pe, s + 1, se);
}

static const char *
comp_end(const char *s)
{
	const char *e = strchr(s, '/');

	return e != NULL ? e : s + strlen(s);
}

/* Reference over components: p and s are '/'-separated; s may be "". */
static int
ref_path(const char *p, const char *s)
{
	const char *pe = comp_end(p), *se;

	if (*p == '\0')
		return *s == '\0';
	if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
		const char *rest = *pe == '/' ? pe + 1 : pe;

		if (ref_path(rest, s))
			return 1;
		if (*s == '\0')
			return 0;
		se = comp_end(s);
		return ref_path(p, *se == '/' ? se + 1 : se);
	}
	if (*s == '\0')
		return 0;
	se = comp_end(s);
	if (!ref_comp(p, pe, s, se))
		return 0;
	return ref_path(*pe ? pe + 1 : pe, *se ? se + 1 : se);
}

static void
random_glob(char *out, int with_globstar)
{
	size_t n = 0;
	int k = 1 + (int)(rng() % 4), i;

	for (i = 0; i < k; i++) {
		if (i > 0)
			out[n++] = '/';
		if (with_globstar && rng() % 3 == 0) {
			memcpy(out + n, "**", 2);
			n += 2;
		} else
			random_comp(out, &n, 1);
	}
	out[n] = '\0';
}

static void
random_path(char *out)
{
	size_t n = 0;
	int k = (int)(rng() % 5), i;

	for (i = 0; i < k; i++) {
		if (i > 0)
			out[n++] = '/';
		random_comp(out, &n, 0);
	}
	out[n] = '\0';
}

static int
comp_is_dots(const char *s)
{
	const char *p = s;

	for (;;) {
		const char *e = comp_end(p);

		if ((e - p == 1 && p[0] == '.') ||
		    (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

static void
test_differential(void **state)
{
	char pat[128], path[128];
	int i, checked = 0, fn_checked = 0;

	for (i = 0; i < 200000; i++) {
		int with_globstar = i % 2;

		random_glob(pat, with_globstar);
		random_path(path);
		if (comp_is_dots(pat) || (path[0] && comp_is_dots(path)) ||
		    gerr(pat) != NULL)
			continue;
		if (gm(pat, path) != ref_path(pat, path))
			fail_msg("glob '%s' path '%s': got %d", pat, path,
			    gm(pat, path));
		checked++;
		if (strstr(pat, "**") == NULL && path[0] != '\0') {
			int fn = fnmatch(pat, path, FNM_PATHNAME) == 0;

			if (gm(pat, path) != fn)
				fail_msg("glob '%s' path '%s': fnmatch %d", pat,
				    path, fn);
			fn_checked++;
		}
	}
	assert_true(checked > 100000);
	assert_true(fn_checked > 50000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_dotfiles),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_globstar_start),
		cmocka_unit_test(test_globstar_end),
		cmocka_unit_test(test_globstar_middle),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_pathological),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
