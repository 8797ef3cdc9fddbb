/*
 * diff: what a session's stage changes in its project, and how that reads
 * as a git-style diff.
 *
 * review_collect() turns the stage's entries into a list of concrete
 * changes, one per project path: the old side (what the project holds
 * there) and the new side (what the agent's view holds there).  A
 * directory entry that deletes, replaces, renames or makes a directory
 * opaque expands into its descendants, so the list is complete: applying
 * every change turns the project into the view.  commit.c applies it;
 * diff_write() prints it by handing both sides to git (fast-import of two
 * trees, then diff-tree): airlock writes no diff algorithm.
 *
 * Every file is reached through directory fds (project and upper/), with
 * stage_open_beneath(): no path joins, no symlink followed on the way.
 */
#ifndef AIRLOCK_FS_DIFF_H
#define AIRLOCK_FS_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stage.h"

enum review_src {
	REVIEW_NONE, /* nothing at this path */
	REVIEW_LOWER, /* in the project, at side.path */
	REVIEW_UPPER, /* in upper/, at side.path */
};

struct review_side {
	enum review_src src;
	const char *path; /* where under src; points into the change */
	mode_t mode; /* type bits included */
	off_t size;
};

struct review_change {
	char *path; /* project-relative */
	char *src_path; /* storage for new.path when it differs */
	struct review_side old; /* src NONE or LOWER (at path) */
	struct review_side new; /* what the view holds */
	const struct stage_entry *entry; /* the entry, NULL when implied by a
					    directory entry above */
};

struct review_set {
	struct review_change *v; /* sorted by path (bytewise) */
	size_t n;
	struct stage_entry *entries; /* the stage_list() snapshot */
	ssize_t n_entries;
	size_t *selected; /* indexes into entries that PATH filters kept */
	size_t n_selected;
};

/*
 * Collect the changes the stage st makes to the project (project_fd, a
 * directory fd), keeping those under one of the n_filters paths (a path
 * matches itself and everything below it; none: keep all).  A renamed
 * entry and the deletion of its source are kept or dropped together, and
 * a kept entry keeps the entries of its parent directories (a new file
 * needs its new directory).
 * Fills *out (free with review_set_free()).  Returns 0 or -1 with errno.
 */
int review_collect(struct stage *st, int project_fd, char *const *filters,
    size_t n_filters, struct review_set *out);
void review_set_free(struct review_set *set);

/* Nonzero when path is one of filters or below one. */
int review_path_matches(
    const char *path, char *const *filters, size_t n_filters);

/* What the project holds at path, as a side: 1 (something), 0 (nothing),
 * -1 with errno. */
int review_side_lower(
    struct review_side *side, int project_fd, const char *path);

/*
 * Open a change's side for reading: a regular file (O_RDONLY) or, for a
 * symlink or directory, an O_PATH fd.  Returns the fd or -1 with errno.
 */
int review_side_open(
    const struct review_side *side, int project_fd, int upper_fd, int flags);

/* Read a symlink side's target into buf (NUL-terminated).  Returns the
 * length or -1 with errno. */
ssize_t review_side_readlink(const struct review_side *side, int project_fd,
    int upper_fd, char *buf, size_t len);

/*
 * The content hash the stage records for a side: xxh3 of a regular file's
 * content or of a symlink's target, 0 for a directory.  -1 with errno.
 */
int review_side_hash(const struct review_side *side, int project_fd,
    int upper_fd, uint64_t *out);

/*
 * The project directory of a session: the "project" string of
 * <session_dir>/session.json.  Returns 0, or -1 with errno (ENOENT: no
 * session.json or no such key; EBADMSG: not a JSON string, or not an
 * absolute path).
 */
int review_project_path(const char *session_dir, char *out, size_t len);

/* Any top-level string of <session_dir>/session.json ("policy",
 * "policy_hash"), as review_project_path() reads "project" (without the
 * absolute-path check). */
int review_session_string(
    const char *session_dir, const char *key, char *out, size_t len);

/*
 * What a change amounts to, for the policy and for people.
 * review_change_status(): "A" (added), "M", "D", "T" (type changed) or
 * "R" (renamed: it takes its content from review_change_from(), the path
 * it came from in the project; NULL for the others).
 * review_change_ops(): the mask of enum fs_op (common/policy.h) the change
 * makes to its own path: create (and write, for a regular file) where the
 * project has nothing, delete where the view has nothing, write and chmod
 * where both have something, rename for a renamed file.  A commit asks
 * the policy about each of them and about rename on the source's path.
 */
const char *review_change_status(const struct review_change *ch);
const char *review_change_from(const struct review_change *ch);
unsigned review_change_ops(const struct review_change *ch);

/*
 * Whether a change touches a file that runs later (fs/runs_later.h): by
 * its path, by a symlink standing where such files live, or, for a
 * package.json, by its lifecycle scripts (both sides are read, up to
 * 4 MiB; a larger or non-regular one counts).  A change between
 * directories alone never does (the files below them are changes of
 * their own).  Returns 1 with a sentence in why, 0, or -1 with errno.
 */
int review_change_runs_later(const struct review_change *ch, int project_fd,
    int upper_fd, char *why, size_t why_len);

enum diff_format {
	DIFF_PATCH,
	DIFF_STAT,
	DIFF_NAME_STATUS,
};

struct diff_opts {
	enum diff_format format;
	int color; /* ANSI colours, as git's --color=always */
	int binary; /* binary patches git apply can apply (git's --binary) */
};

/*
 * Write set as git would print it (git diff-tree -M between the project's
 * and the view's versions of the changed paths) to out_fd.  Runs git
 * (found in PATH) with a clean environment and no user or system config,
 * in a private temporary repository that is removed before returning.
 * Returns 0, or -1 with errno (ECHILD: git failed; its stderr passes
 * through).
 */
int diff_write(const struct review_set *set, int project_fd, int upper_fd,
    const struct diff_opts *opts, int out_fd);

#endif
