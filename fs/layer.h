/*
 * layer: reaching the two roots (the project, "lower", and SESSION/upper)
 * safely, and the merged view over them.
 *
 * Every path here is project-relative and comes from the node tree, never
 * from the agent as a string; still, every open goes through one of the
 * two root fds with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW, and every single-name operation
 * (mkdirat, unlinkat, renameat2, fchownat, ...) is made on a parent
 * directory fd opened that way.  A symlink in the project, wherever it
 * points, is only ever read as a link (readlinkat), never followed by the
 * daemon.  All functions return 0 or a file descriptor, or -errno.
 */
#ifndef AIRLOCK_FS_LAYER_H
#define AIRLOCK_FS_LAYER_H

#include <stdint.h>
#include <sys/stat.h>

#include "node.h"
#include "stage.h"

/* What the merged view has at a path. */
struct layer_ent {
	struct stat st; /* the backing file's attributes */
	int is_upper; /* backed by upper/ */
	int lower_visible; /* a directory whose lower entries show */
	dev_t key_dev; /* the node key (see node.h) */
	ino_t key_ino;
	uint64_t report_ino; /* st_ino for a new node */
};

/* Open path under root (fsd.lower_fd or fsd.upper_fd).  O_NOFOLLOW and
 * O_CLOEXEC are added. */
int layer_open(int root, const char *path, int flags, mode_t mode);

/* Open the directory holding path and point *name at its last component.
 * Release with layer_put() (the result may be root itself). */
int layer_open_parent(int root, const char *path, const char **name);
void layer_put(int fd);

/* lstat of path under root. */
int layer_stat(int root, const char *path, struct stat *st);

/* What the view shows at path, the child of a directory in state *parent.
 * -ENOENT when nothing (a whiteout, or under an opaque directory). */
int layer_lookup(
    const char *path, const struct node_state *parent, struct layer_ent *out);

/* The attributes of the node at path (in state *st). */
int layer_getattr(
    const char *path, const struct node_state *st, struct stat *out);

/* Nonzero when the stage records path as deleted. */
int layer_is_whiteout(const char *path);

/* Make sure the directory at path exists in upper/ (creating it and its
 * parents with the lower directories' modes and owners). */
int layer_upper_dir(const char *path);

#define COPYUP_DATA 0x1 /* copy the content (else an empty file: O_TRUNC) */
#define COPYUP_META 0x2 /* only metadata will change: record "mode" */

/*
 * Copy node n (at path) up into upper/, unless it already is there; re-keys
 * and pins the node and records the change in the stage (modified, or mode
 * with COPYUP_META) with the hash of the lower content.  Serialised per
 * node, so two writers never copy the same file twice.
 */
int layer_copy_up(struct node *n, const char *path, int flags);

/* The project content at path that a change there is based on. */
int layer_base(const char *path, int *has_base, uint64_t *base_hash);

/* Record a change of kind at path (see stage.h); from for STAGE_RENAMED. */
int layer_record(enum stage_kind kind, const char *path, const char *from,
    int has_base, uint64_t base_hash, mode_t mode, int is_opaque);

/* Record that path now holds new content of mode (added, or modified when
 * the project had something there), keeping a renamed entry renamed. */
int layer_record_content(const char *path, mode_t mode, int is_opaque);

/* Record that the non-directory at src now sits at dst (renamed from its
 * project origin, or added/modified); src is recorded gone. */
int layer_record_moved(const char *src, const char *dst, mode_t mode);

/* Record that path is gone from the view (deleted, or clean when the
 * project never had it). */
int layer_record_gone(const char *path);

/* Record a metadata-only change (mode, owner, times, xattrs) at path. */
int layer_record_meta(const char *path, mode_t mode);

/*
 * Materialise the whole directory at path in upper/ (every visible lower
 * entry below it copied up), so that it can be renamed as one upper tree.
 */
int layer_copy_up_tree(const char *path);

/* Record the rename of the (upper, complete) tree from src to dst. */
int layer_record_tree_rename(const char *src, const char *dst);

/*
 * Record the exchange (renameat2 RENAME_EXCHANGE) of the entries at a and
 * b, both complete in upper/ and already swapped there: each name now
 * holds what the other held, trees for directories.  Every name that
 * receives content is recorded as a change of its own project base
 * (modified; added where the project has nothing; a directory opaque, as
 * after a directory rename), every name beneath either that the swap took
 * away is recorded gone.  Nothing is recorded as renamed: both names still
 * exist, so there is no source to delete.
 */
int layer_record_exchange(const char *a, const char *b);

/* Remove leftovers of interrupted copy-ups from work/. */
void layer_clean_work(void);

#endif
