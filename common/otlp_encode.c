/*
 * otlp_encode: an audit record as an OTLP/HTTP JSON log record.
 *
 * The JSON mapping of OTLP (opentelemetry-proto, docs/specification.md):
 * field names in lowerCamelCase, 64-bit integers as decimal strings, trace
 * and span ids as hex strings (not base64), enums as numbers.  Attribute
 * names follow the semantic conventions where one exists and "airlock.*"
 * for the rest (the list is in otlp.h).  Values we do not know are left
 * out: an empty string would claim we know it is empty.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit_record.h"
#include "otlp.h"
#include "otlp_priv.h"

/* SeverityNumber values of the logs data model. */
#define OTLP_SEVERITY_INFO 9
#define OTLP_SEVERITY_WARN 13

static const char *const otlp_http_methods[] = {
	"GET",
	"HEAD",
	"POST",
	"PUT",
	"DELETE",
	"CONNECT",
	"OPTIONS",
	"TRACE",
	"PATCH",
	NULL,
};

/* Appends attributes to one JSON array, minding the commas. */
struct otlp_attrs {
	struct buf *b;
	int n;
};

static void
otlp_attr_key(struct otlp_attrs *a, const char *key)
{
	if (a->n++ > 0)
		buf_add(a->b, ",", 1);
	buf_adds(a->b, "{\"key\":");
	buf_add_json_string(a->b, key);
	buf_adds(a->b, ",\"value\":");
}

static void
otlp_attr_strn(
    struct otlp_attrs *a, const char *key, const char *val, size_t len)
{
	char *copy;

	if (val == NULL || len == 0)
		return;
	copy = xstrndup(val, len);
	otlp_attr_key(a, key);
	buf_adds(a->b, "{\"stringValue\":");
	buf_add_json_string(a->b, copy);
	buf_adds(a->b, "}}");
	free(copy);
}

static void
otlp_attr_str(struct otlp_attrs *a, const char *key, const char *val)
{
	if (val != NULL)
		otlp_attr_strn(a, key, val, strlen(val));
}

static void
otlp_attr_int(struct otlp_attrs *a, const char *key, long long val)
{
	otlp_attr_key(a, key);
	buf_addf(a->b, "{\"intValue\":\"%lld\"}}", val);
}

/* "2026-11-25T20:24:25.123456789Z" to ns since the epoch; 0 when it is
 * not in the form audit_record_format() writes. */
static unsigned long long
otlp_parse_ts(const char *s, size_t len)
{
	struct tm tm;
	unsigned long long ns = 0;
	char text[48];
	char *end;
	time_t t;
	size_t i, n_digits = 0;

	if (len >= sizeof(text))
		return 0;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return 0;
	if (*end == '.') {
		for (end++; *end >= '0' && *end <= '9'; end++) {
			if (n_digits++ < 9)
				ns = ns * 10 + (unsigned long long)(*end - '0');
		}
		for (i = n_digits; i < 9; i++)
			ns *= 10;
	}
	if (strcmp(end, "Z") != 0)
		return 0;
	t = timegm(&tm);
	if (t < 0)
		return 0;
	return (unsigned long long)t * 1000000000ULL + ns;
}

static int
otlp_is_hex_id(const char *s, size_t want)
{
	size_t i;
	int is_zero = 1;

	if (strlen(s) != want)
		return 0;
	for (i = 0; i < want; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		if (s[i] != '0')
			is_zero = 0;
	}
	return !is_zero; /* all zeros is the W3C "invalid" id */
}

static const char *
otlp_http_method(const char *op)
{
	size_t i;

	for (i = 0; otlp_http_methods[i] != NULL; i++)
		if (strcasecmp(op, otlp_http_methods[i]) == 0)
			return otlp_http_methods[i];
	return NULL;
}

