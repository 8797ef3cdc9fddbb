/*
 * mask: the policy's fs rules on paths outside the project, turned into
 * the mounts the room makes (room.h).  Outside the project the room is
 * read-only; a rule can hide a path or make one writable:
 *   - deny or hold, with `read` among its ops: MASK_HIDE, an empty
 *     read-only directory or file in its place (a hold cannot wait for a
 *     person outside airlock-fs, so it hides, failing closed);
 *   - deny or hold without `read`: MASK_RDONLY, the real thing pinned
 *     read-only (matters inside the copy-on-write home or a writable
 *     path);
 *   - allow with `write`: MASK_WRITE, the real thing writable, writes
 *     landing on the host (a shared package cache, say).
 * "~" is the agent's home (and, under sudo, the invoking user's too: both
 * are kept out of /home/<name> rules by "!~", and both have their ~/.ssh hidden).
 * Patterns take shell wildcards (glob(3), and
 * `*` matches dotfiles too); a path that does not exist is skipped.  The
 * first rule naming a path decides it; a path inside a hidden one stays
 * hidden (a writable path there is dropped).
 */
#ifndef AIRLOCK_CLI_MASK_H
#define AIRLOCK_CLI_MASK_H

#include <stddef.h>

struct policy;

enum mask_kind {
	MASK_HIDE,
	MASK_RDONLY,
	MASK_WRITE,
	MASK_SECRET, /* a file: a masked copy (source) bound read-only over
			it, the policy's secrets only (run_secrets.h) */
};

struct mask_entry {
	char *path; /* absolute, symlinks resolved */
	enum mask_kind kind;
	int is_dir;
	char *rule; /* "file:line", or "builtin:..." */
	char *reason;
	char *source; /* MASK_SECRET: the masked copy; else NULL */
};

struct mask_plan {
	struct mask_entry *v;
	size_t n;
};

/*
 * Expand pol's outside rules into plan (emptied first).  homes is a
 * NULL-terminated list of absolute paths that "~" stands for, each in
 * turn (the agent's home, and the invoking user's under sudo); NULL or
 * empty leaves "~" patterns out.  Returns 0, or -1 with a message naming
 * the path and the errno in err (a path that exists but cannot be
 * resolved: the session must not start).  Free the plan with
 * mask_plan_free() either way.
 */
int mask_plan_build(const struct policy *pol, const char *const *homes,
    struct mask_plan *plan, char *err, size_t err_len);

/*
 * Add one path (resolved here; skipped when it does not exist) unless
 * the plan names it already.  Returns 0, or -1 with err filled.
 */
int mask_plan_add(struct mask_plan *plan, const char *path, enum mask_kind kind,
    const char *rule, const char *reason, char *err, size_t err_len);

/*
 * Put one path in the plan as kind, replacing what the plan says of that
 * very path (a secret's masked copy lies where a default rule would have
 * hidden the file); source is MASK_SECRET's copy.  A path that does not
 * exist is skipped.  Returns 0, or -1 with err filled.
 */
int mask_plan_set(struct mask_plan *plan, const char *path, enum mask_kind kind,
    const char *source, const char *rule, const char *reason, char *err,
    size_t err_len);

/* Drop what a hidden path covers (see above; a secret's masked copy stays,
 * in an empty hidden dir); call once, after the adds. */
void mask_plan_settle(struct mask_plan *plan);

/* Drop writable entries at or beneath project: the project is written
 * only by `airlock commit`, never through a bind around the view. */
void mask_plan_keep_project(struct mask_plan *plan, const char *project);

void mask_plan_free(struct mask_plan *plan);

/* "hidden", "read-only", "writable", "masked". */
const char *mask_kind_name(enum mask_kind kind);

/* Nonzero when path lies strictly beneath dir (both absolute, clean). */
int mask_path_below(const char *path, const char *dir);

#endif
