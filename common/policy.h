/*
 * policy: the one rule set that airlock-fs and airlock-proxy both consult.
 *
 * A policy is compiled once from YAML (see doc/airlock.yaml.5) into rule
 * tables; evaluation never allocates and never touches YAML.  A compiled
 * policy is immutable and may be shared by any number of threads.  A
 * decision always names the rule that made it ("file:line", or
 * "file:defaults.fs" for a domain default) and the rule's reason.
 *
 * Bad configuration never yields a policy: every loader returns NULL and
 * fills a struct policy_error whose text reads "file:line:column: what".
 */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum decision {
	DECISION_ALLOW,
	DECISION_HOLD,
	DECISION_DENY,
};

/* File operations; a rule's `ops:` is a mask of these. */
enum fs_op {
	FS_OP_READ = 1 << 0,
	FS_OP_WRITE = 1 << 1,
	FS_OP_CREATE = 1 << 2,
	FS_OP_DELETE = 1 << 3,
	FS_OP_RENAME = 1 << 4,
	FS_OP_CHMOD = 1 << 5,
	FS_OP_LINK = 1 << 6,
	FS_OP_XATTR = 1 << 7,
};
#define FS_OP_ALL 0xff

struct policy_error {
	char file[256];
	int line; /* 1-based; 0 when the error has no position */
	int column; /* 1-based; 0 when the error has no position */
	char text
	    [768]; /* the whole message: "file:line:column: what is wrong" */
};

/* What a rule (or a default) decided.  Pointers borrow from the policy. */
struct policy_verdict {
	enum decision decision;
	const char *
	    rule; /* "conf/airlock.yaml:12" or "conf/airlock.yaml:defaults.fs" */
	const char *reason; /* never NULL; "" when the rule gave none */
	int rule_index; /* index in its domain's table, -1 for the default */
};

/* A network request as the proxy sees it.  method and path are NULL for a
 * CONNECT tunnel (decided by host and port only). */
struct net_request {
	const char *host; /* name or IP literal, as the client sent it */
	uint16_t port;
	const char *method; /* "GET", ... or NULL */
	const char *path; /* URL path ("/a/b?q") or NULL */
};

enum proxy_auth_mode {
	PROXY_AUTH_OFF,
	PROXY_AUTH_OPTIONAL,
	PROXY_AUTH_REQUIRED,
};

/* Settings outside the rule tables; parsed and validated with the rules. */
struct policy_settings {
	unsigned hold_timeout_ms; /* default 120000 */

	/* review: exactly one of command / url is set, or neither. */
	char *const *review_command; /* NULL-terminated argv, or NULL */
	const char *review_url; /* or NULL */
	unsigned review_timeout_ms;

	/* telemetry.otlp */
	const char *otlp_endpoint; /* NULL when off */
	char *const
	    *otlp_headers; /* NULL-terminated "Name: value" list, or NULL */
	int otlp_logs; /* export audit records as logs */

	/* tls */
	int tls_sni_check; /* deny a ClientHello whose SNI is another host (default 1) */
	char *const
	    *tls_intercept_hosts; /* NULL-terminated host patterns, or NULL */

	enum proxy_auth_mode proxy_auth;
};

/* Loaders.  On failure each returns NULL and fills *err (never partial). */
struct policy *policy_load_file(const char *path, struct policy_error *err);
struct policy *policy_load_buffer(
    const char *name, const char *buf, size_t len, struct policy_error *err);
/* The default policy compiled into the binaries (conf/airlock.yaml). */
struct policy *policy_load_default(struct policy_error *err);
/* policy_load_file(path), or the default when path is NULL; err is
 * cleared first, and names the failure in err->text. */
struct policy *policy_load(const char *path, struct policy_error *err);
const char *policy_default_text(size_t *len);
void policy_free(struct policy *pol);

