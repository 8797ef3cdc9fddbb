/*
 * hold_detail: what a reviewer (and a person) is shown of a held file
 * operation.
 *
 * airlock-fs decides a write when the file is opened, before any byte of
 * the new content exists, so what it can show is what is staged at that
 * path so far: a unified diff of the project's file against the staged
 * one (the agent wrote it before, and writes again), or a note saying
 * that nothing is written yet.  Both files are read through the daemon's
 * directory fds (layer_open(): RESOLVE_BENEATH, no symlink followed), at
 * most 64 KiB of each; the text is at most REVIEW_DETAIL_MAX bytes.
 */
#ifndef AIRLOCK_FS_HOLD_DETAIL_H
#define AIRLOCK_FS_HOLD_DETAIL_H

#include "policy.h"

/* The detail for op on path (project-relative), or NULL when the
 * operation has none to show.  The caller frees it. */
char *hold_detail_fs(enum fs_op op, const char *path);

#endif
