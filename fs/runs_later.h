/*
 * runs_later: which project files run later, outside the room and without
 * anyone choosing to run the project's code: git hooks and git's config,
 * CI definitions, dev containers, editor tasks and settings, package.json
 * lifecycle scripts, .husky/, .envrc, shell start-up files, and the
 * package managers' own configuration.  airlock diff marks a change to
 * one; airlock commit writes it only when the person asks for it.
 *
 * What is not here, on purpose: Makefiles, build scripts, test files and
 * the like.  They run when the person builds or tests the project, which
 * is running the project's code by choice; marking them would mark most
 * of a diff, and a warning on everything is a warning nobody reads.
 * .gitmodules (git refuses the `update = !command` of a .gitmodules) and
 * .gitattributes (a filter it names runs only when git's config, marked
 * here, defines it) are not marked either.
 *
 * The rules are a table (runs_later.c) of names, each anchored at the
 * project root or matched at any depth, for the file itself or for
 * everything below a directory.  Pure functions: no I/O, no allocation;
 * paths are project-relative as in the stage ("a/b", no leading "/").
 */
#ifndef AIRLOCK_FS_RUNS_LATER_H
#define AIRLOCK_FS_RUNS_LATER_H

#include <stddef.h>

/*
 * Why a change to path runs later (a static sentence such as "a git hook:
 * git runs it"), or NULL.  package.json is not decided by its name: see
 * runs_later_by_content().
 */
const char *runs_later_path(const char *path);

/*
 * Why a symlink at path could bring files that run later in (path is a
 * directory above one of the table's names, such as ".github" or
 * ".git"), or NULL.  For a change whose new side is a symlink.
 */
const char *runs_later_ancestor(const char *path);

/* Nonzero when whether a change to path runs later depends on what the
 * file says (package.json, at any depth). */
int runs_later_by_content(const char *path);

/*
 * Whether two versions of a package.json differ in a lifecycle script
 * (those npm runs by itself: install, prepare, publish, pack, version,
 * shrinkwrap, dependencies, uninstall, each with its pre- and post-, and
 * prepublishOnly).  old or new is NULL for a side that does not exist.
 * A side that is not valid JSON counts as changed (its scripts cannot be
 * checked).  Returns 1 and a sentence in why (truncated to why_len), or 0.
 */
int runs_later_package_json(const char *old, size_t old_len, const char *new,
    size_t new_len, char *why, size_t why_len);

#endif
