/*
 * otlp: the exporter's bounded queue and its thread (the contract is in
 * otlp.h; encoding in otlp_encode.c, the HTTP client in otlp_http.c).
 *
 * The sink copies an event, its caller and its line into ONE allocation
 * and puts the pointer in a ring under the lock; it never waits for the
 * exporter and never does I/O, so a slow or dead collector costs the
 * audit writer (and through it a file operation or a tunnel) nothing.
 * When the ring is full the record is dropped and counted.
 *
 * The exporter thread owns the endpoint, the encoding buffer and the
 * failure state; everything under the lock is listed in the struct.  It
 * takes a batch, lets go of the lock, sends it (retrying with backoff),
 * and comes back to count what happened.  A stop request cuts a backoff
 * wait short and bounds the request in flight by the stop deadline.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlp.h"
#include "otlp_priv.h"

#define OTLP_BATCH_DEFAULT 256
#define OTLP_INTERVAL_DEFAULT_MS 1000
#define OTLP_QUEUE_DEFAULT 4096
#define OTLP_TIMEOUT_DEFAULT_MS 5000
#define OTLP_ATTEMPTS_DEFAULT 5
#define OTLP_BACKOFF_INITIAL_DEFAULT_MS 250
#define OTLP_BACKOFF_MAX_DEFAULT_MS 8000
#define OTLP_FLUSH_DEFAULT_MS 5000

/* One queued record: copies of the event, its caller and its line, with
 * the strings in the same allocation. */
struct otlp_item {
	struct audit_event ev;
	struct caller caller;
	unsigned long long observed_ns;
	unsigned long long queued_ms; /* time_mono_ms() at enqueue */
	const char *line;
	size_t line_len;
	char strings[];
};

struct otlp_exporter {
	/* Set by otlp_exporter_new(), read-only after. */
	struct otlp_config cfg; /* its pointers point at our copies */
	struct otlp_endpoint ep;
	char *header_lines;

	/* The exporter thread's own. */
	struct buf body;
	int is_failing; /* the last attempt failed: say so once */
	char why_failed[160];

	pthread_t thread;
	int has_thread;

	/* lock guards everything below. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the thread waits: work, flush, stop */
	pthread_cond_t idle; /* flushers wait: n_done caught up */
	struct otlp_item **ring;
	size_t ring_cap, head, count;
	otlp_drop_fn on_drop;
	void *on_drop_arg;
	int is_reporting; /* on_drop is running (without the lock) */
	int is_stopping;
	unsigned long long stop_deadline_ms;
	/* The request in flight ends by then; a stop brings it forward (read
	 * without the lock by otlp_http_post(), hence atomic). */
	unsigned long long req_deadline_ms;
	uint64_t flush_upto; /* send without waiting until n_taken reaches it */
	uint64_t n_taken; /* taken from the ring, ever */
	uint64_t n_done; /* taken and then exported or dropped, ever */
	struct otlp_stats stats;
	uint64_t n_dropped_full, n_dropped_full_reported;
	uint64_t n_dropped_failed, n_dropped_failed_reported;
};

static unsigned
otlp_or(unsigned v, unsigned dflt)
{
	return v != 0 ? v : dflt;
}

unsigned
otlp_backoff_ms(const struct otlp_config *cfg, unsigned attempt)
{
	unsigned long long d =
	    otlp_or(cfg->backoff_initial_ms, OTLP_BACKOFF_INITIAL_DEFAULT_MS);
	unsigned max =
	    otlp_or(cfg->backoff_max_ms, OTLP_BACKOFF_MAX_DEFAULT_MS);

	while (attempt-- > 1 && d < max)
		d *= 2;
	return d < max ? (unsigned)d : max;
}

static char *
otlp_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
otlp_abs_time(struct timespec *ts, unsigned long long ms_from_now)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms_from_now / 1000);
	ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait on cond for at most ms (the conds use CLOCK_MONOTONIC). */
static void
otlp_cond_wait_ms(
    pthread_cond_t *cond, pthread_mutex_t *lock, unsigned long long ms)
{
	struct timespec ts;

	otlp_abs_time(&ts, ms);
	pthread_cond_timedwait(cond, lock, &ts);
}

static void
otlp_free_items(struct otlp_item **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i]);
}

/* Report drops since the last report; called and returns with the lock
 * held, lets go of it around the callback. */
