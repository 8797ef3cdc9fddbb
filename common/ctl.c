/*
 * ctl: the control socket.  One thread accepts and serves one connection
 * at a time: a request is one short line and its answer is written at
 * once, so serving in turn is simpler than a pool and never slower than a
 * person typing.  Every read is bounded in size (CTL_LINE_MAX) and in time
 * (CTL_IO_TIMEOUT_MS for the whole request), so a silent or trickling
 * client costs the others at most that long.
 */
#include "config.h"

#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define CTL_LINE_MAX 4096
#define CTL_IO_TIMEOUT_MS 2000
/* The client waits longer: the daemon may be busy serving someone else. */
#define CTL_CLIENT_TIMEOUT_MS 10000
#define CTL_ANSWER_MAX (64U * 1024 * 1024)

struct ctl_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct approvals *ap;
	uid_t refuse_uid;
	int listen_fd;
	int stop_fd; /* eventfd: written once by ctl_server_stop() */
	dev_t dev; /* the socket file we bound, so that stop unlinks */
	ino_t ino; /* only ours and never a successor's */
	pthread_t thread;
};

static int
ctl_fill_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (str_copy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Milliseconds left until deadline (monotonic), 0 when passed. */
static int
ctl_ms_left(unsigned long long deadline)
{
	unsigned long long now = time_mono_ms();

	if (now >= deadline)
		return 0;
	return (int)(deadline - now);
}

/* Wait until fd is ready for events or deadline passes (ETIMEDOUT). */
static int
ctl_wait(int fd, short events, unsigned long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int left;

	if ((left = ctl_ms_left(deadline)) == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (poll(&pfd, 1, left) < 0 && errno != EINTR)
		return -1;
	return 0;
}

/* Write all of data before deadline; MSG_NOSIGNAL because a client that
 * went away must not kill the daemon. */
static int
ctl_send_all(int fd, const char *data, size_t len, unsigned long long deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (ctl_wait(fd, POLLOUT, deadline) != 0)
			return -1;
	}
	return 0;
}

/*
 * Read one request line into line[size] (NUL-terminated, without the
 * newline).  Returns 0, or -1 with errno: EMSGSIZE when no newline came
 * within size - 1 bytes, ETIMEDOUT, or EPROTO when the client closed
 * without a byte (a last line without its newline is accepted at EOF).
 */
static int
ctl_read_line(int fd, char *line, size_t size, unsigned long long deadline)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	for (;;) {
		if (len == size - 1) {
			errno = EMSGSIZE;
			return -1;
		}
		n = recv(fd, line + len, size - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			line[len] = '\0';
			if ((nl = memchr(line, '\n', len)) != NULL) {
				*nl = '\0';
				return 0;
			}
			continue;
		}
		if (n == 0) {
			line[len] = '\0';
			if (len == 0) {
				errno = EPROTO;
				return -1;
			}
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (ctl_wait(fd, POLLIN, deadline) != 0)
			return -1;
	}
}

/* Why id is not pending, for the "error:" answer. */
static void
ctl_explain_missing(
    struct ctl_server *srv, const char *id, char *out, size_t len)
{
	struct approval_result res;

	if (approvals_find_resolved(srv->ap, id, &res) != 0)
		snprintf(out, len,
		    "error: %s is not pending: no such held action"
		    " (it may have been decided long ago)\n",
		    id);
	else if (res.outcome == AUDIT_OUTCOME_TIMEOUT)
		snprintf(out, len,
		    "error: %s is not pending: it timed out and"
		    " was denied\n",
		    id);
	else
		snprintf(out, len,
		    "error: %s is not pending: it was already"
		    " %s (decided by %s)\n",
		    id, res.decision == DECISION_ALLOW ? "approved" : "denied",
		    audit_decider_name(res.decided_by));
}

static int
ctl_id_is_valid(const char *id)
{
	size_t i;

	if (id[0] == '\0' || strlen(id) >= 24)
		return 0;
	for (i = 0; id[i] != '\0'; i++)
		if (!isalnum((unsigned char)id[i]))
			return 0;
	return 1;
}

/* Split line on blanks into at most max words; returns the count, or
 * max + 1 when there are more. */
static int
ctl_split(char *line, char **words, int max)
{
	char *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(line, " \t\r", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return max + 1;
		words[n++] = w;
	}
	return n;
}

/*
 * Answer one request.  Returns the answer, which the caller frees.
 */
static char *
ctl_dispatch(struct ctl_server *srv, char *line, uid_t peer_uid)
{
	char *words[4], *out = NULL, *list;
	char reason[128], err[256];
	enum decision decision;
	int n, remember = 0;

	n = ctl_split(line, words, 3);
	if (n == 0)
		return xstrdup("error: empty request; try list, approve ID,"
		               " deny ID or ping\n");
	if (n == 1 && strcmp(words[0], "ping") == 0) {
		xasprintf(&out, "pong %ld\n", (long)getpid());
		return out;
	}
	if (n == 1 && strcmp(words[0], "list") == 0) {
		list = approvals_list_json(srv->ap);
		xasprintf(&out, "%s\n", list);
		free(list);
		return out;
	}
	if (strcmp(words[0], "approve") == 0)
		decision = DECISION_ALLOW;
	else if (strcmp(words[0], "deny") == 0)
		decision = DECISION_DENY;
	else
		return xstrdup("error: unknown request; try list, approve ID,"
		               " deny ID or ping\n");
	if (n < 2 || n > 3 || (n == 3 && strcmp(words[2], "remember") != 0))
		return xstrdup("error: usage: approve|deny ID [remember]\n");
	if (!ctl_id_is_valid(words[1]))
		return xstrdup("error: malformed id\n");
	remember = n == 3;

	snprintf(reason, sizeof(reason),
	    "%s by uid %lu through the control"
	    " socket%s",
	    decision == DECISION_ALLOW ? "approved" : "denied",
	    (unsigned long)peer_uid, remember ? ", remembered" : "");
	if (approvals_resolve(srv->ap, words[1], decision, AUDIT_DECIDER_HUMAN,
	        reason, remember) != 0) {
		ctl_explain_missing(srv, words[1], err, sizeof(err));
		return xstrdup(err);
	}
	return xstrdup("ok\n");
}

static void
ctl_serve_one(struct ctl_server *srv, int fd)
{
	char line[CTL_LINE_MAX];
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	unsigned long long deadline;
	char *answer = NULL;

	deadline = time_mono_ms() + CTL_IO_TIMEOUT_MS;
	/* Read first even when we will refuse: answering before the
	 * request is read would make the client see a reset, not the why. */
	if (ctl_read_line(fd, line, sizeof(line), deadline) != 0) {
		if (errno == EMSGSIZE)
			answer = xstrdup("error: request too long\n");
		else if (errno == ETIMEDOUT)
			answer =
			    xstrdup("error: timed out reading the request\n");
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) {
		answer = xstrdup("error: refused: cannot tell who is asking\n");
		goto out;
	}
	if (srv->refuse_uid != (uid_t)-1 && cred.uid == srv->refuse_uid) {
		answer = xstrdup("error: refused: the agent may not decide its"
		                 " own requests\n");
		goto out;
	}
	answer = ctl_dispatch(srv, line, cred.uid);
out:
	if (answer != NULL)
		ctl_send_all(
		    fd, answer, strlen(answer), deadline + CTL_IO_TIMEOUT_MS);
	free(answer);
}

static void *
ctl_server_main(void *arg)
{
	struct ctl_server *srv = arg;
	struct pollfd pfd[2];
	int fd;

	pfd[0].fd = srv->listen_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv->stop_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		fd = accept4(
		    srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue; /* ECONNABORTED, EMFILE...: keep serving */
		ctl_serve_one(srv, fd);
		close(fd);
	}
	return NULL;
}

/*
 * Make path free for bind(): nothing there, or a socket nobody answers
 * on.  A live daemon (connect succeeds) is EADDRINUSE; anything that is
 * not a socket is EEXIST (we never delete what we did not make).
 */
static int
ctl_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc = -1;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		errno = EADDRINUSE;
		goto out;
	}
	if (errno != ECONNREFUSED)
		goto out;
	if (unlink(path) != 0 && errno != ENOENT)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * Bind fd at sun so that the file is 0600 from its first instant.  On
 * Linux a socket's mode at bind is its inode's mode less the umask, so
 * fchmod() before bind() does it without touching the process umask
 * (which other threads share); older kernels refuse that fchmod, and only
 * then is the umask narrowed around bind().
 */
