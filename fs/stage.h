/*
 * stage: the staging area of a session, as it persists on disk.  Shared by
 * airlock-fs (which records every change) and the CLI's diff, commit and
 * discard (which read and consume it).
 *
 * Layout under the session directory S:
 *   S/upper/     the staged content, mirroring project paths: a staged
 *                regular file, directory or symlink sits at S/upper/<path>
 *                with its staged mode.  Deleted lower entries have no file
 *                here; they exist only as manifest entries.
 *   S/manifest   an append-only log of records, one a line; the last record
 *                for a path wins.  stage_open() replays it and, for a
 *                writer, compacts it when it holds superseded records
 *                (atomically: write S/manifest.new, fsync, rename).
 *   S/stage.lock held (flock LOCK_EX) by the one process that has the stage
 *                open for writing; airlock-fs holds it while mounted, so a
 *                commit or discard refuses with "session is mounted".
 *
 * A record line is:  <kind> <base> <mode> <path> [<from>]
 *   kind  add | mod | del | ren | mode | link | clean  (clean: the path is
 *         as in the project again; it drops the entry)
 *   base  16 hex digits: xxh3-64 of the lower (project) content the change
 *         was based on, or "-" when the project had nothing at that path
 *   mode  octal st_mode (type bits included) of the staged entry, 0 for del
 *   path, from   project-relative, percent-encoded (%XX for bytes <= 0x20,
 *         '%', 0x7f and >= 0x80), so that any file name survives
 * A record is written with one write(2) before the operation is answered,
 * so it survives a kill -9 of the daemon; stage_sync() makes it durable
 * against power loss (airlock-fs calls it on fsync/fsyncdir).
 *
 * Lower hashes are of regular-file content, or of the link target for a
 * symlink, or 0 for a directory.
 *
 * Refinements (additive, compatible with the layout above):
 *   - the kind may carry the suffix "+o" ("add+o", "mod+o"): is_opaque set;
 *   - for ren, base and has_base describe `from` (where the content came
 *     from); a ren destination had nothing in the project (a rename over
 *     a project file is recorded as mod of the destination, with its own
 *     base, as airlock-fs does), and commit checks that it still has not;
 *   - paths are validated: no leading "/", no empty, "." or ".." component,
 *     no NUL; stage_record() refuses others with EINVAL and stage_open()
 *     refuses a manifest holding one with EBADMSG;
 *   - a complete line that does not parse makes stage_open() fail with
 *     EBADMSG (fail closed); only an unterminated last line is ignored.
 */
#ifndef AIRLOCK_FS_STAGE_H
#define AIRLOCK_FS_STAGE_H

#include <stdint.h>
#include <sys/types.h>

enum stage_kind {
	STAGE_ADDED, /* not in the project: new file, dir or symlink */
	STAGE_MODIFIED, /* content (or symlink target) differs from the project */
	STAGE_DELETED, /* in the project, deleted in the view (a whiteout) */
	STAGE_RENAMED, /* content moved here from `from` (which has its own del) */
	STAGE_MODE, /* only the mode differs */
	STAGE_CLEAN, /* as in the project (drops the entry) */
};

struct stage_entry {
	const char *path; /* project-relative, no leading "/" */
	enum stage_kind kind;
	const char *from; /* STAGE_RENAMED only, else NULL */
	int has_base; /* the project had something at the base path */
	uint64_t base_hash;
	mode_t mode;
	int is_opaque; /* a directory that replaced a deleted one: nothing
			      below it comes from the project */
};

struct stage;

#define STAGE_WRITE 0x1 /* take stage.lock; fail with EBUSY when held */

/*
 * Open the stage of session directory dir, creating upper/ and manifest
 * when missing (mode 0700 / 0600).  Replays and compacts the manifest.
 * Returns NULL with errno (EBUSY: another writer holds it).
 */
struct stage *stage_open(const char *dir, int flags);
void stage_close(struct stage *st);

/* The directory fd of upper/ (owned by the stage; do not close). */
int stage_upper_fd(const struct stage *st);

/* Append a record and update the in-memory table.  Thread-safe.
 * Returns 0 or -1 with errno (ENOSPC, EIO: the caller fails the op;
 * EINVAL: a bad path; EBADF: the stage was not opened with STAGE_WRITE).
 * A failed append leaves no partial line behind. */
int stage_record(struct stage *st, const struct stage_entry *e);

/* Make every record so far durable (fdatasync). */
int stage_sync(struct stage *st);

/* The current entry for path, copied into *out with strings in buf; returns
 * 1 when found, 0 when not, -1 with ERANGE when buf is too small for the
 * strings. Thread-safe. */
int stage_lookup(struct stage *st, const char *path, struct stage_entry *out,
    char *buf, size_t buf_len);

/* A snapshot of all entries sorted by path (bytewise).  *out is an array
 * of n entries; free it with stage_list_free().  Returns n or -1. */
ssize_t stage_list(struct stage *st, struct stage_entry **out);
void stage_list_free(struct stage_entry *list, ssize_t n);

/* Drop path's entry (append a clean record) and remove its staged content
 * under upper/ (not a directory that still holds staged entries). */
int stage_drop(struct stage *st, const char *path);

/* xxh3-64 of a regular file's content read through fd (from offset 0). */
int stage_hash_fd(int fd, uint64_t *out);

const char *stage_kind_name(enum stage_kind k);

/* Percent-encode s as the manifest does into out, which holds at least
 * 3 * strlen(s) + 1 bytes; returns the encoded length. */
size_t stage_path_encode(char *out, const char *s);

/* Decode len bytes of an encoded s into a new string (caller frees); NULL
 * with EBADMSG when malformed, ENOMEM. */
char *stage_path_decode(const char *s, size_t len);

/* Nonzero when path is a valid project-relative path (see above). */
int stage_path_is_valid(const char *path);

/*
 * Open path (project-relative, valid) under dirfd without ever leaving it
 * and without following any symlink, the last component included:
 * openat2() with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (a component walk
 * with O_NOFOLLOW where the kernel lacks openat2).  flags and mode as for
 * openat(); O_CLOEXEC is added.  Returns the fd or -1 with errno (ELOOP or
 * ENOTDIR for a symlink on the way).
 */
int stage_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/*
 * Open the parent directory of path under dirfd as stage_open_beneath()
 * does, and point *name at path's last component (inside path).  The
 * parent of a one-component path is dirfd itself (reopened, so the caller
 * always closes the result).  Returns the fd or -1 with errno.
 */
int stage_open_parent(int dirfd, const char *path, const char **name);

#endif
