/*
 * The room's rules outside the project: fs rules on "~/..." and "/..."
 * paths (policy_fs_outside(), never matched by policy_eval_fs()), their
 * expansion into a mask plan (cli/mask.c), and which environment
 * variables are kept out (cli/env_filter.c).
 */
#include "config.h"

#include <limits.h>
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

#include "cli/env_filter.h"
#include "cli/mask.h"
#include "policy.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/airlock-rr.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct policy *
load(const char *text, struct policy_error *err)
{
	return policy_load_buffer("t.yaml", text, strlen(text), err);
}

static void
mk(const char *rel, int is_dir)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (is_dir) {
		assert_int_equal(mkdir(p, 0755), 0);
		return;
	}
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
}

static const struct mask_entry *
find(const struct mask_plan *plan, const char *rel)
{
	char p[PATH_MAX];
	size_t i;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	for (i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].path, p) == 0)
			return &plan->v[i];
	return NULL;
}

static void
test_outside_rules_load(void **state)
{
	static const char text[] = "version: 1\n"
	                           "fs:\n"
	                           "  - paths: [\"~/.ssh\", \"/etc/shadow\", "
	                           "\"src/**\", \"!~/x\"]\n"
	                           "    action: deny\n"
	                           "    reason: r\n";
	const struct policy_outside_rule *r;
	struct policy_verdict v;
	struct policy_error err;
	struct policy *pol;
	size_t n;

	(void)state;
	assert_non_null(pol = load(text, &err));
	r = policy_fs_outside(pol, &n);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].paths[0], "~/.ssh");
	assert_string_equal(r[0].paths[1], "/etc/shadow");
	assert_null(r[0].paths[2]);
	assert_string_equal(r[0].excepts[0], "~/x");
	assert_string_equal(r[0].rule, "t.yaml:3");
	/* project paths still match; "~/.ssh" is no project path */
	policy_eval_fs(pol, FS_OP_READ, "src/a.c", 7, &v);
	assert_int_equal(v.decision, DECISION_DENY);
	policy_eval_fs(pol, FS_OP_READ, "~/.ssh", 6, &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	policy_free(pol);
}

static void
test_outside_only_rule(void **state)
{
	static const char text[] = "version: 1\n"
	                           "fs:\n"
	                           "  - paths: [\"/etc/shadow\"]\n"
	                           "    action: deny\n";
	struct policy_verdict v;
	struct policy_error err;
	struct policy *pol;

	(void)state;
	assert_non_null(pol = load(text, &err));
	/* a rule naming only outside paths matches nothing in the project,
	 * and does not make airlock-fs decide every read */
	policy_eval_fs(pol, FS_OP_READ, "etc/shadow", 10, &v);
	assert_int_equal(v.decision, DECISION_ALLOW);
	assert_int_equal(policy_fs_checks_reads(pol), 0);
	policy_free(pol);
}

static void
test_outside_bad_paths(void **state)
{
	static const char *const bad[] = { "/a/**", "~/a//b", "/a/../b", "/",
		"~/./a", NULL };
	char text[256];
	struct policy_error err;
	struct policy *pol;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(text, sizeof text,
		    "version: 1\nfs:\n  - paths: [\"%s\"]\n    action: deny\n",
		    bad[i]);
		pol = load(text, &err);
		assert_null(pol);
		assert_non_null(strstr(err.text, "t.yaml:3:"));
	}
}

