/*
 * bench/policy: decisions per second of the policy engine on one core,
 * with a generated 200-rule policy (100 fs rules of globs with `**`,
 * suffixes, classes and exceptions; 100 net rules of exact and wildcard
 * hosts, CIDRs and ports), uncached and through a decision cache.
 *
 *   bench/policy [SECONDS-PER-ROW]      (default 0.5)
 *
 * Prints a table; the target is at least 2 million uncached decisions per
 * second in every uncached row.  "mix" rows draw targets that match rules
 * early and late in the file and none at all; "no rule matches" rows end
 * at the default.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "util.h"

#define N_FS_RULES 100
#define N_NET_RULES 100
#define N_TARGETS 4096

static const char *const exts[] = { "c", "h", "py", "rs", "go", "js", "ts",
	"md", "txt", "json" };

static char *
bench_make_policy(void)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_adds(&b, "version: 1\ndefaults: {fs: allow, net: hold}\nfs:\n");
	for (i = 0; i < N_FS_RULES; i++) {
		switch (i % 5) {
		case 0:
			buf_addf(&b,
			    "  - paths: [\"src/mod%d/**/*.%s\", "
			    "\"!src/mod%d/gen/**\"]\n    ops: [write, create]\n"
			    "    action: hold\n",
			    i, exts[i % 10], i);
			break;
		case 1:
			buf_addf(&b,
			    "  - paths: [\"**/*.secret%d\", "
			    "\"**/.cfg%d*\"]\n    action: hold\n",
			    i, i);
			break;
		case 2:
			buf_addf(&b,
			    "  - paths: [\"docs/sec%d/*.md\", "
			    "\"docs/sec%d/[a-c]*.txt\"]\n    ops: [write]\n"
			    "    action: deny\n",
			    i, i);
			break;
		case 3:
			buf_addf(&b,
			    "  - paths: [\"**/name%d\", \"lib%d/\"]\n"
			    "    ops: [delete, rename]\n    action: hold\n",
			    i, i);
			break;
		default:
			buf_addf(&b,
			    "  - paths: [\"tools/t%d/**\", "
			    "\"build%d/*/out.?\"]\n    action: allow\n",
			    i, i);
			break;
		}
	}
	buf_adds(&b, "net:\n");
	for (i = 0; i < N_NET_RULES; i++) {
		switch (i % 4) {
		case 0:
			buf_addf(&b,
			    "  - hosts: [host%d.example.test, "
			    "api%d.example.test]\n    ports: [443]\n"
			    "    action: allow\n",
			    i, i);
			break;
		case 1:
			buf_addf(&b,
			    "  - hosts: [\"*.zone%d.example.test\"]\n"
			    "    action: hold\n",
			    i);
			break;
		case 2:
			buf_addf(&b,
			    "  - cidrs: [10.%d.0.0/16, \"fd00:%x::/32\"]"
			    "\n    action: deny\n",
			    i, i);
			break;
		default:
			buf_addf(&b,
			    "  - hosts: [svc%d.example.test]\n"
			    "    ports: [80, \"8000-8099\"]\n"
			    "    methods: [GET]\n    action: allow\n",
			    i);
			break;
		}
	}
	return buf_release(&b);
}

struct fs_target {
	enum fs_op op;
	char path[96];
	size_t len;
};

struct net_target {
	char host[64];
	uint16_t port;
};

static uint32_t bench_rng_state = 2463534242u;

static uint32_t
bench_rng(void)
{
	bench_rng_state ^= bench_rng_state << 13;
	bench_rng_state ^= bench_rng_state >> 17;
	bench_rng_state ^= bench_rng_state << 5;
	return bench_rng_state;
}