/* SHA-256 of the source text, lower-case hex; for session.json. */
const char *policy_source_hash(const struct policy *pol);
const char *policy_source_name(const struct policy *pol);
const struct policy_settings *policy_settings(const struct policy *pol);

/*
 * Decide a file operation.  path is relative to the project root, without a
 * leading "/", with no "." or ".." components and no doubled slashes ("" is
 * the root itself); len is its length.  Never fails.
 */
void policy_eval_fs(const struct policy *pol, enum fs_op op, const char *path,
    size_t len, struct policy_verdict *out);

/*
 * The strictest decision (deny over hold over allow) among the operations
 * in ops (a mask of enum fs_op) on path, each decided as policy_eval_fs()
 * does; one pass over the rules.  *op is set to the operation that
 * decided (op may be NULL).  Never fails; an empty or unknown mask denies.
 */
void policy_eval_fs_ops(const struct policy *pol, unsigned ops,
    const char *path, size_t len, struct policy_verdict *out, enum fs_op *op);

/*
 * What an operation that changes what everything beneath path names
 * (renaming or deleting a directory, a symlink placed at path) needs: the
 * strictest decision any rule naming one of ops may give to a path strictly
 * beneath path ("a/b" for path "a"), or the default when a path there may
 * match no rule.  path itself is not included: ask policy_eval_fs_ops().
 *
 * The answer may be stricter than any path that exists there (it is about
 * every name that could): rules are taken to match whatever their patterns
 * can reach, `!` exceptions ignored, except that a rule whose pattern
 * matches all of path/... (".git/" below ".git/x") hides later rules for
 * its ops.  With POLICY_BELOW_ANCHORED only patterns whose match beneath
 * path needs path itself count (".git/hooks/" below ".git", not
 * "**\/.env" below anything): what a symlink placed at path can redirect.
 * A policy precomputes which rules can reach below each first component,
 * so a directory no rule reaches below costs two hash lookups.  *pattern
 * (pattern may be NULL) is set to the pattern that decided, or NULL for
 * the default.  Never fails.
 */
#define POLICY_BELOW_ANY 0
#define POLICY_BELOW_ANCHORED 1
void policy_eval_fs_below(const struct policy *pol, unsigned ops,
    const char *path, size_t len, int how, struct policy_verdict *out,
    const char **pattern);

/*
 * fs rules may also name paths outside the project: absolute
 * ("/etc/shadow") or in the agent's home ("~", "~/.ssh"), with shell
 * wildcards (`*`, `?`, `[...]`) inside a component (no `**`).  They are
 * never matched by policy_eval_fs() (the daemons see only the project);
 * `airlock run` turns them into mounts in the room (cli/mask.h).
 */
struct policy_outside_rule {
	enum decision action;
	unsigned ops; /* mask of enum fs_op */
	const char *rule; /* "file:line" */
	const char *reason; /* never NULL */
	const char *const *paths; /* NULL-terminated, as written */
	const char *const *excepts; /* NULL-terminated, without the "!" */
};

/* The rules naming outside paths, in file order (*n of them; NULL when
 * none).  Borrowed from the policy. */
const struct policy_outside_rule *policy_fs_outside(
    const struct policy *pol, size_t *n);

/* Nonzero when some rule other than an allow-everything names FS_OP_READ,
 * so that airlock-fs knows whether plain reads need a decision at all. */
int policy_fs_checks_reads(const struct policy *pol);

/* Decide a request by name (host patterns, ports, methods, path prefixes;
 * an IP-literal host is also matched against the rules' CIDRs). */
void policy_eval_net(const struct policy *pol, const struct net_request *req,
    struct policy_verdict *out);

/*
 * Decide an address the proxy is about to connect to (after DNS, or an IP
 * literal).  Rules with `cidrs:` are tried in order; when none matches,
 * loopback, RFC 1918, link-local, CGNAT, unique-local, multicast,
 * unspecified, documentation/benchmark and IPv4-mapped forms of these are
 * denied by a built-in rule ("builtin:special-addresses"); anything else is
 * allowed.  sa is an AF_INET or AF_INET6 address; port in host order.
 */
