/*
 * lookup: who asked, found off the workers' event loops.
 *
 * Naming the process at the other end of a held request's client socket
 * reads /proc at length (common/sockowner.h: 190-350 ms with 2,000
 * processes), and a worker's loop serves every other connection it owns
 * meanwhile.  So one thread per proxy does it, started before
 * sandbox_lockdown() (it is a thread, never a process), fed through a
 * small bounded queue.
 *
 * A worker submits a query taken from the socket (sockowner_query_make(),
 * cheap) with an id of its own choosing, and goes on: the hold does not
 * wait.  The answer comes back through the worker's inbox, a list and an
 * event of its own event_base that the lookup thread event_active()s, so
 * the callback runs in the worker's thread.  The answer carries only the
 * id: the worker looks for the connection that still waits for that id,
 * and a connection that has gone (or stopped waiting) is never touched.
 */
#ifndef AIRLOCK_PROXY_LOOKUP_H
#define AIRLOCK_PROXY_LOOKUP_H

#include <stdint.h>

#include "caller.h"
#include "sockowner.h"

struct event_base;
struct lookup;
struct lookup_inbox;

/* An answer, in the inbox's thread: found is NULL when no process could
 * be named (borrowed for the call). */
typedef void (*lookup_cb)(uint64_t id, const struct caller *found, void *arg);

/* Start the lookup thread.  Returns NULL with errno. */
struct lookup *lookup_start(void);

/* Stop the thread (waiting out the search it is in) and drop what is
 * queued; submissions fail from now on.  Call before any inbox is freed.
 * Idempotent. */
void lookup_stop(struct lookup *lk);

/* Free a stopped lookup, once no worker can submit any more. */
void lookup_free(struct lookup *lk);

/* An inbox in base, whose thread then runs cb(id, found, arg) for each
 * answer.  Returns NULL with errno. */
struct lookup_inbox *lookup_inbox_new(
    struct event_base *base, lookup_cb cb, void *arg);

/* Free an inbox and the answers it never delivered; in its base's thread,
 * after lookup_stop(). */
void lookup_inbox_free(struct lookup_inbox *in);

/* Queue a search for q; its answer goes to in with id.  Returns 0, or -1
 * with errno (EAGAIN: the queue is full; ESHUTDOWN: stopped), and no
 * answer will come. */
int lookup_submit(struct lookup *lk, struct lookup_inbox *in, uint64_t id,
    const struct sockowner_query *q);

#endif
