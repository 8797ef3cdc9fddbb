/*
 * tunnel: the byte relay of allowed CONNECT tunnels, spliced or copied
 * (see tunnel.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "tunnel.h"

/*
 * A pipe's capacity is what one splice call can move.  The default 64 KiB
 * costs two system calls per 64 KiB of a bulk transfer; 1 MiB pipes let
 * one call take whatever the socket holds.  Where the kernel refuses
 * (pipe-max-size, a user's pipe quota) the default stays.
 */
#define TUNNEL_PIPE_SIZE (1024 * 1024)
/*
 * What one read takes into a copying direction's buffer: as much as a
 * pipe, so that a bulk transfer costs a system call per MiB each way.
 * 256 KiB cost the proxy 0.55 s of CPU per GiB through a CONNECT tunnel
 * against 0.36 s (the reads were as full; more writes woke the reader).
 * Only touched pages cost memory, and only while bytes are in flight.
 */
#define TUNNEL_BUF_SIZE (1024 * 1024)
/* Empty buffers kept per thread for the next burst of any tunnel. */
#define TUNNEL_BUF_POOL_MAX 8
/* Rounds per wake-up, so that one busy tunnel cannot starve the others. */
#define TUNNEL_ROUNDS 16
/* Empty pipes kept per thread for the next burst of any tunnel. */
#define TUNNEL_POOL_MAX 64

/*
 * A pipe only holds bytes between a splice in and a splice out.  A
 * direction whose pipe is empty gives it back to its thread's pool, so
 * that an idle tunnel holds its two sockets and no pipe (5,000 idle
 * tunnels would otherwise hold 20,000 pipe ends).
 */
static __thread int tunnel_pool[TUNNEL_POOL_MAX][2];
static __thread int tunnel_pool_n;

