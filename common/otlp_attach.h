/*
 * otlp_attach: the one way a daemon turns its policy's telemetry.otlp
 * settings into an exporter fed by its audit log, so that airlock-fs and
 * airlock-proxy wire it the same way.
 */
#ifndef AIRLOCK_OTLP_ATTACH_H
#define AIRLOCK_OTLP_ATTACH_H

#include "audit.h"
#include "otlp.h"
#include "policy.h"

/*
 * When pol exports logs, start an exporter (resource attributes: the
 * session id and project) and add it to log as a sink; records the
 * exporter drops are written to log as "otlp.dropped" by component comp.
 * Returns 0 with *out NULL when the policy exports nothing, 0 with *out
 * set, or -1 (a message on stderr) when the settings cannot be used: the
 * daemon then refuses to start.
 */
struct otlp_link;
int otlp_attach(struct audit_log *log, const struct policy *pol,
    enum audit_component comp, const char *session_id, const char *project,
    struct otlp_link **out);

/* Stop exporting and close log, in the order that keeps both valid:
 * detach the drop callback, close (flush) the log, then flush and free
 * the exporter and the link.  link may be NULL (then only closes log). */
void otlp_detach_close(struct audit_log *log, struct otlp_link *link);

#endif
