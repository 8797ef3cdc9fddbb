/*
 * hold: a request waiting for a person's (or the timeout's) decision,
 * without a thread waiting for it.
 *
 * The request is submitted to the session's approvals with a callback.
 * That callback runs in another thread (the control socket's or the
 * approvals' timer), possibly after the client has gone.  So a hold is
 * shared by two owners, the connection and the approvals, and counted:
 * the callback stores the result and event_active()s an event of the
 * connection's own event_base, under the hold's lock; a connection that
 * goes away first frees that event under the same lock, so a late
 * callback finds no event and only drops its reference.
 */
#ifndef AIRLOCK_PROXY_HOLD_H
#define AIRLOCK_PROXY_HOLD_H

#include <stdint.h>

struct caller;
struct conn;
struct hold;

/* Hold c's current request (c->verdict names the rule).  The outcome
 * arrives through conn_hold_done(), possibly before this returns (a
 * remembered decision).  May free the connection. */
void hold_start(struct conn *c);

/* The lookup thread's answer for the caller lookup id of a worker's
 * (arg) held request (a lookup_cb, in the worker's thread): recorded
 * with the pending hold when that request still waits for it. */
void hold_caller_found(uint64_t id, const struct caller *found, void *arg);

/* The connection lets go of its hold (it is closing). */
void hold_cancel(struct hold *h);

#endif
