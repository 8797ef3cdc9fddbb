/*
 * The @registries host set (common/policy_registries.c), read from npm,
 * pip, apt, cargo and Go configuration laid out in a temporary root (made-
 * up hosts under .example.test), and used by a policy rule.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"

static char root[256];

static void
put(const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup_root(void **state)
{
	char home[300];

	snprintf(root, sizeof(root), "/tmp/airlock-test-reg.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(home, sizeof(home), "%s/home/u", root);
	setenv("AIRLOCK_REGISTRY_ROOT", root, 1);
	setenv("HOME", home, 1);
	unsetenv("NPM_CONFIG_REGISTRY");
	unsetenv("npm_config_registry");
	unsetenv("PIP_INDEX_URL");
	unsetenv("PIP_EXTRA_INDEX_URL");
	unsetenv("GOPROXY");
	return 0;
}

static int
teardown_root(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static struct policy *
load_registries_policy(void)
{
	static const char yaml[] = "version: 1\n"
	                           "net:\n"
	                           "  - hosts: [\"@registries\"]\n"
	                           "    ports: [443]\n"
	                           "    action: allow\n";
	struct policy_error err;
	struct policy *pol =
	    policy_load_buffer("r.yaml", yaml, sizeof(yaml) - 1, &err);

	if (pol == NULL)
		fail_msg("%s", err.text);
	return pol;
}

static int
has_host(struct policy *pol, const char *host)
{
	char *const *r;

	for (r = policy_registries(pol); *r != NULL; r++)
		if (strcmp(*r, host) == 0)
			return 1;
	return 0;
}

static size_t
n_hosts(struct policy *pol)
{
	char *const *r;
	size_t n = 0;

	for (r = policy_registries(pol); *r != NULL; r++)
		n++;
	return n;
}

static void
test_empty_machine(void **state)
{
	struct policy *pol = load_registries_policy();

	assert_int_equal(n_hosts(pol), 0);
	policy_free(pol);
}

static void
test_every_source(void **state)
{
	struct policy *pol;
	struct policy_verdict v;
	struct net_request req = { "mirror.example.test", 443, NULL, NULL };
	static const char *const want[] = { "npm-user.example.test",
		"npm-scope.example.test", "npm-etc.example.test",
		"npm-usr.example.test", "pip-etc.example.test",
		"pip-user.example.test", "pip-extra1.example.test",
		"pip-extra2.example.test", "pip-legacy.example.test",
		"mirror.example.test", "apt-list-d.example.test",
		"apt-deb822.example.test", "apt-deb822b.example.test",
		"cargo-sparse.example.test", "cargo-git.example.test",
		"cargo-inline.example.test", "pip-env.example.test",
		"pip-env-extra.example.test", "goproxy.example.test",
		"goproxy2.example.test" };
	size_t i;

	put("home/u/.npmrc",
	    "; comment\n"
	    "registry=https://npm-user.example.test/\n"
	    "@corp:registry = https://tok@npm-scope.example.test:8443/x/\n"
	    "//npm-user.example.test/:_authToken=secret\n"
	    "cache=/tmp/not-a-url\n");
	put("etc/npmrc", "registry=\"https://NPM-ETC.example.test./\"\n");
	put("usr/etc/npmrc", "registry=http://npm-usr.example.test\n");
	put("etc/pip.conf",
	    "[global]\nindex-url = https://pip-etc.example.test/simple\n");
	put("home/u/.config/pip/pip.conf",
	    "[global]\n"
	    "index-url: https://pip-user.example.test/simple\n"
	    "extra-index-url =\n"
	    "    https://pip-extra1.example.test/simple\n"
	    "    https://user:pw@pip-extra2.example.test:8080/simple\n"
	    "trusted-host = not-an-index.example.test\n");
	put("home/u/.pip/pip.conf",
	    "[global]\nindex_url=https://pip-legacy.example.test/\n");
	put("etc/apt/sources.list",
	    "# deb http://commented.example.test/debian bookworm main\n"
	    "deb http://mirror.example.test/debian bookworm main\n"
	    "deb-src [arch=amd64 signed-by=/x.gpg] "
	    "http://mirror.example.test/debian bookworm main\n"
	    "deb cdrom:[Debian]/ bookworm main\n");
	put("etc/apt/sources.list.d/extra.list",
	    "deb [trusted=yes] https://apt-list-d.example.test/repo stable "
	    "main\n");
	put("etc/apt/sources.list.d/x.sources",
	    "Types: deb\n"
	    "URIs: https://apt-deb822.example.test/debian\n"
	    "  https://apt-deb822b.example.test/debian\n"
	    "Suites: bookworm\n"
	    "\n"
	    "Types: deb\n"
	    "Enabled: no\n"
	    "URIs: https://disabled.example.test/debian\n");
	put("etc/apt/sources.list.d/ignored.txt",
	    "deb http://ignored.example.test/ x y\n");
	put("home/u/.cargo/config.toml",
	    "[source.crates-io]\n"
	    "replace-with = \"corp\"\n"
	    "\n"
	    "[source.corp]\n"
	    "registry = \"sparse+https://cargo-sparse.example.test/index/\"\n"
	    "\n"
	    "[registries.other]\n"
	    "index = \"https://cargo-git.example.test/git/index\"\n"
	    "\n"
	    "[registries]\n"
	    "third = { index = \"sparse+https://cargo-inline.example.test/\" "
	    "}\n"
	    "\n"
	    "[http]\n"
	    "proxy = \"http://not-a-registry.example.test:3128\"\n");
	setenv("PIP_INDEX_URL", "https://pip-env.example.test/simple", 1);
	setenv("PIP_EXTRA_INDEX_URL",
	    "https://pip-env-extra.example.test/a "
	    "https://pip-env.example.test/b",
	    1);
	setenv("GOPROXY",
	    "https://goproxy.example.test,https://goproxy2.example.test|direct",
	    1);

	pol = load_registries_policy();
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_host(pol, want[i]))
			fail_msg("@registries lacks %s", want[i]);
	/* Exactly these: no duplicates, nothing from comments, disabled
	 * stanzas, other files, proxies, trusted-host or tokens. */
	assert_int_equal(n_hosts(pol), sizeof(want) / sizeof(want[0]));

	policy_eval_net(pol, &req, &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_string_equal(v.rule, "r.yaml:3");
	req.host = "MIRROR.example.test.";
	policy_eval_net(pol, &req, &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	req.port = 80;
	policy_eval_net(pol, &req, &v);
	assert_int_equal(v.decision, DECISION_HOLD);
	req.host = "disabled.example.test";
	req.port = 443;
	policy_eval_net(pol, &req, &v);
	assert_int_equal(v.decision, DECISION_HOLD);
	policy_free(pol);

	unsetenv("PIP_INDEX_URL");
	unsetenv("PIP_EXTRA_INDEX_URL");
	unsetenv("GOPROXY");
}

/* The environment wins for npm; the go env file is read when GOPROXY is
 * not set; a policy that does not name @registries reads nothing. */
static void
test_env_and_unused(void **state)
{
	static const char unused[] = "version: 1\n";
	struct policy_error err;
	struct policy *pol;

	put("home/u/.config/go/env", "GOPROXY=https://goenv.example.test\n");
	setenv("NPM_CONFIG_REGISTRY", "https://npm-env.example.test/", 1);
	pol = load_registries_policy();
	assert_true(has_host(pol, "npm-env.example.test"));
	assert_true(has_host(pol, "goenv.example.test"));
	policy_free(pol);

	pol = policy_load_buffer("u.yaml", unused, sizeof(unused) - 1, &err);
	assert_non_null(pol);
	assert_null(policy_registries(pol)[0]);
	policy_free(pol);
	unsetenv("NPM_CONFIG_REGISTRY");
}

static int
count_lines(const char *rel)
{
	char path[512];
	int c, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* policy_registries_pin() runs npm once (a stand-in on PATH that counts
 * its runs) and keeps its answer in the environment: later loads use it
 * without running npm again.  When the machine's own npmrc names a
 * registry, npm is never run at all. */
static void
test_pin_runs_npm_once(void **state)
{
	char bin[300], script[700], path[4096];
	const char *old_path = getenv("PATH");
	struct policy *pol;
	int system_npmrc;

	snprintf(script, sizeof(script),
	    "#!/bin/sh\necho run >>'%s/npm-runs'\n"
	    "echo https://npm-fake.example.test/\n",
	    root);
	put("bin/npm", script);
	snprintf(path, sizeof(path), "%s/home/u/.npmrc", root);
	unlink(path); /* test_every_source's */
	snprintf(bin, sizeof(bin), "%s/bin/npm", root);
	assert_int_equal(chmod(bin, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin:%s", root,
	    old_path != NULL ? old_path : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	unsetenv("AIRLOCK_REGISTRY_ROOT");
	system_npmrc =
	    system("grep -qs registry /etc/npmrc /usr/etc/npmrc") == 0;

	policy_registries_pin();
	if (system_npmrc) {
		assert_int_equal(count_lines("npm-runs"), 0);
		assert_null(getenv("npm_config_registry"));
	} else {
		assert_int_equal(count_lines("npm-runs"), 1);
		assert_string_equal(getenv("npm_config_registry"),
		    "https://npm-fake.example.test/");
		pol = load_registries_policy();
		assert_true(has_host(pol, "npm-fake.example.test"));
		policy_free(pol);
		pol = load_registries_policy();
		policy_free(pol);
		assert_int_equal(count_lines("npm-runs"), 1);
	}
	/* An answer already in the environment is never asked again. */
	policy_registries_pin();
	assert_int_equal(count_lines("npm-runs"), system_npmrc ? 0 : 1);

	unsetenv("npm_config_registry");
	setenv("PATH", old_path != NULL ? old_path : "/usr/bin:/bin", 1);
	setenv("AIRLOCK_REGISTRY_ROOT", root, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_machine),
		cmocka_unit_test(test_every_source),
		cmocka_unit_test(test_env_and_unused),
		cmocka_unit_test(test_pin_runs_npm_once),
	};

	return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
