/*
 * listener: bind the --listen addresses, and run one worker thread (an
 * event_base with its own resolver and policy cache) per --threads.
 *
 * TCP addresses are bound once per worker with SO_REUSEPORT, so that the
 * kernel spreads new connections over the workers and no accept is ever
 * contended; a Unix socket is bound once and watched by every worker.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conn.h"
#include "hold.h"
#include "lookup.h"
#include "pool.h"
#include "proxy.h"
#include "tunnel.h"
#include "util.h"

#define LISTEN_BACKLOG 4096

/*
 * Accepted sockets inherit TCP_NODELAY from their listener, so setting it
 * here saves a system call per connection.  Without it a small answer or
 * a TLS record waits for an ACK (Nagle and delayed ACK: about 40 ms on
 * every new connection).
 */
static int
listener_set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/*
 * --listen fd:N: a listening stream socket inherited from the parent.
 * airlock run creates it inside the room's network namespace and hands it
 * over, so that the proxy serves the room while it stays outside.  Checks
 * that N really is a listening stream socket (never accept on a file).
 */
static int
listener_parse_fd(const char *num, struct proxy_listen *l)
{
	char *end;
	long n;
	int val = 0, flags;
	socklen_t len = sizeof val;

	errno = 0;
	n = strtol(num, &end, 10);
	if (errno != 0 || end == num || *end != '\0' || n < 3 || n > 65535)
		return -1;
	if (getsockopt((int)n, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) != 0 ||
	    val == 0)
		return -1;
	len = sizeof val;
	if (getsockopt((int)n, SOL_SOCKET, SO_TYPE, &val, &len) != 0 ||
	    val != SOCK_STREAM)
		return -1;
	if ((flags = fcntl((int)n, F_GETFL)) < 0 ||
	    fcntl((int)n, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    fcntl((int)n, F_SETFD, FD_CLOEXEC) != 0)
		return -1;
	l->addr_len = sizeof l->addr;
	if (getsockname((int)n, (struct sockaddr *)&l->addr, &l->addr_len) != 0)
		return -1;
	if ((l->addr.ss_family == AF_INET || l->addr.ss_family == AF_INET6) &&
	    listener_set_nodelay((int)n) != 0)
		return -1;
	l->is_inherited = 1;
	l->fds[l->n_fds++] = (int)n;
	return 0;
}

static int
listener_parse(const char *spec, struct proxy_listen *l)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	struct sockaddr_un *sun = (struct sockaddr_un *)&l->addr;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hlen;

	memset(l, 0, sizeof *l);
	if (strncmp(spec, "fd:", 3) == 0)
		return listener_parse_fd(spec + 3, l);
	if (strncmp(spec, "unix:", 5) == 0) {
		if (strlen(spec + 5) == 0 ||
		    strlen(spec + 5) >= sizeof sun->sun_path)
			return -1;
		l->is_unix = 1;
		sun->sun_family = AF_UNIX;
		str_copy(sun->sun_path, spec + 5, sizeof sun->sun_path);
		l->addr_len = sizeof *sun;
		return 0;
	}
	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec)
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port > 65535)
		return -1;
	hlen = (size_t)(colon - spec);
	if (spec[0] == '[') {
		if (hlen < 3 || spec[hlen - 1] != ']')
			return -1;
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof host)
		return -1;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		l->addr_len = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		l->addr_len = sizeof *sin6;
	} else {
		return -1;
	}
	return 0;
}

