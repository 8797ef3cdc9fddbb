/*
 * test_ctl: the control socket answers the CLI, is born private, replaces
 * only a dead socket, and refuses the agent's uid (invariant 4).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "util.h"

#define NOBODY_UID 65534

struct fixture {
	char dir[64];
	char path[128];
	struct approvals *ap;
	struct ctl_server *srv;
};

struct seen {
	pthread_mutex_t lock;
	int n_calls;
	struct approval_result res;
};

static void
seen_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->n_calls++;
	s->res = *res;
	pthread_mutex_unlock(&s->lock);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	str_copy(f->dir, "/tmp/test_ctl.XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/fs.sock", f->dir);
	if ((f->ap = approvals_new("f", 60000)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ctl_server_stop(f->srv);
	approvals_free(f->ap);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const struct held_info hook_write = {
	.kind = "fs",
	.op = "write",
	.target = ".git/hooks/pre-commit",
	.rule = "airlock.yaml:3",
	.reason = "runs code",
};

static void
test_mode_and_ping(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *answer, want[64];

	/* A wide umask must not widen the socket. */
	mode_t old = umask(0);
	f->srv = ctl_server_start(f->path, f->ap, (uid_t)-1);
	umask(old);
	assert_non_null(f->srv);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(ctl_request(f->path, "ping", &answer), 0);
	snprintf(want, sizeof(want), "pong %ld\n", (long)getpid());
	assert_string_equal(answer, want);
	free(answer);

	ctl_server_stop(f->srv);
	f->srv = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* Nobody serves it any more. */
	assert_int_equal(ctl_request(f->path, "ping", &answer), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(answer);
}

static void
test_list_approve_deny(void **state)
{
	struct fixture *f = *state;
	struct approval_result res;
	struct seen s1 = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 } };
	struct seen s2 = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 } };
	char id1[24], id2[24], *answer;

	f->srv = ctl_server_start(f->path, f->ap, (uid_t)-1);
	assert_non_null(f->srv);
	assert_int_equal(ctl_request(f->path, "list", &answer), 0);
	assert_string_equal(answer, "[]\n");
	free(answer);

	assert_int_equal(approvals_submit(f->ap, &hook_write, seen_cb, &s1, id1,
	                     sizeof(id1), &res),
	    0);
	assert_int_equal(approvals_submit(f->ap, &hook_write, seen_cb, &s2, id2,
	                     sizeof(id2), &res),
	    0);
	assert_int_equal(ctl_request(f->path, "list", &answer), 0);
	assert_non_null(strstr(answer,
	    "{\"id\":\"f1\",\"kind\":\"fs\","
	    "\"op\":\"write\",\"target\":\".git/hooks/pre-commit\""));
	assert_non_null(strstr(answer, "{\"id\":\"f2\""));
	assert_int_equal(answer[strlen(answer) - 1], '\n');
	free(answer);

	assert_int_equal(ctl_request(f->path, "approve f1", &answer), 0);
	assert_string_equal(answer, "ok\n");
	free(answer);
	assert_int_equal(s1.n_calls, 1);
	assert_int_equal(s1.res.decision, DECISION_ALLOW);
	assert_int_equal(s1.res.decided_by, AUDIT_DECIDER_HUMAN);
	assert_non_null(strstr(s1.res.reason, "approved by uid"));

	/* Late answers say what happened. */
	assert_int_equal(ctl_request(f->path, "deny f1", &answer), 0);
	assert_string_equal(answer,
	    "error: f1 is not pending: it was already"
	    " approved (decided by human)\n");
	free(answer);
	assert_int_equal(s1.n_calls, 1);
	assert_int_equal(ctl_request(f->path, "approve f77", &answer), 0);
	assert_non_null(strstr(answer, "error: f77 is not pending: no such"));
	free(answer);

	assert_int_equal(ctl_request(f->path, "deny f2 remember", &answer), 0);
	assert_string_equal(answer, "ok\n");
	free(answer);
	assert_int_equal(s2.n_calls, 1);
	assert_int_equal(s2.res.decision, DECISION_DENY);
	assert_int_equal(s2.res.outcome, AUDIT_OUTCOME_DENIED);
	assert_int_equal(approvals_submit(f->ap, &hook_write, seen_cb, &s2, id2,
	                     sizeof(id2), &res),
	    1);
	assert_int_equal(res.decision, DECISION_DENY);
	assert_int_equal(ctl_request(f->path, "list", &answer), 0);
	assert_string_equal(answer, "[]\n");
	free(answer);
}

