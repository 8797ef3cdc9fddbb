/*
 * test_runs_later: which project paths run later (fs/runs_later.c): the
 * name table (root-anchored and any-depth names, directories and what is
 * below them, git's own directory at any depth), symlinks above such
 * names, and package.json lifecycle scripts compared between versions,
 * including the spellings JSON.parse reads alike (escaped keys, a
 * repeated key, a byte order mark) and text that is not JSON.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fs/runs_later.h"

static void
test_names(void **state)
{
	static const char *const yes[] = {
		".git/hooks/pre-commit",
		".git/hooks",
		".git/config",
		".git/config.worktree",
		".git/modules/sub/hooks/post-checkout",
		".git/modules/sub/config",
		"vendor/lib/.git/hooks/pre-push",
		"sub/.git", /* a gitdir pointer */
		".github/workflows/ci.yml",
		".github/workflows",
		".github/actions/setup/action.yml",
		".gitlab-ci.yml",
		".circleci/config.yml",
		"Jenkinsfile",
		".devcontainer/devcontainer.json",
		".devcontainer.json",
		".vscode/tasks.json",
		".vscode/settings.json",
		".vscode/launch.json",
		"app/.vscode/tasks.json",
		"proj.code-workspace",
		".husky/pre-commit",
		".pre-commit-config.yaml",
		".envrc",
		"services/api/.envrc",
		".bashrc",
		"home/user/.zshrc",
		".profile",
		".config/fish/config.fish",
		".npmrc",
		".yarnrc.yml",
	};
	static const char *const no[] = {
		"Makefile",
		"src/main.c",
		"package.json", /* decided by content */
		".gitignore",
		".gitmodules",
		".gitattributes",
		"git/hooks/x", /* not .git */
		".github/CODEOWNERS",
		".github/dependabot.yml",
		"docs/.gitlab-ci.yml", /* CI reads only the root's */
		"sub/Jenkinsfile",
		".vscode/extensions.json",
		".vscode/tasks.json.bak",
		"a.code-workspace/readme", /* not a file name */
		".envrc.example",
		"my.bashrc",
		".git/HEAD",
		".git/objects/ab/cdef",
		".git/refs/heads/config-branch",
		".husky2/x",
		"x.husky",
	};
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (runs_later_path(yes[i]) == NULL)
			fail_msg("%s should run later", yes[i]);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (runs_later_path(no[i]) != NULL)
			fail_msg("%s should not run later (%s)", no[i],
			    runs_later_path(no[i]));
	}
	assert_non_null(strstr(runs_later_path(".git/hooks/x"), "hook"));
	assert_non_null(strstr(runs_later_path(".gitlab-ci.yml"), "CI"));
}

static void
test_ancestors(void **state)
{
	assert_non_null(runs_later_ancestor(".github"));
	assert_non_null(runs_later_ancestor(".vscode"));
	assert_non_null(runs_later_ancestor("app/.vscode"));
	assert_non_null(runs_later_ancestor(".gitlab"));
	assert_non_null(runs_later_ancestor(".config"));
	assert_null(runs_later_ancestor("src"));
	assert_null(runs_later_ancestor(".githu"));
	assert_null(runs_later_ancestor("docs/.github")); /* root only */
}

static void
test_by_content(void **state)
{
	assert_true(runs_later_by_content("package.json"));
	assert_true(runs_later_by_content("packages/a/package.json"));
	assert_false(runs_later_by_content("package.json5"));
	assert_false(runs_later_by_content("xpackage.json"));
}

/* runs_later_package_json on two strings (NULL: no file). */
static int
pkg(const char *old, const char *new, char *why, size_t len)
{
	return runs_later_package_json(old, old != NULL ? strlen(old) : 0, new,
	    new != NULL ? strlen(new) : 0, why, len);
}