static int
listener_bind_tcp(struct proxy_listen *l)
{
	int fd, one = 1;

	fd = socket(
	    l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    listener_set_nodelay(fd) != 0 ||
	    (l->addr.ss_family == AF_INET6 &&
	        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) !=
	            0) ||
	    bind(fd, (struct sockaddr *)&l->addr, l->addr_len) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		close(fd);
		return -1;
	}
	/* Port 0: the others join the port the kernel picked. */
	l->addr_len = sizeof l->addr;
	if (getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
listener_bind_unix(struct proxy_listen *l)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&l->addr;
	struct stat st;
	int fd;

	/* Replace a stale socket, never another kind of file. */
	if (lstat(sun->sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		(void)unlink(sun->sun_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)sun, sizeof *sun) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
listener_bind_all(struct proxy *p, const char *const *addrs, int n_addrs)
{
	struct proxy_listen *l;
	int i, j, fd;
	char host[INET6_ADDRSTRLEN];

	if (n_addrs > PROXY_MAX_LISTEN) {
		fprintf(stderr, "airlock-proxy: at most %d --listen\n",
		    PROXY_MAX_LISTEN);
		return -1;
	}
	for (i = 0; i < n_addrs; i++) {
		l = &p->listen[i];
		if (listener_parse(addrs[i], l) != 0) {
			fprintf(stderr,
			    "airlock-proxy: --listen %s: expected "
			    "ADDR:PORT, [ADDR6]:PORT, unix:PATH or fd:N "
			    "(an inherited listening socket)\n",
			    addrs[i]);
			return -1;
		}
		p->n_listen = i + 1;
		for (j = 0; !l->is_inherited &&
		     j < (l->is_unix ? 1 : p->cfg.n_threads);
		     j++) {
			fd = l->is_unix ? listener_bind_unix(l)
			                : listener_bind_tcp(l);
			if (fd < 0) {
				fprintf(stderr,
				    "airlock-proxy: cannot listen on "
				    "%s: %s\n",
				    addrs[i], strerror(errno));
				return -1;
			}
			l->fds[l->n_fds++] = fd;
		}
		if (l->is_unix || l->is_inherited) {
			snprintf(l->text, sizeof l->text, "%s", addrs[i]);
		} else if (l->addr.ss_family == AF_INET) {
			struct sockaddr_in *sin =
			    (struct sockaddr_in *)&l->addr;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
			snprintf(l->text, sizeof l->text, "%s:%u", host,
			    ntohs(sin->sin_port));
		} else {
			struct sockaddr_in6 *sin6 =
			    (struct sockaddr_in6 *)&l->addr;

			inet_ntop(
			    AF_INET6, &sin6->sin6_addr, host, sizeof host);
			snprintf(l->text, sizeof l->text, "[%s]:%u", host,
			    ntohs(sin6->sin6_port));
		}
	}
	return 0;
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->n_listeners; i++)
		event_add(w->listeners[i], NULL);
}

/* At most this many accepts per wake-up, so that a flood of new
 * connections cannot starve the ones already open. */
#define LISTENER_ACCEPT_MAX 64

/*
 * Accept new connections.  Looking for one more until accept4 fails with
 * EAGAIN (what evconnlistener does) costs a failing system call on every
 * wake-up; accepting one only (nginx without multi_accept) costs a whole
 * loop turn for each connection still queued.  So: while this worker has
 * other connections open, a queue is likely and we accept until it is
 * empty; an idle worker (one client, a connection at a time) takes the
 * one that woke it and stops.  The socket is watched level-triggered:
 * anything left queued wakes the next turn.
 * Measured with strace -c -f over 5,000 requests of bench/loadgen, per
 * request: one client at a time 1.0 -> 0 failing accept4s; 50 in flight
 * the same as before.
 */
static void
listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { 0, 200 * 1000 };
	int fd, i, n = 0;

	do {
		len = sizeof ss;
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		conn_accept(w, fd, (struct sockaddr *)&ss, len);
	} while (
	    ++n < LISTENER_ACCEPT_MAX && w->n_conns > 1 && !w->is_stopping);
	/* Gone before we took it, or nothing after all: not an error. */
	if (fd >= 0 || errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
		return;
	/* EMFILE and friends: pause accepting instead of spinning. */
	fprintf(stderr, "airlock-proxy: accept: %s\n", strerror(errno));
	for (i = 0; i < w->n_listeners; i++)
		event_del(w->listeners[i]);
	if (!w->is_stopping)
		event_base_once(
		    w->base, -1, EV_TIMEOUT, listener_resume_cb, w, &tv);
}

static void
listener_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->n_conns == 0 || what == EV_TIMEOUT)
		event_base_loopexit(w->base, NULL);
}

static void
listener_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv;
	int i;

	w->is_stopping = 1;
	for (i = 0; i < w->n_listeners; i++) {
		event_free(w->listeners[i]);
		w->listeners[i] = NULL;
	}
	w->n_listeners = 0;
	conn_close_idle(w);
	if (w->n_conns == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	/* Let open requests and tunnels finish, for a while. */
	tv.tv_sec = w->proxy->cfg.drain_timeout_ms / 1000;
	tv.tv_usec = (w->proxy->cfg.drain_timeout_ms % 1000) * 1000;
	event_add(w->drain_ev, &tv);
}

