/*
 * audit: the bounded queue and the writer thread behind audit_log_event().
 *
 * The queue is a ring of slots allocated once at audit_open().  A caller
 * copies its event, the caller identity and their strings into the next
 * slot under a mutex and returns; it allocates only when the strings do
 * not fit in the slot (one allocation, made before taking the mutex) and
 * never touches the file.  The writer thread formats the slots queued
 * (audit_format.c) and appends them with one write() under
 * flock(LOCK_EX); only then does it give the slots back, so a slot being
 * written still counts against the queue's bound.
 *
 * Several processes (airlock-fs and airlock-proxy) append to the same
 * session file, so the chain's tail (the last line's hash and seq) belongs
 * to the file, not to us: under the lock the writer compares the file's
 * size with the size it left after its own last write and, only when they
 * differ, re-reads the last line to learn the tail.  seq is therefore per
 * file and continues from whichever process wrote last.  ts is when the
 * caller logged the event, so with two writers ts may step back by up to
 * a queue's latency where seq steps forward: seq is the file's order.
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
#include <time.h>
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
/* After a batch the writer lingers this long before it takes the next, and
 * producers do not wake it meanwhile: a stream of events (one per file a
 * build creates) costs a wake-up per linger, not one per event.  A lone
 * event is still written at once; audit_flush() cuts the linger short. */
#define AUDIT_LINGER_MS 10
/* The longest last line we will read back to learn the tail. */
#define AUDIT_TAIL_MAX (16 * 1024 * 1024)

/* Room in a slot for the strings of an event and of its caller; a
 * typical file event needs a few hundred bytes. */
#define AUDIT_SLOT_TEXT 1024

/* The strings a slot keeps, in the order they sit in its text. */
enum audit_str {
	AUDIT_STR_OP,
	AUDIT_STR_TARGET,
	AUDIT_STR_RULE,
	AUDIT_STR_REASON,
	AUDIT_STR_REVIEWER,
	AUDIT_STR_EXE,
	AUDIT_STR_CMDLINE,
	AUDIT_STR_TRACE_ID,
	AUDIT_STR_SPAN_ID,
	AUDIT_STR_INTENT,
	AUDIT_STR_IDENTITY,
	AUDIT_N_STR,
};

/* One queued event.  ev's string and caller pointers are not used: the
 * writer rebuilds them from len[] and the text (audit_slot_event()). */
struct audit_slot {
	struct audit_event ev;
	unsigned long long wall_ns;
	int has_caller;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	size_t len[AUDIT_N_STR]; /* strlen + 1, or 0 for NULL */
	char *big; /* the text, when it did not fit in text[]; or NULL */
	char text[AUDIT_SLOT_TEXT];
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
	size_t *line_end; /* offsets in out where each formatted line ends */

	pthread_t thread;
	int has_thread;

