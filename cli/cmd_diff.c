/*
 * airlock diff: the staged changes of a session, as git would show them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fs/diff.h"
#include "fs/stage.h"
#include "home_diff.h"
#include "review.h"
#include "session.h"
#include "util.h"

static void
diff_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock diff [--session ID] [--project DIR] "
	    "[--stat | --name-status | --json]\n"
	    "                    [--color | --no-color] [--binary] [PATH...]\n"
	    "       airlock diff --home [--session ID] [--name-status]\n"
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
	    "  --json           a JSON array, one object a path: path, status\n"
	    "                   (A, M, D, T, R), from (R only), runs_later,\n"
	    "                   why\n"
	    "  --color          colour even when not on a terminal\n"
	    "  --no-color       never colour\n"
	    "  --binary         binary patches instead of \"Binary files ...\n"
	    "                   differ\", so that git apply reproduces them\n"
	    "  --home           what the agent changed in its copy-on-write "
	    "home\n"
	    "                   (isolated sessions): A, M, D or T and a "
	    "path a line,\n"
	    "                   then a diff of each text file.  These "
	    "changes stay in\n"
	    "                   the session: airlock commit never applies "
	    "them\n"
	    "\n"
	    "A change to a file that runs later (git hooks and config, CI,\n"
	    ".devcontainer/, .vscode/, package.json lifecycle scripts, "
	    ".husky/,\n"
	    ".envrc, shell start-up files) gets a warning line on stderr, "
	    "after\n"
	    "the diff (the patch stays one git apply accepts); airlock "
	    "commit\n"
	    "asks before writing it.\n"
	    "\n"
	    "Exit status: 0 (also when nothing is staged), 2 usage, 3 I/O.\n");
}

/*
 * airlock diff --home: the session's home/upper against the real home
 * named in home/source.  Both are opened as directories here, and every
 * entry beneath them with O_NOFOLLOW (home_diff.h).
 */
