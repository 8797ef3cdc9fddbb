/*
 * The policy's secrets: section (common/policy_load.c, policy_eval.c):
 * what loads, every way a secret is refused (as file:line:column), and
 * which hosts may receive each one.
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

static struct policy *
load(const char *yaml, struct policy_error *err)
{
	return policy_load_buffer("s.yaml", yaml, strlen(yaml), err);
}

static void
test_secrets_load(void **state)
{
	static const char yaml[] =
	    "version: 1\n"
	    "secrets:\n"
	    "  - name: gh\n"
	    "    env: GH_TOKEN\n"
	    "    hosts: [api.forge.example.test, \"*.forge.example.test\"]\n"
	    "  - name: npm-token\n"
	    "    file: ~/.npmrc\n"
	    "    match: '_authToken=([^[:space:]]+)'\n"
	    "    hosts: [pkgs.example.test]\n"
	    "    body: true\n";
	struct policy_error err;
	const struct policy_secret *s;
	struct policy *pol = load(yaml, &err);
	char *text;
	size_t n;

	if (pol == NULL)
		fail_msg("%s", err.text);
	s = policy_secrets(pol, &n);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "gh");
	assert_string_equal(s[0].env, "GH_TOKEN");
	assert_null(s[0].file);
	assert_null(s[0].match);
	assert_int_equal(s[0].body, 0);
	assert_string_equal(s[0].rule, "s.yaml:3");
	assert_string_equal(s[0].hosts[0], "api.forge.example.test");
	assert_null(s[0].hosts[2]);
	assert_string_equal(s[1].file, "~/.npmrc");
	assert_string_equal(s[1].match, "_authToken=([^[:space:]]+)");
	assert_int_equal(s[1].body, 1);

	assert_true(policy_secret_host(pol, 0, "api.forge.example.test"));
	assert_true(policy_secret_host(pol, 0, "API.Forge.Example.Test."));
	assert_true(policy_secret_host(pol, 0, "raw.forge.example.test"));
	assert_false(policy_secret_host(pol, 0, "forge.example.test.evil"));
	assert_false(policy_secret_host(pol, 0, "pkgs.example.test"));
	assert_true(policy_secret_host(pol, 1, "pkgs.example.test"));
	assert_false(policy_secret_host(pol, 1, "api.forge.example.test"));
	assert_false(policy_secret_host(pol, 2, "pkgs.example.test"));
	assert_false(policy_secret_host(pol, 0, NULL));

	/* show names where a secret comes from, never a value. */
	text = policy_describe(pol);
	assert_non_null(strstr(text, "gh (s.yaml:3): from $GH_TOKEN"));
	assert_non_null(strstr(text, "also in request bodies"));
	free(text);
	policy_free(pol);
}

static void
test_no_secrets(void **state)
{
	struct policy_error err;
	struct policy *pol = load("version: 1\n", &err);
	size_t n = 7;

	assert_non_null(pol);
	assert_null(policy_secrets(pol, &n));
	assert_int_equal(n, 0);
	assert_false(policy_secret_host(pol, 0, "x.example.test"));
	policy_free(pol);
}

/* Each bad secret refuses the whole policy with file:line:column. */
static void
test_secrets_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "secrets: {}\n", "s.yaml:2:10: secrets must be" },
		{ "secrets:\n  - env: A\n    hosts: [h.example.test]\n",
		    "s.yaml:3:5: a secret needs a name:" },
		{ "secrets:\n  - name: a b\n    env: A\n    hosts: [h.test]\n",
		    "s.yaml:3:11: secret names are" },
		{ "secrets:\n  - name: a\n    hosts: [h.test]\n",
		    "s.yaml:3:5: secret 'a' takes exactly one of env: or "
		    "file:" },
		{ "secrets:\n  - name: a\n    env: A\n    file: /f\n"
		  "    hosts: [h.test]\n",
		    "takes exactly one of env: or file:" },
		{ "secrets:\n  - name: a\n    env: 1A\n    hosts: [h.test]\n",
		    "s.yaml:4:10: '1A' is not a variable name" },
		{ "secrets:\n  - name: a\n    env: A\n    match: '(x)'\n"
		  "    hosts: [h.test]\n",
		    "s.yaml:5:12: match: applies to file: secrets only" },
		{ "secrets:\n  - name: a\n    file: rel/path\n    hosts: "
		  "[h.test]\n",
		    "s.yaml:4:11: secrets.file must be absolute or start with "
		    "~/" },
		{ "secrets:\n  - name: a\n    file: /f\n    match: 'x('\n"
		  "    hosts: [h.test]\n",
		    "s.yaml:5:12: bad regex" },
		{ "secrets:\n  - name: a\n    file: /f\n    match: 'x'\n"
		  "    hosts: [h.test]\n",
		    "s.yaml:5:12: match needs a group" },
		{ "secrets:\n  - name: a\n    env: A\n",
		    "s.yaml:3:5: secret 'a' needs hosts:" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: []\n",
		    "s.yaml:5:12: secrets.hosts must not be empty" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: [\"*\"]\n",
		    "s.yaml:5:13: a secret cannot go to any host" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: [10.0.0.1]\n",
		    "s.yaml:5:13: '10.0.0.1' is an address" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: "
		  "[\"@mirrors\"]\n",
		    "s.yaml:5:13: unknown host set '@mirrors'" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: [h.test]\n"
		  "  - name: a\n    env: B\n    hosts: [h.test]\n",
		    "s.yaml:6:11: secret 'a' is already defined (at "
		    "s.yaml:3)" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: [h.test]\n"
		  "    body: maybe\n",
		    "s.yaml:6:11: secrets.body" },
		{ "secrets:\n  - name: a\n    env: A\n    hosts: [h.test]\n"
		  "    value: x\n",
		    "s.yaml:6:5: unknown key 'value' in a secret" },
	};
	struct policy_error err;
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *pol;

		snprintf(yaml, sizeof(yaml), "version: 1\n%s", cases[i].yaml);
		pol = load(yaml, &err);
		if (pol != NULL)
			fail_msg("case %zu loaded: %s", i, cases[i].yaml);
		if (strstr(err.text, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    err.text, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secrets_load),
		cmocka_unit_test(test_no_secrets),
		cmocka_unit_test(test_secrets_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