static void
test_mask_plan(void **state)
{
	char text[1024], err[512];
	const char *homes[] = { NULL, NULL };
	const struct mask_entry *e;
	struct policy_error perr;
	struct mask_plan plan;
	struct policy *pol;

	(void)state;
	mk("home", 1);
	mk("home/.ssh", 1);
	mk("home/.ssh/id_ed25519", 0);
	mk("home/.cargo", 1);
	mk("home/.cargo/credentials.toml", 0);
	mk("home/.cache", 1);
	mk("home/.cache/inner", 1);
	mk("users", 1);
	mk("users/alice", 1);
	mk("users/bob", 1);
	mk("shadow", 0);
	snprintf(text, sizeof text,
	    "version: 1\n"
	    "fs:\n"
	    "  - paths: [\"~/.cache\"]\n"
	    "    ops: [write]\n"
	    "    action: allow\n"
	    "  - paths: [\"~/.ssh\", \"~/.aws\", \"~/.cargo/credentials*\",\n"
	    "            \"%s/shadow\", \"%s/users/*\", \"!%s/users/bob\",\n"
	    "            \"~/.cache/inner\"]\n"
	    "    action: deny\n"
	    "  - paths: [\"~/.cache\", \"%s/shadow\"]\n"
	    "    ops: [write]\n"
	    "    action: deny\n",
	    dir, dir, dir, dir);
	assert_non_null(pol = load(text, &perr));
	snprintf(text, sizeof text, "%s/home", dir);
	homes[0] = text;
	assert_int_equal(
	    mask_plan_build(pol, homes, &plan, err, sizeof err), 0);
	mask_plan_settle(&plan);
	assert_non_null(e = find(&plan, "home/.cache"));
	assert_int_equal(e->kind, MASK_WRITE); /* the first rule decides */
	assert_string_equal(e->rule, "t.yaml:3");
	assert_non_null(e = find(&plan, "home/.ssh"));
	assert_int_equal(e->kind, MASK_HIDE);
	assert_true(e->is_dir);
	assert_null(find(&plan, "home/.aws")); /* missing: no error */
	assert_non_null(e = find(&plan, "home/.cargo/credentials.toml"));
	assert_false(e->is_dir);
	assert_non_null(find(&plan, "shadow"));
	assert_non_null(find(&plan, "users/alice"));
	assert_null(find(&plan, "users/bob")); /* the "!" exception */
	assert_non_null(e = find(&plan, "home/.cache/inner"));
	assert_int_equal(e->kind, MASK_HIDE);
	mask_plan_free(&plan);

	/* no home: "~" names nothing */
	assert_int_equal(mask_plan_build(pol, NULL, &plan, err, sizeof err), 0);
	assert_null(find(&plan, "home/.ssh"));
	assert_non_null(find(&plan, "shadow"));
	mask_plan_free(&plan);
	policy_free(pol);
}

/* Under sudo "~" is both the agent's home and the invoking user's: each
 * keeps its place under a rule on all homes, each has its keys hidden. */
static void
test_mask_plan_two_homes(void **state)
{
	char text[1024], err[512], h1[PATH_MAX], h2[PATH_MAX];
	const char *homes[] = { h1, h2, NULL };
	struct policy_error perr;
	struct mask_plan plan;
	struct policy *pol;

	(void)state;
	mk("users", 1);
	mk("users/agent", 1);
	mk("users/agent/.ssh", 1);
	mk("users/alice", 1);
	mk("users/alice/.ssh", 1);
	mk("users/bob", 1);
	snprintf(h1, sizeof h1, "%s/users/agent", dir);
	snprintf(h2, sizeof h2, "%s/users/alice", dir);
	snprintf(text, sizeof text,
	    "version: 1\nfs:\n  - paths: [\"~/.ssh\", \"%s/users/*\", "
	    "\"!~\"]\n    action: deny\n",
	    dir);
	assert_non_null(pol = load(text, &perr));
	assert_int_equal(
	    mask_plan_build(pol, homes, &plan, err, sizeof err), 0);
	assert_non_null(find(&plan, "users/agent/.ssh"));
	assert_non_null(find(&plan, "users/alice/.ssh"));
	assert_non_null(find(&plan, "users/bob"));
	assert_null(find(&plan, "users/agent"));
	assert_null(find(&plan, "users/alice"));
	assert_int_equal(plan.n, 3);
	mask_plan_free(&plan);
	policy_free(pol);
}

