/*
 * proxy: the shared policy reference and the proxy's own addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

struct proxy_policy *
proxy_policy_get(struct proxy *p)
{
	struct proxy_policy *pp;

	pthread_mutex_lock(&p->policy_lock);
	pp = p->policy;
	atomic_fetch_add(&pp->refs, 1);
	pthread_mutex_unlock(&p->policy_lock);
	return pp;
}

void
proxy_policy_put(struct proxy_policy *pp)
{
	if (atomic_fetch_sub(&pp->refs, 1) == 1) {
		policy_free(pp->pol);
		free(pp);
	}
}

void
proxy_policy_swap(struct proxy *p, struct policy *pol)
{
	struct proxy_policy *pp = calloc(1, sizeof *pp), *old;

	if (pp == NULL)
		abort();
	pp->pol = pol;
	atomic_init(&pp->refs, 1); /* the proxy's own reference */
	pthread_mutex_lock(&p->policy_lock);
	old = p->policy;
	pp->generation = old != NULL ? old->generation + 1 : 1;
	p->policy = pp;
	pthread_mutex_unlock(&p->policy_lock);
	/* Holds from now on wait as long as the new policy says. */
	if (p->approvals != NULL)
		approvals_set_timeout(
		    p->approvals, policy_settings(pol)->hold_timeout_ms);
	if (old != NULL)
		proxy_policy_put(old);
}

static int
proxy_addr_is_any(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6,
	           sizeof any6) == 0;
}

/*
 * Compare sa with each TCP listener: the same port and the same address,
 * or a listener bound to the unspecified address (then any address of
 * this host is the proxy, which the default policy denies as loopback or
 * private anyway; a listener on a public address is matched exactly).
 */
int
proxy_relay_copies(const struct proxy *p, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xff, 0xff };
	const struct in6_addr *a6;

	if (p->cfg.relay != PROXY_RELAY_AUTO)
		return p->cfg.relay == PROXY_RELAY_COPY;
	switch (sa->sa_family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)
		                  ->sin_addr.s_addr) >>
		           24) == 127;
	case AF_INET6:
		a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a6) ||
		    (memcmp(a6->s6_addr, v4mapped, sizeof v4mapped) == 0 &&
		        a6->s6_addr[12] == 127);
	default:
		return 0;
	}
}

int
proxy_is_self(const struct proxy *p, const struct sockaddr *sa)
{
	const struct sockaddr *l;
	int i;

	for (i = 0; i < p->n_listen; i++) {
		/* An inherited listener lives in another network
		 * namespace: its address there is not this host's. */
		if (p->listen[i].is_unix || p->listen[i].is_inherited)
			continue;
		l = (const struct sockaddr *)&p->listen[i].addr;
		if (l->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)sa;
			const struct sockaddr_in *b = (const void *)l;

			if (a->sin_port == b->sin_port &&
			    (a->sin_addr.s_addr == b->sin_addr.s_addr ||
			        proxy_addr_is_any(l)))
				return 1;
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)sa;
			const struct sockaddr_in6 *b = (const void *)l;

			if (a->sin6_port == b->sin6_port &&
			    (memcmp(&a->sin6_addr, &b->sin6_addr,
			         sizeof a->sin6_addr) == 0 ||
			        proxy_addr_is_any(l)))
				return 1;
		}
	}
	return 0;
}
