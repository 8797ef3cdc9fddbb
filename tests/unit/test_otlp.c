/*
 * test_otlp: the OTLP/HTTP JSON encoding of a record (attributes, trace
 * ids, escaping), endpoint and header checks (and that a header's value
 * never reaches stderr), the backoff schedule, and the exporter against an
 * in-process loopback HTTP listener: a POST and its body, batching, 503
 * then 200 (a retry), giving up, a 400 (no retry), a refused connection,
 * drop counting when the queue is full, a bounded free(), and the exporter
 * as a real audit log's sink.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "audit_record.h"
#include "otlp.h"
#include "util.h"

#define TRACE_ID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN_ID "00f067aa0ba902b7"
#define SECRET "s3cr3t-api-key-do-not-print"

/* ---- encoding ---- */

static void
fill_caller(struct caller *c)
{
	memset(c, 0, sizeof(*c));
	c->pid = 4242;
	c->uid = 1000;
	str_copy(c->exe, "/usr/bin/python3", sizeof(c->exe));
	str_copy(
	    c->cmdline, "python3 -c \"print('hi')\"\tx", sizeof(c->cmdline));
	str_copy(c->trace_id, TRACE_ID, sizeof(c->trace_id));
	str_copy(c->span_id, SPAN_ID, sizeof(c->span_id));
	str_copy(c->intent, "fix the build", sizeof(c->intent));
}

/* Encode one event as audit_record_format() would have written it at
 * wall_ns with seq; the request body in b, the line's hash in hash. */
static void
encode_one(struct buf *b, const struct audit_event *ev,
    unsigned long long wall_ns, uint64_t seq, char *hash)
{
	struct otlp_config cfg = { .endpoint = "http://127.0.0.1:1",
		.session_id = "s-1",
		.project = "/src/proj" };
	struct otlp_record rec;
	struct buf line;

	buf_init(&line);
	audit_record_format(
	    &line, ev, "s-1", wall_ns, seq, audit_hash_zero, hash);
	rec.ev = ev;
	rec.line = line.data;
	rec.len = line.len;
	rec.observed_ns = wall_ns + 5;
	buf_init(b);
	otlp_encode_logs(b, &cfg, &rec, 1);
	buf_add(b, "", 1);
	b->len--;
	buf_free(&line);
}

#define assert_has(hay, needle)                                                \
	do {                                                                   \
		if (strstr((hay), (needle)) == NULL)                           \
			fail_msg("missing %s in %s", (needle), (hay));         \
	} while (0)
#define assert_lacks(hay, needle)                                              \
	do {                                                                   \
		if (strstr((hay), (needle)) != NULL)                           \
			fail_msg("unexpected %s in %s", (needle), (hay));      \
	} while (0)