/* Targets that match rules at any depth of the list, or none. */
static void
bench_fs_targets(struct fs_target *t, int n, int no_match)
{
	int i, r;

	for (i = 0; i < n; i++) {
		r = (int)(bench_rng() % N_FS_RULES);
		t[i].op = (enum fs_op)(1u << (bench_rng() % 3));
		if (no_match || bench_rng() % 3 == 0)
			snprintf(t[i].path, sizeof(t[i].path),
			    "app/pkg%u/internal/file%u.%s", bench_rng() % 50,
			    bench_rng() % 1000, exts[bench_rng() % 10]);
		else if (r % 5 == 0)
			snprintf(t[i].path, sizeof(t[i].path),
			    "src/mod%d/a/b/x.%s", r, exts[r % 10]);
		else if (r % 5 == 1)
			snprintf(t[i].path, sizeof(t[i].path),
			    "deep/dir/.cfg%d.local", r);
		else if (r % 5 == 2)
			snprintf(t[i].path, sizeof(t[i].path),
			    "docs/sec%d/intro.md", r);
		else if (r % 5 == 3)
			snprintf(t[i].path, sizeof(t[i].path), "a/b/name%d", r);
		else
			snprintf(t[i].path, sizeof(t[i].path),
			    "tools/t%d/bin/run", r);
		t[i].len = strlen(t[i].path);
	}
}

