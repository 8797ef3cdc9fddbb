/*
 * airlock commit: apply a session's staged changes to its project.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "caller.h"
#include "cmd.h"
#include "fs/commit.h"
#include "fs/diff.h"
#include "fs/stage.h"
#include "policy.h"
#include "review.h"
#include "session.h"

/* Exit statuses beyond cmd.h's: the commit was refused, nothing written. */
#define EXIT_POLICY 4 /* a path the policy denies, or holds unapproved */
#define EXIT_RUNS_LATER 5 /* a file that runs later, not included */

#define COMMIT_RUNS_LATER_RULE "builtin:runs-later"

struct commit_cli {
	int dry_run;
	int n_applied;
	int n_conflicts;
	/* the gate */
	const struct policy *pol;
	int approve_held; /* --approve-held */
	int include_runs_later; /* --include-runs-later */
	int is_tty; /* may ask the person, y/N */
	const char *session_dir;
	struct audit_log *audit; /* opened on the first decision to record */
	struct caller self; /* who answered: this process, its user */
	int has_self;
	int n_refused; /* paths refused */
	int n_refused_policy; /* of which by the policy */
};

static void
commit_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock commit [--session ID] [--project DIR] "
	    "[--policy FILE]\n"
	    "                      [--approve-held] [--include-runs-later] "
	    "[--force]\n"
	    "                      [--dry-run] [PATH...]\n"
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
	    "Every path the commit would write, create, delete or rename "
	    "(both\n"
	    "names) is decided again by the session's policy, whatever "
	    "staged it.\n"
	    "A path it denies is refused; a path it holds is asked about on "
	    "a\n"
	    "terminal (y/N) and refused elsewhere.  A file that runs later "
	    "(git\n"
	    "hooks and config, CI, .devcontainer/, .vscode/, package.json\n"
	    "lifecycle scripts, .husky/, .envrc, shell start-up files) is "
	    "asked\n"
	    "about too.  One refused path refuses the whole commit: leave it "
	    "out\n"
	    "with PATHs, or drop it with airlock discard.\n"
	    "\n"
	    "  --session ID   the session (an id, or a directory path);\n"
	    "                 default: the most recently used one\n"
	    "  --project DIR  the project (default: from session.json)\n"
	    "  --policy FILE  decide with FILE (\"\" for the built-in "
	    "policy)\n"
	    "                 instead of the session's, which must be "
	    "unchanged\n"
	    "  --approve-held commit held paths without asking (audited as "
	    "your\n"
	    "                 approval); denied paths stay refused\n"
	    "  --include-runs-later  commit files that run later without "
	    "asking\n"
	    "  --force        write over conflicting project files\n"
	    "  --dry-run      say what would be committed or refused; write\n"
	    "                 nothing, ask nothing\n"
	    "\n"
	    "Exit status: 0 committed (or nothing staged), 1 conflicts or the\n"
	    "session is mounted, 2 usage, 3 I/O (run it again: the journal\n"
	    "completes what was started), 4 refused by the policy (a denied "
	    "or\n"
	    "unapproved held path, or the session's policy changed), 5 "
	    "refused:\n"
	    "a file that runs later was not included.\n");
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

/* ---- the policy the session ran under ---- */

/*
 * The policy to decide the commit with: --policy when given; else the one
 * session.json names, which must still hash as it did when the session
 * started (the commit decides with the rules the agent ran under, not
 * with a file edited since); else, for a staging area without a
 * session.json, the built-in policy.  Returns 0 or an exit status
 * (printed).
 */
static int
commit_load_policy(
    const char *session_dir, const char *arg, struct policy **out)
{
	struct policy_error err;
	char file[PATH_MAX], hash[80];
	int has_file;

	*out = NULL;
	if (arg != NULL) {
		if ((*out = policy_load(arg[0] != '\0' ? arg : NULL, &err)) ==
		    NULL) {
			fprintf(
			    stderr, "airlock commit: --policy: %s\n", err.text);
			return EXIT_USAGE;
		}
		return 0;
	}
	has_file = review_session_string(
	               session_dir, "policy", file, sizeof file) == 0;
	if (!has_file && errno != ENOENT) {
		fprintf(stderr,
		    "airlock commit: %s/session.json: cannot read its "
		    "policy: %s; pass --policy FILE\n",
		    session_dir, strerror(errno));
		return EXIT_POLICY;
	}
	if (!has_file) {
		fprintf(stderr,
		    "airlock commit: the session records no policy; "
		    "deciding with the built-in one\n");
		if ((*out = policy_load(NULL, &err)) == NULL) {
			fprintf(stderr, "airlock commit: %s\n", err.text);
			return EXIT_POLICY;
		}
		return 0;
	}
	if ((*out = policy_load(file[0] != '\0' ? file : NULL, &err)) == NULL) {
		fprintf(stderr,
		    "airlock commit: the session's policy: %s; pass "
		    "--policy FILE to decide with one you name\n",
		    err.text);
		return EXIT_POLICY;
	}
	if (review_session_string(
	        session_dir, "policy_hash", hash, sizeof hash) != 0 ||
	    strcmp(hash, policy_source_hash(*out)) != 0) {
		fprintf(stderr,
		    "airlock commit: the policy %s changed since the "
		    "session started (or session.json records no hash); "
		    "the commit is decided by the policy the agent ran "
		    "under: restore it, or pass --policy FILE to decide "
		    "with one you name\n",
		    file[0] != '\0' ? file : "(built-in)");
		policy_free(*out);
		*out = NULL;
		return EXIT_POLICY;
	}
	return 0;
}

