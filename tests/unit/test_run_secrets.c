/*
 * The room's side of the policy's secrets (cli/run_secrets.c): values
 * taken out of the environment, sentinels kept per session, masked
 * copies, the pipe to the proxy, the masks in the room's plan.
 */
#include "config.h"

#include <fcntl.h>
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

#include "cli/mask.h"
#include "cli/run_secrets.h"
#include "policy.h"

static char dir[64], home[96], sess[96];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/airlock-rs.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(home, sizeof home, "%s/home", dir);
	snprintf(sess, sizeof sess, "%s/session", dir);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(sess, 0700), 0);
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

static void
put(const char *path, const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* The whole file as a string (caller frees), or NULL. */
static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return calloc(1, 1);
	}
	return buf;
}

static const char policy_text[] = "version: 1\n"
                                  "secrets:\n"
                                  "  - name: api\n"
                                  "    env: RS_TEST_TOKEN\n"
                                  "    hosts: [api.test]\n"
                                  "  - name: netrc\n"
                                  "    file: ~/.netrc\n"
                                  "    match: \"password ([^ \\n]+)\"\n"
                                  "    hosts: [api.test, \"*.api.test\"]\n"
                                  "  - name: absent\n"
                                  "    env: RS_TEST_ABSENT\n"
                                  "    hosts: [api.test]\n"
                                  "  - name: nomatch\n"
                                  "    file: ~/other\n"
                                  "    match: \"key=([a-z]+)\"\n"
                                  "    hosts: [api.test]\n"
                                  "  - name: nofile\n"
                                  "    file: ~/missing\n"
                                  "    hosts: [api.test]\n";

static struct policy *
load(void)
{
	struct policy_error err;
	struct policy *pol;

	pol = policy_load_buffer(
	    "t.yaml", policy_text, strlen(policy_text), &err);
	if (pol == NULL)
		fail_msg("%s", err.text);
	return pol;
}

static void
files(void)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/.netrc", home);
	put(p,
	    "machine api.test login me password s3cret-netrc\n"
	    "machine b.api.test login me password s3cret-netrc\n");
	chmod(p, 0600);
	snprintf(p, sizeof p, "%s/other", home);
	put(p, "key=123\n");
}