static void
test_encode_fs(void **state)
{
	struct caller c;
	struct audit_event ev;
	struct buf b;
	char hash[AUDIT_HASH_HEX + 1], want[160];

	fill_caller(&c);
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_FS;
	ev.op = "write";
	ev.target = "src/a \"b\".c\nx";
	ev.decision = DECISION_HOLD;
	ev.outcome = AUDIT_OUTCOME_APPROVED;
	ev.decided_by = AUDIT_DECIDER_HUMAN;
	ev.rule = "p.yaml:3";
	ev.reason = "hooks run code\\outside";
	ev.caller = &c;
	ev.bytes_out = 12;
	ev.duration_ms = 7;
	/* 2026-11-25T20:24:25.123456789Z */
	encode_one(&b, &ev, 1795638265123456789ULL, 7, hash);

	assert_has(b.data,
	    "{\"resourceLogs\":[{\"resource\":{\"attributes\":"
	    "[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
	    "\"airlock\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.session.id\",\"value\":"
	    "{\"stringValue\":\"s-1\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.project\",\"value\":"
	    "{\"stringValue\":\"/src/proj\"}}");
	assert_has(b.data, "\"scopeLogs\":[{\"scope\":{\"name\":\"airlock\"");
	assert_has(b.data, "\"timeUnixNano\":\"1795638265123456789\"");
	assert_has(b.data, "\"observedTimeUnixNano\":\"1795638265123456794\"");
	assert_has(b.data, "\"severityNumber\":9,\"severityText\":\"INFO\"");
	assert_has(b.data,
	    "{\"key\":\"file.path\",\"value\":{\"stringValue\":"
	    "\"src/a \\\"b\\\".c\\nx\"}}");
	assert_has(b.data,
	    "{\"key\":\"process.pid\",\"value\":{\"intValue\":"
	    "\"4242\"}}");
	assert_has(b.data,
	    "{\"key\":\"process.command_line\",\"value\":"
	    "{\"stringValue\":\"python3 -c \\\"print('hi')\\\"\\tx\"}}");
	assert_has(b.data,
	    "{\"key\":\"process.executable.path\",\"value\":"
	    "{\"stringValue\":\"/usr/bin/python3\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.decision\",\"value\":"
	    "{\"stringValue\":\"hold\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.outcome\",\"value\":"
	    "{\"stringValue\":\"approved\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.decided_by\",\"value\":"
	    "{\"stringValue\":\"human\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.reason\",\"value\":"
	    "{\"stringValue\":\"hooks run code\\\\outside\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.intent\",\"value\":"
	    "{\"stringValue\":\"fix the build\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.bytes_out\",\"value\":"
	    "{\"intValue\":\"12\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.duration_ms\",\"value\":"
	    "{\"intValue\":\"7\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.seq\",\"value\":{\"intValue\":"
	    "\"7\"}}");
	snprintf(want, sizeof(want),
	    "{\"key\":\"airlock.hash\",\"value\":"
	    "{\"stringValue\":\"%s\"}}",
	    hash);
	assert_has(b.data, want);
	assert_has(
	    b.data, "\"traceId\":\"" TRACE_ID "\",\"spanId\":\"" SPAN_ID "\"");
	/* The summary is one line even when the target is not. */
	assert_has(b.data,
	    "\"body\":{\"stringValue\":\"fs write src/a "
	    "\\\"b\\\".c x: hold, approved by human (rule p.yaml:3)\"}");
	/* Nothing proxy-ish on a file record, nothing unknown sent empty. */
	assert_lacks(b.data, "server.address");
	assert_lacks(b.data, "http.request.method");
	assert_lacks(b.data, "airlock.reviewer");
	assert_lacks(b.data, "airlock.identity");
	assert_lacks(b.data, "\"stringValue\":\"\"");
	assert_has(b.data, "]}]}]}");
	buf_free(&b);
}

static void
test_encode_proxy(void **state)
{
	struct caller c;
	struct audit_event ev;
	struct buf b;
	char hash[AUDIT_HASH_HEX + 1];

	fill_caller(&c);
	c.trace_id[0] = '\0';
	str_copy(c.identity, "agent-7", sizeof(c.identity));
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_PROXY;
	ev.op = "connect";
	ev.target = "example.org:443";
	ev.decision = DECISION_DENY;
	ev.decided_by = AUDIT_DECIDER_POLICY;
	ev.caller = &c;
	ev.duration_ms = -1;
	encode_one(&b, &ev, 1000000000ULL, 1, hash);
	assert_has(b.data,
	    "{\"key\":\"server.address\",\"value\":"
	    "{\"stringValue\":\"example.org\"}},{\"key\":\"server.port\","
	    "\"value\":{\"intValue\":\"443\"}}");
	assert_has(b.data,
	    "{\"key\":\"http.request.method\",\"value\":"
	    "{\"stringValue\":\"CONNECT\"}}");
	assert_has(b.data,
	    "{\"key\":\"airlock.identity\",\"value\":"
	    "{\"stringValue\":\"agent-7\"}}");
	assert_has(b.data, "\"severityText\":\"WARN\"");
	assert_lacks(b.data, "traceId"); /* no trace: no ids at all */
	assert_lacks(b.data, "spanId");
	assert_lacks(b.data, "airlock.duration_ms");
	assert_lacks(b.data, "url.full");
	buf_free(&b);

	/* A URL with credentials: redacted, and its server named. */
	ev.op = "GET";
	ev.target = "https://user:pw@api.example.org/v1/x?q=1";
	ev.decision = DECISION_ALLOW;
	encode_one(&b, &ev, 1000000000ULL, 2, hash);
	assert_has(b.data,
	    "{\"key\":\"url.full\",\"value\":{\"stringValue\":"
	    "\"https://REDACTED:REDACTED@api.example.org/v1/x?q=1\"}}");
	assert_has(b.data,
	    "{\"key\":\"server.address\",\"value\":"
	    "{\"stringValue\":\"api.example.org\"}},{\"key\":\"server.port\","
	    "\"value\":{\"intValue\":\"443\"}}");
	assert_has(b.data,
	    "{\"key\":\"http.request.method\",\"value\":"
	    "{\"stringValue\":\"GET\"}}");
	assert_lacks(b.data, "pw@"); /* not in the body nor airlock.target */
	assert_has(b.data,
	    "{\"key\":\"airlock.target\",\"value\":"
	    "{\"stringValue\":\"https://REDACTED:REDACTED@api.example.org/"
	    "v1/x?q=1\"}}");
	buf_free(&b);

	/* IPv6 authority; an all-zero trace id is invalid and left out. */
	ev.op = "connect";
	ev.target = "[::1]:8443";
	str_copy(
	    c.trace_id, "00000000000000000000000000000000", sizeof(c.trace_id));
	encode_one(&b, &ev, 1000000000ULL, 3, hash);
	assert_has(b.data,
	    "{\"key\":\"server.address\",\"value\":"
	    "{\"stringValue\":\"::1\"}},{\"key\":\"server.port\","
	    "\"value\":{\"intValue\":\"8443\"}}");
	assert_lacks(b.data, "traceId");
	buf_free(&b);
}

