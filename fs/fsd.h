/*
 * fsd: the state airlock-fs shares between its modules (one mount per
 * process, so one instance: `fsd`).  Set up by fs/main.c before the FUSE
 * session starts and read-only afterwards, except where a field says.
 */
#ifndef AIRLOCK_FS_FSD_H
#define AIRLOCK_FS_FSD_H

#include <sys/types.h>

struct stage;
struct policy;
struct audit_log;
struct approvals;

struct fsd {
	int lower_fd; /* the project root (O_PATH|O_DIRECTORY), never written */
	int upper_fd; /* SESSION/upper, owned by the stage */
	int work_fd; /* SESSION/work: copy-ups are built here, then renamed */
	dev_t lower_dev;
	dev_t upper_dev;
	struct stage *stage;
	struct policy *pol;
	int checks_reads; /* policy_fs_checks_reads(pol) */
	unsigned hold_timeout_ms;
	struct audit_log *audit;
	struct approvals *ap;
	double timeout; /* entry and attribute timeout, seconds */
	int is_root; /* running as root: chown new files to the caller */
	int debug;
};

extern struct fsd fsd;

#endif
