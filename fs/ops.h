/*
 * ops: airlock-fs's FUSE low-level operations (fs/ops_*.c).  Each replies
 * to its request on every path, errors included.
 */
#ifndef AIRLOCK_FS_OPS_H
#define AIRLOCK_FS_OPS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

/* The operation table handed to fuse_session_new(). */
const struct fuse_lowlevel_ops *ops_table(void);

#endif