int
tunnel_pipe_get(int p[2])
{
	if (tunnel_pool_n > 0) {
		tunnel_pool_n--;
		p[0] = tunnel_pool[tunnel_pool_n][0];
		p[1] = tunnel_pool[tunnel_pool_n][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	(void)fcntl(p[0], F_SETPIPE_SZ, TUNNEL_PIPE_SIZE);
	return 0;
}

/* Give back an empty pipe (or close it when the pool is full). */
void
tunnel_pipe_put(int p[2])
{
	if (p[0] < 0)
		return;
	if (tunnel_pool_n < TUNNEL_POOL_MAX) {
		tunnel_pool[tunnel_pool_n][0] = p[0];
		tunnel_pool[tunnel_pool_n][1] = p[1];
		tunnel_pool_n++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

/*
 * A copying direction's buffer, like a pipe, holds bytes only between a
 * read and the write that empties it, and goes back to its thread's pool
 * then.
 */
static __thread char *tunnel_bufs[TUNNEL_BUF_POOL_MAX];
static __thread int tunnel_bufs_n;

static char *
tunnel_buf_get(void)
{
	if (tunnel_bufs_n > 0)
		return tunnel_bufs[--tunnel_bufs_n];
	return malloc(TUNNEL_BUF_SIZE);
}

static void
tunnel_buf_put(char **buf)
{
	if (*buf == NULL)
		return;
	if (tunnel_bufs_n < TUNNEL_BUF_POOL_MAX)
		tunnel_bufs[tunnel_bufs_n++] = *buf;
	else
		free(*buf);
	*buf = NULL;
}

void
tunnel_pools_free(void)
{
	while (tunnel_pool_n > 0) {
		tunnel_pool_n--;
		close(tunnel_pool[tunnel_pool_n][0]);
		close(tunnel_pool[tunnel_pool_n][1]);
	}
	while (tunnel_bufs_n > 0)
		free(tunnel_bufs[--tunnel_bufs_n]);
}

struct tunnel_dir {
	struct tunnel *t;
	int from, to;
	int pipe[2]; /* -1 until the first splice */
	char *buf; /* a copying direction's bytes in flight, or NULL */
	size_t buf_off; /* where in buf the unwritten bytes start */
	size_t held; /* bytes read (into the pipe or buf), not yet written */
	struct evbuffer *pending; /* bytes to write before anything else */
	struct event *rd; /* from became readable (edge-triggered) */
	struct event *wr; /* to became writable (edge-triggered) */
	int is_wr_armed; /* wr was added: a write found to full */
	int is_rd_paused; /* rd is off while to is full */
	int is_eof;
	int is_done;
	int is_first; /* the first pump only writes what was read before */
	int uses_copy; /* copies through buf: asked for, or splice refused */
	uint64_t bytes;
};

struct tunnel {
	struct tunnel_dir up; /* client -> upstream */
	struct tunnel_dir down; /* upstream -> client */
	struct event *idle;
	unsigned idle_ms;
	struct timeval last;
	tunnel_done_fn done;
	void *arg;
	int is_finished;
};

static void tunnel_pump(struct tunnel_dir *d);
static void tunnel_finish(struct tunnel *t);

/*
 * Watch to for room only once a write found it full, and from then on for
 * the tunnel's life (so that no chunk costs an epoll_ctl).  A tunnel that
 * never fills a socket (a TLS handshake, an interactive session) is then
 * never woken by a write edge: registering EPOLLOUT up front costs a
 * wake-up as soon as the tunnel starts (both sockets are writable) and a
 * second callback on every read wake-up of the same socket.  Adding the
 * event after EAGAIN loses no edge: epoll_ctl reports room that came in
 * between.
 */
static void
tunnel_arm_write(struct tunnel_dir *d)
{
	if (d->is_wr_armed)
		return;
	if (event_add(d->wr, NULL) != 0) {
		/* No watch for room: end the tunnel rather than stall it. */
		tunnel_finish(d->t);
		return;
	}
	d->is_wr_armed = 1;
}

/*
 * to is full: stop watching from until it has room.  Each packet that
 * arrives on from would otherwise wake the loop for nothing (the pipe
 * cannot be emptied): with a slower reader, a wake-up per 16 KiB TLS
 * record that the sender writes, more than half of all wake-ups in a bulk
 * transfer.  Two epoll_ctl per stall instead.
 */
static void
tunnel_pause_read(struct tunnel_dir *d)
{
	if (d->is_rd_paused)
		return;
	if (event_del(d->rd) == 0)
		d->is_rd_paused = 1;
}

/* to has room again: watch from again.  Adding the event reports what
 * arrived meanwhile: no edge is lost. */
static int
tunnel_resume_read(struct tunnel_dir *d)
{
	if (!d->is_rd_paused)
		return 0;
	if (event_add(d->rd, NULL) != 0)
		return -1;
	d->is_rd_paused = 0;
	return 0;
}

static void
tunnel_finish(struct tunnel *t)
{
	if (t->is_finished)
		return;
	t->is_finished = 1;
	event_del(t->up.rd);
	event_del(t->up.wr);
	event_del(t->down.rd);
	event_del(t->down.wr);
	event_del(t->idle);
	t->done(t->arg, t->up.bytes, t->down.bytes);
}

/* Write what must go first; 1 when all of it went, 0 to wait, -1 error. */
static int
tunnel_flush_pending(struct tunnel_dir *d)
{
	int n;

	while (evbuffer_get_length(d->pending) > 0) {
		n = evbuffer_write(d->pending, d->to);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		d->bytes += (uint64_t)n;
	}
	return 1;
}

/* Write what was read and is still held (in the pipe or the buffer);
 * same results as tunnel_flush_pending(). */
static int
tunnel_flush_held(struct tunnel_dir *d)
{
	ssize_t n;

	while (d->held > 0) {
		if (d->uses_copy)
			n = send(
			    d->to, d->buf + d->buf_off, d->held, MSG_NOSIGNAL);
		else
			n = splice(d->pipe[0], NULL, d->to, NULL, d->held,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		d->held -= (size_t)n;
		d->buf_off += (size_t)n;
		d->bytes += (uint64_t)n;
	}
	d->buf_off = 0;
	return 1;
}

/* Read from the source: >0 bytes, 0 EOF, -1 error, -2 would block.
 * Called with nothing held. */
static ssize_t
tunnel_fill(struct tunnel_dir *d)
{
	ssize_t n;

	if (!d->uses_copy && d->pipe[0] < 0 && tunnel_pipe_get(d->pipe) != 0)
		d->uses_copy = 1;
	if (!d->uses_copy) {
		n = splice(d->from, NULL, d->pipe[1], NULL, TUNNEL_PIPE_SIZE,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n >= 0) {
			d->held = (size_t)n;
			return n;
		}
		if (errno == EAGAIN)
			return -2;
		if (errno != EINVAL)
			return -1;
		tunnel_pipe_put(d->pipe); /* empty: nothing was held */
		d->uses_copy = 1;
	}
	if (d->buf == NULL && (d->buf = tunnel_buf_get()) == NULL)
		return -1;
	n = recv(d->from, d->buf, TUNNEL_BUF_SIZE, 0);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : -1;
	d->held = (size_t)n;
	return n;
}

static void
tunnel_pump(struct tunnel_dir *d)
{
	struct tunnel *t = d->t;
	ssize_t n;
	int r, round, is_first = d->is_first;

	d->is_first = 0;
	if (d->is_done || t->is_finished)
		return;
	event_base_gettimeofday_cached(event_get_base(d->rd), &t->last);
	for (round = 0; round < TUNNEL_ROUNDS; round++) {
		r = tunnel_flush_pending(d);
		if (r == 1)
			r = tunnel_flush_held(d);
		if (r < 0)
			goto fail;
		if (r == 0) {
			/* to is full: its next write edge calls back. */
			tunnel_arm_write(d);
			tunnel_pause_read(d);
			return;
		}
		if (tunnel_resume_read(d) != 0)
			goto fail;
		if (is_first) {
			/* This runs before the loop registers the tunnel's
			 * events, which then report the sockets' state: no
			 * edge was missed, and no read is tried in vain (a
			 * TLS client now waits for the server). */
			return;
		}
		if (d->is_eof) {
			(void)shutdown(d->to, SHUT_WR);
			d->is_done = 1;
			event_del(d->rd);
			event_del(d->wr);
			if (t->up.is_done && t->down.is_done)
				tunnel_finish(t);
			return;
		}
		n = tunnel_fill(d);
		if (n == -2) {
			/* from is drained: its next read edge calls back.
			 * Nothing is held here: the pipe or buffer goes
			 * back to the pool. */
			tunnel_pipe_put(d->pipe);
			tunnel_buf_put(&d->buf);
			return;
		}
		if (n < 0)
			goto fail;
		if (n == 0)
			d->is_eof = 1;
	}
	/* Still busy: come back after the other events had their turn. */
	event_active(d->rd, EV_READ, 0);
	return;
fail:
	tunnel_finish(t);
}

static void
tunnel_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel_dir *d = arg;

	/*
	 * An edge-triggered socket reports all it is ready for whenever it
	 * wakes up: each packet that arrives on one socket also says that it
	 * is writable.  A write edge matters only to a direction with bytes
	 * waiting to be written; to the others it would cost a read that
	 * finds nothing.
	 */
	if ((what & EV_READ) == 0 && d->held == 0 &&
	    (d->pending == NULL || evbuffer_get_length(d->pending) == 0))
		return;
	tunnel_pump(d);
}

static void
tunnel_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct timeval now, left;
	unsigned long long idle_for;

	event_base_gettimeofday_cached(event_get_base(t->idle), &now);
	idle_for = (unsigned long long)(now.tv_sec - t->last.tv_sec) * 1000 +
	    (unsigned long long)((now.tv_usec - t->last.tv_usec) / 1000);
	if (idle_for >= t->idle_ms) {
		tunnel_finish(t);
		return;
	}
	left.tv_sec = (t->idle_ms - idle_for) / 1000;
	left.tv_usec = ((t->idle_ms - idle_for) % 1000) * 1000;
	event_add(t->idle, &left);
}

static int
tunnel_dir_init(struct tunnel *t, struct tunnel_dir *d, struct event_base *base,
    int from, int to)
{
	d->t = t;
	d->from = from;
	d->to = to;
	/*
	 * Edge-triggered and added once for the tunnel's life: a pump runs
	 * until a read or a write would block, and the next edge of that
	 * kind brings it back, so no chunk costs an epoll_ctl.  The write
	 * event is added when first needed (tunnel_arm_write()).
	 */
	d->rd = event_new(
	    base, from, EV_READ | EV_PERSIST | EV_ET, tunnel_io_cb, d);
	d->wr =
	    event_new(base, to, EV_WRITE | EV_PERSIST | EV_ET, tunnel_io_cb, d);
	if (d->rd == NULL || d->wr == NULL || event_add(d->rd, NULL) != 0)
		return -1;
	return 0;
}

static void
tunnel_dir_free(struct tunnel_dir *d)
{
	if (d->rd != NULL)
		event_free(d->rd);
	if (d->wr != NULL)
		event_free(d->wr);
	tunnel_buf_put(&d->buf); /* what it holds will never be written */
	if (d->held == 0 || d->uses_copy) {
		tunnel_pipe_put(d->pipe);
	} else if (d->pipe[0] >= 0) {
		close(d->pipe[0]); /* bytes that will never be written */
		close(d->pipe[1]);
	}
	if (d->pending != NULL)
		evbuffer_free(d->pending);
}

struct tunnel *
tunnel_start(struct event_base *base, int cfd, int ufd,
    struct evbuffer *to_client, struct evbuffer *to_upstream, unsigned idle_ms,
    unsigned flags, tunnel_done_fn done, void *arg)
{
	struct tunnel *t = calloc(1, sizeof *t);
	struct timeval tv;

	if (t == NULL) {
		evbuffer_free(to_client);
		evbuffer_free(to_upstream);
		return NULL;
	}
	t->done = done;
	t->arg = arg;
	t->idle_ms = idle_ms;
	t->up.pipe[0] = t->up.pipe[1] = t->down.pipe[0] = t->down.pipe[1] = -1;
	t->up.pending = to_upstream;
	t->down.pending = to_client;
	t->up.uses_copy = (flags & TUNNEL_COPY_UP) != 0;
	t->down.uses_copy = (flags & TUNNEL_COPY_DOWN) != 0;
	if (tunnel_dir_init(t, &t->up, base, cfd, ufd) != 0 ||
	    tunnel_dir_init(t, &t->down, base, ufd, cfd) != 0)
		goto fail;
	t->idle = evtimer_new(base, tunnel_idle_cb, t);
	if (t->idle == NULL)
		goto fail;
	if (idle_ms > 0) {
		tv.tv_sec = idle_ms / 1000;
		tv.tv_usec = (idle_ms % 1000) * 1000;
		event_add(t->idle, &tv);
	}
	/* Write the bytes read before (the ClientHello) from the loop, not
	 * from inside the caller; the rest starts with the sockets' edges. */
	if (evbuffer_get_length(t->up.pending) > 0) {
		t->up.is_first = 1;
		event_active(t->up.wr, EV_WRITE, 0);
	}
	if (evbuffer_get_length(t->down.pending) > 0) {
		t->down.is_first = 1;
		event_active(t->down.wr, EV_WRITE, 0);
	}
	return t;
fail:
	tunnel_free(t);
	return NULL;
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	tunnel_dir_free(&t->up);
	tunnel_dir_free(&t->down);
	if (t->idle != NULL)
		event_free(t->idle);
	free(t);
}