static void
test_garbage(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"",
		"hello",
		"approve",
		"approve f1 f2",
		"deny f1 forever",
		"approve ../f1",
		"list extra",
		"approve f1 remember more",
		"approve aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char *answer, *big;
	size_t i;

	f->srv = ctl_server_start(f->path, f->ap, (uid_t)-1);
	assert_non_null(f->srv);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_request(f->path, bad[i], &answer), 0);
		if (strncmp(answer, "error: ", 7) != 0)
			fail_msg("'%s' got '%s'", bad[i], answer);
		free(answer);
	}

	big = xmalloc(64 * 1024 + 1);
	memset(big, 'a', 64 * 1024);
	big[64 * 1024] = '\0';
	assert_int_equal(ctl_request(f->path, big, &answer), 0);
	assert_string_equal(answer, "error: request too long\n");
	free(answer);
	free(big);

	/* Still serving after all that. */
	assert_int_equal(ctl_request(f->path, "list", &answer), 0);
	assert_string_equal(answer, "[]\n");
	free(answer);
}

/* A client that connects and says nothing must not wedge the server for
 * longer than its read timeout. */
static void
test_silent_client(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned long long t0;
	char *answer;
	int fd;

	f->srv = ctl_server_start(f->path, f->ap, (uid_t)-1);
	assert_non_null(f->srv);
	str_copy(sun.sun_path, f->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	t0 = time_mono_ms();
	assert_int_equal(ctl_request(f->path, "ping", &answer), 0);
	assert_true(time_mono_ms() - t0 < 5000);
	assert_non_null(strstr(answer, "pong "));
	free(answer);
	close(fd);
}

static void
test_stale_and_live(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *second;
	char *answer;
	int fd;

	/* A socket file left by a dead daemon: bound, never listened. */
	str_copy(sun.sun_path, f->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	f->srv = ctl_server_start(f->path, f->ap, (uid_t)-1);
	assert_non_null(f->srv);
	assert_int_equal(ctl_request(f->path, "ping", &answer), 0);
	free(answer);

	/* A live one is left alone. */
	errno = 0;
	second = ctl_server_start(f->path, f->ap, (uid_t)-1);
	assert_null(second);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(ctl_request(f->path, "ping", &answer), 0);
	assert_non_null(strstr(answer, "pong "));
	free(answer);
	ctl_server_stop(f->srv);
	f->srv = NULL;

	/* And what is not a socket is never deleted. */
	fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(ctl_server_start(f->path, f->ap, (uid_t)-1));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(unlink(f->path), 0);
}

/* Run a ctl request as NOBODY_UID in a child; the answer comes back
 * through a pipe. */
static char *
request_as_nobody(const char *path, const char *line)
{
	char buf[512], *answer = NULL;
	int p[2], status;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return NULL;
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (setgid(NOBODY_UID) != 0 || setuid(NOBODY_UID) != 0)
			_exit(2);
		if (ctl_request(path, line, &answer) != 0)
			_exit(3);
		if (write(p[1], answer, strlen(answer)) < 0)
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return NULL;
	return xstrdup(buf);
}

static void
test_refuse_agent_uid(void **state)
{
	struct fixture *f = *state;
	struct approval_result res;
	struct seen s = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 } };
	char id[24], *answer;

	if (geteuid() != 0)
		skip(); /* needs setuid() to become another user */
	/* The session directory is 0700 in real life; here the test opens
	 * it so that only the uid check stands between nobody and us. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	f->srv = ctl_server_start(f->path, f->ap, NOBODY_UID);
	assert_non_null(f->srv);
	assert_int_equal(chmod(f->path, 0666), 0);
	assert_int_equal(approvals_submit(f->ap, &hook_write, seen_cb, &s, id,
	                     sizeof(id), &res),
	    0);

	answer = request_as_nobody(f->path, "approve f1");
	assert_non_null(answer);
	assert_string_equal(answer,
	    "error: refused: the agent may not decide"
	    " its own requests\n");
	free(answer);
	answer = request_as_nobody(f->path, "list");
	assert_non_null(answer);
	assert_non_null(strstr(answer, "error: refused"));
	free(answer);
	assert_int_equal(s.n_calls, 0);

	/* Root, who is not the agent, still decides. */
	assert_int_equal(ctl_request(f->path, "approve f1", &answer), 0);
	assert_string_equal(answer, "ok\n");
	free(answer);
	assert_int_equal(s.n_calls, 1);
}

static void
test_too_long_path(void **state)
{
	struct fixture *f = *state;
	char path[200], *answer;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_null(ctl_server_start(path, f->ap, (uid_t)-1));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(ctl_request(path, "ping", &answer), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(ctl_request(f->path, "two\nlines", &answer), -1);
	assert_int_equal(errno, EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_mode_and_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_approve_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_silent_client, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stale_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuse_agent_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_too_long_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
