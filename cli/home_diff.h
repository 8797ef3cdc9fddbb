/*
 * home_diff: what the agent changed in its copy-on-write home.
 *
 * In the isolated room the home is an overlay whose upper dir lies in
 * the session (SESSION/home/upper, the real home being the lower layer,
 * named in SESSION/home/source).  Nothing there is ever committed:
 * `airlock commit` applies the project's stage only.  This reads the
 * upper dir the way overlayfs does: a 0/0 character device is a
 * whiteout (deleted), a directory with the opaque xattr replaces the
 * real one, anything else was added or changed.
 */
#ifndef AIRLOCK_CLI_HOME_DIFF_H
#define AIRLOCK_CLI_HOME_DIFF_H

#include <stdio.h>

/* SESSION/home, and the files in it. */
#define HOME_DIFF_DIR "home"
#define HOME_DIFF_UPPER "home/upper"
#define HOME_DIFF_WORK "home/work"
#define HOME_DIFF_SOURCE "home/source" /* the real home's path, a line */

/*
 * Write to out one line a changed path, relative to the home: "A path",
 * "M path", "D path", "T path" (type changed), a directory with a
 * trailing "/"; with show_diff, then a unified diff (diff -u) of each
 * added or modified regular file ("Binary files ... differ" for binary
 * ones).  upper_fd and lower_fd are directory fds (lower_fd -1 when the
 * real home is gone: everything counts as added); entries are opened
 * with O_NOFOLLOW beneath them.  *n_changes receives the count.  Returns
 * 0, or -1 with errno.
 */
int home_diff_write(
    int upper_fd, int lower_fd, int show_diff, FILE *out, long *n_changes);

#endif
