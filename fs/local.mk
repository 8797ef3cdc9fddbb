# fs/: airlock-fs (the daemon) and libairlockfs (the staging area, diff and
# commit engines, shared with the CLI).
noinst_LIBRARIES += fs/libairlockfs.a

FS_STAGE_SRC = fs/stage.c fs/stage.h
FS_REVIEW_SRC =
fs_libairlockfs_a_SOURCES = $(FS_STAGE_SRC) $(FS_REVIEW_SRC)
fs_libairlockfs_a_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) $(OPENSSL_CFLAGS)

CLI_EXTRA_LIBS = fs/libairlockfs.a

# The daemon (sbin/airlock-fs) is added here by its own lines:
FS_DAEMON_SRC =
