# fs/: airlock-fs (the daemon) and libairlockfs (the staging area, diff and
# commit engines, shared with the CLI).
noinst_LIBRARIES += fs/libairlockfs.a

FS_STAGE_SRC = fs/stage.c fs/stage.h
FS_REVIEW_SRC = fs/diff.c fs/diff.h fs/commit.c fs/commit.h
FS_REVIEW_SRC += fs/runs_later.c fs/runs_later.h
fs_libairlockfs_a_SOURCES = $(FS_STAGE_SRC) $(FS_REVIEW_SRC)
fs_libairlockfs_a_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) $(OPENSSL_CFLAGS)

CLI_EXTRA_LIBS = fs/libairlockfs.a

# The daemon (sbin/airlock-fs) is added here by its own lines:
FS_DAEMON_SRC = fs/main.c fs/fsd.h fs/node.c fs/node.h fs/layer.c fs/layer.h \
	fs/guard.c fs/guard.h fs/ops.h fs/ops_priv.h fs/ops_entry.c fs/ops_dir.c \
	fs/ops_file.c
FS_DAEMON_SRC += fs/hold_detail.c fs/hold_detail.h
FS_DAEMON_SRC += fs/loop.c fs/loop.h
sbin_PROGRAMS += fs/airlock-fs
fs_airlock_fs_SOURCES = $(FS_DAEMON_SRC)
fs_airlock_fs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
fs_airlock_fs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(XXHASH_CFLAGS)
fs_airlock_fs_LDADD = fs/libairlockfs.a $(AIRLOCK_LIBS) $(FUSE_LIBS)