static void
test_encode_own_record(void **state)
{
	struct audit_event ev;
	struct buf b;
	char hash[AUDIT_HASH_HEX + 1];

	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_FS;
	ev.op = "audit.dropped";
	ev.target = "/state/audit.jsonl";
	ev.decision = DECISION_DENY;
	ev.reason = "3 events dropped";
	ev.duration_ms = -1;
	encode_one(&b, &ev, 1000000000ULL, 9, hash);
	assert_has(b.data,
	    "\"body\":{\"stringValue\":\"audit.dropped "
	    "/state/audit.jsonl: 3 events dropped\"}");
	assert_lacks(b.data, "airlock.decision"); /* it decided nothing */
	assert_lacks(b.data, "file.path");
	buf_free(&b);
}

static void
test_backoff(void **state)
{
	struct otlp_config dflt = { 0 };
	struct otlp_config cfg = { .backoff_initial_ms = 10,
		.backoff_max_ms = 100 };

	assert_int_equal(otlp_backoff_ms(&dflt, 1), 250);
	assert_int_equal(otlp_backoff_ms(&dflt, 2), 500);
	assert_int_equal(otlp_backoff_ms(&dflt, 3), 1000);
	assert_int_equal(otlp_backoff_ms(&dflt, 6), 8000);
	assert_int_equal(otlp_backoff_ms(&dflt, 40), 8000);
	assert_int_equal(otlp_backoff_ms(&cfg, 1), 10);
	assert_int_equal(otlp_backoff_ms(&cfg, 2), 20);
	assert_int_equal(otlp_backoff_ms(&cfg, 4), 80);
	assert_int_equal(otlp_backoff_ms(&cfg, 5), 100);
	assert_int_equal(otlp_backoff_ms(&cfg, 1000), 100);
}

/* otlp_exporter_new() with stderr captured; returns what it printed. */
static char *
new_capturing(
    const struct otlp_config *cfg, struct otlp_exporter **out, int *err)
{
	char path[] = "/tmp/test_otlp.stderr.XXXXXX";
	char text[4096];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	*out = otlp_exporter_new(cfg);
	*err = errno;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	text[n > 0 ? n : 0] = '\0';
	return xstrdup(text);
}

static void
expect_refused(const char *endpoint, char *const *headers, int want_errno,
    const char *want_msg)
{
	struct otlp_config cfg = { .endpoint = endpoint,
		.headers = headers,
		.ca_file = "/nonexistent/ca.pem" };
	struct otlp_exporter *exp;
	char *msg;
	int err;

	msg = new_capturing(&cfg, &exp, &err);
	if (exp != NULL)
		fail_msg("%s accepted", endpoint);
	assert_int_equal(err, want_errno);
	assert_has(msg, want_msg);
	assert_lacks(msg, SECRET);
	free(msg);
}

