/*
 * hold: held requests resolved through approvals, without blocking a
 * worker (see hold.h for who owns what).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "conn.h"
#include "hold.h"
#include "lookup.h"
#include "reviewer.h"
#include "sockowner.h"
#include "util.h"

/* Headers whose values a reviewer never sees: credentials for us or for
 * the origin (a reviewer may be a service of someone else's). */
static const char *const hold_secret_headers[] = {
	"proxy-authorization",
	"authorization",
	"cookie",
	"x-api-key",
	NULL,
};

struct hold {
	pthread_mutex_t lock; /* guards refs, ev, res, is_resolved */
	int refs;
	struct event *ev; /* in the connection's base; NULL once it let go */
	struct conn *conn; /* only read in the connection's thread */
	struct approval_result res;
	int is_resolved;
	char id[32];
};

static void
hold_unref(struct hold *h)
{
	int last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last) {
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
}

/* Runs in the resolving thread: only store and wake. */
static void
hold_resolved_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct hold *h = arg;

	pthread_mutex_lock(&h->lock);
	h->res = *res;
	h->is_resolved = 1;
	if (h->ev != NULL)
		event_active(h->ev, EV_READ, 0);
	pthread_mutex_unlock(&h->lock);
	hold_unref(h);
}

/* Let go of the event (the connection's side).  Its thread only. */
static void
hold_detach(struct hold *h)
{
	pthread_mutex_lock(&h->lock);
	if (h->ev != NULL) {
		event_free(h->ev);
		h->ev = NULL;
	}
	h->conn = NULL;
	pthread_mutex_unlock(&h->lock);
	hold_unref(h);
}

/* Runs in the connection's thread once the hold was resolved. */
static void
hold_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hold *h = arg;
	struct approval_result res;
	struct conn *c = h->conn;

	pthread_mutex_lock(&h->lock);
	res = h->res;
	pthread_mutex_unlock(&h->lock);
	c->hold = NULL;
	hold_detach(h);
	fprintf(stderr, "airlock-proxy: %s %s: %s (%s)\n",
	    c->is_connect ? "CONNECT" : c->method, c->target,
	    audit_outcome_name(res.outcome),
	    audit_decider_name(res.decided_by));
	conn_hold_done(c, &res);
}

static int
hold_is_secret(const struct http_header *h)
{
	size_t i;

	for (i = 0; hold_secret_headers[i] != NULL; i++)
		if (strlen(hold_secret_headers[i]) == h->name_len &&
		    strncasecmp(hold_secret_headers[i], h->name, h->name_len) ==
		        0)
			return 1;
	return 0;
}

/* The request line and headers, secrets redacted, at most
 * REVIEW_DETAIL_MAX bytes; NULL when there is no request.  Caller frees. */
static char *
hold_detail_request(const struct conn *c)
{
	static const char cut[] = "[... cut at 8 KiB]\n";
	const struct http_request *r = c->req;
	struct buf b;
	size_t i;

	if (r == NULL)
		return NULL;
	buf_init(&b);
	buf_add(&b, r->method, r->method_len);
	buf_adds(&b, " ");
	buf_add(&b, r->target, r->target_len);
	buf_addf(&b, " HTTP/1.%d\n", r->version_minor);
	for (i = 0; i < r->n_headers; i++) {
		buf_add(&b, r->headers[i].name, r->headers[i].name_len);
		buf_adds(&b, ": ");
		if (hold_is_secret(&r->headers[i]))
			buf_adds(&b, "[redacted]");
		else
			buf_add(
			    &b, r->headers[i].value, r->headers[i].value_len);
		buf_adds(&b, "\n");
	}
	if (b.len > REVIEW_DETAIL_MAX) {
		b.len = REVIEW_DETAIL_MAX - (sizeof cut - 1);
		buf_add(&b, cut, sizeof cut - 1);
	}
	return buf_release(&b);
}

/* What the lookup found, into c->caller.  The identity and trace context
 * the request carried itself are kept: a traceparent header names the
 * step more closely than the process's environment does. */
static void
hold_caller_merge(struct conn *c, const struct caller *found)
{
	c->caller.pid = found->pid;
	c->caller.uid = found->uid;
	c->caller.gid = found->gid;
	memcpy(c->caller.exe, found->exe, sizeof c->caller.exe);
	memcpy(c->caller.cmdline, found->cmdline, sizeof c->caller.cmdline);
	memcpy(c->caller.intent, found->intent, sizeof c->caller.intent);
	if (c->caller.trace_id[0] == '\0') {
		memcpy(c->caller.trace_id, found->trace_id,
		    sizeof c->caller.trace_id);
		memcpy(c->caller.span_id, found->span_id,
		    sizeof c->caller.span_id);
	}
}

