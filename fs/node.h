/*
 * node: airlock-fs's inode table.
 *
 * A node is what the kernel knows as a FUSE inode.  It holds no file
 * descriptor: only its place in the tree (parent node and name, plus any
 * hard-link aliases) from which its project-relative path is rebuilt on
 * demand, and the key of the file that backs it, (st_dev, st_ino) of the
 * lower or upper file.  So the daemon's open fds grow with the files the
 * agent has open, never with the size of the tree.
 *
 * Inode numbers: the st_ino the view reports is fixed when the node is
 * created: the lower file's inode number for a project file, the upper
 * file's with bit 63 set for a file that exists only in the staging area.
 * A copy-up re-keys the node to its upper file but keeps that number, and
 * pins the node (it survives forget), so a file reports the same st_ino
 * before and after its copy-up for the life of the mount.
 *
 * Locking: one rwlock (node_lock, inside node.c) guards the table, every
 * node's tree position, flags and counts.  Path building takes it shared;
 * lookups that insert, forget, rename and re-key take it exclusive.
 */
#ifndef AIRLOCK_FS_NODE_H
#define AIRLOCK_FS_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NODE_UPPER_INO_BIT (1ULL << 63)

struct node_alias {
	struct node *parent;
	char *name;
	struct node_alias *next;
};

struct node {
	struct node *parent; /* NULL for the root and for stale nodes */
	char *name;
	struct node_alias *aliases; /* other names of a hard-linked file */
	dev_t key_dev; /* the backing file this node is keyed by */
	ino_t key_ino;
	uint64_t ino; /* st_ino reported to the kernel */
	uint64_t nlookup; /* kernel references (lookup count) */
	uint32_t n_refs; /* child nodes and aliases naming this as parent */
	uint8_t is_dir;
	uint8_t is_upper; /* exists in upper/ (a dir may also merge lower) */
	uint8_t lower_visible; /* dir: lower entries show through */
	uint8_t is_pinned; /* copied up: kept after forget (stable st_ino) */
	uint8_t is_hashed;
	uint8_t is_named; /* in the name index under parent/name */
	struct node *hnext; /* chain of the key table */
	struct node *nnext; /* chain of the name index */
};

/* What a path lookup saw of a node, copied under the lock. */
struct node_state {
	uint64_t ino;
	uint8_t is_dir;
	uint8_t is_upper;
	uint8_t lower_visible;
};

/* Set up the table and the root node (lower root's dev/ino). */
void node_table_init(dev_t dev, ino_t ino);
struct node *node_root(void);
struct node *node_from_id(uint64_t id);
uint64_t node_id(const struct node *n);

/*
 * The node at parent/name, with one more kernel reference: the node
 * already named so (re-keyed to (dev, ino) when its backing file changed,
 * as after a directory rename copied it up), else the node keyed (dev,
 * ino), which gains this name as an alias (a hard link), else a new node
 * reporting report_ino.  st is the caller's view of the entry.  Never
 * fails (allocation failure aborts).
 */
struct node *node_ref(struct node *parent, const char *name, dev_t dev,
    ino_t ino, uint64_t report_ino, const struct node_state *st);

/* The st_ino of the node at parent/name when one is known (so that a
 * listing's d_ino agrees with stat); returns 1, or 0 when none is. */
int node_child_ino(struct node *parent, const char *name, uint64_t *ino);

/* The node named parent/name when one is known, else NULL.  No reference
 * is taken: only compare the pointer (a node with open files stays). */
struct node *node_child(struct node *parent, const char *name);

/* Drop nlookup kernel references; frees the node when nothing holds it. */
void node_forget(struct node *n, uint64_t nlookup);

/*
 * The project-relative path of n (root: ""), written to buf, NUL-ended;
 * with name non-NULL, the path of that child of n.  Fills *st when non-NULL.
 * Returns the length, or -ENAMETOOLONG, or -ESTALE (n was unlinked).
 */
int node_path(struct node *n, const char *name, char *buf, size_t len,
    struct node_state *st);

/* n now lives in upper/, as the file (dev, ino): re-key and pin it. */
void node_set_upper(struct node *n, dev_t dev, ino_t ino);
/* Mark a directory node as existing in upper/ (it keeps its key). */
void node_set_upper_dir(struct node *n);

/* The name parent/name was removed: drop it from its node (found by name,
 * or by (dev, ino) for an alias).  A node left without a name is stale:
 * it leaves the key table, since its inode number may be reused. */
void node_unlink(struct node *parent, const char *name, dev_t dev, ino_t ino);

/*
 * n's name parent/name was renamed to newparent/newname.  When the rename
 * moved a directory subtree into upper/ as an opaque copy (is_opaque_tree),
 * n and every node below it are marked upper-only.
 */
void node_rename(struct node *n, struct node *parent, const char *name,
    struct node *newparent, const char *newname, int is_opaque_tree);

/*
 * The names aparent/aname (of a) and bparent/bname (of b) were exchanged
 * (renameat2 RENAME_EXCHANGE): a now answers to bparent/bname and b to
 * aparent/aname, each keeping its inode number.  A directory moved as an
 * opaque copy (is_a_tree, is_b_tree) is marked as node_rename() does.
 */
void node_exchange(struct node *a, struct node *aparent, const char *aname,
    struct node *b, struct node *bparent, const char *bname, int is_a_tree,
    int is_b_tree);

#endif
