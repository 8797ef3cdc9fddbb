/*
 * audit: the bounded queue and the writer thread behind audit_log_event().
 *
 * A caller copies its event into ONE allocation (strings and the caller
 * identity together), puts the pointer in a ring under a mutex and
 * returns; it never touches the file.  The writer thread takes everything
 * queued as one batch, formats it (audit_format.c), and appends it to the
 * file with one write() under flock(LOCK_EX).
 *
 * Several processes (airlock-fs and airlock-proxy) append to the same
 * session file, so the chain's tail (the last line's hash and seq) belongs
 * to the file, not to us: under the lock the writer compares the file's
 * size with the size it left after its own last write and, only when they
 * differ, re-reads the last line to learn the tail.  seq is therefore per
 * file and continues from whichever process wrote last.
 *
 * What the file looks like at audit_open() decides whether we may append:
 *  - empty or missing: a new chain (seq 1, prev 64 zeros);
 *  - last line complete and verifying on its own: we continue its chain;
 *  - last line does not verify, or is partial (no newline: a writer died
 *    mid-write): refuse with EBADMSG and say so on stderr.  Appending to a
 *    broken chain would hide the break, and truncating at open would
 *    destroy evidence nobody has looked at.  `airlock audit verify FILE`
 *    names the line; a person decides.
 * While running, a partial last line can only come from another writer
 * that died under the lock (we never leave one: a failed write is cut
 * back with ftruncate).  Stopping the audit of a live session is worse
 * than repairing that, so the writer cuts the partial bytes and records an
 * "audit.repaired" record saying how many it removed.
 *
 * Open the log after any fork()/daemon(): the writer thread does not
 * survive a fork.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_record.h"
#include "util.h"

#define AUDIT_QUEUE_DEFAULT 4096
#define AUDIT_MAX_SINKS 8
/* Lines per write(): bounds the writer's buffer (and the time it holds
 * the file lock) however long the queue. */
#define AUDIT_BATCH_MAX 1024
/* The longest last line we will read back to learn the tail. */
#define AUDIT_TAIL_MAX (16 * 1024 * 1024)

/* One queued event: the copy of the caller's event, and its strings in
 * the same allocation. */
struct audit_item {
	struct audit_event ev;
	struct caller caller;
	unsigned long long wall_ns;
	char strings[];
};

struct audit_sink {
	audit_sink_fn fn;
	void *arg;
};

struct audit_log {
	int fd;
	char *path;
	char *session;

	/* The writer thread's own state (and audit_open's, before the
	 * thread starts): the tail of the chain as this writer knows it. */
	char tail_hash[AUDIT_HASH_HEX + 1];
	uint64_t tail_seq;
	off_t last_size; /* the file size our last write left */
	uint64_t repaired_bytes; /* a partial line cut, to be recorded */
	enum audit_component
	    component; /* of the last event: for our own records */
	struct buf out;
	struct audit_item **batch;
	size_t *line_end; /* offsets in out where each formatted line ends */

	pthread_t thread;
	int has_thread;

	/* lock guards the ring, the counters, the sinks and is_stopping. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the writer waits: work, drops, or stop */
	pthread_cond_t idle; /* flushers wait: n_written caught up */
	struct audit_item **ring;
	size_t ring_cap, head, count;
	uint64_t n_queued; /* accepted into the ring, ever */
	uint64_t n_written; /* taken from the ring and handled, ever */
	uint64_t n_dropped; /* ever; read without the lock by audit_dropped() */
	uint64_t n_dropped_recorded;
	int write_errno; /* the last write failure, until a flush reports it */
	int is_stopping;
	struct audit_sink sinks[AUDIT_MAX_SINKS];
	size_t n_sinks;
};

static uint64_t
audit_load_dropped(const struct audit_log *log)
{
	return __atomic_load_n(&log->n_dropped, __ATOMIC_RELAXED);
}

/* Called with log->lock held. */
static void
audit_add_dropped(struct audit_log *log, uint64_t n)
{
	__atomic_add_fetch(&log->n_dropped, n, __ATOMIC_RELAXED);
	pthread_cond_signal(&log->wake);
}

