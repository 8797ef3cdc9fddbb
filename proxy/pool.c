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

struct pool_conn {
	TAILQ_ENTRY(pool_conn) link; /* in the pool: newest first */
	struct pool *pl;
	int fd;
	void *owner; /* the request holding it; NULL while in the pool */
	struct event *ev; /* readable; in the pool also: idle too long */
	int is_pooled;
	uint16_t port;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char host[256];
};

struct pool {
	struct event_base *base;
	pool_read_fn read_fn;
	TAILQ_HEAD(pool_list, pool_conn) idle;
	unsigned n;
};

struct pool *
pool_new(struct event_base *base, pool_read_fn read_fn)
{
	struct pool *pl = xcalloc(1, sizeof *pl);

	pl->base = base;
	pl->read_fn = read_fn;
	TAILQ_INIT(&pl->idle);
	return pl;
}

/*
 * The one callback of a connection's watch.  Lent, it serves its owner
 * (which may free pc).  Pooled, the upstream spoke, closed, or was idle
 * too long: nothing it can say belongs to a request, so it is closed.
 */
static void
pool_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_conn *pc = arg;
	struct pool *pl = pc->pl;

	if (!pc->is_pooled) {
		pl->read_fn(fd, what, pc->owner);
		return;
	}
	TAILQ_REMOVE(&pl->idle, pc, link);
	pl->n--;
	close(pc->fd);
	pool_conn_free(pc);
}

struct pool_conn *
pool_conn_new(struct pool *pl, int fd, void *owner)
{
	struct pool_conn *pc = calloc(1, sizeof *pc);

	if (pc == NULL)
		return NULL;
	pc->pl = pl;
	pc->fd = fd;
	pc->owner = owner;
	pc->ev =
	    event_new(pl->base, fd, EV_READ | EV_PERSIST, pool_event_cb, pc);
	if (pc->ev == NULL) {
		free(pc);
		return NULL;
	}
	return pc;
}

void
pool_conn_reading(struct pool_conn *pc, int on)
{
	if (on)
		event_add(pc->ev, NULL);
	else
		event_del(pc->ev);
}

void
pool_conn_free(struct pool_conn *pc)
{
	if (pc == NULL)
		return;
	event_free(pc->ev);
	free(pc);
}

void
pool_free(struct pool *pl)
{
	struct pool_conn *pc;

	if (pl == NULL)
		return;
	while ((pc = TAILQ_FIRST(&pl->idle)) != NULL) {
		TAILQ_REMOVE(&pl->idle, pc, link);
		close(pc->fd);
		pool_conn_free(pc);
	}
	free(pl);
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
pool_put(struct pool *pl, struct pool_conn *pc, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len)
{
	struct timeval tv = { POOL_IDLE_MS / 1000,
		(POOL_IDLE_MS % 1000) * 1000 };
	struct pool_conn *old;

	if (sa_len > sizeof pc->sa || strlen(host) >= sizeof pc->host)
		goto drop;
	if (pl->n >= POOL_MAX) {
		old = TAILQ_LAST(&pl->idle, pool_list);
		TAILQ_REMOVE(&pl->idle, old, link);
		pl->n--;
		close(old->fd);
		pool_conn_free(old);
	}
	pc->owner = NULL;
	pc->is_pooled = 1;
	pc->port = port;
	memcpy(&pc->sa, sa, sa_len);
	pc->sa_len = sa_len;
	str_copy(pc->host, host, sizeof pc->host);
	/* Already watched for reading (a kept-alive upstream is): only the
	 * timeout is new, which touches no epoll registration. */
	if (event_add(pc->ev, &tv) != 0)
		goto drop;
	TAILQ_INSERT_HEAD(&pl->idle, pc, link);
	pl->n++;
	return;
drop:
	close(pc->fd);
	pool_conn_free(pc);
}

struct pool_conn *
pool_take(struct pool *pl, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len, void *owner, int *fd)
{
	struct pool_conn *pc;

	for (pc = TAILQ_FIRST(&pl->idle); pc != NULL;
	     pc = TAILQ_NEXT(pc, link)) {
		if (pc->port != port || pc->sa_len != sa_len ||
		    !pool_same_addr((const struct sockaddr *)&pc->sa, sa) ||
		    strcmp(pc->host, host) != 0)
			continue;
		TAILQ_REMOVE(&pl->idle, pc, link);
		pl->n--;
		(void)event_remove_timer(pc->ev);
		pc->is_pooled = 0;
		pc->owner = owner;
		*fd = pc->fd;
		return pc;
	}
	return NULL;
}
