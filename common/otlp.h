/*
 * otlp: export audit records as OpenTelemetry log records over OTLP/HTTP
 * with the JSON encoding (POST <endpoint>, Content-Type application/json).
 *
 * The exporter is an audit sink: audit_add_sink(log, otlp_audit_sink, exp).
 * The sink runs on the audit writer thread; it copies the event and its
 * formatted line into a bounded queue and returns at once (it never does
 * I/O and never waits).  The exporter's own thread takes up to batch_max
 * records, or whatever is queued once batch_interval_ms has passed since
 * the oldest one arrived, encodes one ExportLogsServiceRequest and POSTs
 * it with a small blocking HTTP/1.1 client (one connection per request,
 * every step bounded by timeout_ms).
 *
 * Failures.  A connection error, 429 or any 5xx is retried after
 * backoff_initial_ms, doubling each time up to backoff_max_ms (no jitter:
 * a session has at most two exporters), honouring a Retry-After of whole
 * seconds up to backoff_max_ms; after max_attempts the batch is dropped.
 * Any other non-2xx answer drops the batch at once (the collector refused
 * the data: sending it again would not help).  Records dropped for any
 * reason -- queue full, batch given up, still queued when
 * otlp_exporter_free() ran out of time -- are counted in
 * otlp_exporter_dropped() and reported to on_drop (below).  Messages on
 * stderr name the endpoint as scheme://host:port only: the path, query and
 * header values (which may carry API keys) are never printed.
 *
 * Transport: http:// or https://.  https verifies the collector's
 * certificate chain against the system's trust store (OpenSSL's default
 * paths; ca_file replaces it) and the endpoint's host name, or IP address,
 * against the certificate, with SNI and TLS 1.2 at least.  A certificate
 * that does not verify is a connection error (retried, then dropped; the
 * message says why), never a reason to send anyway.
 *
 * What a record carries (the JSON a collector receives):
 *   resource.attributes  service.name ("airlock"), service.version,
 *                        airlock.session.id, airlock.project
 *   scope                {"name":"airlock","version":VERSION}
 *   logRecords[]         timeUnixNano (the record's ts, a decimal string),
 *                        observedTimeUnixNano (when the sink saw it),
 *                        severityNumber/severityText (INFO for allow and
 *                        approved, WARN otherwise), body.stringValue (a
 *                        one-line summary), traceId/spanId (hex, from the
 *                        caller's TRACEPARENT or traceparent header), and
 *                        attributes:
 *     file.path                  target of an fs event
 *     server.address/server.port a host:port target, or a URL's host
 *     url.full                   a URL target (user:password redacted,
 *                                here and wherever the target appears)
 *     http.request.method        op, when it is an HTTP method
 *     process.pid, process.user.id, process.executable.path,
 *     process.command_line       the caller
 *     airlock.component, .op, .target, .decision, .outcome, .decided_by,
 *     .rule, .reason, .reviewer, .intent, .identity, .bytes_in,
 *     .bytes_out, .duration_ms, .seq, .hash (the audit chain's hash of
 *     this record: an anchor kept outside the session's file)
 *   Integers are {"intValue":"<decimal>"}; absent or unknown values are
 *   left out rather than sent empty.
 */
#ifndef AIRLOCK_OTLP_H
#define AIRLOCK_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "util.h"

/*
 * Called on the exporter's thread when records were dropped since the last
 * call (coalesced: once per batch sent or given up, once per kind --
 * queue full, export failed; never with the exporter's lock held, never
 * once otlp_exporter_free() has begun).  n is the number newly dropped,
 * why a one-line reason without secrets ("12 records not exported to
 * http://127.0.0.1:4318: the collector answered 503").  A daemon records
 * it in its audit log (arg = the log):
 *
 *	struct audit_event ev = { .component = AUDIT_COMPONENT_FS,
 *	    .op = "otlp.dropped", .target = "otlp",
 *	    .decision = DECISION_ALLOW, .reason = why, .duration_ms = -1 };
 *	audit_log_event(arg, &ev);
 *
 * (that record is itself exported, once the collector is back).  The
 * order that keeps arg valid:
 *
 *	log = audit_open(...);
 *	exp = otlp_exporter_new(&cfg);   cfg.on_drop_arg = log
 *	audit_add_sink(log, otlp_audit_sink, exp);
 *	...
 *	otlp_exporter_set_drop_fn(exp, NULL, NULL);
 *	audit_close(log);
 *	otlp_exporter_free(exp);
 */
typedef void (*otlp_drop_fn)(uint64_t n, const char *why, void *arg);

