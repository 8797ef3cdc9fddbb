/*
 * airlock commit: apply a session's staged changes to its project.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fs/commit.h"
#include "fs/stage.h"
#include "review.h"

struct commit_cli {
	int dry_run;
	int n_applied;
	int n_conflicts;
};

static void
commit_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock commit [--session ID] [--project DIR] "
	    "[--force] [--dry-run] [PATH...]\n"
	    "\n"
	    "Apply the session's staged changes (or those under the PATHs\n"
	    "given, with the parent directories they need) to the project,\n"
	    "each file atomically, and drop them from the staging area.\n"
	    "\n"
	    "All or nothing: if any selected path changed in the project "
	    "since\n"
	    "it was staged, nothing is written and every such path is named.\n"
	    "A commit that was interrupted (killed, power loss) is completed\n"
	    "first, from its journal.  The session must not be mounted.\n"
	    "\n"
	    "  --session ID   the session (an id, or a directory path);\n"
	    "                 default: the most recently used one\n"
	    "  --project DIR  the project (default: from session.json)\n"
	    "  --force        write over conflicting project files\n"
	    "  --dry-run      say what would be committed; write nothing\n"
	    "\n"
	    "Exit status: 0 committed (or nothing staged), 1 conflicts or the\n"
	    "session is mounted, 2 usage, 3 I/O (run it again: the journal\n"
	    "completes what was started).\n");
}

/* A path as a shell argument, for the advice we print. */
static void
commit_print_shell_word(FILE *f, const char *s)
{
	const char *p;

	if (s[0] != '\0' &&
	    strspn(s,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "abcdefghijklmnopqrstuvwxyz0123456789._/+-=@,") == strlen(s) &&
	    s[0] != '-') {
		fputs(s, f);
		return;
	}
	if (s[0] == '-')
		fputs("-- ", f);
	fputc('\'', f);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

static void
commit_cli_note(
    void *arg, enum commit_note what, const char *path, const char *detail)
{
	struct commit_cli *cc = arg;

	switch (what) {
	case COMMIT_NOTE_CONFLICT:
		cc->n_conflicts++;
		fprintf(stderr,
		    "conflict: %s %s; re-run with --force to "
		    "overwrite, or airlock discard ",
		    review_path_display(path), detail);
		commit_print_shell_word(stderr, path);
		fputc('\n', stderr);
		break;
	case COMMIT_NOTE_APPLY:
		cc->n_applied++;
		printf("%s%s\t%s\n", cc->dry_run ? "would commit " : "", detail,
		    review_path_display(path));
		break;
	case COMMIT_NOTE_REPLAY:
		printf("completed an interrupted commit from its journal\n");
		break;
	case COMMIT_NOTE_ERROR:
		fprintf(stderr, "airlock commit: %s: %s\n",
		    review_path_display(path), detail);
		break;
	}
}

int
cmd_commit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "project", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct review_session rs;
	struct commit_opts opts;
	struct commit_cli cc;
	const char *session = NULL, *project = NULL;
	int ch, rc, r, sfd = -1;

	if (cmd_wants_help(argc, argv)) {
		commit_usage(stdout);
		return 0;
	}
	memset(&opts, 0, sizeof opts);
	memset(&cc, 0, sizeof cc);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+fn", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'p':
			project = optarg;
			break;
		case 'f':
			opts.force = 1;
			break;
		case 'n':
			opts.dry_run = 1;
			break;
		default:
			commit_usage(stderr);
			return EXIT_USAGE;
		}
	}
	cc.dry_run = opts.dry_run;
	opts.filters = argv + optind;
	opts.n_filters = (size_t)(argc - optind);
	opts.note = commit_cli_note;
	opts.arg = &cc;
	if ((rc = review_session_open(
	         &rs, "commit", session, project, STAGE_WRITE, 1)) != 0)
		goto out;
	if ((sfd = review_session_dir_fd(&rs)) < 0) {
		fprintf(stderr, "airlock commit: %s: %s\n", rs.dir,
		    strerror(errno));
		rc = EXIT_IO;
		goto out;
	}
	r = commit_run(rs.stage, sfd, rs.project_fd, &opts);
	if (r == 1) {
		fprintf(stderr,
		    "airlock commit: %d conflict%s; nothing was "
		    "committed\n",
		    cc.n_conflicts, cc.n_conflicts == 1 ? "" : "s");
		rc = EXIT_NEGATIVE;
	} else if (r < 0 &&
	    faccessat(sfd, "commit.journal", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		fprintf(stderr,
		    "airlock commit: %s; the project may be partly "
		    "committed: run airlock commit again to complete it\n",
		    strerror(errno));
		rc = EXIT_IO;
	} else if (r < 0) {
		fprintf(stderr, "airlock commit: %s; nothing was committed\n",
		    strerror(errno));
		rc = EXIT_IO;
	} else if (cc.n_applied == 0)
		printf("nothing to commit\n");
out:
	if (sfd >= 0)
		close(sfd);
	review_session_close(&rs);
	return rc;
}