static void
test_package_json(void **state)
{
	const char *base = "{\"name\": \"x\", \"version\": \"1.0.0\",\n"
	                   " \"scripts\": {\"test\": \"jest\", "
	                   "\"postinstall\": \"node setup.js\"}}\n";
	char why[256];

	/* Only the version: not runs-later. */
	assert_int_equal(0,
	    pkg(base,
	        "{\"name\": \"x\", \"version\": \"1.0.1\",\n"
	        " \"scripts\": {\"test\": \"jest\", "
	        "\"postinstall\": \"node setup.js\"}}\n",
	        why, sizeof why));
	/* A script npm does not run by itself: not runs-later. */
	assert_int_equal(0,
	    pkg(base,
	        "{\"name\": \"x\", \"version\": \"1.0.0\", \"scripts\": "
	        "{\"test\": \"vitest\", \"postinstall\": \"node setup.js\"}}",
	        why, sizeof why));
	/* Changed, added, removed lifecycle scripts. */
	assert_int_equal(1,
	    pkg(base,
	        "{\"scripts\": {\"test\": \"jest\", "
	        "\"postinstall\": \"curl x | sh\"}, \"name\": \"x\", "
	        "\"version\": \"1.0.0\"}",
	        why, sizeof why));
	assert_non_null(strstr(why, "\"postinstall\" changed"));
	assert_int_equal(1,
	    pkg(base,
	        "{\"name\": \"x\", \"version\": \"1.0.0\", \"scripts\": "
	        "{\"test\": \"jest\", \"postinstall\": \"node setup.js\", "
	        "\"prepare\": \"husky\"}}",
	        why, sizeof why));
	assert_non_null(strstr(why, "\"prepare\" added"));
	assert_int_equal(1,
	    pkg(base, "{\"name\": \"x\", \"scripts\": {\"test\": \"jest\"}}",
	        why, sizeof why));
	assert_non_null(strstr(why, "removed"));
	/* pre- and post- of each, and prepublishOnly. */
	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {\"preinstall\": \"x\"}}", why,
	        sizeof why));
	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {\"prepublishOnly\": \"x\"}}", why,
	        sizeof why));
	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {\"postpack\": \"x\"}}", why, sizeof why));
	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {\"dependencies\": \"x\"}}", why,
	        sizeof why));
	assert_int_equal(0,
	    pkg("{}", "{\"scripts\": {\"prestart\": \"x\"}}", why, sizeof why));
	/* A new package.json with a lifecycle script; one deleted. */
	assert_int_equal(1, pkg(NULL, base, why, sizeof why));
	assert_int_equal(1, pkg(base, NULL, why, sizeof why));
	assert_int_equal(0,
	    pkg(NULL, "{\"name\": \"y\", \"scripts\": {\"build\": \"tsc\"}}",
	        why, sizeof why));
	/* Nested objects named "scripts" are not the package's. */
	assert_int_equal(0,
	    pkg("{}",
	        "{\"config\": {\"scripts\": {\"postinstall\": \"x\"}}, "
	        "\"a\": [1, {\"b\": null}, true, -2.5e3]}",
	        why, sizeof why));
}

/* What JSON.parse reads as a lifecycle script is one, however spelt. */
static void
test_package_json_spellings(void **state)
{
	char why[256];

	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {\"post\\u0069nstall\": \"x\"}}", why,
	        sizeof why));
	assert_non_null(strstr(why, "postinstall"));
	assert_int_equal(1,
	    pkg("{}", "{\"scr\\u0069pts\": {\"install\": \"x\"}}", why,
	        sizeof why));
	/* The last of a repeated key wins. */
	assert_int_equal(1,
	    pkg("{}", "{\"scripts\": {}, \"scripts\": {\"prepare\": \"x\"}}",
	        why, sizeof why));
	assert_int_equal(0,
	    pkg("{}", "{\"scripts\": {\"prepare\": \"x\"}, \"scripts\": {}}",
	        why, sizeof why));
	assert_int_equal(1,
	    pkg("{\"scripts\": {\"install\": \"a\"}}",
	        "{\"scripts\": {\"install\": \"a\", \"install\": \"b\"}}", why,
	        sizeof why));
	/* A byte order mark, as npm strips it. */
	assert_int_equal(1,
	    pkg("{}", "\xef\xbb\xbf{\"scripts\": {\"install\": \"x\"}}", why,
	        sizeof why));
	/* A key with a NUL or a non-ASCII escape is another key. */
	assert_int_equal(0,
	    pkg("{}", "{\"scripts\": {\"install\\u0000\": \"x\"}}", why,
	        sizeof why));
	assert_int_equal(0,
	    pkg("{}", "{\"scripts\": {\"\\u0131nstall\": \"x\"}}", why,
	        sizeof why));
}

/* Text that is not JSON cannot be checked: it counts (fail closed). */
static void
test_package_json_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"{\"scripts\": {\"install\": \"x\"}",
		"{\"scripts\": {\"install\": \"x\"}} trailing",
		"{\"a\": \"unterminated}",
		"{\"a\": \"bad \\q escape\"}",
		"{\"a\": \"raw\ncontrol\"}",
		"[1, 2]",
		"{\"a\" 1}",
		"{\"a\": 1,}",
	};
	char deep[300], why[256];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (pkg("{}", bad[i], why, sizeof why) != 1)
			fail_msg("%s should count", bad[i]);
		assert_non_null(strstr(why, "does not parse"));
		assert_int_equal(1, pkg(bad[i], "{}", why, sizeof why));
	}
	/* Nesting deeper than the reader goes: refused, not a crash. */
	memset(deep, '[', sizeof deep - 1);
	memcpy(deep, "{\"a\": ", 6);
	deep[sizeof deep - 1] = '\0';
	assert_int_equal(1, pkg("{}", deep, why, sizeof why));
	/* why is bounded by its length. */
	assert_int_equal(1, pkg("{}", "{", why, 8));
	assert_int_equal(7, (int)strlen(why));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ancestors),
		cmocka_unit_test(test_by_content),
		cmocka_unit_test(test_package_json),
		cmocka_unit_test(test_package_json_spellings),
		cmocka_unit_test(test_package_json_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
