/*
 * review: what airlock diff, commit and discard share: finding the
 * session, its stage and the project it belongs to.
 */
#ifndef AIRLOCK_CLI_REVIEW_H
#define AIRLOCK_CLI_REVIEW_H

#include <limits.h>

struct stage;

struct review_session {
	char dir[PATH_MAX]; /* the session directory */
	char project[PATH_MAX]; /* the project directory, "" when unknown */
	int project_fd; /* -1 when not opened */
	struct stage *stage;
};

/*
 * Resolve --session (NULL: the newest session) and open its stage
 * (stage_flags for stage_open()); open the project (--project, else the
 * "project" of session.json) when need_project.  Errors are printed,
 * prefixed with "airlock CMD: ".  Returns 0 or an exit status (cmd.h).
 */
int review_session_open(struct review_session *rs, const char *cmd,
    const char *session_arg, const char *project_arg, int stage_flags,
    int need_project);
void review_session_close(struct review_session *rs);

/* path for a terminal: as is, or C-quoted as git quotes it when it holds
 * a control character, a quote, a backslash or a non-ASCII byte (so that
 * a file name cannot forge a line of output).  Returns a static buffer. */
const char *review_path_display(const char *path);

/* Whether an interrupted commit's journal waits in the session. */
int review_commit_pending(const struct review_session *rs);

/* The session directory as a dir fd (for the commit journal), or -1. */
int review_session_dir_fd(const struct review_session *rs);

#endif
