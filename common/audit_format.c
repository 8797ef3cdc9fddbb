/*
 * audit_format: one audit event as one JSON line, and the hash that chains
 * it to the line before (the definition is in audit_record.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit_record.h"
#include "util.h"

const char audit_hash_zero[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char *const audit_component_names[] = {
	[AUDIT_COMPONENT_FS] = "fs",
	[AUDIT_COMPONENT_PROXY] = "proxy",
	[AUDIT_COMPONENT_CLI] = "cli",
};

static const char *const audit_outcome_names[] = {
	[AUDIT_OUTCOME_NONE] = "none",
	[AUDIT_OUTCOME_APPROVED] = "approved",
	[AUDIT_OUTCOME_DENIED] = "denied",
	[AUDIT_OUTCOME_TIMEOUT] = "timeout",
};

static const char *const audit_decider_names[] = {
	[AUDIT_DECIDER_POLICY] = "policy",
	[AUDIT_DECIDER_CACHE] = "cache",
	[AUDIT_DECIDER_REVIEWER] = "reviewer",
	[AUDIT_DECIDER_HUMAN] = "human",
	[AUDIT_DECIDER_TIMEOUT] = "timeout",
};

/* Our own table rather than policy_decision_name(): the audit log must
 * name a decision even in a program that links no policy code. */
static const char *const audit_decision_names[] = {
	[DECISION_ALLOW] = "allow",
	[DECISION_HOLD] = "hold",
	[DECISION_DENY] = "deny",
};

#define AUDIT_NAME(table, i)                                            \
	((size_t)(i) < sizeof(table) / sizeof((table)[0]) &&            \
		(table)[(i)] != NULL ?                                  \
	    (table)[(i)] :                                              \
	    "unknown")

const char *
audit_component_name(enum audit_component c)
{
	return AUDIT_NAME(audit_component_names, c);
}

const char *
audit_outcome_name(enum audit_outcome o)
{
	return AUDIT_NAME(audit_outcome_names, o);
}

const char *
audit_decider_name(enum audit_decider d)
{
	return AUDIT_NAME(audit_decider_names, d);
}

void
audit_record_hash(const char *prev, const char *text, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	EVP_MD_CTX *ctx;

	/* EVP_Digest* only fail on allocation failure; an audit log that
	 * cannot hash must not write unchained lines, so that is fatal. */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev, AUDIT_HASH_HEX) != 1 ||
	    EVP_DigestUpdate(ctx, text, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
		fprintf(stderr, "airlock: audit: SHA-256 failed\n");
		abort();
	}
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * md_len] = '\0';
}

/* ,"key":"escaped"  or  ,"key":null  */
static void
audit_add_str(struct buf *b, const char *key, const char *val)
{
	buf_addf(b, ",\"%s\":", key);
	if (val == NULL)
		buf_adds(b, "null");
	else
		buf_add_json_string(b, val);
}

/* A caller field: "" means unknown, written as null. */
static void
audit_add_known(struct buf *b, const char *key, const struct caller *c,
    const char *val)
{
	audit_add_str(b, key, c == NULL || val[0] == '\0' ? NULL : val);
}

void
audit_record_format(struct buf *b, const struct audit_event *ev,
    const char *session, unsigned long long wall_ns, uint64_t seq,
    const char *prev, char *hash_out)
{
	const struct caller *c = ev->caller;
	const char *op = ev->op != NULL ? ev->op : "";
	size_t start = b->len;
	char ts[48];

	time_format_rfc3339(wall_ns, ts, sizeof(ts));
	buf_addf(b, "{\"ts\":\"%s\",\"seq\":%llu", ts, (unsigned long long)seq);
	audit_add_str(b, "session", session != NULL ? session : "");
	audit_add_str(b, "component", audit_component_name(ev->component));
	audit_add_str(b, "op", op);
	audit_add_str(b, "target", ev->target != NULL ? ev->target : "");
	/* The log's own records (audit.dropped, audit.repaired) decide
	 * nothing. */
	audit_add_str(b, "decision", strncmp(op, "audit.", 6) == 0 ? NULL :
	    AUDIT_NAME(audit_decision_names, ev->decision));
	if (ev->outcome != AUDIT_OUTCOME_NONE)
		audit_add_str(b, "outcome", audit_outcome_name(ev->outcome));
	audit_add_str(b, "decided_by", audit_decider_name(ev->decided_by));
	audit_add_str(b, "rule", ev->rule);
	audit_add_str(b, "reason", ev->reason);
	if (ev->reviewer != NULL)
		audit_add_str(b, "reviewer", ev->reviewer);
	if (c != NULL && c->pid != 0)
		buf_addf(b, ",\"pid\":%ld", (long)c->pid);
	else
		buf_adds(b, ",\"pid\":null");
	if (c != NULL)
		buf_addf(b, ",\"uid\":%lu", (unsigned long)c->uid);
	else
		buf_adds(b, ",\"uid\":null");
	audit_add_known(b, "exe", c, c != NULL ? c->exe : "");
	audit_add_known(b, "cmdline", c, c != NULL ? c->cmdline : "");
	audit_add_known(b, "trace_id", c, c != NULL ? c->trace_id : "");
	audit_add_known(b, "span_id", c, c != NULL ? c->span_id : "");
	audit_add_known(b, "intent", c, c != NULL ? c->intent : "");
	if (c != NULL && c->identity[0] != '\0')
		audit_add_str(b, "identity", c->identity);
	buf_addf(b, ",\"bytes_in\":%llu,\"bytes_out\":%llu",
	    (unsigned long long)ev->bytes_in, (unsigned long long)ev->bytes_out);
	if (ev->duration_ms >= 0)
		buf_addf(b, ",\"duration_ms\":%lld", (long long)ev->duration_ms);
	else
		buf_adds(b, ",\"duration_ms\":null");
	buf_addf(b, ",\"prev\":\"%s\"", prev);
	audit_record_hash(prev, b->data + start, b->len - start, hash_out);
	buf_addf(b, ",\"hash\":\"%s\"}", hash_out);
}
