/*
 * audit_writer: append N records to an audit log through the real
 * audit_open()/audit_log_event() path, standing in for airlock-fs and
 * airlock-proxy in tests/integration/test_audit_cli.sh.
 *
 *   audit_writer FILE N fs|proxy [SESSION]
 *
 * Every fifth record is a hold approved by a person; every seventh has a
 * target holding terminal control sequences, as an agent could create.
 * Exits 0 when every record was written, 1 when audit_open() refused or a
 * record was dropped, 2 on usage.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "caller.h"

int
main(int argc, char **argv)
{
	struct audit_log *log;
	struct audit_event ev;
	struct caller who;
	char target[128];
	long i, n;
	int is_dropped = 0, rc = 1;

	if (argc < 4 || (n = strtol(argv[2], NULL, 10)) < 0) {
		fprintf(
		    stderr, "usage: audit_writer FILE N fs|proxy [SESSION]\n");
		return 2;
	}
	if ((log = audit_open(argv[1], argc > 4 ? argv[4] : "s1", 0)) == NULL) {
		fprintf(
		    stderr, "audit_writer: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	caller_read(getpid(), getuid(), getgid(), &who);
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.component = strcmp(argv[3], "proxy") == 0
		    ? AUDIT_COMPONENT_PROXY
		    : AUDIT_COMPONENT_FS;
		if (i % 7 == 6)
			snprintf(target, sizeof(target),
			    "evil\033]0;owned\007\033[2J-%ld", i);
		else if (ev.component == AUDIT_COMPONENT_PROXY)
			snprintf(target, sizeof(target), "host%ld.test:443", i);
		else
			snprintf(target, sizeof(target), "src/file%ld.c", i);
		ev.op =
		    ev.component == AUDIT_COMPONENT_PROXY ? "CONNECT" : "write";
		ev.target = target;
		ev.decision = DECISION_ALLOW;
		ev.decided_by = AUDIT_DECIDER_POLICY;
		ev.rule = "conf/airlock.yaml:12";
		ev.reason = "routine";
		ev.caller = &who;
		ev.duration_ms = -1;
		if (i % 5 == 4) {
			ev.decision = DECISION_HOLD;
			ev.outcome = AUDIT_OUTCOME_APPROVED;
			ev.decided_by = AUDIT_DECIDER_HUMAN;
			ev.reviewer = "alice";
			ev.duration_ms = 1500;
		}
		if (audit_log_event(log, &ev) != 0)
			is_dropped = 1;
	}
	if (audit_flush(log) == 0 && !is_dropped)
		rc = 0;
	audit_close(log);
	return rc;
}
