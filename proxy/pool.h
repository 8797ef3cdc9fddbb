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
 *
 * A plain upstream connection has one read watch (struct pool_conn) from
 * its first request to its close, which calls back for the request that
 * holds it and for the pool in between: moving a connection in and out of
 * the pool then changes no epoll registration (no system call).
 */
#ifndef AIRLOCK_PROXY_POOL_H
#define AIRLOCK_PROXY_POOL_H

#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct pool;
struct pool_conn;

/* Called when a lent connection's socket is readable (or closed). */
typedef void (*pool_read_fn)(int fd, short what, void *owner);

/* A pool for the worker whose loop is base; read_fn serves the requests
 * that hold its connections.  Aborts on OOM. */
struct pool *pool_new(struct event_base *base, pool_read_fn read_fn);

/* A read watch on fd (a connected plain upstream socket, which stays the
 * caller's) for owner, off until pool_conn_reading().  NULL on failure. */
struct pool_conn *pool_conn_new(struct pool *pl, int fd, void *owner);

/* Watch for reading, or stop. */
void pool_conn_reading(struct pool_conn *pc, int on);

/* Stop watching and free pc; the caller still closes the socket. */
void pool_conn_free(struct pool_conn *pc);

/* Close every idle connection and free the pool. */
void pool_free(struct pool *pl);

/*
 * Keep pc's connection, to sa (host:port), whose last response ended
 * cleanly with nothing unread.  The pool owns pc and its socket from now
 * on: it closes it when full (the oldest goes first), idle too long, or
 * the upstream speaks or closes.
 */
void pool_put(struct pool *pl, struct pool_conn *pc, const char *host,
    uint16_t port, const struct sockaddr *sa, socklen_t sa_len);

/* An idle connection to host:port at exactly sa, lent to owner (its
 * watch reading, for owner), its socket in *fd; or NULL.  The caller
 * owns it from now on. */
struct pool_conn *pool_take(struct pool *pl, const char *host, uint16_t port,
    const struct sockaddr *sa, socklen_t sa_len, void *owner, int *fd);

#endif
