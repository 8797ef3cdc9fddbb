/*
 * airlock discard: drop staged changes, so the view shows the project
 * again at those paths.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "fs/diff.h"
#include "fs/stage.h"
#include "review.h"

static void
discard_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock discard [--session ID] [PATH...]\n"
	    "\n"
	    "Drop the session's staged changes: all of them, or those at the\n"
	    "PATHs given and below.  One line is printed per dropped path.\n"
	    "The session must not be mounted.\n"
	    "\n"
	    "Exit status: 0, 1 the session is mounted or an interrupted\n"
	    "commit must be completed first, 2 usage, 3 I/O.\n");
}

int
cmd_discard(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct review_session rs;
	struct stage_entry *list = NULL;
	const char *session = NULL;
	char *const *filters;
	ssize_t n = 0, i;
	size_t n_filters;
	int ch, rc, n_dropped = 0;

	if (cmd_wants_help(argc, argv)) {
		discard_usage(stdout);
		return 0;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		default:
			discard_usage(stderr);
			return EXIT_USAGE;
		}
	}
	filters = argv + optind;
	n_filters = (size_t)(argc - optind);
	if ((rc = review_session_open(
	         &rs, "discard", session, NULL, STAGE_WRITE, 0)) != 0)
		goto out;
	/* The journal's operations read staged content: dropping it under
	 * an unfinished commit would leave that commit unable to finish. */
	if (review_commit_pending(&rs)) {
		fprintf(stderr,
		    "airlock discard: an interrupted commit must be "
		    "completed first: run airlock commit\n");
		rc = EXIT_NEGATIVE;
		goto out;
	}
	if ((n = stage_list(rs.stage, &list)) < 0) {
		fprintf(stderr, "airlock discard: %s: %s\n", rs.dir,
		    strerror(errno));
		rc = EXIT_IO;
		goto out;
	}
	/* Deepest first, so a directory goes after what it holds. */
	for (i = n; i-- > 0;) {
		if (!review_path_matches(list[i].path, filters, n_filters))
			continue;
		if (stage_drop(rs.stage, list[i].path) != 0) {
			fprintf(stderr, "airlock discard: %s: %s\n",
			    review_path_display(list[i].path), strerror(errno));
			rc = EXIT_IO;
			continue;
		}
		printf("discarded %s\t%s\n", stage_kind_name(list[i].kind),
		    review_path_display(list[i].path));
		n_dropped++;
	}
	if (stage_sync(rs.stage) != 0 && rc == 0)
		rc = EXIT_IO;
	if (n_dropped == 0 && rc == 0)
		printf("nothing to discard\n");
out:
	stage_list_free(list, n);
	review_session_close(&rs);
	return rc;
}
