/*
 * session_dir: --session-name validation, session creation and the
 * session.json round trip (including what a path may hold), and that the
 * review code reads the same "project".
 */
#include "config.h"

#include <errno.h>
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

#include "cli/session_dir.h"
#include "fs/diff.h"

static char tmpdir[64];

static int
setup(void **state)
{
	strcpy(tmpdir, "/tmp/airlock-sd.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("AIRLOCK_STATE_DIR", tmpdir, 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
test_session_name_valid(void **state)
{
	char longname[SESSION_ID_MAX + 1];

	assert_true(session_name_valid("a"));
	assert_true(session_name_valid("fix-42_v1.2"));
	assert_false(session_name_valid(""));
	assert_false(session_name_valid(".hidden"));
	assert_false(session_name_valid(".."));
	assert_false(session_name_valid("a/b"));
	assert_false(session_name_valid("a b"));
	assert_false(session_name_valid("a\nb"));
	assert_false(session_name_valid("caf\xc3\xa9"));
	memset(longname, 'a', SESSION_ID_MAX);
	longname[SESSION_ID_MAX] = '\0';
	assert_false(session_name_valid(longname));
	longname[SESSION_ID_MAX - 1] = '\0';
	assert_true(session_name_valid(longname));
}

static void
test_session_create(void **state)
{
	struct session_info si, si2;
	struct stat st;
	size_t i;

	assert_int_equal(session_dir_create(NULL, &si), 0);
	/* YYYYMMDD-HHMMSS-xxxx */
	assert_int_equal(strlen(si.id), 20);
	for (i = 0; i < 20; i++) {
		if (i == 8 || i == 15)
			assert_int_equal(si.id[i], '-');
		else if (i < 15)
			assert_true(si.id[i] >= '0' && si.id[i] <= '9');
		else
			assert_non_null(strchr("0123456789abcdef", si.id[i]));
	}
	assert_int_equal(stat(si.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(si.mountpoint, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	assert_int_equal(session_dir_create("named", &si2), 0);
	assert_string_equal(si2.id, "named");
	assert_int_equal(session_dir_create("named", &si2), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(session_dir_create("../x", &si2), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_session_json_round_trip(void **state)
{
	struct session_info si, back;
	char path[PATH_MAX + 32], project[PATH_MAX];
	struct stat st;

	assert_int_equal(session_dir_create("rt", &si), 0);
	strcpy(si.project, "/tmp/we\"ird\\ pro\nject\t\x01");
	strcpy(si.policy, "/etc/airlock/p.yaml");
	strcpy(si.policy_hash, "abc123");
	strcpy(si.proxy_listen, "127.0.0.1:3128");
	si.fs_pid = 1234;
	si.proxy_pid = 5678;
	si.agent_pid = 42;
	si.isolated = 1;
	assert_int_equal(session_info_write(&si), 0);
	snprintf(path, sizeof path, "%s/session.json.tmp", si.dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof path, "%s/session.json", si.dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(session_info_read(si.dir, &back), 0);
	assert_string_equal(back.id, "rt");
	assert_string_equal(back.project, si.project);
	assert_string_equal(back.mountpoint, si.mountpoint);
	assert_string_equal(back.policy, si.policy);
	assert_string_equal(back.policy_hash, "abc123");
	assert_string_equal(back.proxy_listen, "127.0.0.1:3128");
	assert_string_equal(back.state, "running");
	assert_string_equal(back.created, si.created);
	assert_true(back.created_ns == si.created_ns);
	assert_int_equal(back.fs_pid, 1234);
	assert_int_equal(back.proxy_pid, 5678);
	assert_int_equal(back.agent_pid, 42);
	assert_int_equal(back.isolated, 1);

	/* diff/commit/discard find the same project */
	assert_int_equal(
	    review_project_path(si.dir, project, sizeof project), 0);
	assert_string_equal(project, si.project);
}

static void
test_session_json_bad(void **state)
{
	struct session_info si, back;
	char path[PATH_MAX + 32];
	FILE *f;

	assert_int_equal(session_dir_create("bad", &si), 0);
	assert_int_equal(session_info_read(si.dir, &back), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(path, sizeof path, "%s/session.json", si.dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(
	    "{\n  \"project\": \"relative\",\n  \"state\": \"ended\"\n}\n", f);
	fclose(f);
	assert_int_equal(session_info_read(si.dir, &back), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\n  \"project\": \"/x\\q\",\n  \"state\": \"ended\"\n}\n", f);
	fclose(f);
	assert_int_equal(session_info_read(si.dir, &back), -1);
	assert_int_equal(errno, EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_name_valid),
		cmocka_unit_test_setup_teardown(
		    test_session_create, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_json_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_json_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