static void
test_config_refused(void **state)
{
	char *crlf[] = { "Authorization: Bearer " SECRET "\r\nX-Evil: 1",
		NULL };
	char *no_name[] = { SECRET, NULL };
	char *reserved[] = { "Content-Length: " SECRET, NULL };
	char *ok[] = { "Authorization: Bearer " SECRET, NULL };

	expect_refused("https://collector.example:4318/v1/logs", NULL, EINVAL,
	    "cannot load the CA file");
	expect_refused(
	    "ftp://x", NULL, EINVAL, "must start with http:// or https://");
	expect_refused("http://h:0", NULL, EINVAL, "port");
	expect_refused("http://h:99999", NULL, EINVAL, "port");
	expect_refused("http://h:12x", NULL, EINVAL, "port");
	expect_refused("http://", NULL, EINVAL, "no host");
	expect_refused("http://u:" SECRET "@h:1", NULL, EINVAL, "credentials");
	expect_refused("http://h/a b", NULL, EINVAL, "path");
	expect_refused("http://127.0.0.1:1", crlf, EINVAL,
	    "header 1 (Authorization) has a control character");
	expect_refused(
	    "http://127.0.0.1:1", no_name, EINVAL, "header 1 is not");
	expect_refused("http://127.0.0.1:1", reserved, EINVAL,
	    "header 1 (Content-Length) is set by the exporter");
	{
		struct otlp_config cfg = { .endpoint = "http://[::1]:4318",
			.headers = ok };
		struct otlp_exporter *exp = otlp_exporter_new(&cfg);

		assert_non_null(exp);
		otlp_exporter_free(exp);
		/* https with the system's trust store: nothing to load
		 * that can fail, nothing contacted yet. */
		cfg.endpoint = "https://collector.example";
		exp = otlp_exporter_new(&cfg);
		assert_non_null(exp);
		otlp_exporter_free(exp);
	}
}

/* ---- a loopback HTTP listener ---- */

#define MAX_REQS 32

struct listener {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	int statuses[MAX_REQS]; /* answer to request i; 0: the last one's */
	int n_statuses;
	int is_holding; /* answer nothing until released */
	int is_stopping;
	char *reqs[MAX_REQS]; /* head and body of each request */
	char *bodies[MAX_REQS];
	int n_reqs;
};

static void
read_request(struct listener *l, int cfd)
{
	struct buf b;
	char chunk[8192], *end, *cl;
	size_t want = 0, head_len = 0;
	ssize_t n;
	struct pollfd pfd = { .fd = cfd, .events = POLLIN };

	buf_init(&b);
	for (;;) {
		if (poll(&pfd, 1, 5000) != 1)
			break;
		n = read(cfd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf_add(&b, chunk, (size_t)n);
		buf_add(&b, "", 1);
		b.len--;
		if (head_len == 0 &&
		    (end = strstr(b.data, "\r\n\r\n")) != NULL) {
			head_len = (size_t)(end - b.data) + 4;
			cl = strcasestr(b.data, "\r\nContent-Length:");
			want = cl != NULL && cl < end
			    ? strtoul(cl + 17, NULL, 10)
			    : 0;
		}
		if (head_len != 0 && b.len >= head_len + want)
			break;
	}
	buf_add(&b, "", 1);
	pthread_mutex_lock(&l->lock);
	if (l->n_reqs < MAX_REQS) {
		l->bodies[l->n_reqs] =
		    head_len != 0 ? xstrdup(b.data + head_len) : xstrdup("");
		l->reqs[l->n_reqs++] = buf_release(&b);
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	buf_free(&b);
}

static void *
listener_main(void *arg)
{
	struct listener *l = arg;
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	char resp[256];
	int cfd, status, i;

	for (;;) {
		pthread_mutex_lock(&l->lock);
		if (l->is_stopping) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		pthread_mutex_unlock(&l->lock);
		if (poll(&pfd, 1, 50) != 1)
			continue;
		cfd = accept(l->fd, NULL, NULL);
		if (cfd == -1)
			continue;
		read_request(l, cfd);
		pthread_mutex_lock(&l->lock);
		while (l->is_holding && !l->is_stopping)
			pthread_cond_wait(&l->cond, &l->lock);
		i = l->n_reqs - 1;
		status = i < l->n_statuses ? l->statuses[i]
		                           : l->statuses[l->n_statuses - 1];
		pthread_mutex_unlock(&l->lock);
		snprintf(resp, sizeof(resp),
		    "HTTP/1.1 %d X\r\nContent-Type: "
		    "application/json\r\nContent-Length: 2\r\nConnection: "
		    "close\r\n\r\n{}",
		    status);
		(void)!write(cfd, resp, strlen(resp));
		close(cfd);
	}
	return NULL;
}

/* Start a listener on 127.0.0.1 that answers the statuses in turn. */
static struct listener *
listener_start(const int *statuses, int n)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	memcpy(l->statuses, statuses, sizeof(int) * (size_t)n);
	l->n_statuses = n;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l->fd, 16), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sin, &len), 0);
	l->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&l->thread, NULL, listener_main, l), 0);
	return l;
}

