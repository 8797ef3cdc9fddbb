/*
 * resolve: names to addresses with evdns, and the address check.
 *
 * Every address a name resolves to, and every IP literal, is decided by
 * policy_eval_addr() before the proxy connects: one denied address denies
 * the request (a name that points at both a public and a private address
 * is a rebinding attempt, not a reason to pick one), a held one holds it.
 * The addresses checked are the ones connected to: there is no second
 * lookup.  The proxy's own listening addresses are refused whatever the
 * policy says.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "conn.h"
#include "hold.h"
#include "util.h"

static const char resolve_self_rule[] = "builtin:self";
static const char resolve_self_reason[] =
    "the proxy does not connect to itself";

static void
resolve_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	const void *a = sa->sa_family == AF_INET
	    ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
	    : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, a, out, (socklen_t)len) == NULL)
		str_copy(out, "?", len);
}

/*
 * Decide every address in c->addrs and act: connect, hold or deny.
 * May free the connection.
 */
static void
resolve_check(struct conn *c)
{
	struct policy_verdict v, held = { 0 };
	const struct sockaddr *sa;
	char addr[INET6_ADDRSTRLEN], why[400];
	int i, n_held = 0;

	for (i = 0; i < c->n_addrs; i++) {
		sa = (const struct sockaddr *)&c->addrs[i];
		resolve_format_addr(sa, addr, sizeof addr);
		if (proxy_is_self(c->w->proxy, sa)) {
			c->decided_by = AUDIT_DECIDER_POLICY;
			c->verdict.rule = resolve_self_rule;
			c->verdict.reason = resolve_self_reason;
			c->verdict.rule_index = -1;
			snprintf(why, sizeof why, "%s is airlock-proxy itself.",
			    addr);
			conn_deny(c, why);
			return;
		}
		/* A plain request's method and path are known: rules that
		 * name them match as in the request's own decision. */
		policy_eval_addr_http(c->pol->pol, sa, c->port,
		    c->is_connect ? NULL : c->method, c->path, &v);
		if (v.decision == DECISION_DENY) {
			c->verdict = v;
			c->decided_by = AUDIT_DECIDER_POLICY;
			snprintf(why, sizeof why,
			    "%s resolves to %s, and that "
			    "address is not allowed.",
			    c->host, addr);
			conn_deny(c, why);
			return;
		}
		if (v.decision == DECISION_HOLD && n_held++ == 0)
			held = v;
	}
	if (n_held > 0 && c->outcome != AUDIT_OUTCOME_APPROVED) {
		c->verdict = held;
		c->stage = STAGE_CONNECT;
		hold_start(c);
		return;
	}
	conn_connect_upstream(c);
}

static void
resolve_dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct conn *c = arg;
	struct evutil_addrinfo *ai;
	char why[300];

	if (err == EVUTIL_EAI_CANCEL)
		return; /* the connection is gone */
	c->dns_req = NULL;
	c->n_addrs = 0;
	for (ai = res; ai != NULL && c->n_addrs < CONN_MAX_ADDRS;
	     ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof c->addrs[0])
			continue;
		memcpy(&c->addrs[c->n_addrs], ai->ai_addr, ai->ai_addrlen);
		c->addr_lens[c->n_addrs] = (socklen_t)ai->ai_addrlen;
		c->n_addrs++;
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (err != 0 || c->n_addrs == 0) {
		snprintf(why, sizeof why, "airlock: cannot resolve %s: %s\n",
		    c->host,
		    err != 0 ? evutil_gai_strerror(err) : "no address");
		c->verdict.decision = DECISION_ALLOW;
		conn_reply_error(c, 502, why);
		return;
	}
	resolve_check(c);
}

/* May free the connection. */
void
resolve_start(struct conn *c)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->addrs[0];
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	memset(&c->addrs[0], 0, sizeof c->addrs[0]);
	c->addr_next = 0;
	if (inet_pton(AF_INET, c->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		c->addr_lens[0] = sizeof *sin;
		c->n_addrs = 1;
	} else if (inet_pton(AF_INET6, c->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		c->addr_lens[0] = sizeof *sin6;
		c->n_addrs = 1;
	}
	if (c->n_addrs == 1) {
		/* Same port field offset in both families. */
		sin->sin_port = htons(c->port);
		resolve_check(c);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof port, "%u", c->port);
	c->dns_req = c; /* marks "pending" until the callback clears it */
	req = evdns_getaddrinfo(
	    c->w->dns, c->host, port, &hints, resolve_dns_cb, c);
	/* The callback may already have run (and freed c) when req is NULL. */
	if (req != NULL)
		c->dns_req = req;
}

/*
 * A kept-alive upstream was checked for an earlier request; a rule may
 * name the method or path, so its address is checked again for this one
 * before a byte of it goes up.  May free the connection.
 */
void
resolve_check_kept(struct conn *c)
{
	const struct sockaddr *sa =
	    (const struct sockaddr *)&c->addrs[c->up_addr];
	struct policy_verdict v;
	char addr[INET6_ADDRSTRLEN], why[400];

	policy_eval_addr_http(c->pol->pol, sa, c->port,
	    c->is_connect ? NULL : c->method, c->path, &v);
	if (v.decision == DECISION_ALLOW ||
	    (v.decision == DECISION_HOLD &&
	        c->outcome == AUDIT_OUTCOME_APPROVED)) {
		c->up_is_reused = 1;
		forward_start(c);
		return;
	}
	c->verdict = v;
	c->decided_by = AUDIT_DECIDER_POLICY;
	if (v.decision == DECISION_DENY) {
		resolve_format_addr(sa, addr, sizeof addr);
		snprintf(why, sizeof why,
		    "%s resolves to %s, and that address is not allowed.",
		    c->host, addr);
		conn_deny(c, why);
		return;
	}
	/* Held: once approved, connect (the pool has the upstream back). */
	c->addr_next = c->up_addr;
	conn_close_upstream(c);
	c->stage = STAGE_CONNECT;
	hold_start(c);
}

void
resolve_cancel(struct conn *c)
{
	struct evdns_getaddrinfo_request *req = c->dns_req;

	if (req == NULL)
		return;
	c->dns_req = NULL;
	evdns_getaddrinfo_cancel(req);
}