/* A port in [1, 65535] from s[0..len), or -1. */
static long
otlp_parse_port(const char *s, size_t len)
{
	long port = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

/* "host:port", "[v6]:port": server.address and server.port. */
static void
otlp_attrs_authority(
    struct otlp_attrs *a, const char *s, size_t len, long default_port)
{
	const char *colon = NULL, *host = s;
	size_t host_len = len, i;
	long port = default_port;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return;
		host = s + 1;
		host_len = (size_t)(close - host);
		if ((size_t)(close + 1 - s) < len) {
			if (close[1] != ':')
				return;
			colon = close + 1;
		}
	} else {
		for (i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		if (colon != NULL)
			host_len = (size_t)(colon - s);
	}
	if (colon != NULL)
		port =
		    otlp_parse_port(colon + 1, (size_t)(s + len - colon - 1));
	if (host_len == 0)
		return;
	otlp_attr_strn(a, "server.address", host, host_len);
	if (port > 0)
		otlp_attr_int(a, "server.port", port);
}

/*
 * A URL target with user:password (or user) replaced by "REDACTED", as the
 * semantic conventions ask of url.full: into out, NUL-terminated, and
 * returned; t itself when it has no credentials.  Applies to every place
 * the target appears (body, url.full, airlock.target).
 */
static const char *
otlp_redact_target(const char *t, struct buf *out)
{
	const char *auth, *at = NULL;
	size_t auth_len, i;

	if (t == NULL || (auth = strstr(t, "://")) == NULL)
		return t;
	auth += 3;
	auth_len = strcspn(auth, "/?#");
	for (i = 0; i < auth_len; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (at == NULL)
		return t;
	buf_add(out, t, (size_t)(auth - t));
	buf_adds(out,
	    memchr(auth, ':', (size_t)(at - auth)) != NULL ? "REDACTED:REDACTED"
	                                                   : "REDACTED");
	buf_adds(out, at);
	buf_add(out, "", 1);
	return out->data;
}

/* A URL target (already redacted): url.full and the server it names. */
static void
otlp_attrs_url(struct otlp_attrs *a, const char *url)
{
	const char *auth = strstr(url, "://") + 3;
	size_t auth_len = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', auth_len);
	long default_port = strncasecmp(url, "https:", 6) == 0 ? 443 : 80;

	otlp_attr_str(a, "url.full", url);
	if (at != NULL) {
		auth_len -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	otlp_attrs_authority(a, auth, auth_len, default_port);
}

static void
otlp_attrs_target(struct otlp_attrs *a, const struct audit_event *ev,
    const char *t, int is_own)
{
	if (t == NULL || t[0] == '\0' || is_own)
		return;
	if (ev->component == AUDIT_COMPONENT_FS)
		otlp_attr_str(a, "file.path", t);
	else if (strstr(t, "://") != NULL)
		otlp_attrs_url(a, t);
	else if (ev->component == AUDIT_COMPONENT_PROXY)
		otlp_attrs_authority(a, t, strlen(t), 0);
}

static void
otlp_attrs_caller(struct otlp_attrs *a, const struct caller *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0) {
		otlp_attr_int(a, "process.pid", c->pid);
		otlp_attr_int(a, "process.user.id", c->uid);
	}
	otlp_attr_str(a, "process.executable.path", c->exe);
	otlp_attr_str(a, "process.command_line", c->cmdline);
	otlp_attr_str(a, "airlock.intent", c->intent);
	otlp_attr_str(a, "airlock.identity", c->identity);
}

/* The fields we take from the audit line: it, not the event, holds the
 * time, the sequence number and the hash. */
struct otlp_line_fields {
	unsigned long long ts_ns;
	uint64_t seq;
	int has_seq;
	char hash[AUDIT_HASH_HEX + 1];
};

static void
otlp_read_line(const struct otlp_record *r, struct otlp_line_fields *out)
{
	struct audit_record *rec;
	const struct audit_field *f;
	char why[128];

	memset(out, 0, sizeof(*out));
	if (r->line == NULL)
		return;
	rec = xmalloc(sizeof(*rec));
	if (audit_record_parse(r->line, r->len, rec, why, sizeof(why)) != 0)
		goto out;
	if ((f = audit_record_get(rec, "ts")) != NULL &&
	    f->type == AUDIT_JSON_STRING)
		out->ts_ns = otlp_parse_ts(f->val, f->val_len);
	if ((f = audit_record_get(rec, "seq")) != NULL &&
	    audit_field_u64(f, &out->seq) == 0)
		out->has_seq = 1;
	if ((f = audit_record_get(rec, "hash")) != NULL &&
	    f->type == AUDIT_JSON_STRING && f->val_len == AUDIT_HASH_HEX)
		memcpy(out->hash, f->val, AUDIT_HASH_HEX);
out:
	free(rec);
}

static int
otlp_is_own_op(const char *op)
{
	return strncmp(op, "audit.", 6) == 0 || strncmp(op, "otlp.", 5) == 0;
}

static int
otlp_is_warning(const struct audit_event *ev, int is_own)
{
	if (is_own)
		return 1;
	if (ev->outcome != AUDIT_OUTCOME_NONE)
		return ev->outcome != AUDIT_OUTCOME_APPROVED;
	return ev->decision != DECISION_ALLOW;
}

static const char *
otlp_decision_name(enum decision d)
{
	switch (d) {
	case DECISION_ALLOW:
		return "allow";
	case DECISION_HOLD:
		return "hold";
	case DECISION_DENY:
		return "deny";
	}
	return "deny";
}

/* "fs write src/a.c: hold, approved by human (rule p.yaml:3)": one line
 * a person reads in a log viewer before opening the attributes. */
static void
otlp_add_summary(
    struct buf *b, const struct audit_event *ev, const char *target, int is_own)
{
	struct buf s;
	const char *op = ev->op != NULL ? ev->op : "";

	buf_init(&s);
	if (is_own) {
		buf_addf(&s, "%s %s: %s", op, target,
		    ev->reason != NULL ? ev->reason : "");
	} else {
		buf_addf(&s, "%s %s %s: %s",
		    audit_component_name(ev->component), op, target,
		    otlp_decision_name(ev->decision));
		if (ev->outcome != AUDIT_OUTCOME_NONE)
			buf_addf(&s, ", %s", audit_outcome_name(ev->outcome));
		buf_addf(&s, " by %s", audit_decider_name(ev->decided_by));
		if (ev->reviewer != NULL)
			buf_addf(&s, " (%s)", ev->reviewer);
		if (ev->rule != NULL)
			buf_addf(&s, " (rule %s)", ev->rule);
	}
	buf_add(&s, "", 1);
	/* A target may hold a newline: the summary stays one line. */
	for (size_t i = 0; i < s.len; i++)
		if (s.data[i] == '\n' || s.data[i] == '\r')
			s.data[i] = ' ';
	buf_adds(b, "{\"stringValue\":");
	buf_add_json_string(b, s.data);
	buf_adds(b, "}");
	buf_free(&s);
}

static void
otlp_encode_record(struct buf *b, const struct otlp_record *r)
{
	const struct audit_event *ev = r->ev;
	const struct caller *c = ev->caller;
	const char *op = ev->op != NULL ? ev->op : "";
	const char *method;
	int is_own = otlp_is_own_op(op);
	int is_warn = otlp_is_warning(ev, is_own);
	struct otlp_line_fields lf;
	struct otlp_attrs a = { b, 0 };
	struct buf redacted;
	const char *target;

	buf_init(&redacted);
	target = otlp_redact_target(ev->target, &redacted);
	otlp_read_line(r, &lf);
	if (lf.ts_ns == 0)
		lf.ts_ns = r->observed_ns;
	buf_addf(b,
	    "{\"timeUnixNano\":\"%llu\",\"observedTimeUnixNano\":"
	    "\"%llu\",\"severityNumber\":%d,\"severityText\":\"%s\",\"body\":",
	    lf.ts_ns, r->observed_ns != 0 ? r->observed_ns : lf.ts_ns,
	    is_warn ? OTLP_SEVERITY_WARN : OTLP_SEVERITY_INFO,
	    is_warn ? "WARN" : "INFO");
	otlp_add_summary(b, ev, target != NULL ? target : "", is_own);
	buf_adds(b, ",\"attributes\":[");

	otlp_attrs_target(&a, ev, target, is_own);
	if (ev->component == AUDIT_COMPONENT_PROXY && !is_own &&
	    (method = otlp_http_method(op)) != NULL)
		otlp_attr_str(&a, "http.request.method", method);
	otlp_attrs_caller(&a, c);
	otlp_attr_str(
	    &a, "airlock.component", audit_component_name(ev->component));
	otlp_attr_str(&a, "airlock.op", op);
	otlp_attr_str(&a, "airlock.target", target);
	if (!is_own) {
		otlp_attr_str(
		    &a, "airlock.decision", otlp_decision_name(ev->decision));
		if (ev->outcome != AUDIT_OUTCOME_NONE)
			otlp_attr_str(&a, "airlock.outcome",
			    audit_outcome_name(ev->outcome));
		otlp_attr_str(&a, "airlock.decided_by",
		    audit_decider_name(ev->decided_by));
	}
	otlp_attr_str(&a, "airlock.rule", ev->rule);
	otlp_attr_str(&a, "airlock.reason", ev->reason);
	otlp_attr_str(&a, "airlock.reviewer", ev->reviewer);
	otlp_attr_int(&a, "airlock.bytes_in", (long long)ev->bytes_in);
	otlp_attr_int(&a, "airlock.bytes_out", (long long)ev->bytes_out);
	if (ev->duration_ms >= 0)
		otlp_attr_int(&a, "airlock.duration_ms", ev->duration_ms);
	if (lf.has_seq)
		otlp_attr_int(&a, "airlock.seq", (long long)lf.seq);
	otlp_attr_str(&a, "airlock.hash", lf.hash);
	buf_adds(b, "]");

	if (c != NULL && otlp_is_hex_id(c->trace_id, 32)) {
		buf_addf(b, ",\"traceId\":\"%s\"", c->trace_id);
		if (otlp_is_hex_id(c->span_id, 16))
			buf_addf(b, ",\"spanId\":\"%s\"", c->span_id);
	}
	buf_adds(b, "}");
	buf_free(&redacted);
}

void
otlp_encode_logs(struct buf *b, const struct otlp_config *cfg,
    const struct otlp_record *recs, size_t n)
{
	struct otlp_attrs a = { b, 0 };
	size_t i;

	buf_adds(b, "{\"resourceLogs\":[{\"resource\":{\"attributes\":[");
	otlp_attr_str(&a, "service.name",
	    cfg->service_name != NULL ? cfg->service_name : "airlock");
	otlp_attr_str(&a, "service.version", PACKAGE_VERSION);
	otlp_attr_str(&a, "airlock.session.id", cfg->session_id);
	otlp_attr_str(&a, "airlock.project", cfg->project);
	buf_adds(b,
	    "]},\"scopeLogs\":[{\"scope\":{\"name\":\"airlock\","
	    "\"version\":");
	buf_add_json_string(b, PACKAGE_VERSION);
	buf_adds(b, "},\"logRecords\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_add(b, ",", 1);
		otlp_encode_record(b, &recs[i]);
	}
	buf_adds(b, "]}]}]}");
}