static void
listener_stop(struct listener *l)
{
	int i;

	pthread_mutex_lock(&l->lock);
	l->is_stopping = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	close(l->fd);
	for (i = 0; i < l->n_reqs; i++) {
		free(l->reqs[i]);
		free(l->bodies[i]);
	}
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Wait (at most 10 s) until the listener has seen n requests. */
static int
listener_wait(struct listener *l, int n)
{
	struct timespec ts;
	int has;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&l->lock);
	while (l->n_reqs < n &&
	    pthread_cond_timedwait(&l->cond, &l->lock, &ts) == 0)
		;
	has = l->n_reqs;
	pthread_mutex_unlock(&l->lock);
	return has;
}

static void
listener_release(struct listener *l)
{
	pthread_mutex_lock(&l->lock);
	l->is_holding = 0;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static int
count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void
event_n(struct audit_event *ev, char *target, size_t len, int i)
{
	snprintf(target, len, "src/f%d.c", i);
	memset(ev, 0, sizeof(*ev));
	ev->component = AUDIT_COMPONENT_FS;
	ev->op = "write";
	ev->target = target;
	ev->decision = DECISION_ALLOW;
	ev->duration_ms = -1;
}

static int
enqueue_n(struct otlp_exporter *exp, int first, int n)
{
	struct audit_event ev;
	char target[32];
	int i, n_ok = 0;

	for (i = first; i < first + n; i++) {
		event_n(&ev, target, sizeof(target), i);
		if (otlp_exporter_enqueue(exp, &ev, NULL, 0) == 0)
			n_ok++;
	}
	return n_ok;
}

/* Wait (at most 10 s) until n records were exported; returns how many. */
static uint64_t
wait_exported(struct otlp_exporter *exp, uint64_t n)
{
	struct otlp_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		otlp_exporter_stats(exp, &st);
		if (st.n_exported >= n)
			break;
		usleep(10000);
	}
	return st.n_exported;
}

struct drops {
	pthread_mutex_t lock;
	uint64_t n;
	int n_calls;
	char why[512];
};

static void
on_drop(uint64_t n, const char *why, void *arg)
{
	struct drops *d = arg;

	pthread_mutex_lock(&d->lock);
	d->n += n;
	d->n_calls++;
	str_copy(d->why, why, sizeof(d->why));
	pthread_mutex_unlock(&d->lock);
}

static void
config_for(
    struct otlp_config *cfg, const struct listener *l, char *url, size_t len)
{
	snprintf(url, len, "http://127.0.0.1:%d", l->port);
	memset(cfg, 0, sizeof(*cfg));
	cfg->endpoint = url;
	cfg->session_id = "sess";
	cfg->batch_interval_ms = 20;
	cfg->timeout_ms = 5000;
	cfg->backoff_initial_ms = 10;
	cfg->backoff_max_ms = 40;
}

