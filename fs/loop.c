/*
 * loop: one thread serves the FUSE requests; the ones that may block go to
 * workers (see loop.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsd.h"
#include "loop.h"
#include "node.h"
#include "policy.h"
#include "util.h"

#define LOOP_MAX_WORKERS 128 /* each hold waiting for a person takes one */
#define LOOP_IDLE_WORKERS 4

enum loop_kind {
	LOOP_OPEN,
	LOOP_CREATE,
	LOOP_MKDIR,
	LOOP_MKNOD,
	LOOP_SYMLINK,
	LOOP_LINK,
	LOOP_UNLINK,
	LOOP_RMDIR,
	LOOP_RENAME,
	LOOP_SETATTR,
	LOOP_SETXATTR,
	LOOP_REMOVEXATTR,
	LOOP_FSYNC,
	LOOP_FSYNCDIR,
};

/* A request handed to a worker, with copies of everything that lives in
 * the loop's receive buffer (names, values) or on its stack (fi). */
struct loop_job {
	struct loop_job *next;
	enum loop_kind kind;
	fuse_req_t req;
	fuse_ino_t ino, ino2;
	const char *name, *name2, *value; /* in data[], or NULL */
	size_t size;
	mode_t mode;
	dev_t rdev;
	int flags;
	unsigned rename_flags;
	int valid;
	int datasync;
	struct stat attr;
	struct fuse_file_info fi;
	int has_fi;
	char data[];
};

static const struct fuse_lowlevel_ops *loop_inner;
static struct fuse_lowlevel_ops loop_table;

/* The workers' queue.  loop_lock guards everything below. */
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loop_cond = PTHREAD_COND_INITIALIZER; /* work, stop */
static pthread_cond_t loop_gone = PTHREAD_COND_INITIALIZER; /* a worker left */
static struct loop_job *loop_head, *loop_tail;
static int loop_n_workers, loop_n_idle, loop_is_stopping;

/* The loop thread's own decision cache (only it calls loop_may_hold()). */
static struct policy_cache *loop_cache;

/* Run job on the inner table; it replies.  Frees job. */
static void
loop_do(struct loop_job *j)
{
	const struct fuse_lowlevel_ops *o = loop_inner;
	struct fuse_file_info *fi = j->has_fi ? &j->fi : NULL;

	switch (j->kind) {
	case LOOP_OPEN:
		o->open(j->req, j->ino, fi);
		break;
	case LOOP_CREATE:
		o->create(j->req, j->ino, j->name, j->mode, fi);
		break;
	case LOOP_MKDIR:
		o->mkdir(j->req, j->ino, j->name, j->mode);
		break;
	case LOOP_MKNOD:
		o->mknod(j->req, j->ino, j->name, j->mode, j->rdev);
		break;
	case LOOP_SYMLINK:
		o->symlink(j->req, j->value, j->ino, j->name);
		break;
	case LOOP_LINK:
		o->link(j->req, j->ino, j->ino2, j->name);
		break;
	case LOOP_UNLINK:
		o->unlink(j->req, j->ino, j->name);
		break;
	case LOOP_RMDIR:
		o->rmdir(j->req, j->ino, j->name);
		break;
	case LOOP_RENAME:
		o->rename(j->req, j->ino, j->name, j->ino2, j->name2,
		    j->rename_flags);
		break;
	case LOOP_SETATTR:
		o->setattr(j->req, j->ino, &j->attr, j->valid, fi);
		break;
	case LOOP_SETXATTR:
		o->setxattr(
		    j->req, j->ino, j->name, j->value, j->size, j->flags);
		break;
	case LOOP_REMOVEXATTR:
		o->removexattr(j->req, j->ino, j->name);
		break;
	case LOOP_FSYNC:
		o->fsync(j->req, j->ino, j->datasync, fi);
		break;
	case LOOP_FSYNCDIR:
		o->fsyncdir(j->req, j->ino, j->datasync, fi);
		break;
	}
	free(j);
}

static void *
loop_worker(void *arg)
{
	struct loop_job *j;

	(void)arg;
	pthread_mutex_lock(&loop_lock);
	for (;;) {
		while (loop_head == NULL && !loop_is_stopping) {
			loop_n_idle++;
			pthread_cond_wait(&loop_cond, &loop_lock);
			loop_n_idle--;
		}
		if (loop_head == NULL)
			break; /* stopping, nothing left */
		j = loop_head;
		loop_head = j->next;
		if (loop_head == NULL)
			loop_tail = NULL;
		pthread_mutex_unlock(&loop_lock);
		loop_do(j);
		pthread_mutex_lock(&loop_lock);
		if (loop_head == NULL && loop_n_idle >= LOOP_IDLE_WORKERS)
			break;
	}
	loop_n_workers--;
	pthread_cond_broadcast(&loop_gone);
	pthread_mutex_unlock(&loop_lock);
	return NULL;
}

/* Start a worker with the stop signals blocked (the loop thread takes
 * them).  loop_lock held.  Returns 0 or -1. */
