/*
 * bench/relay.c: the floor for bench/proxy.  A CONNECT relay that does
 * nothing else: one thread, one epoll set, no policy, no audit, no
 * limits, no DNS (the target must be an IPv4 literal), no timeouts.  Each
 * direction reads up to 1 MiB into its own buffer and writes it on, as
 * airlock-proxy's copying relay does, or splices through a pipe.  What it
 * adds to a transfer or to a new TLS connection is what any user-space
 * relay adds on this machine.  Loopback only: it listens on 127.0.0.1.
 *
 *     relay PORT [copy|splice]     (prints "listening on 127.0.0.1:PORT")
 *
 * Not a proxy to use: a request it cannot parse, or any error, closes the
 * connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BUF (1024 * 1024)

enum relay_state { RELAY_HEAD, RELAY_CONNECTING, RELAY_OPEN };

/* One socket, and the direction that reads from it. */
struct end {
	int fd;
	enum relay_state state;
	struct end *peer;
	char *buf; /* copy: bytes read, not yet written to peer */
	int pipe[2]; /* splice */
	size_t held, off;
	unsigned events; /* what epoll watches now */
	int is_dead;
	struct end *next_dead;
};

static int relay_ep;
static struct end *relay_dead; /* closed, freed after the epoll batch */
static int relay_splice;
static const int one = 1;
static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static void
relay_watch(struct end *e, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	if (events == e->events)
		return;
	epoll_ctl(relay_ep, EPOLL_CTL_MOD, e->fd, &ev);
	e->events = events;
}

static struct end *
relay_end_new(int fd, enum relay_state state, unsigned events)
{
	struct end *e = calloc(1, sizeof *e);
	struct epoll_event ev = { .events = events, .data.ptr = e };

	if (e == NULL) {
		close(fd);
		return NULL;
	}
	e->fd = fd;
	e->state = state;
	e->pipe[0] = e->pipe[1] = -1;
	e->events = events;
	epoll_ctl(relay_ep, EPOLL_CTL_ADD, fd, &ev);
	return e;
}

/* Close both ends; they are freed after the epoll batch, whose later
 * events may still name them. */
static void
relay_close(struct end *e)
{
	struct end *x;
	int i;

	for (i = 0, x = e; i < 2 && x != NULL && !x->is_dead;
	     i++, x = x->peer) {
		close(x->fd); /* also leaves the epoll set */
		if (x->pipe[0] >= 0) {
			close(x->pipe[0]);
			close(x->pipe[1]);
		}
		free(x->buf);
		x->buf = NULL;
		x->is_dead = 1;
		x->next_dead = relay_dead;
		relay_dead = x;
	}
}

