/*
 * sockowner: the process at the other end of a socket is found for TCP
 * over IPv4, IPv6 and a dual-stack listener (a v4 client on a v6 socket),
 * and for a unix socket; a socket with no such peer is an error.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sockowner.h"

/*
 * A child connects to the listener at sa and waits (holding the socket)
 * until the parent closes the pipe.  Returns the child's pid and the
 * accepted socket in *afd, or skips the test when the family is missing.
 */
static pid_t
spawn_client(int family, const struct sockaddr *sa, socklen_t len, int lfd,
    int *afd, int *release)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int p[2], c;
	pid_t pid;
	char ch;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		c = socket(family, SOCK_STREAM, 0);
		if (c < 0 || connect(c, sa, len) != 0)
			_exit(1);
		(void)read(p[0], &ch, 1); /* until the parent lets go */
		_exit(0);
	}
	close(p[0]);
	/* bounded: a client that cannot connect must not hang the test */
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	*afd = accept(lfd, NULL, NULL);
	assert_true(*afd >= 0);
	*release = p[1];
	return pid;
}

static void
reap(pid_t pid, int release)
{
	int st;

	close(release);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
check_tcp(int lfamily, int cfamily, const char *caddr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof ss;
	int lfd, afd, release, one = 1;
	pid_t child, pid = -1;
	uid_t uid = (uid_t)-1;
	in_port_t port;

	lfd = socket(lfamily, SOCK_STREAM, 0);
	if (lfd < 0)
		skip();
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&ss, 0, sizeof ss);
	ss.ss_family = (sa_family_t)lfamily;
	if (lfamily == AF_INET6) {
		int off = 0;
		(void)setsockopt(
		    lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
		sin6->sin6_addr = in6addr_any;
		len = sizeof *sin6;
	} else {
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
	}
	if (bind(lfd, (struct sockaddr *)&ss, len) != 0) {
		close(lfd);
		skip();
	}
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	port = lfamily == AF_INET6 ? sin6->sin6_port : sin->sin_port;
	memset(&ss, 0, sizeof ss);
	ss.ss_family = (sa_family_t)cfamily;
	if (cfamily == AF_INET6) {
		assert_int_equal(
		    inet_pton(AF_INET6, caddr, &sin6->sin6_addr), 1);
		sin6->sin6_port = port;
		len = sizeof *sin6;
	} else {
		assert_int_equal(inet_pton(AF_INET, caddr, &sin->sin_addr), 1);
		sin->sin_port = port;
		len = sizeof *sin;
	}
	child = spawn_client(
	    cfamily, (struct sockaddr *)&ss, len, lfd, &afd, &release);
	assert_int_equal(sockowner_find(afd, &pid, &uid), 0);
	assert_int_equal(pid, child);
	assert_int_equal(uid, getuid());
	reap(child, release);
	close(afd);
	close(lfd);
}

static void
test_tcp4(void **state)
{
	(void)state;
	check_tcp(AF_INET, AF_INET, "127.0.0.1");
}

static void
test_tcp6(void **state)
{
	(void)state;
	check_tcp(AF_INET6, AF_INET6, "::1");
}

/* A v4 client on a dual-stack v6 listener: the accepted socket speaks
 * v4-mapped, the client's is listed in /proc/net/tcp. */
static void
test_tcp_mapped(void **state)
{
	(void)state;
	check_tcp(AF_INET6, AF_INET, "127.0.0.1");
}

static void
test_unix(void **state)
{
	pid_t pid = -1;
	uid_t uid = (uid_t)-1;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* SO_PEERCRED names the process that made the pair: us */
	assert_int_equal(sockowner_find(sv[0], &pid, &uid), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(uid, getuid());
	close(sv[0]);
	close(sv[1]);
}

/* A socket listening on 127.0.0.1, its address (port) in *sin. */
static int
listen_loopback(struct sockaddr_in *sin)
{
	socklen_t len = sizeof *sin;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof *sin), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* A listening socket has no peer: an error, not a guess. */
static void
test_no_peer(void **state)
{
	struct sockaddr_in sin;
	pid_t pid = 0;
	uid_t uid = 0;
	int fd;

	(void)state;
	fd = listen_loopback(&sin);
	assert_int_equal(sockowner_find(fd, &pid, &uid), -1);
	close(fd);
}

/* A query is taken from the socket at once and searched later (in
 * airlock-proxy's lookup thread): the socket may have closed by then, and
 * the client still holding its half is found all the same. */
static void
test_query_after_close(void **state)
{
	struct sockaddr_in sin;
	struct sockowner_query q;
	int lfd, afd, release;
	pid_t child, pid = -1;
	uid_t uid = (uid_t)-1;

	(void)state;
	lfd = listen_loopback(&sin);
	child = spawn_client(
	    AF_INET, (struct sockaddr *)&sin, sizeof sin, lfd, &afd, &release);
	assert_int_equal(sockowner_query_make(afd, &q), 0);
	close(afd);
	assert_int_equal(sockowner_query_run(&q, &pid, &uid), 0);
	assert_int_equal(pid, child);
	assert_int_equal(uid, getuid());
	reap(child, release);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4),
		cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_tcp_mapped),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_no_peer),
		cmocka_unit_test(test_query_after_close),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