static void
otlp_report_drops(struct otlp_exporter *exp)
{
	otlp_drop_fn fn = exp->on_drop;
	void *arg = exp->on_drop_arg;
	uint64_t full, failed;
	char why[sizeof(exp->why_failed) + 256];

	if (fn == NULL || exp->is_stopping)
		return;
	full = exp->n_dropped_full - exp->n_dropped_full_reported;
	failed = exp->n_dropped_failed - exp->n_dropped_failed_reported;
	if (full == 0 && failed == 0)
		return;
	exp->n_dropped_full_reported += full;
	exp->n_dropped_failed_reported += failed;
	exp->is_reporting = 1;
	pthread_mutex_unlock(&exp->lock);
	if (full != 0) {
		snprintf(why, sizeof(why),
		    "%llu records not exported to %s: "
		    "the OTLP queue was full",
		    (unsigned long long)full, exp->ep.display);
		fn(full, why, arg);
	}
	if (failed != 0) {
		snprintf(why, sizeof(why),
		    "%llu records not exported to %s: "
		    "%s",
		    (unsigned long long)failed, exp->ep.display,
		    exp->why_failed);
		fn(failed, why, arg);
	}
	pthread_mutex_lock(&exp->lock);
	exp->is_reporting = 0;
	pthread_cond_broadcast(&exp->idle);
}

void
otlp_exporter_set_drop_fn(struct otlp_exporter *exp, otlp_drop_fn fn, void *arg)
{
	pthread_mutex_lock(&exp->lock);
	while (exp->is_reporting)
		pthread_cond_wait(&exp->idle, &exp->lock);
	exp->on_drop = fn;
	exp->on_drop_arg = arg;
	pthread_mutex_unlock(&exp->lock);
}

/* What one attempt came to, in words without secrets; whether it is
 * worth another attempt. */
static int
otlp_describe_attempt(
    struct otlp_exporter *exp, int rc, const struct otlp_http_result *res)
{
	if (rc != 0) {
		snprintf(exp->why_failed, sizeof(exp->why_failed), "%s",
		    res->detail[0] != '\0' ? res->detail : strerror(res->err));
		return 1;
	}
	snprintf(exp->why_failed, sizeof(exp->why_failed),
	    "the collector "
	    "answered %d",
	    res->status);
	return res->status == 429 || res->status >= 500;
}

/*
 * Send one encoded batch, retrying.  Runs without the lock except to wait
 * out a backoff (so a stop can interrupt it).  Returns 0 when the
 * collector took it.
 */
static int
otlp_send_batch(struct otlp_exporter *exp)
{
	const struct otlp_config *cfg = &exp->cfg;
	struct otlp_http_result res;
	unsigned long long deadline, delay, now;
	unsigned attempt;
	int rc, is_retryable, is_stopping;

	for (attempt = 1;; attempt++) {
		pthread_mutex_lock(&exp->lock);
		exp->stats.n_requests++;
		if (attempt > 1)
			exp->stats.n_retries++;
		deadline = time_mono_ms() + 3ULL * cfg->timeout_ms;
		if (exp->is_stopping && exp->stop_deadline_ms < deadline)
			deadline = exp->stop_deadline_ms;
		__atomic_store_n(
		    &exp->req_deadline_ms, deadline, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&exp->lock);

		rc = otlp_http_post(&exp->ep, exp->header_lines, exp->body.data,
		    exp->body.len, cfg->timeout_ms, &exp->req_deadline_ms,
		    &res);
		if (rc == 0 && res.status >= 200 && res.status < 300) {
			if (exp->is_failing)
				fprintf(stderr,
				    "airlock: otlp: %s: exporting "
				    "again\n",
				    exp->ep.display);
			exp->is_failing = 0;
			return 0;
		}
		is_retryable = otlp_describe_attempt(exp, rc, &res);
		if (!exp->is_failing)
			fprintf(stderr, "airlock: otlp: %s: %s%s\n",
			    exp->ep.display, exp->why_failed,
			    is_retryable ? "; retrying with backoff"
			                 : "; dropping the batch");
		exp->is_failing = 1;
		if (!is_retryable || attempt >= cfg->max_attempts)
			return -1;

		delay = otlp_backoff_ms(cfg, attempt);
		if (rc == 0 && res.retry_after_s != 0)
			delay = res.retry_after_s * 1000ULL;
		if (delay > cfg->backoff_max_ms)
			delay = cfg->backoff_max_ms;
		pthread_mutex_lock(&exp->lock);
		deadline = time_mono_ms() + delay;
		is_stopping = 0;
		while ((now = time_mono_ms()) < deadline) {
			/* A stop may end the wait, but only drops the batch
			 * when the wait would outlive the stop's bound. */
			is_stopping = exp->is_stopping &&
			    deadline > exp->stop_deadline_ms;
			if (is_stopping)
				break;
			otlp_cond_wait_ms(
			    &exp->wake, &exp->lock, deadline - now);
		}
		pthread_mutex_unlock(&exp->lock);
		if (is_stopping)
			return -1;
	}
}

