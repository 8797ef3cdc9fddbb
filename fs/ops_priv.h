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

/* An open regular file.  A file opened for reading before its copy-up
 * reads the lower file; the first read after the copy-up reopens the
 * upper one (lock guards fd and is_lower). */
struct ops_file {
	pthread_mutex_t lock;
	int fd;
	int is_lower;
	int is_write;
	struct node *node;
};

static inline struct ops_file *
ops_file_of(const struct fuse_file_info *fi)
{
	return (struct ops_file *)(uintptr_t)fi->fh;
}

void ops_who(fuse_req_t req, struct guard_who *who);

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

/* The three groups of operations. */
void ops_entry_fill(struct fuse_lowlevel_ops *o);
void ops_dir_fill(struct fuse_lowlevel_ops *o);
void ops_file_fill(struct fuse_lowlevel_ops *o);

#endif
