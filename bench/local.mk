# audit: the caller's cost of audit_log_event(), the writer's lines/s,
# verify and caller_read (common/audit*.c, common/caller.c)
noinst_PROGRAMS += bench/audit
bench_audit_SOURCES = bench/audit.c
bench_audit_LDADD = $(AIRLOCK_LIBS)

# fs, proxy: airlock against its peers (run by hand; see bench/README.md)
EXTRA_DIST += bench/README.md bench/deps.sh bench/common.py bench/fs \
	bench/proxy bench/session bench/loadgen.c bench/relay.c \
	doc/benchmarks.md

# policy: decisions/s with a generated 200-rule policy, cached and
# uncached (common/policy*.c)
noinst_PROGRAMS += bench/policy
bench_policy_SOURCES = bench/policy.c
bench_policy_LDADD = $(AIRLOCK_LIBS)