	/* lock guards the ring, the counters, the sinks and is_stopping.
	 * Slots [head, head + count) are queued; the writer reads the first
	 * of them without the lock while it writes, which is safe because
	 * producers only fill slots past head + count. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the writer waits: work, drops, or stop */
	pthread_cond_t idle; /* flushers wait: n_written caught up */
	struct audit_slot *ring;
	size_t ring_cap, head, count;
	uint64_t n_queued; /* accepted into the ring, ever */
	uint64_t n_written; /* taken from the ring and handled, ever */
	uint64_t n_dropped; /* ever; read without the lock by audit_dropped() */
	uint64_t n_dropped_recorded;
	int write_errno; /* the last write failure, until a flush reports it */
	int is_stopping;
	int is_lingering; /* the writer waits out AUDIT_LINGER_MS */
	int n_flushing; /* audit_flush() callers waiting */
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

/* The strings of ev and its caller, in enum audit_str order.  Caller
 * fields are bounded by their arrays even if a caller forgot the NUL. */
static void
audit_event_strings(const struct audit_event *ev, const char **src, size_t *len)
{
	const struct caller *c = ev->caller;
	size_t i;

	src[AUDIT_STR_OP] = ev->op;
	src[AUDIT_STR_TARGET] = ev->target;
	src[AUDIT_STR_RULE] = ev->rule;
	src[AUDIT_STR_REASON] = ev->reason;
	src[AUDIT_STR_REVIEWER] = ev->reviewer;
	for (i = 0; i <= AUDIT_STR_REVIEWER; i++)
		len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
	for (; i < AUDIT_N_STR; i++) {
		src[i] = NULL;
		len[i] = 0;
	}
	if (c == NULL)
		return;
#define AUDIT_CALLER_STR(idx, field)                                           \
	do {                                                                   \
		src[idx] = c->field;                                           \
		len[idx] = strnlen(c->field, sizeof(c->field)) + 1;            \
	} while (0)
	AUDIT_CALLER_STR(AUDIT_STR_EXE, exe);
	AUDIT_CALLER_STR(AUDIT_STR_CMDLINE, cmdline);
	AUDIT_CALLER_STR(AUDIT_STR_TRACE_ID, trace_id);
	AUDIT_CALLER_STR(AUDIT_STR_SPAN_ID, span_id);
	AUDIT_CALLER_STR(AUDIT_STR_INTENT, intent);
	AUDIT_CALLER_STR(AUDIT_STR_IDENTITY, identity);
#undef AUDIT_CALLER_STR
}

/* Copy the strings end to end into p, each NUL-terminated. */
static void
audit_copy_strings(char *p, const char **src, const size_t *len)
{
	size_t i;

	for (i = 0; i < AUDIT_N_STR; i++) {
		if (len[i] == 0)
			continue;
		memcpy(p, src[i], len[i] - 1);
		p[len[i] - 1] = '\0';
		p += len[i];
	}
}

/* The event a slot holds, with its strings pointing into the slot and its
 * caller (if any) rebuilt in *c. */
static void
audit_slot_event(
    const struct audit_slot *slot, struct audit_event *ev, struct caller *c)
{
	const char *p = slot->big != NULL ? slot->big : slot->text;
	const char *str[AUDIT_N_STR];
	size_t i;

	for (i = 0; i < AUDIT_N_STR; i++) {
		str[i] = slot->len[i] != 0 ? p : NULL;
		p += slot->len[i];
	}
	*ev = slot->ev;
	ev->op = str[AUDIT_STR_OP];
	ev->target = str[AUDIT_STR_TARGET];
	ev->rule = str[AUDIT_STR_RULE];
	ev->reason = str[AUDIT_STR_REASON];
	ev->reviewer = str[AUDIT_STR_REVIEWER];
	ev->caller = NULL;
	if (!slot->has_caller)
		return;
	c->pid = slot->pid;
	c->uid = slot->uid;
	c->gid = slot->gid;
	str_copy(c->exe, str[AUDIT_STR_EXE], sizeof(c->exe));
	str_copy(c->cmdline, str[AUDIT_STR_CMDLINE], sizeof(c->cmdline));
	str_copy(c->trace_id, str[AUDIT_STR_TRACE_ID], sizeof(c->trace_id));
	str_copy(c->span_id, str[AUDIT_STR_SPAN_ID], sizeof(c->span_id));
	str_copy(c->intent, str[AUDIT_STR_INTENT], sizeof(c->intent));
	str_copy(c->identity, str[AUDIT_STR_IDENTITY], sizeof(c->identity));
	ev->caller = c;
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
audit_write_batch(struct audit_log *log, size_t first, size_t n,
    uint64_t dropped, size_t n_sinks, struct audit_sink *sinks)
{
	struct audit_event own[2], ev;
	struct caller c;
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
	/* Our own records name the component this log writes for. */
	if (n > 0)
		log->component = log->ring[first % log->ring_cap].ev.component;
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
		const struct audit_slot *slot =
		    &log->ring[(first + i) % log->ring_cap];

		audit_slot_event(slot, &ev, &c);
		log->component = ev.component;
		audit_append_line(log, &ev, slot->wall_ns);
		log->line_end[n_own + i] = log->out.len;
	}
	if (fd_write_all(log->fd, log->out.data, log->out.len) != 0) {
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
	for (i = 0; i < n_own + n && n_sinks > 0; i++) {
		const struct audit_event *sink_ev = &ev;
		size_t end = log->line_end[i] - 1;
		size_t k;

		if (i < n_own)
			sink_ev = evs[i];
		else
			audit_slot_event(
			    &log->ring[(first + i - n_own) % log->ring_cap],
			    &ev, &c);
		log->out.data[end] = '\0';
		for (k = 0; k < n_sinks; k++)
			sinks[k].fn(sink_ev, log->out.data + start, end - start,
			    sinks[k].arg);
		start = end + 1;
	}
	return 0;
}

/* Wait out AUDIT_LINGER_MS (or a flush, a stop, a filling ring) before
 * the next batch.  Called with log->lock held. */
static void
audit_linger(struct audit_log *log)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += AUDIT_LINGER_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (log->n_flushing > 0 || log->count >= log->ring_cap / 2)
		return;
	log->is_lingering = 1;
	(void)pthread_cond_timedwait(&log->wake, &log->lock, &until);
	log->is_lingering = 0;
}

static void *
audit_writer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_sink sinks[AUDIT_MAX_SINKS];
	uint64_t dropped;
	size_t first, n, n_sinks, i;
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
		first = log->head;
		dropped = audit_load_dropped(log) - log->n_dropped_recorded;
		log->n_dropped_recorded += dropped;
		n_sinks = log->n_sinks;
		memcpy(sinks, log->sinks, sizeof(sinks[0]) * n_sinks);
		pthread_mutex_unlock(&log->lock);

