/*
 * otlp_emit: log three audit events through a real audit log whose sink is
 * the OTLP exporter, for tests/integration/test_otlp_export.sh.
 *
 *   otlp_emit [-H "Name: value"]... [-E VAR]... [-t TRACEPARENT]
 *             [-C CA_FILE] ENDPOINT AUDIT_FILE
 *
 * -E takes a header from the environment variable VAR (a key on our
 * command line would be exported as process.command_line).
 * The events: an fs write by this process (its identity and trace context
 * read from /proc like airlock-fs does, so TRACEPARENT in our environment
 * becomes the record's trace), a proxy CONNECT denied by a rule, and a GET
 * of a URL held and approved by a human, whose trace context comes from -t
 * (as the proxy takes it from a request's traceparent header).  Drops are
 * recorded as "otlp.dropped" audit records, the way a daemon wires it.
 * Prints "exported N dropped N requests N retries N" and exits 0 when
 * nothing was dropped.  Test-only; never installed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "caller.h"
#include "otlp.h"
#include "util.h"

#define MAX_HEADERS 8

static void
emit_on_drop(uint64_t n, const char *why, void *arg)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_CLI;
	ev.op = "otlp.dropped";
	ev.target = "otlp";
	ev.decision = DECISION_ALLOW;
	ev.reason = why;
	ev.duration_ms = -1;
	(void)audit_log_event(arg, &ev);
}

static void
emit_events(struct audit_log *log, const char *traceparent)
{
	struct caller self, other;
	struct audit_event ev;

	if (caller_read(getpid(), getuid(), getgid(), &self) != 0)
		memset(&self, 0, sizeof(self));
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_FS;
	ev.op = "write";
	ev.target = "src/main.c";
	ev.decision = DECISION_ALLOW;
	ev.decided_by = AUDIT_DECIDER_POLICY;
	ev.rule = "policy.yaml:4";
	ev.caller = &self;
	ev.bytes_out = 42;
	ev.duration_ms = -1;
	(void)audit_log_event(log, &ev);

	other = self;
	other.trace_id[0] = other.span_id[0] = '\0';
	str_copy(other.identity, "agent-1", sizeof(other.identity));
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_PROXY;
	ev.op = "connect";
	ev.target = "blocked.example:443";
	ev.decision = DECISION_DENY;
	ev.decided_by = AUDIT_DECIDER_POLICY;
	ev.rule = "policy.yaml:9";
	ev.reason = "not an allowed host";
	ev.caller = &other;
	ev.duration_ms = 1;
	(void)audit_log_event(log, &ev);

	if (traceparent != NULL)
		(void)caller_parse_traceparent(
		    traceparent, other.trace_id, other.span_id);
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_PROXY;
	ev.op = "GET";
	ev.target = "http://127.0.0.1:8080/pkg/a-1.0.tgz";
	ev.decision = DECISION_HOLD;
	ev.outcome = AUDIT_OUTCOME_APPROVED;
	ev.decided_by = AUDIT_DECIDER_HUMAN;
	ev.rule = "policy.yaml:12";
	ev.reason = "held: \"unknown\" origin";
	ev.caller = &other;
	ev.bytes_in = 1234;
	ev.bytes_out = 210;
	ev.duration_ms = 57;
	(void)audit_log_event(log, &ev);
}

int
main(int argc, char **argv)
{
	char *headers[MAX_HEADERS + 1] = { NULL };
	const char *traceparent = NULL, *ca_file = NULL;
	struct otlp_config cfg;
	struct otlp_exporter *exp;
	struct otlp_stats st;
	struct audit_log *log;
	size_t n_headers = 0;
	int c, rc = 1;

	while ((c = getopt(argc, argv, "C:E:H:t:")) != -1) {
		switch (c) {
		case 'E':
		case 'H':
			if (n_headers == MAX_HEADERS)
				goto usage;
			headers[n_headers] = c == 'H' ? optarg : getenv(optarg);
			if (headers[n_headers++] == NULL)
				goto usage;
			break;
		case 't':
			traceparent = optarg;
			break;
		case 'C':
			ca_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;

	/* The order otlp.h gives: the log, then its exporter and sink. */
	log = audit_open(argv[optind + 1], "emit-session", 0);
	if (log == NULL) {
		fprintf(stderr, "otlp_emit: %s: %s\n", argv[optind + 1],
		    strerror(errno));
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = argv[optind];
	cfg.headers = headers;
	cfg.ca_file = ca_file;
	cfg.session_id = "emit-session";
	cfg.project = "/srv/sample-project";
	cfg.batch_interval_ms = 100;
	cfg.backoff_initial_ms = 50;
	cfg.on_drop = emit_on_drop;
	cfg.on_drop_arg = log;
	exp = otlp_exporter_new(&cfg);
	if (exp == NULL) {
		audit_close(log);
		return 2;
	}
	audit_add_sink(log, otlp_audit_sink, exp);
	emit_events(log, traceparent);
	/* Everything reaches the exporter before the log closes: a drop
	 * can still be recorded. */
	audit_flush(log);
	if (otlp_exporter_flush(exp, 20000) != 0)
		fprintf(stderr, "otlp_emit: flush timed out\n");
	otlp_exporter_set_drop_fn(exp, NULL, NULL);
	audit_close(log);
	(void)otlp_exporter_flush(exp, 20000);
	otlp_exporter_stats(exp, &st);
	printf("exported %llu dropped %llu requests %llu retries %llu\n",
	    (unsigned long long)st.n_exported, (unsigned long long)st.n_dropped,
	    (unsigned long long)st.n_requests,
	    (unsigned long long)st.n_retries);
	otlp_exporter_free(exp);
	rc = st.n_dropped == 0 ? 0 : 1;
	return rc;
usage:
	fprintf(stderr,
	    "usage: otlp_emit [-H \"Name: value\"]... [-E VAR]... "
	    "[-t TRACEPARENT] [-C CA_FILE] ENDPOINT AUDIT_FILE\n");
	return 2;
}