static void
bench_net_targets(struct net_target *t, int n, int no_match)
{
	int i, r;

	for (i = 0; i < n; i++) {
		r = (int)(bench_rng() % N_NET_RULES);
		t[i].port = 443;
		if (no_match || bench_rng() % 3 == 0)
			snprintf(t[i].host, sizeof(t[i].host),
			    "cdn%u.unknown%u.example.test", bench_rng() % 100,
			    bench_rng() % 100);
		else if (r % 4 == 0)
			snprintf(t[i].host, sizeof(t[i].host),
			    "host%d.example.test", r);
		else if (r % 4 == 1)
			snprintf(t[i].host, sizeof(t[i].host),
			    "a.b.zone%d.example.test", r);
		else if (r % 4 == 2)
			snprintf(t[i].host, sizeof(t[i].host), "10.%d.3.4", r);
		else {
			snprintf(t[i].host, sizeof(t[i].host),
			    "svc%d.example.test", r);
			t[i].port = 8080;
		}
	}
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned bench_sink;

enum bench_kind {
	BENCH_FS,
	BENCH_NET,
};

/* Run one row for about secs seconds; returns decisions per second. */
static double
bench_row(const struct policy *pol, struct policy_cache *cache,
    enum bench_kind kind, const void *targets, int n, double secs,
    double *hit_rate)
{
	const struct fs_target *ft = targets;
	const struct net_target *nt = targets;
	struct policy_verdict v;
	unsigned long long done = 0, hits = 0;
	unsigned acc = 0;
	double t0 = bench_now(), t;
	int i, hit;

	do {
		for (i = 0; i < n; i++) {
			if (kind == BENCH_FS && cache == NULL)
				policy_eval_fs(
				    pol, ft[i].op, ft[i].path, ft[i].len, &v);
			else if (kind == BENCH_FS) {
				policy_eval_fs_cached(pol, cache, ft[i].op,
				    ft[i].path, ft[i].len, &v, &hit);
				hits += (unsigned)hit;
			} else {
				struct net_request req = { nt[i].host,
					nt[i].port, NULL, NULL };

				if (cache == NULL)
					policy_eval_net(pol, &req, &v);
				else {
					policy_eval_net_cached(
					    pol, cache, &req, &v, &hit);
					hits += (unsigned)hit;
				}
			}
			acc += (unsigned)v.decision;
		}
		done += (unsigned long long)n;
		t = bench_now() - t0;
	} while (t < secs);
	bench_sink = acc;
	*hit_rate = cache != NULL ? (double)hits / (double)done : 0;
	return (double)done / t;
}

static void
bench_print(const char *name, double rate, double hit_rate, int cached)
{
	char hits[16];

	if (cached)
		snprintf(hits, sizeof(hits), "%5.1f%%", hit_rate * 100);
	else
		snprintf(hits, sizeof(hits), "%6s", "-");
	printf(
	    "| %-30s | %14.0f | %8.1f | %s |\n", name, rate, 1e9 / rate, hits);
}

int
main(int argc, char **argv)
{
	static struct fs_target fs_mix[N_TARGETS], fs_none[N_TARGETS];
	static struct net_target net_mix[N_TARGETS], net_none[N_TARGETS];
	double secs = argc > 1 ? atof(argv[1]) : 0.5, rate, hr, t0, load_ms;
	struct policy_error err;
	struct policy_cache *cache;
	struct policy *pol;
	char *text = bench_make_policy();
	int worst_ok = 1;

	if (secs <= 0)
		secs = 0.5;
	t0 = bench_now();
	pol = policy_load_buffer("bench.yaml", text, strlen(text), &err);
	load_ms = (bench_now() - t0) * 1e3;
	if (pol == NULL) {
		fprintf(stderr, "bench/policy: %s\n", err.text);
		return 2;
	}
	bench_fs_targets(fs_mix, N_TARGETS, 0);
	bench_fs_targets(fs_none, N_TARGETS, 1);
	bench_net_targets(net_mix, N_TARGETS, 0);
	bench_net_targets(net_none, N_TARGETS, 1);

	printf("policy: %d fs + %d net rules, %zu bytes of YAML, compiled in "
	       "%.2f ms\n",
	    N_FS_RULES, N_NET_RULES, strlen(text), load_ms);
	printf("one thread, %d distinct targets per row, %.1fs per row\n\n",
	    N_TARGETS, secs);
	printf("| %-30s | %14s | %8s | %6s |\n", "case", "decisions/s",
	    "ns each", "hits");
	printf("|%s|%s|%s|%s|\n", "--------------------------------",
	    "----------------", "----------", "--------");

	rate = bench_row(pol, NULL, BENCH_FS, fs_mix, N_TARGETS, secs, &hr);
	bench_print("fs uncached, mix", rate, hr, 0);
	worst_ok &= rate >= 2e6;
	rate = bench_row(pol, NULL, BENCH_FS, fs_none, N_TARGETS, secs, &hr);
	bench_print("fs uncached, no rule matches", rate, hr, 0);
	worst_ok &= rate >= 2e6;
	rate = bench_row(pol, NULL, BENCH_NET, net_mix, N_TARGETS, secs, &hr);
	bench_print("net uncached, mix", rate, hr, 0);
	worst_ok &= rate >= 2e6;
	rate = bench_row(pol, NULL, BENCH_NET, net_none, N_TARGETS, secs, &hr);
	bench_print("net uncached, no rule matches", rate, hr, 0);
	worst_ok &= rate >= 2e6;

	/* A cache that holds the working set (the common case: an agent
	 * touches the same files again and again). */
	cache = policy_cache_new(14);
	rate = bench_row(pol, cache, BENCH_FS, fs_mix, N_TARGETS, secs, &hr);
	bench_print("fs cached (2^14 slots), mix", rate, hr, 1);
	rate = bench_row(pol, cache, BENCH_NET, net_mix, N_TARGETS, secs, &hr);
	bench_print("net cached (2^14 slots), mix", rate, hr, 1);
	policy_cache_free(cache);
	/* A cache far smaller than the working set: mostly misses. */
	cache = policy_cache_new(6);
	rate = bench_row(pol, cache, BENCH_FS, fs_mix, N_TARGETS, secs, &hr);
	bench_print("fs cached (2^6 slots), mix", rate, hr, 1);
	rate = bench_row(pol, cache, BENCH_NET, net_mix, N_TARGETS, secs, &hr);
	bench_print("net cached (2^6 slots), mix", rate, hr, 1);
	policy_cache_free(cache);

	printf("\ntarget: >= 2000000 uncached decisions/s per core in every "
	       "uncached row: %s\n",
	    worst_ok ? "met" : "NOT met");
	policy_free(pol);
	free(text);
	return 0;
}
