/*
 * commit: apply a session's staged changes to its project, the only way
 * the project is ever written (invariant 1 of DESIGN.md).
 *
 * All or nothing with respect to conflicts: when any selected path changed
 * in the project since it was staged, nothing is written (the changes of
 * a session usually belong together, and half of them is a state nobody
 * reviewed); --force skips the check.
 *
 * Each file is replaced atomically (a ".airlock-tmp-*" file in the same
 * directory, fsync, renameat over it), so every project file is either
 * its old or its new version; each changed directory is fsynced once,
 * after the last operation and before the journal is removed.  Before the project
 * is touched the list of operations is written to SESSION/commit.journal
 * (fsynced); every operation is idempotent, so an interrupted commit is
 * completed by replaying the journal, which also removes stray temporary
 * files.  Content that comes from elsewhere in the project (a rename with
 * no staged copy) is first copied to SESSION/commit.hold/, so the replay
 * never depends on a project file that the commit itself removes.
 *
 * The project is reached only through project_fd and openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) for every parent directory: a
 * symlink in the project can never redirect a write outside it.
 */
#ifndef AIRLOCK_FS_COMMIT_H
#define AIRLOCK_FS_COMMIT_H

#include <stddef.h>

#include "diff.h"
#include "stage.h"

enum commit_note {
	COMMIT_NOTE_CONFLICT, /* detail: why; nothing is written */
	COMMIT_NOTE_APPLY, /* detail: "A", "M", "D", "T" (type), "R" */
	COMMIT_NOTE_REPLAY, /* an interrupted commit was completed */
	COMMIT_NOTE_ERROR, /* detail: what failed on path */
};

struct commit_opts {
	int force; /* write over conflicts */
	int dry_run; /* report, write nothing (no journal either) */
	char *const *filters; /* paths to commit (and below); none: all */
	size_t n_filters;
	/* Told about each path; path is NULL for a REPLAY note. */
	void (*note)(void *arg, enum commit_note what, const char *path,
	    const char *detail);
	/*
	 * Asked once, with every change the commit would make (exactly the
	 * set it then writes), after the conflict check and before anything
	 * is written or any APPLY note (also on a dry run): the place to ask
	 * the policy and the person.  Returns 0 to go on, 1 to refuse the
	 * whole commit (commit_run() then returns 2 and writes nothing), or
	 * -1 with errno.  NULL: no gate.
	 */
	int (*gate)(void *arg, const struct review_set *set, int project_fd,
	    int upper_fd);
	void *arg;
};

/*
 * Replay an interrupted commit's journal, if any, then commit the
 * selected changes of st (opened with STAGE_WRITE) into the project.
 * session_fd is the session directory.  Committed paths leave the stage.
 * Returns 0 (done, or nothing to do), 1 (conflicts: nothing written), 2
 * (the gate refused: nothing written), or -1 with errno (the journal
 * stays for the next run).  An interrupted commit's journal is replayed
 * before the gate is asked: what it holds passed a gate when it was
 * written.
 *
 * Test hook: AIRLOCK_TEST_COMMIT_CRASH_AFTER=N in the environment makes
 * the process _exit(9) at the Nth step (a step is a temporary file written
 * and fsynced but not yet renamed, or an operation completed).
 */
int commit_run(struct stage *st, int session_fd, int project_fd,
    const struct commit_opts *opts);

#endif