static int
diff_home(const char *session, int name_only)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], home[PATH_MAX];
	int ufd = -1, lfd = -1, rc = EXIT_IO;
	long n = 0;
	FILE *f;

	if (session_resolve(session, dir, sizeof dir) != 0) {
		fprintf(stderr, "airlock diff: %s: %s\n",
		    session != NULL ? session : "(newest session)",
		    errno == ENOENT ? "no such session" : strerror(errno));
		return EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/%s", dir, HOME_DIFF_SOURCE);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			goto fail;
		fprintf(stderr,
		    "airlock diff: session %s has no copy-on-write home "
		    "(not isolated, or no home)\n",
		    session_id_of(dir));
		return 0;
	}
	if (fgets(home, sizeof home, f) == NULL) {
		fclose(f);
		errno = EBADMSG;
		goto fail;
	}
	fclose(f);
	home[strcspn(home, "\n")] = '\0';
	snprintf(path, sizeof path, "%s/%s", dir, HOME_DIFF_UPPER);
	if ((ufd = open(
	         path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto fail;
	/* the real home may be gone: then all of it counts as added */
	lfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fprintf(stderr,
	    "airlock diff: the home %s as the agent left it in session "
	    "%s\n(kept in the session; airlock commit never applies it)\n",
	    home, session_id_of(dir));
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	if (home_diff_write(ufd, lfd, !name_only, stdout, &n) != 0 ||
	    fflush(stdout) != 0) {
		if (errno == EPIPE)
			rc = 0;
		else
			fprintf(stderr, "airlock diff: %s: %s\n", path,
			    strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "airlock diff: %s: %s\n", path, strerror(errno));
out:
	if (ufd >= 0)
		close(ufd);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

/* The changes that run later, in set order: which, and why. */
struct diff_later {
	size_t *index; /* into set->v, ascending */
	char **why;
	size_t n;
};

static void
diff_later_free(struct diff_later *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		free(dl->why[i]);
	free(dl->index);
	free(dl->why);
	memset(dl, 0, sizeof *dl);
}

/* Classify every change (review_change_runs_later()) into *dl.  Returns
 * 0, or -1 (printed). */
static int
diff_runs_later(const struct review_set *set, int project_fd, int upper_fd,
    struct diff_later *dl)
{
	char why[256];
	size_t i, cap = 0;
	int r;

	memset(dl, 0, sizeof *dl);
	for (i = 0; i < set->n; i++) {
		r = review_change_runs_later(
		    &set->v[i], project_fd, upper_fd, why, sizeof why);
		if (r < 0) {
			fprintf(stderr, "airlock diff: %s: %s\n",
			    review_path_display(set->v[i].path),
			    strerror(errno));
			diff_later_free(dl);
			return -1;
		}
		if (r == 0)
			continue;
		if (dl->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			dl->index =
			    xrealloc(dl->index, cap * sizeof *dl->index);
			dl->why = xrealloc(dl->why, cap * sizeof *dl->why);
		}
		dl->index[dl->n] = i;
		dl->why[dl->n++] = xstrdup(why);
	}
	return 0;
}

/* One warning line a file that runs later, on stderr: stdout carries the
 * patch, which must stay one that git apply accepts. */
static void
diff_warn_runs_later(
    const struct review_set *set, const struct diff_later *dl, int color)
{
	const char *on = color ? "\033[1;31m" : "",
	           *off = color ? "\033[m" : "";
	const struct review_change *ch;
	size_t i;

	for (i = 0; i < dl->n; i++) {
		ch = &set->v[dl->index[i]];
		fprintf(stderr, "%swarning: runs later: %s\t%s%s: %s\n", on,
		    review_change_status(ch), review_path_display(ch->path),
		    off, dl->why[i]);
	}
	if (dl->n > 0)
		fprintf(stderr,
		    "%swarning: %zu file%s that run%s later%s: airlock "
		    "commit writes %s only after a yes on a terminal or "
		    "with --include-runs-later\n",
		    on, dl->n, dl->n == 1 ? "" : "s", dl->n == 1 ? "s" : "",
		    off, dl->n == 1 ? "it" : "them");
}

/* The changes as a JSON array, one object a line, written as it goes. */
static int
diff_write_json(
    const struct review_set *set, const struct diff_later *dl, FILE *out)
{
	const char *from, *why;
	struct buf b;
	size_t i, k = 0;
	int rc = -1;

	buf_init(&b);
	if (fputs("[", out) == EOF)
		goto out;
	for (i = 0; i < set->n; i++) {
		why = k < dl->n && dl->index[k] == i ? dl->why[k++] : NULL;
		b.len = 0;
		buf_adds(&b, i == 0 ? "\n" : ",\n");
		buf_adds(&b, "{\"path\": ");
		buf_add_json_string(&b, set->v[i].path);
		buf_adds(&b, ", \"status\": ");
		buf_add_json_string(&b, review_change_status(&set->v[i]));
		if ((from = review_change_from(&set->v[i])) != NULL) {
			buf_adds(&b, ", \"from\": ");
			buf_add_json_string(&b, from);
		}
		buf_addf(&b, ", \"runs_later\": %s, \"why\": ",
		    why != NULL ? "true" : "false");
		if (why != NULL)
			buf_add_json_string(&b, why);
		else
			buf_adds(&b, "null");
		buf_adds(&b, "}");
		if (fwrite(b.data, 1, b.len, out) != b.len)
			goto out;
	}
	if (fputs(set->n > 0 ? "\n]\n" : "]\n", out) == EOF || fflush(out) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&b);
	return rc;
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
		{ "home", no_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct review_session rs;
	struct review_set set;
	struct diff_opts opts;
	const char *session = NULL, *project = NULL;
	struct diff_later later;
	int ch, color = -1, rc, home = 0, json = 0, has_set = 0;

	if (cmd_wants_help(argc, argv)) {
		diff_usage(stdout);
		return 0;
	}
	memset(&opts, 0, sizeof opts);
	memset(&later, 0, sizeof later);
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
		case 'H':
			home = 1;
			break;
		case 'J':
			json = 1;
			break;
		default:
			diff_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (home)
		return diff_home(session, opts.format == DIFF_NAME_STATUS);
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
	has_set = 1;
	if (diff_runs_later(
	        &set, rs.project_fd, stage_upper_fd(rs.stage), &later) != 0) {
		rc = EXIT_IO;
		goto out;
	}
	fflush(stdout);
	signal(
	    SIGPIPE, SIG_IGN); /* a closed pager is git's problem, not ours */
	if (json) {
		if (diff_write_json(&set, &later, stdout) != 0 &&
		    errno != EPIPE) {
			fprintf(stderr, "airlock diff: %s\n", strerror(errno));
			rc = EXIT_IO;
		}
		goto out;
	}
	if (diff_write(&set, rs.project_fd, stage_upper_fd(rs.stage), &opts,
	        STDOUT_FILENO) != 0) {
		if (errno != EPIPE)
			fprintf(stderr,
			    "airlock diff: cannot produce the diff: "
			    "%s\n",
			    errno == ECHILD ? "git failed" : strerror(errno));
		rc = errno == EPIPE ? 0 : EXIT_IO;
	}
	diff_warn_runs_later(&set, &later,
	    color >= 0 ? color && isatty(STDERR_FILENO)
	               : isatty(STDERR_FILENO));
out:
	diff_later_free(&later);
	if (has_set)
		review_set_free(&set);
	review_session_close(&rs);
	return rc;
}