		has_failed = audit_write_batch(
		                 log, first, n, dropped, n_sinks, sinks) != 0;
		write_errno = has_failed ? errno : 0;
		if (has_failed)
			fprintf(stderr,
			    "airlock: audit: %s: cannot append %zu "
			    "records: %s\n",
			    log->path, n, strerror(write_errno));
		for (i = 0; i < n; i++) {
			struct audit_slot *slot =
			    &log->ring[(first + i) % log->ring_cap];

			free(slot->big);
			slot->big = NULL;
		}

		pthread_mutex_lock(&log->lock);
		log->head = (log->head + n) % log->ring_cap;
		log->count -= n;
		if (has_failed) {
			log->write_errno = write_errno != 0 ? write_errno : EIO;
			/* What was lost is counted like a drop, and recorded
			 * by the next write that succeeds. */
			log->n_dropped_recorded -= dropped;
			audit_add_dropped(log, n);
		}
		log->n_written += n;
		pthread_cond_broadcast(&log->idle);
		if (!has_failed && !log->is_stopping)
			audit_linger(log);
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

/*
 * Copy ev into the next slot.  The only allocation is for strings that do
 * not fit in a slot, made (and filled) before the mutex is taken; the
 * mutex is held for a copy of a few hundred bytes.
 */
int
audit_log_event(struct audit_log *log, const struct audit_event *ev)
{
	const char *src[AUDIT_N_STR];
	size_t len[AUDIT_N_STR], total = 0, i;
	unsigned long long wall_ns = time_wall_ns();
	struct audit_slot *slot;
	char *big = NULL;

	audit_event_strings(ev, src, len);
	for (i = 0; i < AUDIT_N_STR; i++)
		total += len[i];
	if (total > AUDIT_SLOT_TEXT) {
		if ((big = malloc(total)) == NULL) {
			pthread_mutex_lock(&log->lock);
			audit_add_dropped(log, 1);
			pthread_mutex_unlock(&log->lock);
			errno = ENOMEM;
			return -1;
		}
		audit_copy_strings(big, src, len);
	}

	pthread_mutex_lock(&log->lock);
	if (log->count == log->ring_cap || log->is_stopping) {
		audit_add_dropped(log, 1);
		pthread_mutex_unlock(&log->lock);
		free(big);
		errno = ENOBUFS;
		return -1;
	}
	slot = &log->ring[(log->head + log->count) % log->ring_cap];
	slot->ev = *ev;
	slot->wall_ns = wall_ns;
	slot->has_caller = ev->caller != NULL;
	if (ev->caller != NULL) {
		slot->pid = ev->caller->pid;
		slot->uid = ev->caller->uid;
		slot->gid = ev->caller->gid;
	}
	memcpy(slot->len, len, sizeof(slot->len));
	slot->big = big;
	if (big == NULL)
		audit_copy_strings(slot->text, src, len);
	log->count++;
	log->n_queued++;
	/* a lingering writer comes back by itself, unless the ring fills */
	if ((log->count == 1 && !log->is_lingering) ||
	    log->count >= log->ring_cap / 2)
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
	log->n_flushing++;
	pthread_cond_signal(&log->wake);
	while (log->n_written < ticket && log->has_thread)
		pthread_cond_wait(&log->idle, &log->lock);
	log->n_flushing--;
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
		free(log->ring[(log->head + i) % log->ring_cap].big);
	if (log->fd != -1)
		close(log->fd);
	pthread_cond_destroy(&log->idle);
	pthread_cond_destroy(&log->wake);
	pthread_mutex_destroy(&log->lock);
	buf_free(&log->out);
	free(log->line_end);
	free(log->ring);
	free(log->session);
	free(log->path);
	free(log);
}