static int
ctl_bind_private(int fd, const struct sockaddr_un *sun)
{
	mode_t old;
	int rc;

	if (fchmod(fd, 0600) == 0)
		return bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	return rc;
}

struct ctl_server *
ctl_server_start(const char *path, struct approvals *ap, uid_t refuse_uid)
{
	struct ctl_server *srv;
	struct sockaddr_un sun;
	struct stat st;
	int error, is_bound = 0;

	if (path == NULL || ap == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (ctl_fill_addr(path, &sun) != 0)
		return NULL;
	srv = xcalloc(1, sizeof(*srv));
	str_copy(srv->path, path, sizeof(srv->path));
	srv->ap = ap;
	srv->refuse_uid = refuse_uid;
	srv->listen_fd = srv->stop_fd = -1;

	if (ctl_clear_stale(path, &sun) != 0)
		goto fail;
	srv->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->listen_fd < 0)
		goto fail;
	if (ctl_bind_private(srv->listen_fd, &sun) != 0)
		goto fail;
	is_bound = 1;
	/* Fail closed if the mode is not what the contract promises. */
	if (lstat(path, &st) != 0)
		goto fail;
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600) {
		errno = EPERM;
		goto fail;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (listen(srv->listen_fd, 16) != 0)
		goto fail;
	if ((srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	if ((error = pthread_create(
	         &srv->thread, NULL, ctl_server_main, srv)) != 0) {
		errno = error;
		goto fail;
	}
	return srv;

fail:
	error = errno;
	if (is_bound)
		unlink(path);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	free(srv);
	errno = error;
	return NULL;
}

void
ctl_server_stop(struct ctl_server *srv)
{
	uint64_t one = 1;
	struct stat st;

	if (srv == NULL)
		return;
	while (write(srv->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(srv->thread, NULL);
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
	    st.st_ino == srv->ino)
		unlink(srv->path);
	close(srv->listen_fd);
	close(srv->stop_fd);
	free(srv);
}

int
ctl_request(const char *path, const char *line, char **answer)
{
	struct sockaddr_un sun;
	struct buf b;
	char chunk[4096], *req = NULL;
	unsigned long long deadline;
	ssize_t n;
	int fd = -1, rc = -1, error = 0;

	*answer = NULL;
	buf_init(&b);
	if (path == NULL || line == NULL || strchr(line, '\n') != NULL) {
		error = EINVAL;
		goto out;
	}
	if (ctl_fill_addr(path, &sun) != 0) {
		error = errno;
		goto out;
	}
	deadline = time_mono_ms() + CTL_CLIENT_TIMEOUT_MS;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		error = errno;
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		error = errno;
		goto out;
	}
	xasprintf(&req, "%s\n", line);
	/* A daemon that refuses a request (too long) may close before
	 * reading all of it: its answer is still there to read. */
	if (ctl_send_all(fd, req, strlen(req), deadline) != 0 &&
	    errno != EPIPE && errno != ECONNRESET) {
		error = errno;
		goto out;
	}
	shutdown(fd, SHUT_WR);

	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			if (b.len + (size_t)n > CTL_ANSWER_MAX) {
				error = EMSGSIZE;
				goto out;
			}
			buf_add(&b, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		/* The daemon may close before reading all we sent (an
		 * oversized request): its answer is what counts. */
		if (errno == ECONNRESET && b.len > 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			error = errno;
			goto out;
		}
		if (ctl_wait(fd, POLLIN, deadline) != 0) {
			error = errno;
			goto out;
		}
	}
	*answer = buf_release(&b);
	rc = 0;
out:
	free(req);
	buf_free(&b);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		errno = error;
	return rc;
}

int
ctl_parse_uid(const char *s, uid_t *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= (unsigned long)(uid_t)-1)
		return -1;
	*out = (uid_t)v;
	return 0;
}
