/*
 * tunnel: move bytes both ways between two connected sockets until both
 * directions have ended.  A direction either splices from its source
 * socket into a pipe and from the pipe into the other socket (splice(2)),
 * without copying the bytes through user space, or, when asked to (see
 * TUNNEL_COPY_UP) or where splice is refused (EINVAL: a socket type that
 * cannot splice), reads them into a buffer and writes them on.
 *
 * A direction that reaches end of file shuts down writing on the other
 * socket (half-close is carried through); an error or the idle timeout
 * ends both.  The tunnel never closes the sockets: its owner does.
 */
#ifndef AIRLOCK_PROXY_TUNNEL_H
#define AIRLOCK_PROXY_TUNNEL_H

#include <stdint.h>

struct event_base;
struct evbuffer;
struct tunnel;

/* Called once, when the tunnel ended, with the bytes written each way.
 * The callback may (and should) call tunnel_free(). */
typedef void (*tunnel_done_fn)(
    void *arg, uint64_t to_upstream, uint64_t to_client);

/*
 * Directions that copy instead of splicing (tunnel_start()'s flags).
 * Spliced bytes reach the destination socket as the pages they arrived
 * in; a reader on the same host then pays more for them than for bytes
 * just written (proxy_relay_copies() in proxy.h says when to copy).
 */
#define TUNNEL_COPY_UP 0x1 /* client -> upstream */
#define TUNNEL_COPY_DOWN 0x2 /* upstream -> client */

/*
 * Start relaying between cfd (client) and ufd (upstream).  to_client and
 * to_upstream hold bytes already read that must go first; the tunnel takes
 * them over (and frees them, also on failure).  idle_ms 0: no idle
 * timeout.  Returns NULL on failure (errno set).
 */
struct tunnel *tunnel_start(struct event_base *base, int cfd, int ufd,
    struct evbuffer *to_client, struct evbuffer *to_upstream, unsigned idle_ms,
    unsigned flags, tunnel_done_fn done, void *arg);

void tunnel_free(struct tunnel *t);

/* An empty pipe from this thread's pool (1 MiB where the kernel allows),
 * both ends non-blocking: 0, or -1 with errno.  Also used by forward.c
 * to splice a response body. */
int tunnel_pipe_get(int p[2]);

/* Give back a pipe that is EMPTY (or close it when the pool is full);
 * sets both ends to -1.  A pipe that still holds bytes is closed by its
 * user instead. */
void tunnel_pipe_put(int p[2]);

/* Close and free what this thread's pools keep (pipes, buffers): a
 * worker thread calls it once its loop has ended. */
void tunnel_pools_free(void);

#endif