/* Whether the thread should take a batch now; with the lock held. */
static int
otlp_is_batch_due(struct otlp_exporter *exp, unsigned long long now)
{
	if (exp->count == 0)
		return 0;
	return exp->is_stopping || exp->count >= exp->cfg.batch_max ||
	    exp->flush_upto > exp->n_taken ||
	    now >= exp->ring[exp->head]->queued_ms + exp->cfg.batch_interval_ms;
}

static void *
otlp_thread_main(void *arg)
{
	struct otlp_exporter *exp = arg;
	struct otlp_item **batch;
	struct otlp_record *recs;
	unsigned long long now, due;
	size_t n, i;
	int rc;

	batch = xcalloc(exp->cfg.batch_max, sizeof(*batch));
	recs = xcalloc(exp->cfg.batch_max, sizeof(*recs));
	pthread_mutex_lock(&exp->lock);
	for (;;) {
		while (!otlp_is_batch_due(exp, now = time_mono_ms()) &&
		    !exp->is_stopping) {
			if (exp->count == 0) {
				pthread_cond_wait(&exp->wake, &exp->lock);
				continue;
			}
			due = exp->ring[exp->head]->queued_ms +
			    exp->cfg.batch_interval_ms;
			otlp_cond_wait_ms(&exp->wake, &exp->lock, due - now);
		}
		if (exp->count == 0 ||
		    (exp->is_stopping && now >= exp->stop_deadline_ms))
			break; /* stopping: free() drops what is left */
		n = exp->count < exp->cfg.batch_max ? exp->count
		                                    : exp->cfg.batch_max;
		for (i = 0; i < n; i++)
			batch[i] = exp->ring[(exp->head + i) % exp->ring_cap];
		exp->head = (exp->head + n) % exp->ring_cap;
		exp->count -= n;
		exp->n_taken += n;
		pthread_mutex_unlock(&exp->lock);

		for (i = 0; i < n; i++) {
			recs[i].ev = &batch[i]->ev;
			recs[i].line = batch[i]->line;
			recs[i].len = batch[i]->line_len;
			recs[i].observed_ns = batch[i]->observed_ns;
		}
		exp->body.len = 0;
		otlp_encode_logs(&exp->body, &exp->cfg, recs, n);
		rc = otlp_send_batch(exp);
		otlp_free_items(batch, n);

		pthread_mutex_lock(&exp->lock);
		if (rc == 0) {
			exp->stats.n_exported += n;
		} else {
			exp->n_dropped_failed += n;
			exp->stats.n_dropped += n;
		}
		/* Report before counting it done: a flush that returns
		 * has seen its drops reported. */
		otlp_report_drops(exp);
		exp->n_done += n;
		pthread_cond_broadcast(&exp->idle);
	}
	pthread_mutex_unlock(&exp->lock);
	free(batch);
	free(recs);
	return NULL;
}

static void
otlp_exporter_destroy(struct otlp_exporter *exp)
{
	otlp_endpoint_free(&exp->ep);
	free(exp->header_lines);
	free((char *)exp->cfg.service_name);
	free((char *)exp->cfg.session_id);
	free((char *)exp->cfg.project);
	buf_free(&exp->body);
	free(exp->ring);
	pthread_cond_destroy(&exp->idle);
	pthread_cond_destroy(&exp->wake);
	pthread_mutex_destroy(&exp->lock);
	free(exp);
}

