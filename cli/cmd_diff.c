/*
 * airlock diff: the staged changes of a session, as git would show them.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fs/diff.h"
#include "fs/stage.h"
#include "review.h"

static void
diff_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock diff [--session ID] [--project DIR] "
	    "[--stat | --name-status]\n"
	    "                    [--color | --no-color] [--binary] [PATH...]\n"
	    "\n"
	    "Show the session's staged changes as a git-style unified diff\n"
	    "(modes, new and deleted files, symlinks, renames), limited to "
	    "the\n"
	    "PATHs given (a directory stands for everything below it).\n"
	    "`git apply` accepts the output against the untouched project.\n"
	    "\n"
	    "  --session ID     the session (an id, or a directory path);\n"
	    "                   default: the most recently used one\n"
	    "  --project DIR    the project (default: from session.json)\n"
	    "  --stat           a diffstat, as git diff --stat\n"
	    "  --name-status    one line a path: A, M, D, T or R<score>\n"
	    "  --color          colour even when not on a terminal\n"
	    "  --no-color       never colour\n"
	    "  --binary         binary patches instead of \"Binary files ...\n"
	    "                   differ\", so that git apply reproduces them\n"
	    "\n"
	    "Exit status: 0 (also when nothing is staged), 2 usage, 3 I/O.\n");
}

int
cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "project", required_argument, NULL, 'p' },
		{ "stat", no_argument, NULL, 'S' },
		{ "name-status", no_argument, NULL, 'N' },
		{ "color", no_argument, NULL, 'c' },
		{ "colour", no_argument, NULL, 'c' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "no-colour", no_argument, NULL, 'C' },
		{ "binary", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct review_session rs;
	struct review_set set;
	struct diff_opts opts;
	const char *session = NULL, *project = NULL;
	int ch, color = -1, rc;

	if (cmd_wants_help(argc, argv)) {
		diff_usage(stdout);
		return 0;
	}
	memset(&opts, 0, sizeof opts);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'p':
			project = optarg;
			break;
		case 'S':
			opts.format = DIFF_STAT;
			break;
		case 'N':
			opts.format = DIFF_NAME_STATUS;
			break;
		case 'c':
			color = 1;
			break;
		case 'C':
			color = 0;
			break;
		case 'b':
			opts.binary = 1;
			break;
		default:
			diff_usage(stderr);
			return EXIT_USAGE;
		}
	}
	opts.color = color >= 0 ? color : isatty(STDOUT_FILENO);
	if ((rc = review_session_open(&rs, "diff", session, project, 0, 1)) !=
	    0)
		goto out;
	if (review_commit_pending(&rs))
		fprintf(stderr,
		    "airlock diff: an interrupted commit is not "
		    "complete yet (run airlock commit); showing what "
		    "is still staged\n");
	if (review_collect(rs.stage, rs.project_fd, argv + optind,
	        (size_t)(argc - optind), &set) != 0) {
		fprintf(
		    stderr, "airlock diff: %s: %s\n", rs.dir, strerror(errno));
		rc = EXIT_IO;
		goto out;
	}
	fflush(stdout);
	signal(
	    SIGPIPE, SIG_IGN); /* a closed pager is git's problem, not ours */
	if (diff_write(&set, rs.project_fd, stage_upper_fd(rs.stage), &opts,
	        STDOUT_FILENO) != 0) {
		if (errno != EPIPE)
			fprintf(stderr,
			    "airlock diff: cannot produce the diff: "
			    "%s\n",
			    errno == ECHILD ? "git failed" : strerror(errno));
		rc = errno == EPIPE ? 0 : EXIT_IO;
	}
	review_set_free(&set);
out:
	review_session_close(&rs);
	return rc;
}