static void
test_post(void **state)
{
	static const int ok[] = { 200 };
	char *headers[] = { "Authorization: Bearer " SECRET, "X-Scope: a b",
		NULL };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64], want[64];

	config_for(&cfg, l, url, sizeof(url));
	cfg.headers = headers;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	assert_int_equal(enqueue_n(exp, 0, 1), 1);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 1), 1);
	assert_has(l->reqs[0], "POST /v1/logs HTTP/1.1\r\n");
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%d\r\n", l->port);
	assert_has(l->reqs[0], want);
	assert_has(l->reqs[0], "\r\nContent-Type: application/json\r\n");
	assert_has(l->reqs[0], "\r\nAuthorization: Bearer " SECRET "\r\n");
	assert_has(l->reqs[0], "\r\nX-Scope: a b\r\n");
	assert_has(l->bodies[0], "{\"resourceLogs\":[");
	assert_has(l->bodies[0],
	    "{\"key\":\"file.path\",\"value\":"
	    "{\"stringValue\":\"src/f0.c\"}}");
	assert_has(l->bodies[0],
	    "{\"key\":\"airlock.session.id\",\"value\":"
	    "{\"stringValue\":\"sess\"}}");
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_queued, 1);
	assert_int_equal(st.n_exported, 1);
	assert_int_equal(st.n_requests, 1);
	assert_int_equal(st.n_dropped, 0);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_path_kept(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	char url[64];

	config_for(&cfg, l, url, sizeof(url));
	snprintf(
	    url, sizeof(url), "http://localhost:%d/otlp/v1/logs?x=1", l->port);
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 1);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 1), 1);
	assert_has(l->reqs[0], "POST /otlp/v1/logs?x=1 HTTP/1.1\r\n");
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_batching(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	char url[64];

	config_for(&cfg, l, url, sizeof(url));
	cfg.batch_max = 3;
	cfg.batch_interval_ms = 60000; /* only full batches go on their own */
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	assert_int_equal(enqueue_n(exp, 0, 7), 7);
	assert_int_equal(listener_wait(l, 2), 2);
	assert_int_equal(count_str(l->bodies[0], "\"timeUnixNano\""), 3);
	assert_int_equal(count_str(l->bodies[1], "\"timeUnixNano\""), 3);
	assert_has(l->bodies[0], "src/f0.c");
	assert_has(l->bodies[1], "src/f3.c");
	/* The 7th waits for its batch (or the interval, a minute away). */
	assert_int_equal(wait_exported(exp, 6), 6);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 3), 3);
	assert_int_equal(count_str(l->bodies[2], "\"timeUnixNano\""), 1);
	assert_has(l->bodies[2], "src/f6.c");
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_interval(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	char url[64];

	config_for(&cfg, l, url, sizeof(url));
	cfg.batch_interval_ms = 50;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 2);
	/* No flush: the interval alone sends the partial batch. */
	assert_int_equal(listener_wait(l, 1), 1);
	assert_int_equal(count_str(l->bodies[0], "\"timeUnixNano\""), 2);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_retry_503_then_200(void **state)
{
	static const int script[] = { 503, 200 };
	struct listener *l = listener_start(script, 2);
	struct drops d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64];

	config_for(&cfg, l, url, sizeof(url));
	cfg.on_drop = on_drop;
	cfg.on_drop_arg = &d;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 2);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 2), 2);
	assert_string_equal(l->bodies[0], l->bodies[1]);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_requests, 2);
	assert_int_equal(st.n_retries, 1);
	assert_int_equal(st.n_exported, 2);
	assert_int_equal(otlp_exporter_dropped(exp), 0);
	assert_int_equal(d.n_calls, 0);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_give_up(void **state)
{
	static const int script[] = { 503, 429, 500 };
	char *headers[] = { "X-Api-Key: " SECRET, NULL };
	struct listener *l = listener_start(script, 3);
	struct drops d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64], *msg;
	int err;

	config_for(&cfg, l, url, sizeof(url));
	cfg.headers = headers;
	cfg.max_attempts = 3;
	cfg.on_drop = on_drop;
	cfg.on_drop_arg = &d;
	msg = new_capturing(&cfg, &exp, &err);
	assert_non_null(exp);
	free(msg);
	enqueue_n(exp, 0, 4);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 3), 3);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_requests, 3);
	assert_int_equal(st.n_exported, 0);
	assert_int_equal(otlp_exporter_dropped(exp), 4);
	pthread_mutex_lock(&d.lock);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.n_calls, 1);
	assert_has(d.why, "4 records not exported to http://127.0.0.1:");
	assert_has(d.why, "the collector answered 500");
	assert_lacks(d.why, SECRET);
	pthread_mutex_unlock(&d.lock);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_no_retry_on_400(void **state)
{
	static const int script[] = { 400, 200 };
	struct listener *l = listener_start(script, 2);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64];

	config_for(&cfg, l, url, sizeof(url));
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 1);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_requests, 1);
	assert_int_equal(st.n_dropped, 1);
	/* The next batch is not affected. */
	enqueue_n(exp, 1, 1);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_exported, 1);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_connection_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct drops d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct otlp_config cfg = { 0 };
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64];
	int fd;

	/* A port nobody listens on: bound, then closed. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sin.sin_port));
	cfg.endpoint = url;
	cfg.max_attempts = 3;
	cfg.backoff_initial_ms = 5;
	cfg.on_drop = on_drop;
	cfg.on_drop_arg = &d;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 2);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_requests, 3);
	assert_int_equal(st.n_retries, 2);
	assert_int_equal(st.n_dropped, 2);
	assert_has(d.why, "Connection refused");
	otlp_exporter_free(exp);
}

static void
test_queue_full(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct drops d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	char url[64];

	l->is_holding = 1; /* the first request stays unanswered */
	config_for(&cfg, l, url, sizeof(url));
	cfg.batch_max = 1;
	cfg.queue_len = 4;
	cfg.on_drop = on_drop;
	cfg.on_drop_arg = &d;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	assert_int_equal(enqueue_n(exp, 0, 1), 1);
	assert_int_equal(listener_wait(l, 1), 1);
	/* The exporter is stuck in that request: 4 fit, 6 do not, and no
	 * enqueue waits for it. */
	assert_int_equal(enqueue_n(exp, 1, 10), 4);
	assert_int_equal(otlp_exporter_dropped(exp), 6);
	listener_release(l);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	otlp_exporter_stats(exp, &st);
	assert_int_equal(st.n_queued, 5);
	assert_int_equal(st.n_exported, 5);
	assert_int_equal(st.n_dropped, 6);
	pthread_mutex_lock(&d.lock);
	assert_int_equal(d.n, 6);
	assert_has(d.why, "the OTLP queue was full");
	pthread_mutex_unlock(&d.lock);
	otlp_exporter_free(exp);
	listener_stop(l);
}