/*
 * Who asked, for the person deciding and the audit record: the process at
 * the other end of the client socket.  Looked up only when a request is
 * held, because it reads /proc at length (sockowner.h), and by the lookup
 * thread (lookup.h), because that takes long enough to stall every other
 * connection of this worker.  The hold does not wait for it: the answer
 * lands in hold_caller_found(), or never (the search failed, or the queue
 * was full), and the request then names no process.  A request decided
 * before the answer came (by a person, or by a decision remembered from
 * earlier) still takes it into its audit record, which is written when
 * the request or tunnel ends, if the answer came by then.
 */
static void
hold_find_caller(struct conn *c)
{
	struct worker *w = c->w;
	struct sockowner_query q;

	/* Known already, or being looked up for an earlier request of this
	 * connection (the same socket, so the same answer). */
	if (c->caller.pid != 0 || c->lookup_id != 0 || c->cfd < 0 ||
	    w->proxy->lookup == NULL || sockowner_query_make(c->cfd, &q) != 0)
		return;
	if (lookup_submit(
	        w->proxy->lookup, w->lookups, ++w->next_lookup_id, &q) == 0)
		c->lookup_id = w->next_lookup_id;
}

void
hold_caller_found(uint64_t id, const struct caller *found, void *arg)
{
	struct worker *w = arg;
	struct conn *c;

	/* By id, among this worker's connections: one freed meanwhile is
	 * not in the list.  One whose hold was decided meanwhile still takes
	 * the answer, for its audit record. */
	for (c = LIST_FIRST(&w->conns); c != NULL; c = LIST_NEXT(c, entry))
		if (c->lookup_id == id)
			break;
	if (c == NULL)
		return;
	c->lookup_id = 0;
	if (found == NULL)
		return;
	hold_caller_merge(c, found);
	/* ENOENT: decided in the meantime, its wake is on the way */
	if (c->hold != NULL)
		(void)approvals_set_caller(
		    w->proxy->approvals, c->hold->id, &c->caller);
}

void
hold_start(struct conn *c)
{
	struct proxy *p = c->w->proxy;
	struct held_info info;
	struct approval_result res;
	struct hold *h;
	int r;

	if (p->approvals == NULL) {
		conn_deny(c,
		    "It needs approval, and this proxy has no "
		    "approvals.");
		return;
	}
	h = calloc(1, sizeof *h);
	if (h == NULL || pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		conn_deny(c, "It needs approval, and holding it failed.");
		return;
	}
	h->refs = 2; /* the connection and the approvals' callback */
	h->conn = c;
	h->ev = event_new(c->w->base, -1, 0, hold_wake_cb, h);
	if (h->ev == NULL) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		conn_deny(c, "It needs approval, and holding it failed.");
		return;
	}
	memset(&info, 0, sizeof info);
	info.kind = "net";
	info.op = c->is_connect ? "connect" : c->method;
	info.target = c->target;
	info.rule = c->verdict.rule;
	info.reason = c->verdict.reason;
	info.caller = &c->caller;
	info.detail = hold_detail_request(c);
	c->verdict.decision = DECISION_HOLD;
	c->hold = h;
	r = approvals_submit(p->approvals, &info, hold_resolved_cb, h, h->id,
	    sizeof h->id, &res);
	free((char *)info.detail);
	if (r == 0) {
		fprintf(stderr, "airlock-proxy: held %s %s as %s\n", info.op,
		    c->target, h->id);
		hold_find_caller(c);
		return; /* the answer comes through hold_wake_cb() */
	}
	/* Remembered (1) or failed (-1): no callback will come. */
	c->hold = NULL;
	hold_unref(h);
	hold_detach(h);
	if (r == 1) {
		str_copy(c->reviewer_reason,
		    "remembered: a person decided the same request earlier in "
		    "this session",
		    sizeof c->reviewer_reason);
		hold_find_caller(c); /* for the audit record, if in time */
		conn_hold_done(c, &res);
		return;
	}
	conn_deny(c, "It needs approval, and holding it failed.");
}

void
hold_cancel(struct hold *h)
{
	hold_detach(h);
}
