/*
 * reviewer: the policy's review hook, asked about a held action before a
 * person is.
 *
 * A reviewer is either a command (the policy's review.command: an argv
 * run without a shell, the request JSON on its stdin, the answer JSON on
 * its stdout) or an endpoint (review.url: the request JSON POSTed to an
 * http:// or https:// URL, the answer JSON in the response body; https
 * verifies against the system's trust store).  Both are bounded: the
 * answer may take review.timeout (a command's whole process group is
 * killed then) and REVIEW_ANSWER_MAX bytes.
 *
 * The answer is {"decision":"allow"|"deny"|"escalate","reason":"..."} and
 * nothing else.  Anything other than a well-formed allow or deny (an
 * escalate, a timeout, a non-zero exit, output that is malformed, too
 * large, or names an unknown decision) comes back as REVIEW_ESCALATE or
 * REVIEW_FAILED: the action stays with a person.  A reviewer can never
 * make a failure allow.
 *
 * common/approval.c runs the reviewer in its own threads; nothing here
 * keeps state between calls, so reviewer_ask() may run in many threads at
 * once on one struct reviewer.
 */
#ifndef AIRLOCK_REVIEWER_H
#define AIRLOCK_REVIEWER_H

#include <stddef.h>

#include "approval.h"
#include "policy.h"

/* The most a reviewer may answer, and the most detail a request carries
 * (a held file write's diff, a held request's head). */
#define REVIEW_ANSWER_MAX (64 * 1024)
#define REVIEW_DETAIL_MAX (8 * 1024)

enum review_verdict {
	REVIEW_ALLOW,
	REVIEW_DENY,
	REVIEW_ESCALATE, /* the reviewer asked for a person */
	REVIEW_FAILED, /* no usable answer: a person decides */
};

struct review_answer {
	enum review_verdict verdict;
	char reason[256]; /* the reviewer's reason, or why it failed */
};

struct reviewer;

/*
 * The reviewer that settings name, copied (the policy may go away).
 * Returns NULL with errno ENOENT when the settings name none, EINVAL
 * when the URL cannot be used (a message on stderr says why).  Free with
 * reviewer_free().
 */
struct reviewer *reviewer_new(const struct policy_settings *set);
void reviewer_free(struct reviewer *rv);

/* Who the reviewer is, for audit records: the command's basename or the
 * URL's host.  Borrowed from rv. */
const char *reviewer_name(const struct reviewer *rv);

/*
 * The request for a held action (id as approvals named it; session may be
 * NULL): {"id", "session", "kind", "op", "target", "rule", "reason",
 * "process": {"pid", "uid", "exe", "cmdline"} or null, "intent",
 * "traceparent", "detail"} (detail is null when info has none).  The
 * caller frees the result.
 */
char *reviewer_request_json(
    const struct held_info *info, const char *id, const char *session);

/*
 * Ask rv about req (len bytes of request JSON) and fill *out; never fails
 * otherwise (a failure is REVIEW_FAILED with the reason saying what went
 * wrong).  *deadline_ms (time_mono_ms() clock) is first lowered to now
 * plus the reviewer's timeout; another thread may lower it further
 * (__atomic_store_n) to cut the review short, which then fails as a
 * timeout.  A command still running at the deadline is killed with its
 * whole process group.
 */
void reviewer_ask(const struct reviewer *rv, const char *req, size_t len,
    unsigned long long *deadline_ms, struct review_answer *out);

/*
 * Move the asking into a broker process forked now, with n_slots
 * channels (at most REVIEW_MAX_SLOTS): from then on reviewer_ask_slot()
 * asks through it.  The daemons call this before they lock themselves
 * down (common/sandbox.h): a sandboxed daemon may neither start nor kill
 * a process, so the broker, forked while it still may, does both for it.
 * The broker keeps no descriptor of the daemon's but its channels and
 * stdin, stdout and stderr (a command reviewer's stderr goes to the
 * daemon's log), is not the daemon's child (nothing to reap), and exits
 * when the daemon closes its channels or dies.  Returns 0, or -1 with
 * errno.
 */
#define REVIEW_MAX_SLOTS 8
int reviewer_start_broker(struct reviewer *rv, int n_slots);

/*
 * As reviewer_ask(), through the broker's channel slot (0 .. n_slots-1;
 * one thread per slot at a time), or in this process when no broker was
 * started.
 */
void reviewer_ask_slot(struct reviewer *rv, int slot, const char *req,
    size_t len, unsigned long long *deadline_ms, struct review_answer *out);

/*
 * Parse an answer strictly: one JSON object with a string "decision"
 * ("allow", "deny" or "escalate") and an optional string "reason", no
 * other member, no duplicate, nothing after it but whitespace.  Returns 0
 * with *out filled, or -1 with out->verdict REVIEW_FAILED and out->reason
 * saying what was wrong.
 */
int reviewer_parse_answer(
    const char *buf, size_t len, struct review_answer *out);

/* "allow", "deny", "escalate", "failed". */
const char *reviewer_verdict_name(enum review_verdict v);

#endif
