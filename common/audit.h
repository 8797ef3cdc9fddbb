/*
 * audit: the tamper-evident record of every decision.
 *
 * One JSON object a line (fields in ../shared/DESIGN.md).  Each line ends
 * with "prev" (the previous line's hash, 64 zeros for the first) and "hash",
 * SHA-256 over the previous hash and this line without its hash field, so
 * that editing, deleting or reordering a line is detected by
 * audit_verify_file().
 *
 * audit_log_event() copies the event into a bounded queue and returns at
 * once; one writer thread formats and appends.  When the queue is full the
 * event is dropped and counted; the count is itself written as a record
 * (op "audit.dropped") as soon as there is room.
 */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caller.h"
#include "policy.h"

enum audit_component {
	AUDIT_COMPONENT_FS,
	AUDIT_COMPONENT_PROXY,
	AUDIT_COMPONENT_CLI,
};

enum audit_outcome {
	AUDIT_OUTCOME_NONE, /* not held */
	AUDIT_OUTCOME_APPROVED,
	AUDIT_OUTCOME_DENIED,
	AUDIT_OUTCOME_TIMEOUT,
};

enum audit_decider {
	AUDIT_DECIDER_POLICY,
	AUDIT_DECIDER_CACHE,
	AUDIT_DECIDER_REVIEWER,
	AUDIT_DECIDER_HUMAN,
	AUDIT_DECIDER_TIMEOUT,
};

/* An event as a caller hands it in; every pointer is borrowed for the
 * duration of the call only (the queue copies what it keeps). */
struct audit_event {
	enum audit_component component;
	const char *op; /* "write", "create", "connect", "GET", ... */
	const char *target; /* project-relative path, host:port, or URL */
	enum decision decision;
	enum audit_outcome outcome;
	enum audit_decider decided_by;
	const char *rule; /* "file:line", or NULL */
	const char *reason; /* or NULL */
	const char *reviewer; /* which reviewer decided, or NULL */
	const struct caller *caller; /* or NULL */
	uint64_t bytes_in, bytes_out;
	int64_t duration_ms; /* -1 when not applicable */
};

struct audit_log;

/*
 * Open (creating with mode 0600, or continuing the chain of) the JSONL file
 * at path.  session is the session id written in every record ("" when
 * none).  queue_len bounds the number of events waiting for the writer
 * (0: a default of 4096).  Returns NULL with errno set on failure
 * (including EBADMSG for a file whose last line does not verify or is
 * partial: appending to a broken chain would hide the break; a message on
 * stderr says to run `airlock audit verify`).  Several processes may
 * append to one file.  Open after any fork(): the writer is a thread.
 */
struct audit_log *audit_open(
    const char *path, const char *session, size_t queue_len);

/* Queue one event; never blocks on disk.  Returns 0, or -1 when dropped. */
int audit_log_event(struct audit_log *log, const struct audit_event *ev);

/* A sink receives every record, formatted, from the writer thread (the
 * OTLP exporter is one).  line is the JSON object without newline. */
typedef void (*audit_sink_fn)(
    const struct audit_event *ev, const char *line, size_t len, void *arg);
void audit_add_sink(struct audit_log *log, audit_sink_fn fn, void *arg);

/* Write everything queued and fsync.  Returns 0, or -1 with errno when a
 * write failed since the last flush (what it lost is counted as dropped)
 * or fsync failed.  Not from a sink: it waits for the writer thread. */
int audit_flush(struct audit_log *log);
uint64_t audit_dropped(const struct audit_log *log);
/* Flush, stop the writer and free. */
void audit_close(struct audit_log *log);

/*
 * Check a whole file.  Returns 0 when every line verifies (*bad_line is
 * then the number of records), 1 when one does not (*bad_line is its
 * 1-based number, and why[] says what is wrong), -1 with errno when the
 * file cannot be read.  The chain and its limits: common/audit_record.h.
 */
int audit_verify_file(
    const char *path, uint64_t *bad_line, char *why, size_t why_len);

const char *audit_outcome_name(enum audit_outcome o);
const char *audit_decider_name(enum audit_decider d);
const char *audit_component_name(enum audit_component c);

#endif