static int
loop_start_worker(void)
{
	pthread_attr_t attr;
	sigset_t set, old;
	pthread_t tid;
	int ret;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ret = pthread_create(&tid, &attr, loop_worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret != 0)
		return -1;
	loop_n_workers++;
	return 0;
}

/* Queue j for a worker, starting one when none is idle; with no worker
 * at all (none could be started), run it here. */
static void
loop_submit(struct loop_job *j)
{
	pthread_mutex_lock(&loop_lock);
	if (loop_n_idle == 0 && loop_n_workers < LOOP_MAX_WORKERS)
		(void)loop_start_worker();
	if (loop_n_workers == 0) {
		pthread_mutex_unlock(&loop_lock);
		loop_do(j);
		return;
	}
	j->next = NULL;
	if (loop_tail != NULL)
		loop_tail->next = j;
	else
		loop_head = j;
	loop_tail = j;
	pthread_cond_signal(&loop_cond);
	pthread_mutex_unlock(&loop_lock);
}

/* A job of kind for req, with room for copies of up to three strings or
 * buffers (NULL: none); fills the copies' pointers. */
static struct loop_job *
loop_job_new(enum loop_kind kind, fuse_req_t req, fuse_ino_t ino,
    const char *name, const char *name2, const char *value, size_t vlen)
{
	size_t n1 = name != NULL ? strlen(name) + 1 : 0;
	size_t n2 = name2 != NULL ? strlen(name2) + 1 : 0;
	struct loop_job *j;

	j = xcalloc(1, sizeof *j + n1 + n2 + vlen + 1);
	j->kind = kind;
	j->req = req;
	j->ino = ino;
	if (name != NULL)
		j->name = memcpy(j->data, name, n1);
	if (name2 != NULL)
		j->name2 = memcpy(j->data + n1, name2, n2);
	if (value != NULL)
		j->value = memcpy(j->data + n1 + n2, value, vlen);
	j->size = vlen;
	return j;
}

static struct loop_job *
loop_job_fi(struct loop_job *j, const struct fuse_file_info *fi)
{
	if (fi != NULL) {
		j->fi = *fi;
		j->has_fi = 1;
	}
	return j;
}

/*
 * Nonzero when the policy may hold some file operation on path (or, with
 * is_below, on any name beneath it, which a change of what path names
 * may be decided by): then the request goes to a worker, where guard may
 * wait.  Every operation is asked, one at a time (a deny on one must not
 * hide a hold on another), rather than the ones the handler will ask, so
 * that this stays right whatever a handler asks.  A request that runs
 * here while a worker renames its parent could still be held here (the
 * loop then waits with it).
 */
static int
loop_may_hold(const char *path, int is_below)
{
	struct policy_verdict v;
	size_t len = strlen(path);
	enum fs_op op;
	int hit;

	if (loop_cache == NULL)
		loop_cache = policy_cache_new(10);
	for (op = FS_OP_READ; op <= FS_OP_XATTR; op = (enum fs_op)(op << 1)) {
		if (loop_cache != NULL)
			policy_eval_fs_cached(
			    fsd.pol, loop_cache, op, path, len, &v, &hit);
		else
			policy_eval_fs(fsd.pol, op, path, len, &v);
		if (v.decision == DECISION_HOLD)
			return 1;
		if (!is_below)
			continue;
		policy_eval_fs_below(
		    fsd.pol, op, path, len, POLICY_BELOW_ANY, &v, NULL);
		if (v.decision == DECISION_HOLD)
			return 1;
	}
	return 0;
}

/* Nonzero when an operation on node ino (child name, or the node itself
 * for NULL) may be held; is_below as for loop_may_hold().  When the path
 * cannot be built the handler runs here and answers the error itself.
 * *is_upper, when not NULL, tells whether the node is in upper/ already
 * (else a copy-up may follow). */
static int
loop_node_may_hold(
    fuse_ino_t ino, const char *name, int is_below, int *is_upper)
{
	char path[PATH_MAX];
	struct node_state ns;

	if (is_upper != NULL)
		*is_upper = 1;
	if (node_path(node_from_id(ino), name, path, sizeof path, &ns) < 0)
		return 0;
	if (is_upper != NULL)
		*is_upper = ns.is_upper;
	return loop_may_hold(path, is_below);
}

static void
loop_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int is_write, is_upper, is_slow;

	is_write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	if (is_write)
		is_slow =
		    loop_node_may_hold(ino, NULL, 0, &is_upper) || !is_upper;
	else
		is_slow =
		    fsd.checks_reads && loop_node_may_hold(ino, NULL, 0, NULL);
	if (!is_slow)
		loop_inner->open(req, ino, fi);
	else
		loop_submit(loop_job_fi(
		    loop_job_new(LOOP_OPEN, req, ino, NULL, NULL, NULL, 0),
		    fi));
}

static void
loop_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct loop_job *j;

	if (!loop_node_may_hold(parent, name, 1, NULL)) {
		loop_inner->create(req, parent, name, mode, fi);
		return;
	}
	j = loop_job_new(LOOP_CREATE, req, parent, name, NULL, NULL, 0);
	j->mode = mode;
	loop_submit(loop_job_fi(j, fi));
}

