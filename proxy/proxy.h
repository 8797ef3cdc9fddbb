/*
 * proxy: the state airlock-proxy's threads share, and the per-thread
 * worker each connection belongs to.
 *
 * Threads: the main thread loads the policy, binds the listeners, starts
 * one worker per --threads and then only handles signals.  Each worker
 * runs its own event_base (with its own evdns_base and policy cache) and
 * owns every connection it accepted, from accept to close: a connection is
 * touched by no other thread.  The only cross-thread entry into a worker is
 * event_active() on one of its events (hold.c, lookup.c's inbox, the stop
 * event).
 *
 * The policy is reference-counted so that SIGHUP can swap it while
 * requests still read verdicts that borrow its strings: a request takes a
 * reference when it starts and drops it when its audit record is written.
 */
#ifndef AIRLOCK_PROXY_PROXY_H
#define AIRLOCK_PROXY_PROXY_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "approval.h"
#include "audit.h"
#include "policy.h"
#include "secret.h"

struct event_base;
struct evdns_base;
struct event;
struct lookup;
struct lookup_inbox;
struct ca;
struct conn;
struct otlp_link;
struct pool;

#define PROXY_MAX_LISTEN 16

struct proxy_listen {
	int is_unix;
	int is_inherited; /* fd:N, a listening socket the parent handed over
			     (airlock run opens it inside the room's network
			     namespace); shared by every worker like unix: */
	struct sockaddr_storage addr; /* the bound address (real port) */
	socklen_t addr_len;
	char text[128]; /* "127.0.0.1:3128" or "unix:/path" */
	int fds[64]; /* one per worker (TCP), or one shared */
	int n_fds;
};

/* How tunnels and plain response bodies move bytes (--relay). */
enum proxy_relay {
	PROXY_RELAY_AUTO, /* copy toward a reader on this host, else splice */
	PROXY_RELAY_SPLICE,
	PROXY_RELAY_COPY,
};

struct proxy_config {
	const char *policy_file; /* NULL: the built-in default */
	const char *session_dir; /* NULL: no control socket, no CA */
	const char *audit_file;
	const char *resolv_conf; /* evdns configuration, or NULL */
	const char *nameserver; /* "ADDR:PORT", overrides resolv_conf */
	const char *hosts_file; /* extra hosts(5) file for evdns, or NULL */
	const char *ca_dir; /* default SESSION/ca */
	int n_threads;
	int is_daemon;
	unsigned max_conns;
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned connect_timeout_ms;
	unsigned peek_timeout_ms;
	unsigned drain_timeout_ms;
	uid_t agent_uid; /* refused on proxy.sock; (uid_t)-1 for none */
	enum proxy_relay relay;
};

/* A reference-counted policy (see above). */
struct proxy_policy {
	struct policy *pol;
	atomic_uint refs;
	unsigned generation;
};

struct proxy;

struct worker {
	struct proxy *proxy;
	int index;
	pthread_t thread;
	struct event_base *base;
	struct evdns_base *dns;
	struct policy_cache *cache;
	unsigned cache_generation;
	struct pool *pool; /* idle upstream connections (pool.h) */
	struct event *listeners[PROXY_MAX_LISTEN]; /* listening sockets */
	int n_listeners;
	struct event *stop_ev; /* activated by the main thread on SIGTERM */
	struct event *drain_ev; /* checks whether the last connection left */
	struct lookup_inbox *lookups; /* answers of the lookup thread */
	uint64_t next_lookup_id; /* ids of this worker's lookups, from 1 */
	unsigned n_conns;
	LIST_HEAD(, conn) conns;
	int is_stopping;
};

struct proxy {
	struct proxy_config cfg;
	pthread_mutex_t policy_lock; /* guards policy (the pointer only) */
	struct proxy_policy *policy;
	struct approvals *approvals;
	struct ctl_server *ctl;
	struct lookup *lookup; /* the thread naming held requests' callers */
	struct audit_log *audit;
	struct otlp_link *otlp; /* telemetry.otlp export, or NULL */
	const char *session_id;
	struct ca *ca; /* NULL: interception unavailable */
	/* --secrets-fd: the real values behind the sentinels (sentinel.h).
	 * Read once at start-up, never changed after: workers read it
	 * without a lock. */
	struct secret_set secrets;
	struct proxy_listen listen[PROXY_MAX_LISTEN];
	int n_listen;
	struct worker *workers;
	int n_workers;
	atomic_uint n_conns; /* across all workers, for --max-conns */
	atomic_int is_stopping;
};

/* Take a reference on the current policy; release with proxy_policy_put. */
struct proxy_policy *proxy_policy_get(struct proxy *p);
void proxy_policy_put(struct proxy_policy *pp);
/* Replace the current policy (SIGHUP); the old one lives while in use. */
void proxy_policy_swap(struct proxy *p, struct policy *pol);

/* Nonzero when sa:port is one of the proxy's own listening addresses. */
int proxy_is_self(const struct proxy *p, const struct sockaddr *sa);

/*
 * Nonzero when bytes bound for a socket connected to sa should be copied
 * rather than spliced (--relay).  auto copies toward a reader on this
 * host: a unix socket, or a loopback address (an agent in airlock run's
 * room reaches the proxy over its own loopback).  Spliced bytes reach
 * such a reader as the pages they arrived in, which it reads more slowly
 * than bytes just written: measured with curl on loopback, 1 GiB through
 * a CONNECT tunnel cost curl 1.8-2.3 s of CPU spliced against 1.4-1.8 s
 * copied (doc/benchmarks.md).  Toward the network, splice saves the
 * proxy two copies.
 */
int proxy_relay_copies(const struct proxy *p, const struct sockaddr *sa);

/* listener.c: bind every --listen address (fatal errors print and return
 * -1), start the workers, stop them. */
int listener_bind_all(struct proxy *p, const char *const *addrs, int n_addrs);
int listener_start_workers(struct proxy *p);
void listener_stop_workers(struct proxy *p);
void listener_join_workers(struct proxy *p);

#endif
