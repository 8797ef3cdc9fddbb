/*
 * sandbox: every check runs in a forked child, since a lockdown is for
 * good.  The child reports with its exit status (0 good, N the failed
 * step) or dies of SIGSYS when the filter kills it, as designed.  It
 * leaves with _exit() so that no exit-time handler (LeakSanitizer's
 * ptrace among them) runs under the filter.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>

#include "sandbox.h"

typedef int (*child_fn)(void);

/* Run fn in a child under mode ("kill", "log", "off"); its wait status. */
static int
run_child(const char *mode, child_fn fn)
{
	int status = -1;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("AIRLOCK_SECCOMP", mode, 1);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int
lock_proxy(void)
{
	struct sandbox_profile sp = { .daemon = SANDBOX_PROXY };

	return sandbox_lockdown(&sp);
}

static int
lock_fs(void)
{
	struct sandbox_profile sp = { .daemon = SANDBOX_FS };

	return sandbox_lockdown(&sp);
}

static int
effective_caps(uint64_t *out)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d) != 0)
		return -1;
	*out = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	return 0;
}

/* Allowed calls work and no_new_privs is set. */
static int
child_allowed(void)
{
	char buf[8];
	int p[2];

	if (lock_proxy() != 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 2;
	if (getpid() <= 0 || pipe(p) != 0)
		return 3;
	if (write(p[1], "ok", 2) != 2 || read(p[0], buf, sizeof buf) != 2)
		return 4;
	return 0;
}

static void
test_allowed_calls_work(void **state)
{
	int st = run_child("kill", child_allowed);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A call off the list (mount) kills the process. */
static int
child_mount(void)
{
	if (lock_proxy() != 0)
		return 1;
	(void)syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
	return 2; /* still alive: the filter let it through */
}

static void
test_forbidden_call_kills(void **state)
{
	int st = run_child("kill", child_mount);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* clone is for threads only: fork() kills. */
static int
child_fork(void)
{
	pid_t pid;

	if (lock_fs() != 0)
		return 1;
	pid = fork();
	if (pid == 0)
		_exit(0);
	return 2;
}

static void
test_fork_kills(void **state)
{
	int st = run_child("kill", child_fork);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* socket() only for unix, inet and inet6: a netlink socket kills. */
static int
child_netlink(void)
{
	if (lock_proxy() != 0)
		return 1;
	(void)syscall(SYS_socket, 16 /* AF_NETLINK */, 3, 0);
	return 2;
}

static void
test_socket_domain_narrowed(void **state)
{
	int st = run_child("kill", child_netlink);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* clone3 answers ENOSYS (glibc falls back to clone). */
static int
child_clone3(void)
{
	if (lock_proxy() != 0)
		return 1;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 2;
	return 0;
}

static void
test_clone3_enosys(void **state)
{
	int st = run_child("kill", child_clone3);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A thread that existed before the lockdown is bound too (TSYNC) and
 * has lost its capabilities. */
static pthread_barrier_t bar;
static uint64_t thread_caps;

static void *
thread_main(void *arg)
{
	pthread_barrier_wait(&bar); /* started */
	pthread_barrier_wait(&bar); /* locked down */
	(void)effective_caps(&thread_caps);
	(void)syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
	return NULL;
}

static int
child_thread(void)
{
	pthread_t t;

	pthread_barrier_init(&bar, NULL, 2);
	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		return 1;
	pthread_barrier_wait(&bar);
	if (lock_proxy() != 0)
		return 2;
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	return 3;
}

static void
test_other_threads_bound(void **state)
{
	int st = run_child("kill", child_thread);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* log: an unlisted call runs (and is logged by the kernel). */
static int
child_log(void)
{
	if (lock_proxy() != 0)
		return 1;
	if (syscall(SYS_getpgid, 0) < 0)
		return 2;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 3;
	return 0;
}

static void
test_log_mode_allows(void **state)
{
	int st = run_child("log", child_log);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* off (--no-seccomp): no allow-list, but no_new_privs all the same. */
static int
child_off(void)
{
	struct sandbox_profile sp = { .daemon = SANDBOX_PROXY,
		.no_seccomp = 1 };

	setenv("AIRLOCK_SECCOMP", "kill", 1);
	if (sandbox_lockdown(&sp) != 0)
		return 1;
	if (syscall(SYS_getpgid, 0) < 0)
		return 2;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 3;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		return 4;
	return 0;
}

static void
test_no_seccomp(void **state)
{
	int st = run_child("kill", child_off);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Capabilities: the proxy keeps CAP_SYS_PTRACE alone (to name the process
 * behind a held request), airlock-fs its six. */
static int
child_caps_proxy(void)
{
	uint64_t caps;

	if (lock_proxy() != 0)
		return 1;
	if (effective_caps(&caps) != 0 || caps != 1ull << CAP_SYS_PTRACE)
		return 2;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 3;
	return 0;
}

static int
child_caps_fs(void)
{
	uint64_t caps,
	    want = 1ull << CAP_CHOWN | 1ull << CAP_DAC_OVERRIDE |
	    1ull << CAP_DAC_READ_SEARCH | 1ull << CAP_FOWNER |
	    1ull << CAP_FSETID | 1ull << CAP_SYS_PTRACE;

	if (lock_fs() != 0)
		return 1;
	if (effective_caps(&caps) != 0 || caps != want)
		return 2;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 1)
		return 3;
	return 0;
}

static void
test_caps_dropped(void **state)
{
	int st;

	if (geteuid() != 0)
		skip();
	st = run_child("kill", child_caps_proxy);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = run_child("kill", child_caps_fs);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A thread's capabilities, read in the child and reported back. */
static int
child_thread_caps(void)
{
	pthread_t t;

	pthread_barrier_init(&bar, NULL, 2);
	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		return 1;
	pthread_barrier_wait(&bar);
	if (lock_proxy() != 0)
		return 2;
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	return thread_caps == 1ull << CAP_SYS_PTRACE ? 0 : 3;
}

static void
test_thread_caps_dropped(void **state)
{
	int st;

	if (geteuid() != 0)
		skip();
	st = run_child("log", child_thread_caps);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_mode_parse(void **state)
{
	enum sandbox_seccomp m;

	setenv("AIRLOCK_SECCOMP", "log", 1);
	assert_int_equal(sandbox_seccomp_mode(&m), 0);
	assert_int_equal(m, SANDBOX_SECCOMP_LOG);
	setenv("AIRLOCK_SECCOMP", "off", 1);
	assert_int_equal(sandbox_seccomp_mode(&m), 0);
	assert_int_equal(m, SANDBOX_SECCOMP_OFF);
	setenv("AIRLOCK_SECCOMP", "kill", 1);
	assert_int_equal(sandbox_seccomp_mode(&m), 0);
	assert_int_equal(m, SANDBOX_SECCOMP_KILL);
	setenv("AIRLOCK_SECCOMP", "enforce-ish", 1);
	assert_int_equal(sandbox_seccomp_mode(&m), -1);
	assert_int_equal(errno, EINVAL);
	unsetenv("AIRLOCK_SECCOMP");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_forbidden_call_kills),
		cmocka_unit_test(test_fork_kills),
		cmocka_unit_test(test_socket_domain_narrowed),
		cmocka_unit_test(test_clone3_enosys),
		cmocka_unit_test(test_other_threads_bound),
		cmocka_unit_test(test_log_mode_allows),
		cmocka_unit_test(test_no_seccomp),
		cmocka_unit_test(test_caps_dropped),
		cmocka_unit_test(test_thread_caps_dropped),
		cmocka_unit_test(test_mode_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
