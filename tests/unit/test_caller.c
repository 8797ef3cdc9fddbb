/*
 * test_caller: traceparent parsing, and caller_read() on real processes:
 * ourselves, a child started with a chosen environment, a zombie, and a
 * pid that is gone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "caller.h"
#include "util.h"

#define TP_GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void
test_traceparent_good(void **state)
{
	char trace[33], span[17];

	(void)state;
	assert_int_equal(caller_parse_traceparent(TP_GOOD, trace, span), 0);
	assert_string_equal(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(span, "00f067aa0ba902b7");
	assert_int_equal(
	    caller_parse_traceparent(
	        "00-00000000000000000000000000000001-0000000000000001-00",
	        trace, span),
	    0);
}

static void
test_traceparent_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		/* upper-case hex */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		/* version other than 00, and the forbidden ff */
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* all-zero ids */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		/* lengths and separators */
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		TP_GOOD " ",
		" " TP_GOOD,
		TP_GOOD "-extra",
		/* not hex */
		"00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
	};
	char trace[33], span[17];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(trace, 'x', sizeof(trace));
		memset(span, 'x', sizeof(span));
		if (caller_parse_traceparent(bad[i], trace, span) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(trace, "");
		assert_string_equal(span, "");
	}
	assert_int_equal(caller_parse_traceparent(NULL, trace, span), -1);
}

static void
test_read_self(void **state)
{
	struct caller c;
	char exe[256];
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(caller_read(getpid(), 1234, 5678, &c), 0);
	assert_int_equal(c.pid, getpid());
	assert_int_equal(c.uid, 1234);
	assert_int_equal(c.gid, 5678);
	assert_string_equal(c.exe, exe);
	assert_non_null(strstr(c.cmdline, "test_caller"));
}

/*
 * Start argv with exactly env, and return once the exec has happened: the
 * pipe's write end is close-on-exec, so EOF on it means the child is the
 * new program (or died, in which case it wrote its errno).
 */
static pid_t
spawn(char *const argv[], char *const env[])
{
	int fds[2], err = 0;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		execve(argv[0], argv, env);
		err = errno;
		(void)!write(fds[1], &err, sizeof(err));
		_exit(127);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &err, sizeof(err)), 0);
	close(fds[0]);
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_read_child_env(void **state)
{
	char *const argv[] = { "/bin/sleep", "30", NULL };
	char *const env[] = { "FOO=bar", "TRACEPARENT=" TP_GOOD,
		"AIRLOCK_INTENT=fix the flaky test", "ZED=1", NULL };
	char *const env_bad[] = { "TRACEPARENT=00-zz",
		"AIRLOCK_INTENT=", NULL };
	struct caller c;
	pid_t pid;

	(void)state;
	pid = spawn(argv, env);
	assert_int_equal(caller_read(pid, getuid(), getgid(), &c), 0);
	reap(pid);
	assert_non_null(strstr(c.exe, "sleep"));
	assert_string_equal(c.cmdline, "/bin/sleep 30");
	assert_string_equal(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(c.span_id, "00f067aa0ba902b7");
	assert_string_equal(c.intent, "fix the flaky test");

	pid = spawn(argv, env_bad);
	assert_int_equal(caller_read(pid, getuid(), getgid(), &c), 0);
	reap(pid);
	assert_string_equal(c.trace_id, "");
	assert_string_equal(c.span_id, "");
	assert_string_equal(c.intent, "");
}

/* A large environment: entries cross read() chunks, and look-alike names
 * must not match. */
static void
test_read_big_env(void **state)
{
	static char pad[4090];
	char *const argv[] = { "/bin/sleep", "30", NULL };
	/* Look-alikes come after the real entries, so that a match on them
	 * would overwrite. */
	char *const env[] = { pad, "TRACEPARENT=" TP_GOOD,
		"AIRLOCK_INTENT=the real one",
		"XTRACEPARENT=00-11111111111111111111111111111111-"
		"1111111111111111-01",
		"NOT_AIRLOCK_INTENT=no", NULL };
	struct caller c;
	pid_t pid;

	(void)state;
	memcpy(pad, "PAD=", 4);
	memset(pad + 4, 'x', sizeof(pad) - 5);
	pad[sizeof(pad) - 1] = '\0';
	pid = spawn(argv, env);
	assert_int_equal(caller_read(pid, getuid(), getgid(), &c), 0);
	reap(pid);
	assert_string_equal(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(c.intent, "the real one");
}

static void
test_read_long_cmdline(void **state)
{
	char big[2000];
	char *argv[] = { "/bin/sh", "-c", "sleep 30; :", "sh", big, NULL };
	char *const env[] = { NULL };
	struct caller c;
	pid_t pid;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pid = spawn(argv, env);
	assert_int_equal(caller_read(pid, 0, 0, &c), 0);
	reap(pid);
	assert_int_equal(strlen(c.cmdline), sizeof(c.cmdline) - 1);
	assert_memory_equal(c.cmdline, "/bin/sh -c sleep 30; : sh aaa", 29);
}

static void
test_read_zombie_and_gone(void **state)
{
	siginfo_t si;
	struct caller c;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0)
		_exit(0);
	/* Wait for the exit but leave the zombie in place. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(caller_read(pid, 1, 2, &c), 0);
	assert_string_equal(c.exe, "");
	assert_string_equal(c.cmdline, "");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	errno = 0;
	assert_int_equal(caller_read(pid, 1, 2, &c), -1);
	assert_int_equal(errno, ESRCH);

	/* pid 0: unknown, not an error. */
	assert_int_equal(caller_read(0, 7, 8, &c), 0);
	assert_int_equal(c.uid, 7);
	assert_string_equal(c.exe, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traceparent_good),
		cmocka_unit_test(test_traceparent_bad),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_child_env),
		cmocka_unit_test(test_read_big_env),
		cmocka_unit_test(test_read_long_cmdline),
		cmocka_unit_test(test_read_zombie_and_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
