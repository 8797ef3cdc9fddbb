/*
 * bench/audit: what the audit log costs, printed as a table.
 *
 *   enqueue   audit_log_event() with the writer stalled on the file lock
 *             (the bench holds it), so only the caller's side is timed:
 *             a copy into a slot under a mutex ("cold": the first time the
 *             slots' memory is touched);
 *   write     the writer draining that queue: format, SHA-256 chain, one
 *             write() per batch (page cache; the fsync is in "flush");
 *   verify    audit_verify_file() over the result;
 *   caller    caller_read() of this process (the /proc reads airlock-fs
 *             makes for a caller it has not cached).
 *
 *   bench/audit [EVENTS [THREADS]]     (defaults: 65536 events, 1 4 threads)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "caller.h"
#include "util.h"

struct bench_worker {
	pthread_t thread;
	struct audit_log *log;
	const struct caller *who;
	long n;
	long n_ok;
};

static void *
bench_worker_main(void *arg)
{
	struct bench_worker *w = arg;
	struct audit_event ev;
	long i;

	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_FS;
	ev.op = "write";
	ev.target = "src/components/widgets/button/button_test.go";
	ev.decision = DECISION_ALLOW;
	ev.decided_by = AUDIT_DECIDER_POLICY;
	ev.rule = "/etc/airlock/airlock.yaml:12";
	ev.reason = "routine workspace writes";
	ev.caller = w->who;
	ev.duration_ms = -1;
	for (i = 0; i < w->n; i++)
		if (audit_log_event(w->log, &ev) == 0)
			w->n_ok++;
	return NULL;
}

static void
bench_row(const char *what, long count, unsigned long long us)
{
	printf("%-34s %9ld %10.1f %14.0f %10.2f\n", what, count, us / 1000.0,
	    us != 0 ? count * 1e6 / (double)us : 0.0,
	    count != 0 ? (double)us / (double)count : 0.0);
}

static unsigned long long
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* Fill the queue of a stalled writer from n_threads threads, then let
 * the writer drain it.  Returns 0, or -1. */
static int
bench_fill(const char *path, struct audit_log *log, long n, int n_threads,
    const struct caller *who, unsigned long long *enqueue_us,
    unsigned long long *drain_us, long *n_ok)
{
	struct bench_worker w[64];
	unsigned long long t0, t1, t2;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || flock(fd, LOCK_EX) != 0)
		return -1;
	*n_ok = 0;
	t0 = bench_now_us();
	for (i = 0; i < n_threads; i++) {
		w[i].log = log;
		w[i].who = who;
		w[i].n = n / n_threads;
		w[i].n_ok = 0;
		pthread_create(&w[i].thread, NULL, bench_worker_main, &w[i]);
	}
	for (i = 0; i < n_threads; i++) {
		pthread_join(w[i].thread, NULL);
		*n_ok += w[i].n_ok;
	}
	t1 = bench_now_us();
	close(fd); /* the writer goes */
	if (audit_flush(log) != 0)
		return -1;
	t2 = bench_now_us();
	*enqueue_us = t1 - t0;
	*drain_us = t2 - t1;
	return 0;
}

/* One round on a fresh log: a first fill touches the queue's memory (the
 * cost of a first burst, printed as "cold"), the second is timed as the
 * steady state. */
static int
bench_round(const char *path, long n, int n_threads, const struct caller *who)
{
	struct audit_log *log;
	unsigned long long enq, drain;
	char what[64];
	long n_ok;

	unlink(path);
	if ((log = audit_open(path, "bench", (size_t)n)) == NULL)
		return -1;
	if (bench_fill(path, log, n, n_threads, who, &enq, &drain, &n_ok) != 0)
		return -1;
	snprintf(what, sizeof(what), "enqueue, cold queue (%d thread%s)",
	    n_threads, n_threads == 1 ? "" : "s");
	bench_row(what, n_ok, enq);
	if (bench_fill(path, log, n, n_threads, who, &enq, &drain, &n_ok) != 0)
		return -1;
	snprintf(what, sizeof(what), "enqueue (%d thread%s)", n_threads,
	    n_threads == 1 ? "" : "s");
	bench_row(what, n_ok, enq);
	bench_row("write + flush (format, chain, fsync)", n_ok, drain);
	audit_close(log);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/airlock-bench-audit.XXXXXX", path[64], why[128];
	struct caller who;
	unsigned long long t0;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 65536, i;
	int threads[2] = { 1, 4 }, n_rounds = 2, k, rc = 1;
	uint64_t lines;

	if (argc > 2) {
		threads[0] = atoi(argv[2]);
		n_rounds = 1;
	}
	if (n <= 0 || threads[0] <= 0 || threads[0] > 64) {
		fprintf(
		    stderr, "usage: bench/audit [EVENTS [THREADS (1-64)]]\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("bench/audit: mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	caller_read(getpid(), getuid(), getgid(), &who);
	str_copy(who.intent, "make the tests pass", sizeof(who.intent));

	printf("%-34s %9s %10s %14s %10s\n", "what", "count", "ms",
	    "per second", "us each");
	for (k = 0; k < n_rounds; k++)
		if (bench_round(path, n, threads[k], &who) != 0) {
			fprintf(stderr, "bench/audit: %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
	t0 = bench_now_us();
	if (audit_verify_file(path, &lines, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench/audit: verify: line %llu: %s\n",
		    (unsigned long long)lines, why);
		goto out;
	}
	bench_row("verify", (long)lines, bench_now_us() - t0);
	t0 = bench_now_us();
	for (i = 0; i < 10000; i++)
		caller_read(getpid(), getuid(), getgid(), &who);
	bench_row("caller_read (/proc/self)", 10000, bench_now_us() - t0);
	rc = 0;
out:
	unlink(path);
	rmdir(dir);
	return rc;
}
