/*
 * reviewer: asking the policy's review command or endpoint about a held
 * action (see reviewer.h).
 *
 * A command is started with posix_spawn() (no shell, no fd but its stdin,
 * stdout and stderr, default signal dispositions, an empty signal mask)
 * as the leader of its own process group, so that whatever it starts can
 * be killed with it.  One thread feeds its stdin and reads its stdout with
 * poll(), so neither side can block the other and the deadline bounds
 * both.  An endpoint gets one HTTP POST through the OTLP exporter's
 * client (otlp_http.c), which bounds every step the same way.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otlp_priv.h"
#include "reviewer.h"
#include "util.h"

extern char **environ;

/* How often a wait looks again at the deadline. */
#define REVIEW_POLL_SLICE_MS 50
/* The response head an endpoint may send on top of the answer. */
#define REVIEW_HEAD_MAX (16 * 1024)

/* How long a daemon waits for the broker past the reviewer's budget
 * (the broker answers a timeout itself, once it killed the reviewer). */
#define REVIEW_BROKER_GRACE_MS 1000
/* The largest request the broker takes (the detail is bounded far below). */
#define REVIEW_REQUEST_MAX (128 * 1024)

struct reviewer {
	char **argv; /* the command, NULL-terminated; or NULL */
	struct otlp_endpoint ep; /* the endpoint, when is_url */
	int is_url;
	unsigned timeout_ms;
	char name[64];
	/* The broker's channels (daemon side); n_slots 0: no broker.  Each
	 * slot is used by one thread at a time, which owns its seq. */
	int n_slots;
	int slot_fds[REVIEW_MAX_SLOTS];
	uint64_t slot_seq[REVIEW_MAX_SLOTS];
};

/* In the broker: the process group each channel's reviewer runs as (0:
 * none), so that the broker kills them all when it exits; and the slot of
 * the calling thread. */
static pid_t broker_running[REVIEW_MAX_SLOTS];
static __thread pid_t *broker_running_slot;

/* One SOCK_SEQPACKET message each way on a broker channel. */
struct broker_request {
	uint64_t seq;
	uint32_t budget_ms;
	uint32_t unused;
	/* the request JSON follows */
};
struct broker_answer {
	uint64_t seq;
	int32_t verdict;
	char reason[sizeof(((struct review_answer *)0)->reason)];
};