/* ---- the gate: policy and runs-later, per final path ---- */

/* The strictest verdict of the policy on ops at path (deny over hold
 * over allow; the first rule to say it). */
static void
commit_eval(const struct policy *pol, unsigned ops, const char *path,
    struct policy_verdict *out)
{
	struct policy_verdict v;
	unsigned op;

	memset(out, 0, sizeof *out);
	out->decision = DECISION_ALLOW;
	out->reason = "";
	for (op = 1; op <= FS_OP_ALL; op <<= 1) {
		if ((ops & op) == 0)
			continue;
		policy_eval_fs(pol, (enum fs_op)op, path, strlen(path), &v);
		if (out->rule == NULL || v.decision > out->decision)
			*out = v;
	}
}

/* Record a decision the commit made in the session's audit log (opened
 * on first use).  Returns 0 or -1 (the commit then stops: an approval
 * that cannot be recorded is not given). */
static int
commit_audit(struct commit_cli *cc, const char *path, enum decision d,
    enum audit_outcome outcome, enum audit_decider by, const char *rule,
    const char *reason)
{
	struct audit_event ev;
	char file[PATH_MAX + 16];

	if (cc->dry_run)
		return 0;
	if (cc->audit == NULL) {
		snprintf(file, sizeof file, "%s/audit.jsonl", cc->session_dir);
		if ((cc->audit = audit_open(
		         file, session_id_of(cc->session_dir), 0)) == NULL) {
			fprintf(stderr,
			    "airlock commit: %s: cannot record decisions: %s\n",
			    file, strerror(errno));
			return -1;
		}
		cc->has_self =
		    caller_read(getpid(), getuid(), getgid(), &cc->self) == 0;
	}
	memset(&ev, 0, sizeof ev);
	ev.component = AUDIT_COMPONENT_CLI;
	ev.op = "commit";
	ev.target = path;
	ev.decision = d;
	ev.outcome = outcome;
	ev.decided_by = by;
	ev.rule = rule;
	ev.reason = reason;
	ev.caller = cc->has_self ? &cc->self : NULL;
	ev.duration_ms = -1;
	if (audit_log_event(cc->audit, &ev) != 0) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

/* Ask the person about path on the terminal.  Returns 1 for yes. */
static int
commit_ask(const char *path, const char *status, const struct policy_verdict *v,
    const char *later)
{
	char line[64];

	fprintf(stderr, "\n%s\t%s\n", status, review_path_display(path));
	if (v->decision == DECISION_HOLD)
		fprintf(stderr, "  held by %s%s%s\n", v->rule,
		    v->reason[0] != '\0' ? ": " : "", v->reason);
	if (later != NULL)
		fprintf(stderr, "  runs later: %s\n", later);
	fprintf(stderr, "commit it? [y/N] ");
	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

/* One final path through the gate.  Returns 0 or -1 with errno. */
static int
commit_gate_one(struct commit_cli *cc, const struct review_change *ch,
    int project_fd, int upper_fd)
{
	struct policy_verdict v, vf;
	const char *from = review_change_from(ch), *path = ch->path;
	const char *status = review_change_status(ch);
	char later[256];
	int runs_later, ask_hold, ask_later, yes;

	commit_eval(cc->pol, review_change_ops(ch), path, &v);
	if (from != NULL) {
		/* both names of a rename */
		commit_eval(cc->pol, FS_OP_RENAME, from, &vf);
		if (vf.decision > v.decision)
			v = vf;
	}
	if ((runs_later = review_change_runs_later(
	         ch, project_fd, upper_fd, later, sizeof later)) < 0)
		return -1;
	if (v.decision == DECISION_DENY) {
		cc->n_refused++;
		cc->n_refused_policy++;
		fprintf(stderr, "airlock commit: denied: %s",
		    review_path_display(path));
		if (from != NULL)
			fprintf(stderr, " (renamed from %s)",
			    review_path_display(from));
		fprintf(stderr, ": by %s%s%s\n", v.rule,
		    v.reason[0] != '\0' ? ": " : "", v.reason);
		return commit_audit(cc, path, DECISION_DENY, AUDIT_OUTCOME_NONE,
		    AUDIT_DECIDER_POLICY, v.rule, v.reason);
	}
	ask_hold = v.decision == DECISION_HOLD && !cc->approve_held;
	ask_later = runs_later && !cc->include_runs_later;
	if (!ask_hold && !ask_later) {
		if (v.decision != DECISION_HOLD)
			return 0;
		return commit_audit(cc, path, DECISION_HOLD,
		    AUDIT_OUTCOME_APPROVED, AUDIT_DECIDER_HUMAN, v.rule,
		    "approved with airlock commit --approve-held");
	}
	if (cc->is_tty && !cc->dry_run) {
		yes = commit_ask(path, status, &v, runs_later ? later : NULL);
		if (v.decision == DECISION_HOLD || runs_later) {
			if (commit_audit(cc, path, DECISION_HOLD,
			        yes ? AUDIT_OUTCOME_APPROVED
			            : AUDIT_OUTCOME_DENIED,
			        AUDIT_DECIDER_HUMAN,
			        v.decision == DECISION_HOLD
			            ? v.rule
			            : COMMIT_RUNS_LATER_RULE,
			        v.decision == DECISION_HOLD ? v.reason
			                                    : later) != 0)
				return -1;
		}
		if (yes)
			return 0;
	}
	cc->n_refused++;
	if (ask_hold) {
		cc->n_refused_policy++;
		fprintf(stderr,
		    "airlock commit: held: %s: by %s%s%s; answer y on a "
		    "terminal, or pass --approve-held\n",
		    review_path_display(path), v.rule,
		    v.reason[0] != '\0' ? ": " : "", v.reason);
	}
	if (ask_later) {
		fprintf(stderr,
		    "airlock commit: runs later: %s: %s; read it in "
		    "airlock diff, then pass --include-runs-later (or answer "
		    "y on a terminal)\n",
		    review_path_display(path), later);
	}
	return 0;
}

static int
commit_cli_gate(
    void *arg, const struct review_set *set, int project_fd, int upper_fd)
{
	struct commit_cli *cc = arg;
	size_t i;
	int n;

	for (i = 0; i < set->n; i++)
		if (commit_gate_one(cc, &set->v[i], project_fd, upper_fd) != 0)
			return -1;
	/* What was approved is on disk before the project is written. */
	if (cc->audit != NULL && audit_flush(cc->audit) != 0) {
		fprintf(stderr, "airlock commit: cannot record decisions: %s\n",
		    strerror(errno));
		return -1;
	}
	n = cc->n_refused;
	if (n == 0)
		return 0;
	fprintf(stderr,
	    "airlock commit: %d path%s refused; nothing was committed (leave "
	    "%s out with PATH arguments, or drop %s with airlock discard "
	    "PATH)\n",
	    n, n == 1 ? "" : "s", n == 1 ? "it" : "them",
	    n == 1 ? "it" : "them");
	return 1;
}

int
cmd_commit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "project", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'P' },
		{ "approve-held", no_argument, NULL, 'A' },
		{ "include-runs-later", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct review_session rs;
	struct commit_opts opts;
	struct commit_cli cc;
	struct policy *pol = NULL;
	const char *session = NULL, *project = NULL, *policy_arg = NULL;
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
		case 'P':
			policy_arg = optarg;
			break;
		case 'A':
			cc.approve_held = 1;
			break;
		case 'L':
			cc.include_runs_later = 1;
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
	opts.gate = commit_cli_gate;
	opts.arg = &cc;
	cc.is_tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	if ((rc = review_session_open(
	         &rs, "commit", session, project, STAGE_WRITE, 1)) != 0)
		goto out;
	cc.session_dir = rs.dir;
	if ((rc = commit_load_policy(rs.dir, policy_arg, &pol)) != 0)
		goto out;
	cc.pol = pol;
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
	} else if (r == 2) {
		rc = cc.n_refused_policy > 0 ? EXIT_POLICY : EXIT_RUNS_LATER;
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
	if (cc.audit != NULL)
		audit_close(cc.audit);
	policy_free(pol);
	review_session_close(&rs);
	return rc;
}