static void
test_free_is_bounded(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	unsigned long long t0;
	char url[64];

	l->is_holding = 1; /* a collector that never answers */
	config_for(&cfg, l, url, sizeof(url));
	cfg.timeout_ms = 60000;
	cfg.flush_timeout_ms = 200;
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	enqueue_n(exp, 0, 3);
	assert_int_equal(listener_wait(l, 1), 1);
	t0 = time_mono_ms();
	otlp_exporter_free(exp);
	/* The flush bound, not the 60 s receive timeout, ended the wait (a
	 * wide margin: this is a bound, not a benchmark). */
	assert_true(time_mono_ms() - t0 < 5000);
	listener_stop(l);
}

static void
test_audit_sink(void **state)
{
	static const int ok[] = { 200 };
	struct listener *l = listener_start(ok, 1);
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct audit_log *log;
	struct audit_event ev;
	struct caller c;
	char dir[] = "/tmp/test_otlp.XXXXXX", path[64], url[64], want[160];
	char line[4096], *hash;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	config_for(&cfg, l, url, sizeof(url));
	exp = otlp_exporter_new(&cfg);
	assert_non_null(exp);
	log = audit_open(path, "sess", 0);
	assert_non_null(log);
	audit_add_sink(log, otlp_audit_sink, exp);
	fill_caller(&c);
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_PROXY;
	ev.op = "GET";
	ev.target = "http://127.0.0.1:8080/pkg.tgz";
	ev.decision = DECISION_ALLOW;
	ev.caller = &c;
	ev.bytes_in = 1000;
	ev.duration_ms = 3;
	assert_int_equal(audit_log_event(log, &ev), 0);
	audit_close(log);
	assert_int_equal(otlp_exporter_flush(exp, 10000), 0);
	assert_int_equal(listener_wait(l, 1), 1);

	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	hash = strstr(line, "\"hash\":\"");
	assert_non_null(hash);
	snprintf(want, sizeof(want),
	    "{\"key\":\"airlock.hash\",\"value\":"
	    "{\"stringValue\":\"%.64s\"}}",
	    hash + 8);
	assert_has(l->bodies[0], want);
	assert_has(l->bodies[0],
	    "{\"key\":\"airlock.seq\",\"value\":"
	    "{\"intValue\":\"1\"}}");
	assert_has(l->bodies[0],
	    "{\"key\":\"url.full\",\"value\":"
	    "{\"stringValue\":\"http://127.0.0.1:8080/pkg.tgz\"}}");
	assert_has(l->bodies[0],
	    "{\"key\":\"server.port\",\"value\":"
	    "{\"intValue\":\"8080\"}}");
	assert_has(l->bodies[0], "\"traceId\":\"" TRACE_ID "\"");
	otlp_exporter_free(exp);
	listener_stop(l);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_fs),
		cmocka_unit_test(test_encode_proxy),
		cmocka_unit_test(test_encode_own_record),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_post),
		cmocka_unit_test(test_path_kept),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_retry_503_then_200),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_no_retry_on_400),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_free_is_bounded),
		cmocka_unit_test(test_audit_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