static void
test_take_env_and_gather(void **state)
{
	char p[PATH_MAX], want[256], *text;
	struct run_secrets rs, again;
	struct policy *pol;
	struct stat st;

	(void)state;
	files();
	assert_non_null(pol = load());
	setenv("RS_TEST_TOKEN", "s3cret-env", 1);
	unsetenv("RS_TEST_ABSENT");
	run_secrets_take_env(pol);
	/* out of the environment: no child inherits it */
	assert_null(getenv("RS_TEST_TOKEN"));

	assert_int_equal(
	    run_secrets_gather(&rs, pol, sess, home, 1, "test"), 0);
	assert_int_equal(rs.n, 5);
	assert_int_equal(rs.v[0].state, RUN_SECRET_GIVEN);
	assert_int_equal(rs.v[1].state, RUN_SECRET_GIVEN);
	assert_int_equal(rs.v[2].state, RUN_SECRET_MISSING);
	assert_int_equal(rs.v[3].state, RUN_SECRET_HIDDEN);
	assert_int_equal(rs.v[4].state, RUN_SECRET_MISSING);
	assert_string_equal(rs.v[1].hosts, "api.test, *.api.test");
	assert_string_equal(rs.env_names[0], "RS_TEST_TOKEN");
	assert_string_equal(rs.env_names[1], "RS_TEST_ABSENT");
	assert_null(rs.env_names[2]);
	/* the values, by policy index, with their sentinels */
	assert_int_equal(rs.set.n, 2);
	assert_int_equal(rs.set.v[0].index, 0);
	assert_string_equal(rs.set.v[0].value, "s3cret-env");
	assert_string_equal(rs.set.v[0].sentinel, rs.v[0].sentinel);
	assert_int_equal(rs.set.v[1].index, 1);
	assert_string_equal(rs.set.v[1].value, "s3cret-netrc");
	assert_true(
	    secret_sentinel_at(rs.v[0].sentinel, SECRET_SENTINEL_LEN, 0));
	assert_string_not_equal(rs.v[0].sentinel, rs.v[1].sentinel);

	/* the masked copy: every occurrence, the real file's mode */
	assert_non_null(rs.v[1].masked);
	assert_int_equal(stat(rs.v[1].masked, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(text = slurp(rs.v[1].masked));
	snprintf(want, sizeof want,
	    "machine api.test login me password %s\n"
	    "machine b.api.test login me password %s\n",
	    rs.v[1].sentinel, rs.v[1].sentinel);
	assert_string_equal(text, want);
	free(text);

	/* the session keeps names and sentinels, 0600, and no value */
	snprintf(p, sizeof p, "%s/%s", sess, RUN_SECRETS_FILE);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(text = slurp(p));
	snprintf(want, sizeof want, "api %s\n", rs.v[0].sentinel);
	assert_non_null(strstr(text, want));
	assert_null(strstr(text, "s3cret"));
	free(text);

	/* resume: the same sentinels */
	assert_int_equal(
	    run_secrets_gather(&again, pol, sess, home, 1, "test"), 0);
	assert_string_equal(again.v[0].sentinel, rs.v[0].sentinel);
	assert_string_equal(again.v[1].sentinel, rs.v[1].sentinel);
	assert_string_equal(again.v[3].sentinel, rs.v[3].sentinel);
	run_secrets_free(&again);
	run_secrets_free(&rs);
	policy_free(pol);
}

static void
test_pipe(void **state)
{
	struct run_secrets rs;
	struct secret_set got;
	struct policy *pol;
	char buf[4096], why[128];
	ssize_t n;
	int fd;

	(void)state;
	files();
	assert_non_null(pol = load());
	setenv("RS_TEST_TOKEN", "s3cret-env", 1);
	run_secrets_take_env(pol);
	assert_int_equal(
	    run_secrets_gather(&rs, pol, sess, home, 1, "test"), 0);
	assert_int_equal(run_secrets_pipe(&rs, &fd, "test"), 0);
	assert_true(fd > STDERR_FILENO);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* the values have left this process */
	assert_int_equal(rs.set.n, 0);
	n = read(fd, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(read(fd, buf + n, sizeof buf - (size_t)n), 0);
	close(fd);
	secret_set_init(&got);
	assert_int_equal(
	    secret_set_decode(&got, buf, (size_t)n, why, sizeof why), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.v[0].value, "s3cret-env");
	assert_string_equal(got.v[0].sentinel, rs.v[0].sentinel);
	assert_string_equal(got.v[1].value, "s3cret-netrc");
	secret_set_free(&got);
	/* the store was wiped too: a second gather has no env value */
	run_secrets_free(&rs);
	assert_int_equal(
	    run_secrets_gather(&rs, pol, sess, home, 1, "test"), 0);
	assert_int_equal(rs.v[0].state, RUN_SECRET_MISSING);
	run_secrets_free(&rs);
	policy_free(pol);
}

static void
test_no_isolate_and_bad_file(void **state)
{
	struct run_secrets rs;
	struct policy *pol;
	char p[PATH_MAX];

	(void)state;
	files();
	assert_non_null(pol = load());
	setenv("RS_TEST_TOKEN", "s3cret-env", 1);
	run_secrets_list(&rs, pol, home, 0);
	/* --no-isolate: a file secret cannot be masked */
	assert_int_equal(rs.v[1].state, RUN_SECRET_UNMASKED);
	assert_int_equal(rs.v[0].state, RUN_SECRET_GIVEN);
	/* the list reads no value and makes no sentinel */
	assert_int_equal(rs.set.n, 0);
	assert_string_equal(rs.v[0].sentinel, "");
	run_secrets_free(&rs);
	/* a tampered sentinels file stops the run */
	snprintf(p, sizeof p, "%s/%s", sess, RUN_SECRETS_FILE);
	put(p, "api not-a-sentinel\n");
	assert_int_equal(
	    run_secrets_gather(&rs, pol, sess, home, 1, "test"), -1);
	run_secrets_free(&rs);
	unlink(p);
	unsetenv("RS_TEST_TOKEN");
	policy_free(pol);
}

static void
test_plan(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], err[256];
	struct mask_plan plan = { NULL, 0 };
	struct run_secrets rs;
	struct policy *pol;
	size_t i, seen = 0;

	(void)state;
	files();
	assert_non_null(pol = load());
	setenv("RS_TEST_TOKEN", "s3cret-env", 1);
	run_secrets_take_env(pol);
	assert_int_equal(
	    run_secrets_gather(&rs, pol, sess, home, 1, "test"), 0);
	/* a default rule hides ~/.netrc; the secret's masked copy wins */
	snprintf(p, sizeof p, "%s/.netrc", home);
	assert_int_equal(mask_plan_add(&plan, p, MASK_HIDE, "builtin:x", "r",
	                     err, sizeof err),
	    0);
	/* and a masked copy inside a hidden dir stays */
	assert_int_equal(mask_plan_add(&plan, home, MASK_HIDE, "builtin:home",
	                     "r", err, sizeof err),
	    0);
	assert_int_equal(run_secrets_plan(&rs, &plan, err, sizeof err), 0);
	mask_plan_settle(&plan);
	snprintf(q, sizeof q, "%s/other", home);
	for (i = 0; i < plan.n; i++) {
		if (strcmp(plan.v[i].path, p) == 0) {
			assert_int_equal(plan.v[i].kind, MASK_SECRET);
			assert_string_equal(plan.v[i].source, rs.v[1].masked);
			assert_string_equal(plan.v[i].rule, "t.yaml:6");
			seen++;
		}
		/* hidden by the hidden home already: dropped */
		assert_string_not_equal(plan.v[i].path, q);
	}
	assert_int_equal(seen, 1);
	assert_string_equal(mask_kind_name(MASK_SECRET), "masked");
	mask_plan_free(&plan);
	run_secrets_free(&rs);
	unsetenv("RS_TEST_TOKEN");
	policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_take_env_and_gather, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_isolate_and_bad_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