static void
loop_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct loop_job *j;

	if (!loop_node_may_hold(parent, name, 1, NULL)) {
		loop_inner->mkdir(req, parent, name, mode);
		return;
	}
	j = loop_job_new(LOOP_MKDIR, req, parent, name, NULL, NULL, 0);
	j->mode = mode;
	loop_submit(j);
}

static void
loop_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_MKNOD, req, parent, name, NULL, NULL, 0);
	j->mode = mode;
	j->rdev = rdev;
	loop_submit(j);
}

/* A symlink may be decided by where it points as well as by its name, and
 * mknod is rare: always a worker's. */
static void
loop_symlink(
    fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	loop_submit(loop_job_new(
	    LOOP_SYMLINK, req, parent, name, NULL, link, strlen(link) + 1));
}

static void
loop_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (!loop_node_may_hold(parent, name, 1, NULL))
		loop_inner->unlink(req, parent, name);
	else
		loop_submit(loop_job_new(
		    LOOP_UNLINK, req, parent, name, NULL, NULL, 0));
}

static void
loop_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (!loop_node_may_hold(parent, name, 1, NULL))
		loop_inner->rmdir(req, parent, name);
	else
		loop_submit(
		    loop_job_new(LOOP_RMDIR, req, parent, name, NULL, NULL, 0));
}

/* Links and renames are rare and may copy a project file up: always a
 * worker's. */
static void
loop_link(
    fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_LINK, req, ino, newname, NULL, NULL, 0);
	j->ino2 = newparent;
	loop_submit(j);
}

static void
loop_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned flags)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_RENAME, req, parent, name, newname, NULL, 0);
	j->ino2 = newparent;
	j->rename_flags = flags;
	loop_submit(j);
}

static void
loop_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
    struct fuse_file_info *fi)
{
	struct loop_job *j;
	int is_upper;

	if (!loop_node_may_hold(ino, NULL, 0, &is_upper) && is_upper) {
		loop_inner->setattr(req, ino, attr, valid, fi);
		return;
	}
	j = loop_job_new(LOOP_SETATTR, req, ino, NULL, NULL, NULL, 0);
	j->attr = *attr;
	j->valid = valid;
	loop_submit(loop_job_fi(j, fi));
}

static void
loop_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_SETXATTR, req, ino, name, NULL, value, size);
	j->flags = flags;
	loop_submit(j);
}

static void
loop_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	loop_submit(
	    loop_job_new(LOOP_REMOVEXATTR, req, ino, name, NULL, NULL, 0));
}

static void
loop_fsync(
    fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_FSYNC, req, ino, NULL, NULL, NULL, 0);
	j->datasync = datasync;
	loop_submit(loop_job_fi(j, fi));
}

static void
loop_fsyncdir(
    fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct loop_job *j;

	j = loop_job_new(LOOP_FSYNCDIR, req, ino, NULL, NULL, NULL, 0);
	j->datasync = datasync;
	loop_submit(loop_job_fi(j, fi));
}

const struct fuse_lowlevel_ops *
loop_ops(const struct fuse_lowlevel_ops *inner)
{
	loop_inner = inner;
	loop_table = *inner;
	/* only what the inner table implements is wrapped: a NULL stays
	 * NULL, so that libfuse answers ENOSYS as before */
#define LOOP_WRAP(op)                                                          \
	if (inner->op != NULL)                                                 \
	loop_table.op = loop_##op
	LOOP_WRAP(open);
	LOOP_WRAP(create);
	LOOP_WRAP(mkdir);
	LOOP_WRAP(mknod);
	LOOP_WRAP(symlink);
	LOOP_WRAP(link);
	LOOP_WRAP(unlink);
	LOOP_WRAP(rmdir);
	LOOP_WRAP(rename);
	LOOP_WRAP(setattr);
	LOOP_WRAP(setxattr);
	LOOP_WRAP(removexattr);
	LOOP_WRAP(fsync);
	LOOP_WRAP(fsyncdir);
#undef LOOP_WRAP
	return &loop_table;
}

int
loop_run(struct fuse_session *se)
{
	return fuse_session_loop(se);
}

int
loop_stop(unsigned wait_ms)
{
	struct loop_job *j, *next;
	struct timespec until;
	int n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&loop_lock);
	loop_is_stopping = 1;
	/* what no worker took yet is not started: the mount is gone */
	j = loop_head;
	loop_head = loop_tail = NULL;
	pthread_cond_broadcast(&loop_cond);
	pthread_mutex_unlock(&loop_lock);
	for (; j != NULL; j = next) {
		next = j->next;
		fuse_reply_err(j->req, EIO);
		free(j);
	}
	pthread_mutex_lock(&loop_lock);
	while (loop_n_workers > 0 &&
	    pthread_cond_timedwait(&loop_gone, &loop_lock, &until) != ETIMEDOUT)
		;
	n = loop_n_workers;
	pthread_mutex_unlock(&loop_lock);
	return n;
}

void
loop_free(void)
{
	policy_cache_free(loop_cache);
	loop_cache = NULL;
}