static int
listener_setup_dns(struct worker *w)
{
	const struct proxy_config *cfg = &w->proxy->cfg;
	int r = 0;

	w->dns = evdns_base_new(w->base, 0);
	if (w->dns == NULL)
		return -1;
	if (cfg->nameserver != NULL) {
		r = evdns_base_nameserver_ip_add(w->dns, cfg->nameserver);
	} else {
		r = evdns_base_resolv_conf_parse(w->dns, DNS_OPTIONS_ALL,
		    cfg->resolv_conf != NULL ? cfg->resolv_conf
		                             : "/etc/resolv.conf");
		/* 6: no nameservers listed (evdns then uses 127.0.0.1). */
		if (r == 6 || (cfg->resolv_conf == NULL && r == 1))
			r = 0;
	}
	if (r == 0 && cfg->hosts_file != NULL)
		r = evdns_base_load_hosts(w->dns, cfg->hosts_file);
	if (r != 0)
		return -1;
	(void)evdns_base_set_option(w->dns, "timeout:", "2");
	(void)evdns_base_set_option(w->dns, "attempts:", "2");
	(void)evdns_base_set_option(w->dns, "randomize-case:", "0");
	return 0;
}

static void *
listener_worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	/* the lookup thread was stopped before this loop was (main.c) */
	lookup_inbox_free(w->lookups);
	w->lookups = NULL;
	pool_free(w->pool);
	w->pool = NULL;
	tunnel_pools_free();
	return NULL;
}

static int
listener_setup_worker(struct proxy *p, struct worker *w)
{
	struct event_config *cfg;
	struct proxy_listen *l;
	int i, fd;

	w->proxy = p;
	/* Coalesce the many enable/disable steps of one loop turn into one
	 * epoll_ctl per fd (no fd is ever dup()ed here, the flag's caveat). */
	cfg = event_config_new();
	if (cfg == NULL)
		return -1;
	(void)event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		return -1;
	if (listener_setup_dns(w) != 0) {
		fprintf(stderr,
		    "airlock-proxy: cannot set up the resolver "
		    "(%s)\n",
		    p->cfg.nameserver != NULL        ? p->cfg.nameserver
		        : p->cfg.resolv_conf != NULL ? p->cfg.resolv_conf
		                                     : "/etc/resolv.conf");
		return -1;
	}
	w->cache = policy_cache_new(12);
	w->pool = pool_new(w->base, forward_upstream_readable);
	w->stop_ev = event_new(w->base, -1, 0, listener_stop_cb, w);
	w->drain_ev = event_new(w->base, -1, 0, listener_drain_cb, w);
	w->lookups = lookup_inbox_new(w->base, hold_caller_found, w);
	if (w->cache == NULL || w->stop_ev == NULL || w->drain_ev == NULL ||
	    w->lookups == NULL)
		return -1;
	LIST_INIT(&w->conns);
	for (i = 0; i < p->n_listen; i++) {
		l = &p->listen[i];
		fd = l->is_unix || l->is_inherited ? l->fds[0]
		                                   : l->fds[w->index];
		w->listeners[i] = event_new(
		    w->base, fd, EV_READ | EV_PERSIST, listener_accept_cb, w);
		if (w->listeners[i] == NULL)
			return -1;
		w->n_listeners = i + 1;
		if (event_add(w->listeners[i], NULL) != 0)
			return -1;
	}
	return 0;
}

int
listener_start_workers(struct proxy *p)
{
	int i;

	p->workers = xcalloc((size_t)p->cfg.n_threads, sizeof *p->workers);
	p->n_workers = p->cfg.n_threads;
	for (i = 0; i < p->n_workers; i++) {
		p->workers[i].index = i;
		if (listener_setup_worker(p, &p->workers[i]) != 0)
			return -1;
	}
	for (i = 0; i < p->n_workers; i++)
		if (pthread_create(&p->workers[i].thread, NULL,
		        listener_worker_main, &p->workers[i]) != 0)
			return -1;
	return 0;
}

void
listener_stop_workers(struct proxy *p)
{
	int i;

	for (i = 0; i < p->n_workers; i++)
		event_active(p->workers[i].stop_ev, EV_READ, 0);
}

void
listener_join_workers(struct proxy *p)
{
	int i, j;

	for (i = 0; i < p->n_workers; i++)
		pthread_join(p->workers[i].thread, NULL);
	for (i = 0; i < p->n_listen; i++) {
		for (j = 0; j < p->listen[i].n_fds; j++)
			close(p->listen[i].fds[j]);
		if (p->listen[i].is_unix)
			(void)unlink(((struct sockaddr_un *)&p->listen[i].addr)
			                 ->sun_path);
	}
}