/* Write what e read to its peer: 1 all written, 0 peer full, -1 error. */
static int
relay_flush(struct end *e)
{
	ssize_t n;

	while (e->held > 0) {
		if (relay_splice)
			n = splice(e->pipe[0], NULL, e->peer->fd, NULL, e->held,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = send(e->peer->fd, e->buf + e->off, e->held,
			    MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		e->held -= (size_t)n;
		e->off += (size_t)n;
	}
	e->off = 0;
	return 1;
}

/* Watch e for reading while it holds nothing, and for room while its
 * peer holds bytes for it; epoll_ctl only on a change. */
static void
relay_rewatch(struct end *e)
{
	relay_watch(e,
	    (e->held == 0 ? EPOLLIN : 0) | (e->peer->held > 0 ? EPOLLOUT : 0));
	relay_watch(e->peer,
	    (e->peer->held == 0 ? EPOLLIN : 0) | (e->held > 0 ? EPOLLOUT : 0));
}

/* Read e while its peer takes it all. */
static int
relay_pump(struct end *e)
{
	ssize_t n;
	int r;

	for (;;) {
		if ((r = relay_flush(e)) < 0)
			return -1;
		if (r == 0)
			return 0; /* the peer is full */
		if (relay_splice)
			n = splice(e->fd, NULL, e->pipe[1], NULL, RELAY_BUF,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = recv(e->fd, e->buf, RELAY_BUF, 0);
		if (n == 0)
			return -1; /* a floor needs no half-close */
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		e->held = (size_t)n;
	}
}

static int
relay_open(struct end *e)
{
	if (relay_splice) {
		if (pipe2(e->pipe, O_NONBLOCK) != 0)
			return -1;
		(void)fcntl(e->pipe[0], F_SETPIPE_SZ, RELAY_BUF);
	} else if ((e->buf = malloc(RELAY_BUF)) == NULL) {
		return -1;
	}
	e->state = RELAY_OPEN;
	return 0;
}

/* The client's request: "CONNECT a.b.c.d:port ..."; connect to it. */
static void
relay_head(struct end *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096], host[64];
	struct end *u;
	ssize_t n;
	int port, fd;

	n = recv(c->fd, buf, sizeof buf - 1, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		goto fail;
	buf[n] = '\0';
	if (sscanf(buf, "CONNECT %63[0-9.]:%d ", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1 || port <= 0 ||
	    port > 65535)
		goto fail;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		goto fail;
	}
	if ((u = relay_end_new(fd, RELAY_CONNECTING, EPOLLOUT)) == NULL)
		goto fail;
	u->peer = c;
	c->peer = u;
	relay_watch(c, 0);
	return;
fail:
	relay_close(c);
}

static void
relay_event(struct end *e, unsigned events)
{
	struct end *c = e->peer;
	int err = 0;
	socklen_t len = sizeof err;

	if (e->is_dead)
		return;
	switch (e->state) {
	case RELAY_HEAD:
		relay_head(e);
		return;
	case RELAY_CONNECTING:
		if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0 ||
		    send(c->fd, established, sizeof established - 1,
		        MSG_NOSIGNAL) != (ssize_t)(sizeof established - 1) ||
		    relay_open(e) != 0 || relay_open(c) != 0)
			break;
		relay_rewatch(e);
		return;
	case RELAY_OPEN:
		/* Room on e: what its peer holds can go on. */
		if ((events & EPOLLOUT) != 0 && e->peer->held > 0 &&
		    relay_pump(e->peer) != 0)
			break;
		if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 &&
		    e->held == 0 && relay_pump(e) != 0)
			break;
		relay_rewatch(e);
		return;
	}
	relay_close(e);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event evs[64];
	struct end listener = { .fd = -1 };
	struct end *e;
	int port, n, i, fd;

	if (argc < 2 || (port = atoi(argv[1])) < 0 || port > 65535 ||
	    (argc > 2 && strcmp(argv[2], "copy") != 0 &&
	        strcmp(argv[2], "splice") != 0)) {
		fprintf(stderr, "usage: relay PORT [copy|splice]\n");
		return 2;
	}
	relay_splice = argc > 2 && strcmp(argv[2], "splice") == 0;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(listener.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	relay_ep = epoll_create1(0);
	if (listener.fd < 0 || relay_ep < 0 ||
	    bind(listener.fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(listener.fd, 4096) != 0) {
		perror("relay");
		return 1;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN,
			.data.ptr = &listener };
		socklen_t len = sizeof sa;

		epoll_ctl(relay_ep, EPOLL_CTL_ADD, listener.fd, &ev);
		getsockname(listener.fd, (struct sockaddr *)&sa, &len);
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		n = epoll_wait(relay_ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			e = evs[i].data.ptr;
			if (e != &listener) {
				relay_event(e, evs[i].events);
				continue;
			}
			while ((fd = accept4(listener.fd, NULL, NULL,
			            SOCK_NONBLOCK)) >= 0) {
				/* The request is usually there already. */
				if ((e = relay_end_new(
				         fd, RELAY_HEAD, EPOLLIN)) != NULL)
					relay_head(e);
			}
		}
		while ((e = relay_dead) != NULL) {
			relay_dead = e->next_dead;
			free(e);
		}
	}
}
