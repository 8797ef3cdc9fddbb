/*
 * airlock: the command a person (or a script) uses to review and decide.
 * This file only dispatches; each subcommand is cli/cmd_NAME.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* One line per subcommand, in the order `airlock --help` lists them. */
static const struct cmd_entry cmd_table[] = {
	/* AIRLOCK-COMMANDS (each room adds its own line) */
	{ "run", cmd_run, "run an agent command in a new session" },
	{ "sessions", cmd_sessions, "list the sessions and their state" },
	{ "end", cmd_end, "unmount a session and stop its daemons" },
	{ "resume", cmd_resume, "mount an ended session again" },
	{ "policy", cmd_policy, "check, evaluate and show a policy" },
	{ "pending", cmd_pending, "list held actions waiting for a decision" },
	{ "approve", cmd_approve, "approve a held action" },
	{ "deny", cmd_deny, "deny a held action" },
	{ "watch", cmd_watch, "decide held actions as they arrive" },
	{ "audit", cmd_audit, "show or verify an audit log" },
	{ "diff", cmd_diff, "show the staged changes as a unified diff" },
	{ "commit", cmd_commit, "apply the staged changes to the project" },
	{ "discard", cmd_discard, "drop staged changes" },
	{ "doctor", cmd_doctor, "check this machine for what airlock needs" },
	{ NULL, NULL, NULL },
};

static void
airlock_usage(FILE *f)
{
	const struct cmd_entry *c;

	fprintf(f,
	    "usage: airlock COMMAND [ARGS...]\n\n"
	    "airlock gives a coding agent a bounded room: a copy-on-write "
	    "view\n"
	    "of its project, one egress proxy, one policy, and an audit "
	    "trail.\n\n"
	    "commands:\n");
	for (c = cmd_table; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f,
	    "\nRun `airlock COMMAND --help` for a command's options;"
	    " see airlock(1).\n");
}

int
cmd_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		airlock_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		airlock_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("airlock %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (c = cmd_table; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr,
	    "airlock: unknown command '%s'; run `airlock --help` "
	    "for the list\n",
	    argv[1]);
	return EXIT_USAGE;
}
