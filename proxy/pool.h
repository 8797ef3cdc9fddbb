/*
 * pool: idle upstream connections of plain http:// requests, kept by each
 * worker for the next request to the same host, port and checked address.
 *
 * A client that opens a new connection per request would otherwise cost
 * the proxy a new upstream connection per request too (socket, connect,
 * close, and the origin's accept and close), which is most of the work of
 * forwarding a small request.  A pooled connection changes none of the
 * checks: every request is still decided, resolved and its addresses
 * checked first; pool_take() only hands out a connection whose peer is
 * exactly the address that was checked, for the same host name (the Host
 * header the connection was last used with) and port.
 *
 * The pool belongs to one worker thread (no lock).  An idle connection is
 * watched: any byte or end of file from the upstream, or POOL_IDLE_MS of
 * silence, closes it.
 */
#ifndef AIRLOCK_PROXY_POOL_H
#define AIRLOCK_PROXY_POOL_H

#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct pool;

/* A pool for the worker whose loop is base.  Aborts on OOM. */
struct pool *pool_new(struct event_base *base);

/* Close every idle connection and free the pool. */
void pool_free(struct pool *pl);

/*
 * Keep fd, a connected socket to sa (host:port) whose last response ended
 * cleanly with nothing unread.  The pool owns fd from now on: it closes
 * it when full (the oldest goes first), idle too long, or the upstream
 * speaks or closes.
 */
void pool_put(struct pool *pl, int fd, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len);

/* An idle connection to host:port at exactly sa, or -1.  The caller owns
 * the returned fd. */
int pool_take(struct pool *pl, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len);

#endif