struct otlp_exporter *
otlp_exporter_new(const struct otlp_config *cfg)
{
	struct otlp_exporter *exp;
	pthread_condattr_t ca;
	char why[200];
	int err;

	if (cfg->endpoint == NULL) {
		fprintf(stderr, "airlock: otlp: no endpoint\n");
		errno = EINVAL;
		return NULL;
	}
	exp = xcalloc(1, sizeof(*exp));
	pthread_mutex_init(&exp->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&exp->wake, &ca);
	pthread_cond_init(&exp->idle, &ca);
	pthread_condattr_destroy(&ca);
	buf_init(&exp->body);

	exp->cfg = *cfg;
	exp->cfg.endpoint = NULL; /* parsed into ep; not kept */
	exp->cfg.headers = NULL; /* formatted into header_lines */
	exp->cfg.ca_file = NULL; /* loaded into ep.tls */
	exp->cfg.on_drop = NULL; /* on_drop below, under the lock */
	exp->cfg.on_drop_arg = NULL;
	exp->on_drop = cfg->on_drop;
	exp->on_drop_arg = cfg->on_drop_arg;
	exp->cfg.service_name = otlp_strdup_or_null(cfg->service_name);
	exp->cfg.session_id = otlp_strdup_or_null(cfg->session_id);
	exp->cfg.project = otlp_strdup_or_null(cfg->project);
	exp->cfg.batch_max =
	    cfg->batch_max != 0 ? cfg->batch_max : OTLP_BATCH_DEFAULT;
	exp->cfg.batch_interval_ms =
	    otlp_or(cfg->batch_interval_ms, OTLP_INTERVAL_DEFAULT_MS);
	exp->cfg.queue_len =
	    cfg->queue_len != 0 ? cfg->queue_len : OTLP_QUEUE_DEFAULT;
	exp->cfg.timeout_ms = otlp_or(cfg->timeout_ms, OTLP_TIMEOUT_DEFAULT_MS);
	exp->cfg.max_attempts =
	    otlp_or(cfg->max_attempts, OTLP_ATTEMPTS_DEFAULT);
	exp->cfg.backoff_initial_ms =
	    otlp_or(cfg->backoff_initial_ms, OTLP_BACKOFF_INITIAL_DEFAULT_MS);
	exp->cfg.backoff_max_ms =
	    otlp_or(cfg->backoff_max_ms, OTLP_BACKOFF_MAX_DEFAULT_MS);
	exp->cfg.flush_timeout_ms =
	    otlp_or(cfg->flush_timeout_ms, OTLP_FLUSH_DEFAULT_MS);

	if (otlp_endpoint_parse(cfg->endpoint, &exp->ep, why, sizeof(why)) !=
	    0) {
		err = errno;
		fprintf(stderr, "airlock: otlp: telemetry.otlp.endpoint: %s\n",
		    why);
		goto fail;
	}
	if (exp->ep.is_tls &&
	    otlp_endpoint_tls(&exp->ep, cfg->ca_file, why, sizeof(why)) != 0) {
		err = errno;
		fprintf(
		    stderr, "airlock: otlp: %s: %s\n", exp->ep.display, why);
		goto fail;
	}
	if (otlp_headers_format(
	        cfg->headers, &exp->header_lines, why, sizeof(why)) != 0) {
		err = errno;
		fprintf(
		    stderr, "airlock: otlp: telemetry.otlp.headers: %s\n", why);
		goto fail;
	}
	exp->ring_cap = exp->cfg.queue_len;
	exp->ring = xcalloc(exp->ring_cap, sizeof(*exp->ring));
	err = pthread_create(&exp->thread, NULL, otlp_thread_main, exp);
	if (err != 0) {
		fprintf(stderr,
		    "airlock: otlp: cannot start the exporter: "
		    "%s\n",
		    strerror(err));
		goto fail;
	}
	exp->has_thread = 1;
	return exp;
fail:
	otlp_exporter_destroy(exp);
	errno = err;
	return NULL;
}

