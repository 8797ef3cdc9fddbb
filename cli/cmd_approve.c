/*
 * airlock pending | approve | deny: a person's side of held actions.
 *
 * Each daemon of a session serves its own held actions on its control
 * socket (fs.sock for airlock-fs, proxy.sock for airlock-proxy; see
 * common/ctl.h).  An id's first letter names its daemon ("f3", "p12"), so
 * approve and deny talk to one socket; pending asks both and merges.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "ctl_client.h"
#include "session.h"
#include "util.h"

/* Options shared by the three commands. */
struct approve_opts {
	const char *session;
	const char *id;
	int has_json;
	int has_remember;
};

/* Copy s into out, cut to width columns (bytes; good enough for paths)
 * with "..." marking the cut. */
static void
approve_cut(const char *s, size_t width, char *out, size_t len)
{
	if (strlen(s) <= width || width < 4) {
		snprintf(out, len, "%s", s);
		return;
	}
	snprintf(out, len, "%.*s...", (int)(width - 3), s);
}

static void
pending_print_table(const struct pending_list *list)
{
	const struct pending_item *it;
	char proc[320], target[128], intent[64], age[32], left[32];
	const char *base;
	size_t i;

	printf("%-6s %-4s %-8s %-48s %-20s %-24s %6s %6s\n", "ID", "KIND", "OP",
	    "TARGET", "PROCESS", "INTENT", "AGE", "LEFT");
	for (i = 0; i < list->n_items; i++) {
		it = &list->items[i];
		base = strrchr(it->exe, '/');
		base = base != NULL ? base + 1 : it->exe;
		if (it->pid[0] == '\0' || strcmp(it->pid, "0") == 0)
			snprintf(proc, sizeof(proc), "-");
		else
			snprintf(proc, sizeof(proc), "%s/%s", it->pid,
			    base[0] != '\0' ? base : "?");
		approve_cut(it->target, 48, target, sizeof(target));
		approve_cut(it->intent[0] != '\0' ? it->intent : "-", 24,
		    intent, sizeof(intent));
		ctl_client_format_ms(it->age_ms, age, sizeof(age));
		ctl_client_format_ms(it->left_ms, left, sizeof(left));
		printf("%-6s %-4s %-8s %-48s %-20s %-24s %6s %6s\n", it->id,
		    it->kind, it->op, target, proc, intent, age, left);
		if (it->review[0] != '\0')
			printf("%-6s review: %s\n", "", it->review);
	}
}

/* Append one daemon's array, without its brackets, to the merged one. */
static void
pending_merge_json(struct buf *merged, const char *answer, int *is_first)
{
	const char *start = answer, *end;

	while (*start != '\0' && strchr(" \t\r\n", *start) != NULL)
		start++;
	start++; /* '[' (checked by pending_list_parse) */
	end = start + strlen(start);
	while (end > start && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	end--; /* ']' */
	while (start < end && strchr(" \t\r\n", *start) != NULL)
		start++;
	if (start == end)
		return;
	if (!*is_first)
		buf_adds(merged, ",");
	buf_add(merged, start, (size_t)(end - start));
	*is_first = 0;
}

static int
approve_parse_opts(const char *cmd, int argc, char **argv, int wants_id,
    struct approve_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			o->session = argv[++i];
		else if (strncmp(argv[i], "--session=", 10) == 0)
			o->session = argv[i] + 10;
		else if (!wants_id && strcmp(argv[i], "--json") == 0)
			o->has_json = 1;
		else if (wants_id && strcmp(argv[i], "--remember") == 0)
			o->has_remember = 1;
		else if (wants_id && argv[i][0] != '-' && o->id == NULL)
			o->id = argv[i];
		else {
			fprintf(stderr,
			    "airlock %s: unexpected argument '%s';"
			    " see `airlock %s --help`\n",
			    cmd, argv[i], cmd);
			return -1;
		}
	}
	if (wants_id && o->id == NULL) {
		fprintf(stderr,
		    "airlock %s: which held action? Give its id"
		    " (see `airlock pending`)\n",
		    cmd);
		return -1;
	}
	return 0;
}

static void
pending_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock pending [--session ID] [--json]\n\n"
	    "List the actions the session's daemons hold for a decision:\n"
	    "files (ids f1, f2, ...) and network requests (p1, p2, ...),\n"
	    "with the requesting process, its intent, their age and the time\n"
	    "left before the hold timeout denies them.\n\n"
	    "  --session ID  a session id or directory (default: the newest)\n"
	    "  --json        one JSON array, as the daemons report it\n\n"
	    "Decide with `airlock approve ID` or `airlock deny ID`.\n");
}

