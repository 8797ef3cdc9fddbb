/*
 * caller: who asked.  Reads a process's identity from /proc: executable,
 * command line, and the TRACEPARENT and AIRLOCK_INTENT values of its
 * environment (when readable; a process of another user usually is not).
 * Used by airlock-fs (the FUSE request's pid) and, for identity fields, by
 * the audit record of airlock-proxy.
 */
#ifndef AIRLOCK_CALLER_H
#define AIRLOCK_CALLER_H

#include <sys/types.h>

struct caller {
	pid_t pid; /* 0 when unknown */
	uid_t uid;
	gid_t gid;
	char exe[256]; /* "" when unreadable */
	char cmdline[512]; /* arguments joined by single spaces, truncated */
	char trace_id[33]; /* 32 lower-case hex digits, or "" */
	char span_id[17]; /* 16 lower-case hex digits, or "" */
	char intent[256]; /* AIRLOCK_INTENT, or "" */
	char identity[128]; /* proxy: the Proxy-Authorization user, or "" */
};

/*
 * Fill *out for pid, with uid/gid as the kernel reported them for the
 * request (FUSE's fuse_ctx or SO_PEERCRED).  Fields that cannot be read
 * stay empty; returns 0, or -1 with errno when pid no longer exists.
 */
int caller_read(pid_t pid, uid_t uid, gid_t gid, struct caller *out);

/*
 * Parse a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") into trace and
 * span ids.  Returns 0, or -1 when malformed (ids are then left "").
 */
int caller_parse_traceparent(
    const char *tp, char trace_id[33], char span_id[17]);

#endif
