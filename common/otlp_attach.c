/*
 * otlp_attach: wire a policy's telemetry.otlp settings to an audit log.
 */
#include "config.h"

#include "otlp_attach.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* What the drop callback needs: where to record, and as whom. */
struct otlp_link {
	struct otlp_exporter *exp;
	struct audit_log *log;
	enum audit_component comp;
};

static void
otlp_attach_on_drop(uint64_t n, const char *why, void *arg)
{
	const struct otlp_link *t = arg;
	struct audit_event ev = {
		.component = t->comp,
		.op = "otlp.dropped",
		.target = "otlp",
		.decision = DECISION_ALLOW,
		.reason = why,
		.duration_ms = -1,
	};

	(void)n;
	(void)audit_log_event(t->log, &ev);
}

int
otlp_attach(struct audit_log *log, const struct policy *pol,
    enum audit_component comp, const char *session_id, const char *project,
    struct otlp_link **out)
{
	const struct policy_settings *st = policy_settings(pol);
	struct otlp_link *t;
	struct otlp_config cfg = { 0 };

	*out = NULL;
	if (st->otlp_endpoint == NULL || !st->otlp_logs)
		return 0;
	t = xcalloc(1, sizeof *t);
	t->log = log;
	t->comp = comp;
	cfg.endpoint = st->otlp_endpoint;
	cfg.headers = st->otlp_headers;
	cfg.session_id = session_id;
	cfg.project = project;
	cfg.on_drop = otlp_attach_on_drop;
	cfg.on_drop_arg = t;
	if ((t->exp = otlp_exporter_new(&cfg)) == NULL) {
		fprintf(stderr,
		    "airlock: telemetry.otlp in %s cannot be used (see above); "
		    "fix the policy or remove the section\n",
		    policy_source_name(pol));
		free(t);
		return -1;
	}
	audit_add_sink(log, otlp_audit_sink, t->exp);
	*out = t;
	return 0;
}

void
otlp_detach_close(struct audit_log *log, struct otlp_link *link)
{
	if (link != NULL)
		otlp_exporter_set_drop_fn(link->exp, NULL, NULL);
	audit_close(log);
	if (link != NULL) {
		otlp_exporter_free(link->exp);
		free(link);
	}
}
