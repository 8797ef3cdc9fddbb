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

#define AUDIT_NAME(table, i)                                                   \
	((size_t)(i) < sizeof(table) / sizeof((table)[0]) &&                   \
	            (table)[(i)] != NULL                                       \
	        ? (table)[(i)]                                                 \
	        : "unknown")

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

/* Formatting runs once per line on the writer thread: plain appends of
 * literal keys and our own integer conversion, no printf. */
static void
audit_add_u64(struct buf *b, const char *key, unsigned long long v)
{
	char digits[24], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_adds(b, key);
	buf_add(b, p, (size_t)(digits + sizeof(digits) - p));
}

/* key is the literal ,"name": ; a NULL val is written as null. */
static void
audit_add_str(struct buf *b, const char *key, const char *val)
{
	buf_adds(b, key);
	if (val == NULL)
		buf_add(b, "null", 4);
	else
		buf_add_json_string(b, val);
}

/* A caller field: "" means unknown, written as null. */
static void
audit_add_known(
    struct buf *b, const char *key, const struct caller *c, const char *val)
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
	/* The log's own records (audit.dropped, audit.repaired) decide
	 * nothing. */
	int is_own = strncmp(op, "audit.", 6) == 0;
	size_t start = b->len;
	char ts[48];

	time_format_rfc3339(wall_ns, ts, sizeof(ts));
	buf_add(b, "{\"ts\":\"", 7);
	buf_adds(b, ts);
	buf_add(b, "\"", 1);
	audit_add_u64(b, ",\"seq\":", seq);
	audit_add_str(b, ",\"session\":", session != NULL ? session : "");
	audit_add_str(
	    b, ",\"component\":", audit_component_name(ev->component));
	audit_add_str(b, ",\"op\":", op);
	audit_add_str(b, ",\"target\":", ev->target != NULL ? ev->target : "");
	audit_add_str(b, ",\"decision\":",
	    is_own ? NULL : AUDIT_NAME(audit_decision_names, ev->decision));
	if (ev->outcome != AUDIT_OUTCOME_NONE)
		audit_add_str(
		    b, ",\"outcome\":", audit_outcome_name(ev->outcome));
	audit_add_str(b, ",\"decided_by\":",
	    is_own ? NULL : audit_decider_name(ev->decided_by));
	audit_add_str(b, ",\"rule\":", ev->rule);
	audit_add_str(b, ",\"reason\":", ev->reason);
	if (ev->reviewer != NULL)
		audit_add_str(b, ",\"reviewer\":", ev->reviewer);
	if (c != NULL && c->pid > 0)
		audit_add_u64(b, ",\"pid\":", (unsigned long long)c->pid);
	else
		audit_add_str(b, ",\"pid\":", NULL);
	if (c != NULL)
		audit_add_u64(b, ",\"uid\":", (unsigned long long)c->uid);
	else
		audit_add_str(b, ",\"uid\":", NULL);
	audit_add_known(b, ",\"exe\":", c, c != NULL ? c->exe : "");
	audit_add_known(b, ",\"cmdline\":", c, c != NULL ? c->cmdline : "");
	audit_add_known(b, ",\"trace_id\":", c, c != NULL ? c->trace_id : "");
	audit_add_known(b, ",\"span_id\":", c, c != NULL ? c->span_id : "");
	audit_add_known(b, ",\"intent\":", c, c != NULL ? c->intent : "");
	if (c != NULL && c->identity[0] != '\0')
		audit_add_str(b, ",\"identity\":", c->identity);
	audit_add_u64(b, ",\"bytes_in\":", (unsigned long long)ev->bytes_in);
	audit_add_u64(b, ",\"bytes_out\":", (unsigned long long)ev->bytes_out);
	if (ev->duration_ms >= 0)
		audit_add_u64(b,
		    ",\"duration_ms\":", (unsigned long long)ev->duration_ms);
	else
		audit_add_str(b, ",\"duration_ms\":", NULL);
	buf_add(b, ",\"prev\":\"", 9);
	buf_add(b, prev, AUDIT_HASH_HEX);
	buf_add(b, "\"", 1);
	audit_record_hash(prev, b->data + start, b->len - start, hash_out);
	buf_add(b, ",\"hash\":\"", 9);
	buf_add(b, hash_out, AUDIT_HASH_HEX);
	buf_add(b, "\"}", 2);
}