static size_t
otlp_len(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copy s into the item's strings at *p; NULL stays NULL. */
static const char *
otlp_put(char **p, const char *s)
{
	char *at = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(at, s, n);
	*p += n;
	return at;
}

int
otlp_exporter_enqueue(struct otlp_exporter *exp, const struct audit_event *ev,
    const char *line, size_t len)
{
	struct otlp_item *it;
	size_t size;
	char *p;

	size = sizeof(*it) + otlp_len(ev->op) + otlp_len(ev->target) +
	    otlp_len(ev->rule) + otlp_len(ev->reason) + otlp_len(ev->reviewer) +
	    (line != NULL ? len + 1 : 0);
	it = malloc(size);
	if (it == NULL)
		goto drop;
	it->ev = *ev;
	p = it->strings;
	it->ev.op = otlp_put(&p, ev->op);
	it->ev.target = otlp_put(&p, ev->target);
	it->ev.rule = otlp_put(&p, ev->rule);
	it->ev.reason = otlp_put(&p, ev->reason);
	it->ev.reviewer = otlp_put(&p, ev->reviewer);
	it->line = NULL;
	it->line_len = 0;
	if (line != NULL) {
		memcpy(p, line, len);
		p[len] = '\0';
		it->line = p;
		it->line_len = len;
	}
	if (ev->caller != NULL) {
		it->caller = *ev->caller;
		it->ev.caller = &it->caller;
	}
	it->observed_ns = time_wall_ns();
	it->queued_ms = time_mono_ms();

	pthread_mutex_lock(&exp->lock);
	if (exp->is_stopping || exp->count == exp->ring_cap) {
		pthread_mutex_unlock(&exp->lock);
		free(it);
		goto drop;
	}
	exp->ring[(exp->head + exp->count) % exp->ring_cap] = it;
	exp->count++;
	exp->stats.n_queued++;
	/* The thread sleeps until a batch fills or the oldest record's
	 * interval ends: wake it only when either changes. */
	if (exp->count == 1 || exp->count == exp->cfg.batch_max)
		pthread_cond_signal(&exp->wake);
	pthread_mutex_unlock(&exp->lock);
	return 0;
drop:
	pthread_mutex_lock(&exp->lock);
	exp->n_dropped_full++;
	exp->stats.n_dropped++;
	pthread_mutex_unlock(&exp->lock);
	return -1;
}

void
otlp_audit_sink(
    const struct audit_event *ev, const char *line, size_t len, void *arg)
{
	(void)otlp_exporter_enqueue(arg, ev, line, len);
}

int
otlp_exporter_flush(struct otlp_exporter *exp, unsigned timeout_ms)
{
	unsigned long long deadline = time_mono_ms() + timeout_ms, now;
	uint64_t target;
	int rc = 0;

	pthread_mutex_lock(&exp->lock);
	target = exp->n_taken + exp->count;
	if (exp->flush_upto < target)
		exp->flush_upto = target;
	pthread_cond_signal(&exp->wake);
	while (exp->n_done < target) {
		now = time_mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			rc = -1;
			break;
		}
		otlp_cond_wait_ms(&exp->idle, &exp->lock, deadline - now);
	}
	pthread_mutex_unlock(&exp->lock);
	return rc;
}

void
otlp_exporter_stats(struct otlp_exporter *exp, struct otlp_stats *out)
{
	pthread_mutex_lock(&exp->lock);
	*out = exp->stats;
	pthread_mutex_unlock(&exp->lock);
}

uint64_t
otlp_exporter_dropped(struct otlp_exporter *exp)
{
	uint64_t n;

	pthread_mutex_lock(&exp->lock);
	n = exp->stats.n_dropped;
	pthread_mutex_unlock(&exp->lock);
	return n;
}

void
otlp_exporter_free(struct otlp_exporter *exp)
{
	uint64_t left;

	if (exp == NULL)
		return;
	pthread_mutex_lock(&exp->lock);
	exp->is_stopping = 1;
	exp->stop_deadline_ms = time_mono_ms() + exp->cfg.flush_timeout_ms;
	if (exp->req_deadline_ms > exp->stop_deadline_ms)
		__atomic_store_n(&exp->req_deadline_ms, exp->stop_deadline_ms,
		    __ATOMIC_RELAXED);
	pthread_cond_broadcast(&exp->wake);
	pthread_mutex_unlock(&exp->lock);
	if (exp->has_thread)
		pthread_join(exp->thread, NULL);

	/* The thread is gone: what is still queued is ours to drop. */
	left = exp->count;
	while (exp->count > 0) {
		free(exp->ring[exp->head]);
		exp->head = (exp->head + 1) % exp->ring_cap;
		exp->count--;
	}
	if (left != 0)
		fprintf(stderr,
		    "airlock: otlp: %s: %llu records not exported "
		    "at exit (the flush bound passed)\n",
		    exp->ep.display, (unsigned long long)left);
	exp->stats.n_dropped += left;
	otlp_exporter_destroy(exp);
}
