/*
 * ops_priv: what fs/ops_*.c share: the open-file handle, entry replies and
 * the request's caller.  Not a contract outside fs/ops_*.c.
 */
#ifndef AIRLOCK_FS_OPS_PRIV_H
#define AIRLOCK_FS_OPS_PRIV_H

#include <limits.h>
#include <pthread.h>

#include "fsd.h"
#include "guard.h"
#include "layer.h"
#include "node.h"
#include "ops.h"

/* An open regular file.  A file opened for writing has its upper fd from
 * open on.  One opened for reading gets its fd on its first read (fd -1
 * until then: the kernel's page cache answers most reads); opened before
 * its copy-up, it reads the lower file until the first read after the
 * copy-up reopens the upper one (lock guards fd and is_lower). */
struct ops_file {
	pthread_mutex_t lock;
	int fd;
	int is_lower;
	int is_write;
	struct node *node;
	struct ops_file *list_prev; /* the list of open files */
	struct ops_file *list_next;
	int is_listed;
};

static inline struct ops_file *
ops_file_of(const struct fuse_file_info *fi)
{
	return (struct ops_file *)(uintptr_t)fi->fh;
}

void ops_who(fuse_req_t req, struct guard_who *who);

/* Nonzero when the kernel takes ENOSYS from OPENDIR to mean "never send
 * OPENDIR or RELEASEDIR again"; readdir keeps no per-open state. */
extern int ops_no_opendir;

/* Look name up in parent; on success *e is ready for fuse_reply_entry()
 * and the node holds one more kernel reference. */
int ops_do_lookup(
    struct node *parent, const char *name, struct fuse_entry_param *e);

/* Fill *e for the new upper entry parent/name (lstat *st) and take a
 * reference on its node. */
void ops_new_entry(struct node *parent, const char *name, const struct stat *st,
    struct fuse_entry_param *e);

/* Make sure directory node dir (at path, state *st) exists in upper/. */
int ops_upper_dir(
    struct node *dir, const char *path, const struct node_state *st);

/* Nonzero when the view of directory path (its layer_ent) is empty;
 * negative errno on failure. */
int ops_dir_is_empty(const char *path, const struct layer_ent *le);

/* Open node n (path, state ns) for fi->flags, deciding a write intent by
 * policy; fills fi->fh.  Returns 0 or -errno. */
int ops_open_node(fuse_req_t req, struct node *n, struct fuse_file_info *fi);

/* Give every file of node n opened for reading that has no fd yet its fd
 * now: n's name is about to go (unlink, rename over it), and an open file
 * must stay readable. */
void ops_file_pin(struct node *n);

/* Enter a new open file f in the list of open files (release takes it
 * off). */
void ops_file_track(struct ops_file *f);

/* lstat of node n through one of its open files (n may have no name left);
 * 0 or -ESTALE. */
int ops_file_stat(struct node *n, struct stat *st);

/* The three groups of operations. */
void ops_entry_fill(struct fuse_lowlevel_ops *o);
void ops_dir_fill(struct fuse_lowlevel_ops *o);
void ops_file_fill(struct fuse_lowlevel_ops *o);

#endif