struct otlp_config {
	/* http[s]://HOST[:PORT][/PATH]; HOST a name, IPv4 or [IPv6]; PORT
	 * defaults to 80 or 443; no PATH (or "/") means "/v1/logs", any
	 * other PATH is used as is.  Required. */
	const char *endpoint;
	/* https: a PEM file of the CAs to trust instead of the system's, or
	 * NULL. */
	const char *ca_file;
	/* Extra request headers, NULL-terminated "Name: value" list (the
	 * policy's telemetry.otlp.headers), or NULL.  Refused: a name that
	 * is not an HTTP token, CR/LF/NUL in a value, and the headers the
	 * client sets itself (Host, Content-Length, Content-Type,
	 * Transfer-Encoding, Connection). */
	char *const *headers;
	/* Resource attributes; NULL leaves session and project out and
	 * service_name means "airlock". */
	const char *service_name;
	const char *session_id;
	const char *project;

	size_t batch_max; /* records per request; 0: 256 */
	unsigned batch_interval_ms; /* 0: 1000 */
	size_t queue_len; /* records waiting; 0: 4096 */
	unsigned timeout_ms; /* connect, send, receive each; 0: 5000 */
	unsigned max_attempts; /* per batch; 0: 5 */
	unsigned backoff_initial_ms; /* 0: 250 */
	unsigned backoff_max_ms; /* 0: 8000 */
	unsigned flush_timeout_ms; /* otlp_exporter_free()'s bound; 0: 5000 */

	otlp_drop_fn on_drop; /* or NULL */
	void *on_drop_arg;
};

struct otlp_exporter;

/*
 * Check cfg, copy everything it points to, and start the exporter thread.
 * Nothing is sent yet and the endpoint is not contacted: a collector that
 * is down at start-up is a run-time failure, handled like any other.
 * Returns NULL with errno (EINVAL for a malformed endpoint or header, or a
 * CA file or trust store that cannot be loaded) and a message on stderr
 * naming what is wrong (header names, never their values).  Start it
 * after any fork().
 */
struct otlp_exporter *otlp_exporter_new(const struct otlp_config *cfg);

/*
 * The audit sink (arg is the exporter).  Copies ev and line; never blocks.
 * Records the log writes about itself ("audit.dropped", ...) are exported
 * like the others.  airlock-fs and airlock-proxy append to one session
 * file, and each one's sink sees only the records its own log wrote: with
 * an exporter in each daemon, every record is exported once.
 */
void otlp_audit_sink(
    const struct audit_event *ev, const char *line, size_t len, void *arg);

/* The same, for callers that are not an audit log.  Returns 0, or -1 when
 * the record was dropped (queue full, or the exporter is stopping). */
int otlp_exporter_enqueue(struct otlp_exporter *exp,
    const struct audit_event *ev, const char *line, size_t len);

/*
 * Send everything queued now, without waiting for batch_interval_ms, and
 * wait until it has been exported or dropped, at most timeout_ms.  Returns
 * 0, or -1 with ETIMEDOUT.
 */
int otlp_exporter_flush(struct otlp_exporter *exp, unsigned timeout_ms);

/* Replace (or with NULL, remove) on_drop; returns once a call in progress
 * has returned, so that its arg may then be freed.  Not from on_drop. */
void otlp_exporter_set_drop_fn(
    struct otlp_exporter *exp, otlp_drop_fn fn, void *arg);

struct otlp_stats {
	uint64_t n_queued; /* accepted by the sink */
	uint64_t n_exported; /* acknowledged by the collector (2xx) */
	uint64_t n_dropped; /* = otlp_exporter_dropped() */
	uint64_t n_requests; /* POSTs attempted, retries included */
	uint64_t n_retries;
};
void otlp_exporter_stats(struct otlp_exporter *exp, struct otlp_stats *out);
/* Records dropped so far, for any reason. */
uint64_t otlp_exporter_dropped(struct otlp_exporter *exp);

/*
 * Stop accepting, send what is queued within cfg->flush_timeout_ms (a
 * request in flight is cut short at that bound), count the rest as
 * dropped, stop the thread and free.  Close the audit log whose sink this
 * is first (audit_close() drains the writer into the sink); NULL is a
 * no-op.
 */
void otlp_exporter_free(struct otlp_exporter *exp);

/*
 * The pieces below are the exporter's internals, exposed for the tests
 * and for tools that want the same encoding.
 */

/* One record to encode: the event and the audit line that recorded it
 * (its ts, seq and hash are read from the line; line may be NULL, and
 * then the time is observed_ns). */
struct otlp_record {
	const struct audit_event *ev;
	const char *line;
	size_t len;
	unsigned long long observed_ns;
};

/* Append one ExportLogsServiceRequest holding recs[0..n) to b. */
void otlp_encode_logs(struct buf *b, const struct otlp_config *cfg,
    const struct otlp_record *recs, size_t n);

/* The delay before retry number attempt (1 for the first retry) under
 * cfg's backoff settings (0s in cfg mean the defaults). */
unsigned otlp_backoff_ms(const struct otlp_config *cfg, unsigned attempt);

#endif
