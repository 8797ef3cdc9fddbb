/*
 * pool: a worker's idle upstream connections (see pool.h).
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool.h"
#include "util.h"

/* Enough for the connections one worker has in flight at a time; beyond
 * it the oldest idle one is closed. */
#define POOL_MAX 64
/* Shorter than common server keep-alive timeouts (nginx 75 s), so that
 * the pool rarely offers a connection the server is about to close. */
#define POOL_IDLE_MS 15000

struct pool_entry {
	TAILQ_ENTRY(pool_entry) link; /* newest first */
	struct pool *pl;
	int fd;
	uint16_t port;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	struct event *ev; /* readable, or idle too long */
	char host[256];
};

struct pool {
	struct event_base *base;
	TAILQ_HEAD(pool_list, pool_entry) idle;
	unsigned n;
};

struct pool *
pool_new(struct event_base *base)
{
	struct pool *pl = xcalloc(1, sizeof *pl);

	pl->base = base;
	TAILQ_INIT(&pl->idle);
	return pl;
}

/* Drop e from the pool; its fd is closed unless keep_fd. */
static void
pool_remove(struct pool_entry *e, int keep_fd)
{
	TAILQ_REMOVE(&e->pl->idle, e, link);
	e->pl->n--;
	event_free(e->ev);
	if (!keep_fd)
		close(e->fd);
	free(e);
}

void
pool_free(struct pool *pl)
{
	if (pl == NULL)
		return;
	while (!TAILQ_EMPTY(&pl->idle))
		pool_remove(TAILQ_FIRST(&pl->idle), 0);
	free(pl);
}

/* An idle upstream spoke, closed, or was idle too long: nothing it can
 * say now belongs to a request, so it is closed. */
static void
pool_event_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_remove(arg, 0);
}

/* The same family, address and port (not the padding). */
static int
pool_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    x->sin6_scope_id == y->sin6_scope_id &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) ==
		    0;
	}
	return 0;
}

void
pool_put(struct pool *pl, int fd, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len)
{
	struct timeval tv = { POOL_IDLE_MS / 1000,
		(POOL_IDLE_MS % 1000) * 1000 };
	struct pool_entry *e;

	if (sa_len > sizeof e->sa || strlen(host) >= sizeof e->host) {
		close(fd);
		return;
	}
	if (pl->n >= POOL_MAX)
		pool_remove(TAILQ_LAST(&pl->idle, pool_list), 0);
	e = xcalloc(1, sizeof *e);
	e->pl = pl;
	e->fd = fd;
	e->port = port;
	memcpy(&e->sa, sa, sa_len);
	e->sa_len = sa_len;
	str_copy(e->host, host, sizeof e->host);
	e->ev = event_new(pl->base, fd, EV_READ, pool_event_cb, e);
	if (e->ev == NULL || event_add(e->ev, &tv) != 0) {
		if (e->ev != NULL)
			event_free(e->ev);
		close(fd);
		free(e);
		return;
	}
	TAILQ_INSERT_HEAD(&pl->idle, e, link);
	pl->n++;
}

int
pool_take(struct pool *pl, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len)
{
	struct pool_entry *e;
	int fd;

	for (e = TAILQ_FIRST(&pl->idle); e != NULL; e = TAILQ_NEXT(e, link)) {
		if (e->port != port || e->sa_len != sa_len ||
		    !pool_same_addr((const struct sockaddr *)&e->sa, sa) ||
		    strcmp(e->host, host) != 0)
			continue;
		fd = e->fd;
		pool_remove(e, 1);
		return fd;
	}
	return -1;
}