int
cmd_pending(int argc, char **argv)
{
	struct approve_opts o;
	struct pending_list list = { NULL, 0 };
	struct buf merged;
	char dir[4096], *answer;
	size_t i;
	int n_ok = 0, is_first = 1, rc = EXIT_IO, r;

	buf_init(&merged);
	if (cmd_wants_help(argc, argv)) {
		pending_usage(stdout);
		return 0;
	}
	if (approve_parse_opts("pending", argc, argv, 0, &o) != 0)
		return EXIT_USAGE;
	if (ctl_client_session_dir("pending", o.session, dir, sizeof(dir)) != 0)
		return EXIT_IO;

	buf_adds(&merged, "[");
	for (i = 0; i < CTL_N_DAEMONS; i++) {
		r = ctl_client_list(dir, &ctl_daemons[i], &list, &answer);
		if (r == -1) {
			fprintf(stderr,
			    "airlock pending: note: %s/%s: %s; its held"
			    " actions are not listed\n",
			    dir, ctl_daemons[i].sock, ctl_client_why(errno));
			continue;
		}
		if (r != 0) {
			fprintf(stderr,
			    "airlock pending: note: %s/%s answered: %.200s",
			    dir, ctl_daemons[i].sock, answer);
			if (answer[0] == '\0' ||
			    answer[strlen(answer) - 1] != '\n')
				fputc('\n', stderr);
			free(answer);
			continue;
		}
		pending_merge_json(&merged, answer, &is_first);
		free(answer);
		n_ok++;
	}
	buf_adds(&merged, "]\n");
	if (n_ok == 0) {
		fprintf(stderr,
		    "airlock pending: the daemons of session %s are"
		    " not running (nothing answers on %s/fs.sock or"
		    " %s/proxy.sock); start them again with `airlock resume %s`"
		    "\n",
		    session_id_of(dir), dir, dir, session_id_of(dir));
		goto out;
	}
	if (o.has_json)
		fwrite(merged.data, 1, merged.len, stdout);
	else if (list.n_items == 0)
		printf("no held actions in session %s\n", session_id_of(dir));
	else
		pending_print_table(&list);
	rc = fflush(stdout) == 0 ? 0 : EXIT_IO;
out:
	pending_list_free(&list);
	buf_free(&merged);
	return rc;
}

static void
approve_usage(FILE *f, const char *cmd)
{
	fprintf(f,
	    "usage: airlock %s ID [--remember] [--session ID]\n\n"
	    "%s the held action ID (from `airlock pending`): the operation\n"
	    "that waits for it %s.\n\n"
	    "  --remember    %s identical requests (same kind, operation and\n"
	    "                target) for the rest of the session, as well\n"
	    "  --session ID  a session id or directory (default: the newest)\n"
	    "\nExit status: 0 decided; 1 not pending any more (already "
	    "decided\n"
	    "or timed out) or refused; 2 usage; 3 the daemon cannot be "
	    "reached.\n",
	    cmd, strcmp(cmd, "approve") == 0 ? "Approve" : "Deny",
	    strcmp(cmd, "approve") == 0 ? "goes on" : "fails with a denial",
	    strcmp(cmd, "approve") == 0 ? "approve" : "deny");
}

/* Find id in a daemon's list answer, for the confirmation line. */
static int
approve_describe(const char *answer, const char *id, char *out, size_t len)
{
	struct pending_list list = { NULL, 0 };
	size_t i;
	int rc = -1;

	if (pending_list_parse(answer, &list) != 0)
		goto out;
	for (i = 0; i < list.n_items; i++) {
		if (strcmp(list.items[i].id, id) != 0)
			continue;
		snprintf(out, len, " (%s %s)", list.items[i].op,
		    list.items[i].target);
		rc = 0;
		break;
	}
out:
	pending_list_free(&list);
	return rc;
}

/* approve and deny differ only in their word. */
static int
approve_decide(const char *cmd, int argc, char **argv)
{
	const struct ctl_daemon *d;
	struct approve_opts o;
	char dir[4096], path[4200], what[600] = "";
	char *answer = NULL, *listed = NULL;
	int rc = EXIT_IO, r;

	if (cmd_wants_help(argc, argv)) {
		approve_usage(stdout, cmd);
		return 0;
	}
	if (approve_parse_opts(cmd, argc, argv, 1, &o) != 0)
		return EXIT_USAGE;
	if ((d = ctl_client_daemon_of(o.id)) == NULL) {
		fprintf(stderr,
		    "airlock %s: '%s' is not a held action id (ids"
		    " look like f3 for files or p12 for the network; see"
		    " `airlock pending`)\n",
		    cmd, o.id);
		return EXIT_USAGE;
	}
	if (ctl_client_session_dir(cmd, o.session, dir, sizeof(dir)) != 0)
		return EXIT_IO;
	snprintf(path, sizeof(path), "%s/%s", dir, d->sock);

	/* What it is, for the confirmation; a failure here is not fatal
	 * (the decision itself is what must reach the daemon). */
	if (ctl_request(path, "list", &listed) == 0)
		approve_describe(listed, o.id, what, sizeof(what));

	r = ctl_client_decide(dir, cmd, o.id, o.has_remember, &answer);
	if (r == -1) {
		fprintf(stderr,
		    "airlock %s: cannot reach %s at %s: %s; is"
		    " session %s running? (`airlock sessions`, `airlock resume"
		    " %s`)\n",
		    cmd, d->what, path, ctl_client_why(errno),
		    session_id_of(dir), session_id_of(dir));
		goto out;
	}
	if (r == 0) {
		printf("%s %s%s%s\n",
		    strcmp(cmd, "approve") == 0 ? "approved" : "denied", o.id,
		    what,
		    o.has_remember ? "; remembered for"
		                     " identical requests in this session"
		                   : "");
		rc = fflush(stdout) == 0 ? 0 : EXIT_IO;
		goto out;
	}
	if (r == 1) {
		fprintf(stderr, "airlock %s: %s\n", cmd, answer);
		rc = EXIT_NEGATIVE;
		goto out;
	}
	fprintf(stderr, "airlock %s: unexpected answer from %s: %.200s\n", cmd,
	    path, answer);
out:
	free(listed);
	free(answer);
	return rc;
}

int
cmd_approve(int argc, char **argv)
{
	return approve_decide("approve", argc, argv);
}

int
cmd_deny(int argc, char **argv)
{
	return approve_decide("deny", argc, argv);
}