static int
audit_pread_full(int fd, char *b, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, b, n, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno =
			    EIO; /* shorter than fstat said, under our lock */
			return -1;
		}
		b += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/*
 * Find the end of the file's last complete line (*complete_end: the offset
 * past its '\n', 0 when there is none) and return that line without its
 * newline in *line (malloc'd, caller frees; NULL when there is none).
 * Returns 0, or -1 with errno.
 */
static int
audit_tail_read(
    int fd, off_t size, off_t *complete_end, char **line, size_t *line_len)
{
	size_t win = 4096, n;
	off_t start;
	ssize_t i, j;
	char *b = NULL;

	*line = NULL;
	*line_len = 0;
	*complete_end = 0;
	for (;;) {
		start = size > (off_t)win ? size - (off_t)win : 0;
		n = (size_t)(size - start);
		b = xrealloc(b, n + 1);
		if (audit_pread_full(fd, b, n, start) != 0)
			goto fail;
		for (i = (ssize_t)n - 1; i >= 0 && b[i] != '\n'; i--)
			;
		if (i < 0 && start == 0)
			break; /* no complete line at all */
		if (i >= 0) {
			for (j = i - 1; j >= 0 && b[j] != '\n'; j--)
				;
			if (j >= 0 || start == 0) {
				*complete_end = start + i + 1;
				*line_len = (size_t)(i - j - 1);
				memmove(b, b + j + 1, *line_len);
				b[*line_len] = '\0';
				*line = b;
				return 0;
			}
		}
		if (win >= AUDIT_TAIL_MAX) {
			errno = EFBIG;
			goto fail;
		}
		win *= 4;
	}
	free(b);
	return 0;
fail:
	free(b);
	return -1;
}

/*
 * Learn the chain's tail from the file (size bytes), under the flock.  At
 * open, a partial or non-verifying last line refuses (EBADMSG); while
 * running, a partial last line is cut (see the top of this file) and a
 * last line that does not verify is reported and chained over: the break
 * then stays visible at that line.
 */
static int
audit_tail_load(struct audit_log *log, off_t size, int is_open)
{
	char *line = NULL, why[256], hash[AUDIT_HASH_HEX + 1];
	size_t len;
	off_t complete_end;
	uint64_t seq;
	int rc = -1;

	if (audit_tail_read(log->fd, size, &complete_end, &line, &len) != 0) {
		fprintf(stderr,
		    "airlock: audit: %s: cannot read the last "
		    "line: %s\n",
		    log->path, strerror(errno));
		goto out;
	}
	if (complete_end != size) {
		if (is_open) {
			fprintf(stderr,
			    "airlock: audit: %s: the last line is "
			    "partial (a writer stopped mid-line); refusing to "
			    "append. Run `airlock audit verify %s`.\n",
			    log->path, log->path);
			errno = EBADMSG;
			goto out;
		}
		if (ftruncate(log->fd, complete_end) != 0) {
			fprintf(stderr,
			    "airlock: audit: %s: cannot cut a "
			    "partial line: %s\n",
			    log->path, strerror(errno));
			goto out;
		}
		log->repaired_bytes += (uint64_t)(size - complete_end);
	}
	if (line == NULL) {
		memcpy(log->tail_hash, audit_hash_zero, sizeof(log->tail_hash));
		log->tail_seq = 0;
		rc = 0;
		goto out;
	}
	if (audit_record_check(
	        line, len, NULL, 0, hash, &seq, why, sizeof(why)) != 0) {
		fprintf(stderr,
		    "airlock: audit: %s: the last line does not "
		    "verify (%s)%s. Run `airlock audit verify %s`.\n",
		    log->path, why, is_open ? "; refusing to append" : "",
		    log->path);
		if (is_open) {
			errno = EBADMSG;
			goto out;
		}
		rc = 0; /* keep what we knew */
		goto out;
	}
	memcpy(log->tail_hash, hash, sizeof(log->tail_hash));
	log->tail_seq = seq;
	rc = 0;
out:
	free(line);
	return rc;
}

