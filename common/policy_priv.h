/*
 * policy_priv: the compiled form of a policy, shared by the policy_*.c
 * files (loader, evaluator, cache, registries) and nobody else.
 */
#ifndef AIRLOCK_POLICY_PRIV_H
#define AIRLOCK_POLICY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "policy_arena.h"
#include "policy_index.h"
#include "policy_match.h"

/* Longest host name a request may carry (DNS allows 253). */
#define POLICY_HOST_MAX 256

struct fs_rule {
	unsigned ops; /* mask of enum fs_op */
	enum decision action;
	struct glob *globs; /* positive patterns */
	size_t n_globs;
	struct glob *excepts; /* "!" patterns */
	size_t n_excepts;
	const char *rule; /* "file:line" */
	const char *reason; /* never NULL */
	/* Paths outside the project ("/etc/shadow", "~/.ssh"): never
	 * matched by policy_eval_fs(); airlock run makes them mounts. */
	const char **outside; /* NULL-terminated */
	size_t n_outside;
	const char **outside_excepts; /* NULL-terminated, "!" removed */
	size_t n_outside_excepts;
};

struct port_range {
	uint16_t lo, hi;
};

struct net_rule {
	enum decision action;
	struct host_pat *hosts;
	size_t n_hosts;
	struct cidr *cidrs; /* cidrs: and IP literals under hosts: */
	size_t n_cidrs;
	int has_target; /* hosts: or cidrs: given (else any host) */
	struct port_range *ports;
	size_t n_ports; /* 0: any port */
	const char **methods; /* upper case */
	size_t n_methods;
	const char **paths; /* URL path prefixes */
	size_t *path_lens;
	size_t n_paths;
	const char *rule;
	const char *reason;
};

struct policy {
	struct policy_arena arena;
	uint64_t id; /* unique per loaded policy, for caches */
	const char *name;
	char source_hash[65];

	struct fs_rule *fs;
	size_t n_fs;
	/* Which rules a path or host can possibly match (policy_index.h). */
	struct policy_index fs_index;
	struct policy_verdict fs_default;
	/* The fs rules that name paths outside the project, in order. */
	struct policy_outside_rule *outside;
	size_t n_outside;

	struct net_rule *net;
	size_t n_net;
	struct policy_index net_index;
	int has_parent_keys; /* some rule names "*.domain" */
	struct policy_verdict net_default;

	struct policy_settings settings;
	struct host_pat *intercept;
	size_t n_intercept;

	/* secrets: the public part, and each one's compiled hosts. */
	struct policy_secret *secrets;
	struct secret_hosts {
		struct host_pat *pats;
		size_t n;
	} * secret_hosts;
	size_t n_secrets;

	char **registries; /* NULL-terminated; empty unless referenced */
	int uses_registries;
	int checks_reads;
};

/* policy_registries.c: the hosts of the package registries this machine
 * is set up to use, NULL-terminated, allocated in arena. */
char **policy_registries_expand(struct policy_arena *arena);

/* policy_eval.c: called by the loader once the tables are built. */
void policy_eval_prepare(struct policy *pol);
/* The same decisions without the index, walking every rule (tests). */
void policy_eval_fs_linear(const struct policy *pol, enum fs_op op,
    const char *path, size_t len, struct policy_verdict *out);
void policy_eval_net_linear(const struct policy *pol,
    const struct net_request *req, struct policy_verdict *out);

#endif