static void
test_mask_plan_settle(void **state)
{
	char p[PATH_MAX], err[256];
	struct mask_plan plan = { NULL, 0 };

	(void)state;
	mk("a", 1);
	mk("a/b", 1);
	mk("c", 1);
	snprintf(p, sizeof p, "%s/a", dir);
	assert_int_equal(
	    mask_plan_add(&plan, p, MASK_HIDE, "r1", "", err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/a/b", dir);
	assert_int_equal(
	    mask_plan_add(&plan, p, MASK_WRITE, "r2", "", err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/c", dir);
	assert_int_equal(
	    mask_plan_add(&plan, p, MASK_WRITE, "r3", "", err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/nope", dir);
	assert_int_equal(
	    mask_plan_add(&plan, p, MASK_HIDE, "r4", "", err, sizeof err), 0);
	assert_int_equal(plan.n, 3);
	mask_plan_settle(&plan);
	/* a writable path inside a hidden one stays hidden */
	assert_int_equal(plan.n, 2);
	assert_null(find(&plan, "a/b"));
	assert_non_null(find(&plan, "c"));
	/* nor is the project ever writable around the view */
	mask_plan_keep_project(&plan, p); /* dir/nope: c stays */
	assert_int_equal(plan.n, 2);
	snprintf(p, sizeof p, "%s/c", dir);
	mask_plan_keep_project(&plan, p);
	assert_int_equal(plan.n, 1);
	assert_null(find(&plan, "c"));
	assert_non_null(find(&plan, "a")); /* hiding there is fine */
	mask_plan_free(&plan);
}

static void
test_mask_unresolvable_fails(void **state)
{
	char text[512], err[512], link[PATH_MAX];
	const char *homes[] = { NULL, NULL };
	struct policy_error perr;
	struct mask_plan plan;
	struct policy *pol;

	(void)state;
	mk("h", 1);
	snprintf(link, sizeof link, "%s/h/.aws", dir);
	assert_int_equal(symlink(".aws", link), 0); /* a loop */
	snprintf(text, sizeof text,
	    "version: 1\nfs:\n  - paths: [\"~/.aws\"]\n    action: deny\n");
	assert_non_null(pol = load(text, &perr));
	snprintf(text, sizeof text, "%s/h", dir);
	homes[0] = text;
	assert_int_equal(
	    mask_plan_build(pol, homes, &plan, err, sizeof err), -1);
	assert_non_null(strstr(err, ".aws"));
	assert_non_null(strstr(err, "t.yaml:3"));
	assert_non_null(strstr(err, "symbolic links"));
	mask_plan_free(&plan);
	policy_free(pol);
}

static void
test_env_filter(void **state)
{
	static char *env[] = { "PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8",
		"FOO_TOKEN=t", "AWS_SECRET_ACCESS_KEY=k", "AWS_REGION=x",
		"SSH_AUTH_SOCK=/tmp/s", "github_token=x", "KEYBOARD=us",
		"TOKENIZER=x", "DB=postgres://u:pw@h/db",
		"SITE=https://example.com:8443/x", "NPM_TOKEN=n",
		"MY_PASSPHRASE=p", "KEEP_TOKEN=kept", NULL };
	char *keep[] = { "KEEP_TOKEN", NULL };
	char **kept, **dropped;
	const char **whys;
	size_t n;

	(void)state;
	assert_null(env_filter_why("PATH=/usr/bin", NULL));
	assert_string_equal(
	    env_filter_why("FOO_TOKEN=x", NULL), "name ends in _TOKEN");
	assert_non_null(env_filter_why("SSH_AUTH_SOCK", NULL));
	assert_non_null(strstr(env_filter_why("AWS_REGION=x", NULL), "AWS_"));
	assert_null(env_filter_why("KEEP_TOKEN=x", keep));
	env_filter_split(env, keep, &kept, &dropped, &whys);
	for (n = 0; kept[n] != NULL; n++)
		;
	/* PATH HOME LANG KEYBOARD TOKENIZER SITE KEEP_TOKEN */
	assert_int_equal(n, 7);
	assert_string_equal(kept[0], "PATH=/usr/bin");
	assert_string_equal(kept[6], "KEEP_TOKEN=kept");
	for (n = 0; dropped[n] != NULL; n++)
		assert_non_null(whys[n]);
	assert_int_equal(n, 8);
	assert_string_equal(dropped[6], "NPM_TOKEN=n");
	assert_non_null(strstr(whys[5], "password"));
	free(kept);
	free(dropped);
	free(whys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_rules_load),
		cmocka_unit_test(test_outside_only_rule),
		cmocka_unit_test(test_outside_bad_paths),
		cmocka_unit_test_setup_teardown(
		    test_mask_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mask_plan_two_homes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mask_plan_settle, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mask_unresolvable_fails, setup, teardown),
		cmocka_unit_test(test_env_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