static int
audit_lock_file(int fd, int op)
{
	while (flock(fd, op) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int
audit_write_full(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Format ev as the next line of the chain, ending it with '\n'. */
static void
audit_append_line(struct audit_log *log, const struct audit_event *ev,
    unsigned long long wall_ns)
{
	char hash[AUDIT_HASH_HEX + 1];

	audit_record_format(&log->out, ev, log->session, wall_ns,
	    log->tail_seq + 1, log->tail_hash, hash);
	buf_add(&log->out, "\n", 1);
	log->tail_seq++;
	memcpy(log->tail_hash, hash, sizeof(hash));
}

/* One of the log's own records ("audit.dropped", "audit.repaired"). */
static void
audit_append_own(struct audit_log *log, struct audit_event *ev, const char *op,
    const char *reason)
{
	memset(ev, 0, sizeof(*ev));
	ev->component = log->component;
	ev->op = op;
	ev->target = log->path;
	ev->decision = DECISION_DENY; /* written as null: see audit_format.c */
	ev->reason = reason;
	ev->duration_ms = -1;
	audit_append_line(log, ev, time_wall_ns());
}

/*
 * Write one batch: our own records first (drops, a repair), then the
 * queued events, all in one write() under the file lock.  Returns 0, or
 * -1 with errno; on failure the file is cut back to where it was, so no
 * partial line is ever left by us.
 */
static int
audit_write_batch(struct audit_log *log, size_t n, uint64_t dropped,
    size_t n_sinks, struct audit_sink *sinks)
{
	struct audit_event own[2];
	char reason[2][96];
	const struct audit_event *evs[2];
	size_t n_own = 0, i, start;
	struct stat st;
	char saved_hash[AUDIT_HASH_HEX + 1];
	uint64_t saved_seq;
	int rc = -1, saved_errno;

	log->out.len = 0;
	if (audit_lock_file(log->fd, LOCK_EX) != 0)
		return -1;
	if (fstat(log->fd, &st) != 0)
		goto unlock;
	if (st.st_size != log->last_size &&
	    audit_tail_load(log, st.st_size, 0) != 0)
		goto unlock;
	if (log->repaired_bytes != 0) {
		/* The cut shortened the file: measure again. */
		if (fstat(log->fd, &st) != 0)
			goto unlock;
	}
	memcpy(saved_hash, log->tail_hash, sizeof(saved_hash));
	saved_seq = log->tail_seq;
	if (log->repaired_bytes != 0) {
		snprintf(reason[n_own], sizeof(reason[n_own]),
		    "cut a partial "
		    "line of %llu bytes left by a writer that stopped mid-line",
		    (unsigned long long)log->repaired_bytes);
		audit_append_own(
		    log, &own[n_own], "audit.repaired", reason[n_own]);
		evs[n_own] = &own[n_own];
		log->line_end[n_own++] = log->out.len;
	}
	if (dropped != 0) {
		snprintf(reason[n_own], sizeof(reason[n_own]),
		    "%llu events "
		    "dropped: the audit queue was full",
		    (unsigned long long)dropped);
		audit_append_own(
		    log, &own[n_own], "audit.dropped", reason[n_own]);
		evs[n_own] = &own[n_own];
		log->line_end[n_own++] = log->out.len;
	}
	for (i = 0; i < n; i++) {
		log->component = log->batch[i]->ev.component;
		audit_append_line(
		    log, &log->batch[i]->ev, log->batch[i]->wall_ns);
		log->line_end[n_own + i] = log->out.len;
	}
	if (audit_write_full(log->fd, log->out.data, log->out.len) != 0) {
		saved_errno = errno;
		if (ftruncate(log->fd, st.st_size) != 0)
			fprintf(stderr,
			    "airlock: audit: %s: cannot cut back a "
			    "failed write: %s\n",
			    log->path, strerror(errno));
		memcpy(log->tail_hash, saved_hash, sizeof(saved_hash));
		log->tail_seq = saved_seq;
		log->last_size = -1; /* learn the tail again next time */
		errno = saved_errno;
		goto unlock;
	}
	log->last_size = st.st_size + (off_t)log->out.len;
	log->repaired_bytes = 0;
	rc = 0;
unlock:
	saved_errno = errno;
	audit_lock_file(log->fd, LOCK_UN);
	errno = saved_errno;
	if (rc != 0)
		return rc;

	/* Sinks see each line NUL-terminated, without its newline. */
	start = 0;
	for (i = 0; i < n_own + n; i++) {
		const struct audit_event *ev =
		    i < n_own ? evs[i] : &log->batch[i - n_own]->ev;
		size_t end = log->line_end[i] - 1;
		size_t k;

		log->out.data[end] = '\0';
		for (k = 0; k < n_sinks; k++)
			sinks[k].fn(ev, log->out.data + start, end - start,
			    sinks[k].arg);
		start = end + 1;
	}
	return 0;
}

static void *
audit_writer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_sink sinks[AUDIT_MAX_SINKS];
	uint64_t dropped;
	size_t n, n_sinks, i;
	int has_failed = 0, write_errno;

	pthread_mutex_lock(&log->lock);
	for (;;) {
		while (log->count == 0 && !log->is_stopping &&
		    (has_failed ||
		        audit_load_dropped(log) == log->n_dropped_recorded))
			pthread_cond_wait(&log->wake, &log->lock);
		if (log->count == 0 && log->is_stopping &&
		    (has_failed ||
		        audit_load_dropped(log) == log->n_dropped_recorded))
			break;
		n = log->count < AUDIT_BATCH_MAX ? log->count : AUDIT_BATCH_MAX;
		for (i = 0; i < n; i++)
			log->batch[i] =
			    log->ring[(log->head + i) % log->ring_cap];
		log->head = (log->head + n) % log->ring_cap;
		log->count -= n;
		dropped = audit_load_dropped(log) - log->n_dropped_recorded;
		log->n_dropped_recorded += dropped;
		n_sinks = log->n_sinks;
		memcpy(sinks, log->sinks, sizeof(sinks[0]) * n_sinks);
		pthread_mutex_unlock(&log->lock);

		has_failed =
		    audit_write_batch(log, n, dropped, n_sinks, sinks) != 0;
		write_errno = has_failed ? errno : 0;
		if (has_failed)
			fprintf(stderr,
			    "airlock: audit: %s: cannot append %zu "
			    "records: %s\n",
			    log->path, n, strerror(write_errno));
		for (i = 0; i < n; i++)
			free(log->batch[i]);

		pthread_mutex_lock(&log->lock);
		if (has_failed) {
			log->write_errno = write_errno != 0 ? write_errno : EIO;
			/* What was lost is counted like a drop, and recorded
			 * by the next write that succeeds. */
			log->n_dropped_recorded -= dropped;
			audit_add_dropped(log, n);
		}
		log->n_written += n;
		pthread_cond_broadcast(&log->idle);
		if (has_failed && !log->is_stopping) {
			/* A full disk stays full for a while: don't spin. */
			pthread_mutex_unlock(&log->lock);
			usleep(100 * 1000);
			pthread_mutex_lock(&log->lock);
		}
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

struct audit_log *
audit_open(const char *path, const char *session, size_t queue_len)
{
	struct audit_log *log;
	struct stat st;
	int saved_errno, is_locked = 0;

	log = xcalloc(1, sizeof(*log));
	log->fd = -1;
	log->path = xstrdup(path);
	log->session = xstrdup(session != NULL ? session : "");
	log->ring_cap = queue_len != 0 ? queue_len : AUDIT_QUEUE_DEFAULT;
	log->ring = xcalloc(log->ring_cap, sizeof(*log->ring));
	log->batch = xcalloc(AUDIT_BATCH_MAX, sizeof(*log->batch));
	log->line_end = xcalloc(AUDIT_BATCH_MAX + 2, sizeof(*log->line_end));
	buf_init(&log->out);
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->wake, NULL);
	pthread_cond_init(&log->idle, NULL);

	log->fd = open(path,
	    O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
	    0600);
	if (log->fd == -1)
		goto fail;
	if (fstat(log->fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (audit_lock_file(log->fd, LOCK_EX) != 0)
		goto fail;
	is_locked = 1;
	if (fstat(log->fd, &st) != 0 ||
	    audit_tail_load(log, st.st_size, 1) != 0)
		goto fail;
	log->last_size = st.st_size;
	audit_lock_file(log->fd, LOCK_UN);
	is_locked = 0;

	if ((errno = pthread_create(
	         &log->thread, NULL, audit_writer_main, log)) != 0)
		goto fail;
	log->has_thread = 1;
	return log;
fail:
	saved_errno = errno;
	if (is_locked)
		audit_lock_file(log->fd, LOCK_UN);
	audit_close(log);
	errno = saved_errno;
	return NULL;
}

int
audit_log_event(struct audit_log *log, const struct audit_event *ev)
{
	const char *src[5] = { ev->op, ev->target, ev->rule, ev->reason,
		ev->reviewer };
	const char **dst[5];
	size_t len[5], total = 0, i;
	struct audit_item *item;
	char *p;

	for (i = 0; i < 5; i++) {
		len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
		total += len[i];
	}
	item = malloc(sizeof(*item) + total);
	if (item == NULL) {
		pthread_mutex_lock(&log->lock);
		audit_add_dropped(log, 1);
		pthread_mutex_unlock(&log->lock);
		errno = ENOMEM;
		return -1;
	}
	item->ev = *ev;
	item->wall_ns = time_wall_ns();
	if (ev->caller != NULL) {
		item->caller = *ev->caller;
		item->ev.caller = &item->caller;
	}
	dst[0] = &item->ev.op;
	dst[1] = &item->ev.target;
	dst[2] = &item->ev.rule;
	dst[3] = &item->ev.reason;
	dst[4] = &item->ev.reviewer;
	p = item->strings;
	for (i = 0; i < 5; i++) {
		if (src[i] == NULL)
			continue;
		memcpy(p, src[i], len[i]);
		*dst[i] = p;
		p += len[i];
	}

	pthread_mutex_lock(&log->lock);
	if (log->count == log->ring_cap || log->is_stopping) {
		audit_add_dropped(log, 1);
		pthread_mutex_unlock(&log->lock);
		free(item);
		errno = ENOBUFS;
		return -1;
	}
	log->ring[(log->head + log->count) % log->ring_cap] = item;
	log->count++;
	log->n_queued++;
	if (log->count == 1)
		pthread_cond_signal(&log->wake);
	pthread_mutex_unlock(&log->lock);
	return 0;
}

void
audit_add_sink(struct audit_log *log, audit_sink_fn fn, void *arg)
{
	pthread_mutex_lock(&log->lock);
	if (log->n_sinks < AUDIT_MAX_SINKS) {
		log->sinks[log->n_sinks].fn = fn;
		log->sinks[log->n_sinks].arg = arg;
		log->n_sinks++;
	} else
		fprintf(stderr,
		    "airlock: audit: more than %d sinks; one "
		    "ignored\n",
		    AUDIT_MAX_SINKS);
	pthread_mutex_unlock(&log->lock);
}

/*
 * Wait until the writer has handled everything queued before this call,
 * then fsync.  Returns 0, or -1 with errno when a write failed since the
 * last flush (the lost records are counted as dropped) or fsync failed.
 */
int
audit_flush(struct audit_log *log)
{
	uint64_t ticket;
	int write_errno;

	pthread_mutex_lock(&log->lock);
	ticket = log->n_queued;
	pthread_cond_signal(&log->wake);
	while (log->n_written < ticket && log->has_thread)
		pthread_cond_wait(&log->idle, &log->lock);
	write_errno = log->write_errno;
	log->write_errno = 0;
	pthread_mutex_unlock(&log->lock);
	if (fsync(log->fd) != 0)
		return -1;
	if (write_errno != 0) {
		errno = write_errno;
		return -1;
	}
	return 0;
}

uint64_t
audit_dropped(const struct audit_log *log)
{
	return audit_load_dropped(log);
}

void
audit_close(struct audit_log *log)
{
	size_t i;

	if (log == NULL)
		return;
	if (log->has_thread) {
		audit_flush(log);
		pthread_mutex_lock(&log->lock);
		log->is_stopping = 1;
		pthread_cond_signal(&log->wake);
		pthread_mutex_unlock(&log->lock);
		pthread_join(log->thread, NULL);
		if (fsync(log->fd) != 0)
			fprintf(stderr, "airlock: audit: %s: fsync: %s\n",
			    log->path, strerror(errno));
	}
	for (i = 0; i < log->count; i++)
		free(log->ring[(log->head + i) % log->ring_cap]);
	if (log->fd != -1)
		close(log->fd);
	pthread_cond_destroy(&log->idle);
	pthread_cond_destroy(&log->wake);
	pthread_mutex_destroy(&log->lock);
	buf_free(&log->out);
	free(log->line_end);
	free(log->batch);
	free(log->ring);
	free(log->session);
	free(log->path);
	free(log);
}