static void
reviewer_lower_deadline(unsigned long long *deadline_ms, unsigned long long to)
{
	unsigned long long cur = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);

	while (to < cur &&
	    !__atomic_compare_exchange_n(
	        deadline_ms, &cur, to, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

struct reviewer *
reviewer_new(const struct policy_settings *set)
{
	struct reviewer *rv;
	const char *base;
	char why[160];
	size_t n, i;

	if (set == NULL ||
	    (set->review_command == NULL && set->review_url == NULL)) {
		errno = ENOENT;
		return NULL;
	}
	rv = xcalloc(1, sizeof(*rv));
	rv->timeout_ms = set->review_timeout_ms;
	if (set->review_command != NULL) {
		for (n = 0; set->review_command[n] != NULL; n++)
			;
		rv->argv = xcalloc(n + 1, sizeof(*rv->argv));
		for (i = 0; i < n; i++)
			rv->argv[i] = xstrdup(set->review_command[i]);
		base = strrchr(rv->argv[0], '/');
		str_copy(rv->name, base != NULL ? base + 1 : rv->argv[0],
		    sizeof(rv->name));
		return rv;
	}
	rv->is_url = 1;
	if (otlp_endpoint_parse(set->review_url, &rv->ep, why, sizeof(why)) !=
	        0 ||
	    (rv->ep.is_tls &&
	        otlp_endpoint_tls(&rv->ep, NULL, why, sizeof(why)) != 0)) {
		fprintf(stderr, "airlock: review.url: %s\n", why);
		otlp_endpoint_free(&rv->ep);
		free(rv);
		errno = EINVAL;
		return NULL;
	}
	str_copy(rv->name, rv->ep.host, sizeof(rv->name));
	return rv;
}

void
reviewer_free(struct reviewer *rv)
{
	size_t i;

	if (rv == NULL)
		return;
	/* the broker sees its channels close and exits */
	for (i = 0; i < (size_t)rv->n_slots; i++)
		close(rv->slot_fds[i]);
	if (rv->argv != NULL) {
		for (i = 0; rv->argv[i] != NULL; i++)
			free(rv->argv[i]);
		free(rv->argv);
	}
	if (rv->is_url)
		otlp_endpoint_free(&rv->ep);
	free(rv);
}

const char *
reviewer_name(const struct reviewer *rv)
{
	return rv->name;
}

static void
reviewer_add_field(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, ",\"%s\":", name);
	buf_add_json_string(b, value != NULL ? value : "");
}

char *
reviewer_request_json(
    const struct held_info *info, const char *id, const char *session)
{
	const struct caller *c = info->caller;
	struct buf b;
	char tp[64];

	buf_init(&b);
	buf_adds(&b, "{\"id\":");
	buf_add_json_string(&b, id != NULL ? id : "");
	reviewer_add_field(&b, "session", session);
	reviewer_add_field(&b, "kind", info->kind);
	reviewer_add_field(&b, "op", info->op);
	reviewer_add_field(&b, "target", info->target);
	reviewer_add_field(&b, "rule", info->rule);
	reviewer_add_field(&b, "reason", info->reason);
	if (c != NULL) {
		buf_addf(&b, ",\"process\":{\"pid\":%ld,\"uid\":%lu",
		    (long)c->pid, (unsigned long)c->uid);
		reviewer_add_field(&b, "exe", c->exe);
		reviewer_add_field(&b, "cmdline", c->cmdline);
		buf_adds(&b, "}");
	} else {
		buf_adds(&b, ",\"process\":null");
	}
	reviewer_add_field(&b, "intent", c != NULL ? c->intent : "");
	tp[0] = '\0';
	if (c != NULL && c->trace_id[0] != '\0' && c->span_id[0] != '\0')
		snprintf(
		    tp, sizeof(tp), "00-%s-%s-01", c->trace_id, c->span_id);
	reviewer_add_field(&b, "traceparent", tp);
	if (info->detail != NULL)
		reviewer_add_field(&b, "detail", info->detail);
	else
		buf_adds(&b, ",\"detail\":null");
	buf_adds(&b, "}\n");
	return buf_release(&b);
}

static void reviewer_failed(struct review_answer *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reviewer_failed(struct review_answer *out, const char *fmt, ...)
{
	va_list ap;

	out->verdict = REVIEW_FAILED;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* Start argv with stdin from in_fd and stdout to out_fd, leading a new
 * process group.  Returns the pid or -1 with errno. */
static pid_t
reviewer_spawn(char *const *argv, int in_fd, int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	pid_t pid = -1;
	int error;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	if ((error = posix_spawn_file_actions_adddup2(&fa, in_fd, 0)) != 0 ||
	    (error = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) != 0 ||
	    (error = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (error = posix_spawnattr_setflags(&at,
	         POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	             POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (error = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (error = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (error = posix_spawnattr_setsigdefault(&at, &dfl)) != 0)
		goto out;
	error = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	if (error != 0)
		pid = -1;
out:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (pid == -1)
		errno = error;
	return pid;
}

/* How the command's run ended, before its output is read. */
enum reviewer_run_end {
	RUN_EOF, /* stdout closed */
	RUN_TIMEOUT,
	RUN_TOO_LARGE,
	RUN_IO_ERROR,
};

/*
 * Feed req to in_fd and collect out_fd into *reply until the command
 * closes its stdout, the deadline passes or the answer grows too large.
 * Both fds are non-blocking; in_fd is closed (set to -1) once written.
 */
static enum reviewer_run_end
reviewer_exchange(int *in_fd, int out_fd, const char *req, size_t len,
    unsigned long long *deadline_ms, struct buf *reply)
{
	struct pollfd pfd[2];
	char chunk[4096];
	unsigned long long now, deadline, left;
	size_t sent = 0;
	ssize_t n;
	int nfds;

	for (;;) {
		deadline = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);
		now = time_mono_ms();
		if (now >= deadline)
			return RUN_TIMEOUT;
		left = deadline - now;
		nfds = 0;
		pfd[nfds++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		if (*in_fd != -1)
			pfd[nfds++] =
			    (struct pollfd){ .fd = *in_fd, .events = POLLOUT };
		n = poll(pfd, (nfds_t)nfds,
		    (int)(left < REVIEW_POLL_SLICE_MS ? left
		                                      : REVIEW_POLL_SLICE_MS));
		if (n == -1 && errno != EINTR)
			return RUN_IO_ERROR;
		if (n <= 0)
			continue;
		if (nfds == 2 && pfd[1].revents != 0) {
			n = write(*in_fd, req + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			/* A reviewer that stops reading early (EPIPE) still
			 * gets to answer. */
			if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
			    sent == len) {
				close(*in_fd);
				*in_fd = -1;
			}
		}
		if (pfd[0].revents == 0)
			continue;
		n = read(out_fd, chunk, sizeof(chunk));
		if (n == 0)
			return RUN_EOF;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return RUN_IO_ERROR;
		}
		buf_add(reply, chunk, (size_t)n);
		if (reply->len > REVIEW_ANSWER_MAX)
			return RUN_TOO_LARGE;
	}
}

/*
 * Wait for pid to exit until the deadline, then kill its process group
 * (whatever it left behind goes too) and reap it.  Returns its wait
 * status, or -1 when it had to be killed.
 */
static int
reviewer_reap(pid_t pid, unsigned long long *deadline_ms)
{
	siginfo_t si;
	int status = -1, has_exited = 0;
	struct timespec slice = { 0, 10 * 1000000L };

	while (
	    time_mono_ms() < __atomic_load_n(deadline_ms, __ATOMIC_RELAXED)) {
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: the group keeps its id while we kill it */
		if (waitid(P_PID, (id_t)pid, &si,
		        WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid) {
			has_exited = 1;
			break;
		}
		nanosleep(&slice, NULL);
	}
	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return has_exited ? status : -1;
}

static void
reviewer_run_command(const struct reviewer *rv, const char *req, size_t len,
    unsigned long long *deadline_ms, struct review_answer *out)
{
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 };
	enum reviewer_run_end end;
	struct buf reply;
	pid_t pid;
	int status, saved;

	buf_init(&reply);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
		reviewer_failed(
		    out, "cannot start the reviewer: %s", strerror(errno));
		goto out;
	}
	pid = reviewer_spawn(rv->argv, in[0], outp[1]);
	if (pid == -1) {
		reviewer_failed(
		    out, "cannot start the reviewer: %s", strerror(errno));
		goto out;
	}
	if (broker_running_slot != NULL)
		__atomic_store_n(broker_running_slot, pid, __ATOMIC_RELAXED);
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);

	end = reviewer_exchange(&in[1], outp[0], req, len, deadline_ms, &reply);
	saved = errno;
	if (end != RUN_EOF) {
		/* stop waiting for it: it is killed at once */
		reviewer_lower_deadline(deadline_ms, 0);
	}
	status = reviewer_reap(pid, deadline_ms);
	if (broker_running_slot != NULL)
		__atomic_store_n(broker_running_slot, 0, __ATOMIC_RELAXED);
	switch (end) {
	case RUN_TIMEOUT:
		reviewer_failed(
		    out, "no answer within %u ms (killed)", rv->timeout_ms);
		goto out;
	case RUN_TOO_LARGE:
		reviewer_failed(out,
		    "the answer is larger than %d bytes "
		    "(killed)",
		    REVIEW_ANSWER_MAX);
		goto out;
	case RUN_IO_ERROR:
		reviewer_failed(
		    out, "reading the answer failed: %s", strerror(saved));
		goto out;
	case RUN_EOF:
		break;
	}
	if (status == -1) {
		reviewer_failed(
		    out, "no exit within %u ms (killed)", rv->timeout_ms);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		reviewer_failed(out, "the reviewer was killed by signal %d",
		    WTERMSIG(status));
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		reviewer_failed(out, "the reviewer exited with status %d",
		    WEXITSTATUS(status));
		goto out;
	}
	(void)reviewer_parse_answer(reply.data, reply.len, out);
out:
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	buf_free(&reply);
}

/* The value of header name in a response head (which ends with an empty
 * line), or NULL; *len is its length. */
static const char *
reviewer_head_value(
    const char *head, size_t head_len, const char *name, size_t *len)
{
	const char *p = head, *end = head + head_len, *eol, *v;
	size_t n = strlen(name);

	while ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL) {
		if ((size_t)(eol - p) > n && p[n] == ':' &&
		    strncasecmp(p, name, n) == 0) {
			v = p + n + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

/*
 * The body of a response (head and body in data): after the head, cut to
 * Content-Length, or decoded from chunks.  Returns its length (the body is
 * moved to the front of data) or -1 when malformed.
 */
static ssize_t
reviewer_http_body(char *data, size_t len)
{
	const char *v;
	char *end, *p, *out, *stop, *eol;
	unsigned long long n;
	size_t head_len, body_len, vlen;

	end = memmem(data, len, "\r\n\r\n", 4);
	if (end == NULL)
		return -1;
	head_len = (size_t)(end - data) + 4;
	body_len = len - head_len;
	v = reviewer_head_value(data, head_len, "Transfer-Encoding", &vlen);
	if (v == NULL) {
		v = reviewer_head_value(
		    data, head_len, "Content-Length", &vlen);
		n = v != NULL ? strtoull(v, NULL, 10) : body_len;
		if (n > body_len)
			return -1;
		memmove(data, data + head_len, (size_t)n);
		return (ssize_t)n;
	}
	if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
		return -1;
	/* chunked: a size line, the data, CRLF; until a zero size */
	memmove(data, data + head_len, body_len);
	p = out = data;
	stop = data + body_len;
	for (;;) {
		n = strtoull(p, &eol, 16);
		if (eol == p ||
		    (eol = memmem(eol, (size_t)(stop - eol), "\r\n", 2)) ==
		        NULL)
			return -1;
		p = eol + 2;
		if (n == 0)
			break;
		if (n > (unsigned long long)(stop - p))
			return -1;
		memmove(out, p, (size_t)n);
		out += n;
		p += n;
		if (stop - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
	}
	return (ssize_t)(out - data);
}

static void
reviewer_post(const struct reviewer *rv, const char *req, size_t len,
    unsigned long long *deadline_ms, struct review_answer *out)
{
	struct otlp_http_result res;
	struct buf reply;
	ssize_t n;

	buf_init(&reply);
	if (otlp_http_post_reply(&rv->ep, "", req, len, rv->timeout_ms,
	        deadline_ms, &res, &reply,
	        REVIEW_ANSWER_MAX + REVIEW_HEAD_MAX) != 0) {
		if (res.err == ETIMEDOUT)
			reviewer_failed(
			    out, "no answer within %u ms", rv->timeout_ms);
		else if (res.err == EMSGSIZE)
			reviewer_failed(out,
			    "the answer is larger than %d bytes",
			    REVIEW_ANSWER_MAX);
		else
			reviewer_failed(out,
			    "the reviewer endpoint failed: %s%s%s",
			    strerror(res.err),
			    res.detail[0] != '\0' ? ": " : "", res.detail);
		goto out;
	}
	if (res.status != 200) {
		reviewer_failed(out, "the reviewer endpoint answered status %d",
		    res.status);
		goto out;
	}
	n = reviewer_http_body(reply.data, reply.len);
	if (n < 0) {
		reviewer_failed(out,
		    "the reviewer endpoint's response is "
		    "malformed");
		goto out;
	}
	if ((size_t)n > REVIEW_ANSWER_MAX) {
		reviewer_failed(out, "the answer is larger than %d bytes",
		    REVIEW_ANSWER_MAX);
		goto out;
	}
	(void)reviewer_parse_answer(reply.data, (size_t)n, out);
out:
	buf_free(&reply);
}

void
reviewer_ask(const struct reviewer *rv, const char *req, size_t len,
    unsigned long long *deadline_ms, struct review_answer *out)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };

	memset(out, 0, sizeof(*out));
	reviewer_lower_deadline(deadline_ms, time_mono_ms() + rv->timeout_ms);
	/* A reviewer that closes its stdin must not kill the daemon with
	 * SIGPIPE: keep it pending for this thread, then drop it. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (rv->is_url)
		reviewer_post(rv, req, len, deadline_ms, out);
	else
		reviewer_run_command(rv, req, len, deadline_ms, out);
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The broker's side of one channel: ask, answer, until the daemon closes
 * it (then the whole broker exits: every channel closes at once). */
/* The daemon went away: so do the reviewers still running, and we. */
static void __attribute__((noreturn)) reviewer_broker_exit(void)
{
	pid_t pgid;
	int i;

	for (i = 0; i < REVIEW_MAX_SLOTS; i++) {
		pgid = __atomic_load_n(&broker_running[i], __ATOMIC_RELAXED);
		if (pgid > 0)
			(void)kill(-pgid, SIGKILL);
	}
	_exit(0);
}

static void
reviewer_broker_serve(struct reviewer *rv, int slot, int fd)
{
	struct broker_request hdr;
	struct broker_answer a;
	struct review_answer ans;
	unsigned long long deadline;
	char *msg;
	ssize_t n;

	broker_running_slot = &broker_running[slot];
	msg = xmalloc(sizeof(hdr) + REVIEW_REQUEST_MAX);
	for (;;) {
		n = recv(fd, msg, sizeof(hdr) + REVIEW_REQUEST_MAX, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			reviewer_broker_exit();
		if ((size_t)n < sizeof(hdr))
			continue;
		memcpy(&hdr, msg, sizeof(hdr));
		deadline = time_mono_ms() + hdr.budget_ms;
		reviewer_ask(rv, msg + sizeof(hdr), (size_t)n - sizeof(hdr),
		    &deadline, &ans);
		memset(&a, 0, sizeof(a));
		a.seq = hdr.seq;
		a.verdict = (int32_t)ans.verdict;
		str_copy(a.reason, ans.reason, sizeof(a.reason));
		while (send(fd, &a, sizeof(a), MSG_NOSIGNAL) == -1 &&
		    errno == EINTR)
			;
	}
}

struct broker_slot {
	struct reviewer *rv;
	int slot, fd;
};

static void *
reviewer_broker_thread(void *arg)
{
	struct broker_slot *bs = arg;

	reviewer_broker_serve(bs->rv, bs->slot, bs->fd);
	return NULL;
}

static int
reviewer_fd_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The broker process: keep only fds[] and 0-2, serve each channel. */
static void __attribute__((noreturn))
reviewer_broker_main(struct reviewer *rv, int *fds, int n)
{
	struct broker_slot slots[REVIEW_MAX_SLOTS];
	int sorted[REVIEW_MAX_SLOTS], i, from = 3;
	pthread_t t;
	sigset_t none;

	memcpy(sorted, fds, sizeof(int) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(int), reviewer_fd_cmp);
	for (i = 0; i < n; i++) {
		if (sorted[i] > from)
			(void)close_range(
			    (unsigned)from, (unsigned)sorted[i] - 1, 0);
		from = sorted[i] + 1;
	}
	(void)close_range((unsigned)from, ~0U, 0);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	for (i = 0; i < n; i++) {
		slots[i].rv = rv;
		slots[i].slot = i;
		slots[i].fd = fds[i];
	}
	for (i = 1; i < n; i++)
		if (pthread_create(
		        &t, NULL, reviewer_broker_thread, &slots[i]) != 0)
			_exit(1);
	reviewer_broker_serve(rv, 0, fds[0]);
	_exit(0);
}

int
reviewer_start_broker(struct reviewer *rv, int n_slots)
{
	int sv[REVIEW_MAX_SLOTS][2], broker_fds[REVIEW_MAX_SLOTS];
	int i, n_made = 0, status, rc = -1, saved;
	pid_t pid;

	if (rv == NULL || rv->n_slots != 0 || n_slots < 1 ||
	    n_slots > REVIEW_MAX_SLOTS) {
		errno = EINVAL;
		return -1;
	}
	for (n_made = 0; n_made < n_slots; n_made++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		        sv[n_made]) != 0)
			goto out;
		broker_fds[n_made] = sv[n_made][1];
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		goto out;
	if (pid == 0) {
		/* Fork again and let the middle exit: the broker is then
		 * no child of the daemon, which never has to reap it. */
		for (i = 0; i < n_slots; i++)
			close(sv[i][0]);
		pid = fork();
		if (pid != 0)
			_exit(pid == -1 ? 1 : 0);
		reviewer_broker_main(rv, broker_fds, n_slots);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = ECHILD;
		goto out;
	}
	for (i = 0; i < n_slots; i++) {
		rv->slot_fds[i] = sv[i][0];
		rv->slot_seq[i] = 0;
	}
	rv->n_slots = n_slots;
	rc = 0;
out:
	saved = errno;
	for (i = 0; i < n_made; i++) {
		close(sv[i][1]);
		if (rc != 0)
			close(sv[i][0]);
	}
	errno = saved;
	return rc;
}

/* Send the request on a channel, waiting for room until the deadline. */
static int
reviewer_slot_send(int fd, const struct broker_request *hdr, const char *req,
    size_t len, unsigned long long *deadline_ms)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)req, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	unsigned long long now, deadline;

	for (;;) {
		if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != -1)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		deadline = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);
		now = time_mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		(void)poll(&pfd, 1, REVIEW_POLL_SLICE_MS);
	}
}

void
reviewer_ask_slot(struct reviewer *rv, int slot, const char *req, size_t len,
    unsigned long long *deadline_ms, struct review_answer *out)
{
	struct broker_request hdr;
	struct broker_answer a;
	struct pollfd pfd;
	unsigned long long now, deadline;
	ssize_t n;
	int fd;

	if (rv->n_slots == 0) {
		reviewer_ask(rv, req, len, deadline_ms, out);
		return;
	}
	memset(out, 0, sizeof(*out));
	now = time_mono_ms();
	reviewer_lower_deadline(deadline_ms, now + rv->timeout_ms);
	if (slot < 0 || slot >= rv->n_slots) {
		reviewer_failed(out, "no review channel %d", slot);
		return;
	}
	if (len > REVIEW_REQUEST_MAX) {
		reviewer_failed(out, "the request is larger than %d bytes",
		    REVIEW_REQUEST_MAX);
		return;
	}
	fd = rv->slot_fds[slot];
	memset(&hdr, 0, sizeof(hdr));
	hdr.seq = ++rv->slot_seq[slot];
	deadline = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);
	hdr.budget_ms = deadline > now ? (uint32_t)(deadline - now) : 0;
	if (reviewer_slot_send(fd, &hdr, req, len, deadline_ms) != 0) {
		reviewer_failed(
		    out, "cannot reach the review broker: %s", strerror(errno));
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		deadline = __atomic_load_n(deadline_ms, __ATOMIC_RELAXED);
		if (time_mono_ms() >= deadline + REVIEW_BROKER_GRACE_MS) {
			reviewer_failed(
			    out, "no answer within %u ms", rv->timeout_ms);
			return;
		}
		if (poll(&pfd, 1, REVIEW_POLL_SLICE_MS) <= 0)
			continue;
		n = recv(fd, &a, sizeof(a), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			reviewer_failed(out, "the review broker is gone");
			return;
		}
		/* an answer to a request that was cut short is stale */
		if (n != (ssize_t)sizeof(a) || a.seq != hdr.seq)
			continue;
		break;
	}
	switch (a.verdict) {
	case REVIEW_ALLOW:
	case REVIEW_DENY:
	case REVIEW_ESCALATE:
		out->verdict = (enum review_verdict)a.verdict;
		break;
	default:
		out->verdict = REVIEW_FAILED;
		break;
	}
	a.reason[sizeof(a.reason) - 1] = '\0';
	str_copy(out->reason, a.reason, sizeof(out->reason));
}