void policy_eval_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, struct policy_verdict *out);
/* The same for a request whose method and path are known (plain HTTP, or
 * intercepted TLS): a cidrs: rule with methods: or paths: then matches as
 * it does in policy_eval_net(), instead of as for a tunnel (where a hold or
 * deny rule with methods: or paths: applies, since they are unknown). */
void policy_eval_addr_http(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char *method, const char *path,
    struct policy_verdict *out);

/* Nonzero when host matches one of the tls.intercept patterns. */
int policy_tls_intercepts(const struct policy *pol, const char *host);

/*
 * secrets: credentials the agent never holds.  Each names where the real
 * value comes from (a variable of the caller's environment, or a file,
 * optionally with a POSIX extended regex whose first group is the secret
 * inside it) and the hosts that may receive it.  In the room the agent sees
 * a per-session sentinel in its place; airlock-proxy puts the real value
 * back only in requests to those hosts (see doc/airlock.yaml.5).
 */
struct policy_secret {
	const char *name; /* unique; letters, digits, '_', '-', '.' */
	const char *env; /* variable name, or NULL */
	const char *file; /* "~/..." or absolute, or NULL (exactly one set) */
	const char *match; /* regex with a group, or NULL: the whole file */
	const char *const *hosts; /* NULL-terminated, as written */
	int body; /* also replace it in request bodies */
	const char *rule; /* "file:line" */
};

/* The secrets, in file order (*n of them; NULL when none). */
const struct policy_secret *policy_secrets(const struct policy *pol, size_t *n);

/* Nonzero when host may receive secret i (its hosts: patterns, with
 * @registries expanded). */
int policy_secret_host(const struct policy *pol, size_t i, const char *host);

/*
 * A decision cache for one thread (it has no lock): keyed by xxh3 of
 * (domain, op, target), direct-mapped, 2^slots_log2 entries.  A cache is
 * bound to the policy it was filled from: pass the same policy each time,
 * or call policy_cache_clear() after a reload.
 */
struct policy_cache *policy_cache_new(unsigned slots_log2);
void policy_cache_free(struct policy_cache *cache);
void policy_cache_clear(struct policy_cache *cache);
/* As policy_eval_fs(); *hit is set to 1 when the answer came from cache. */
void policy_eval_fs_cached(const struct policy *pol, struct policy_cache *cache,
    enum fs_op op, const char *path, size_t len, struct policy_verdict *out,
    int *hit);
void policy_eval_net_cached(const struct policy *pol,
    struct policy_cache *cache, const struct net_request *req,
    struct policy_verdict *out, int *hit);

/* Names for printing and parsing. */
const char *policy_decision_name(enum decision d); /* "allow" "hold" "deny" */
const char *policy_fs_op_name(enum fs_op op); /* "read" ... "xattr" */
int policy_fs_op_parse(const char *name, enum fs_op *out); /* 0 or -1 */

/* Expanded `@registries` host set, one host per entry, NULL-terminated;
 * for `airlock policy show`.  Borrowed from the policy. */
char *const *policy_registries(const struct policy *pol);

/*
 * Ask the package managers that need a child process to tell their
 * configuration (npm, when no npmrc names a registry) once, and keep the
 * answer in this process's environment (npm_config_registry, which npm
 * itself honours), so that later loads here and in the daemons this
 * process starts expand `@registries` alike without running npm again
 * (it costs a Node.js start-up, 0.5 to 2 s).  Call before any thread
 * starts: it calls setenv().
 */
void policy_registries_pin(void);

/* The compiled policy as readable text (defaults, settings, @registries,
 * every rule), for `airlock policy show`.  The caller frees the result. */
char *policy_describe(const struct policy *pol);

#endif
