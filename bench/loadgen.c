/*
 * loadgen: the load generator of bench/proxy.  Loopback only: it connects
 * to the address it is given and nowhere else.
 *
 *   loadgen requests ADDR:PORT TARGET N CONC
 *	N HTTP/1.1 GETs of TARGET (origin-form "/tiny" when ADDR:PORT is the
 *	origin, absolute-form "http://127.0.0.1:P/tiny" when it is a proxy),
 *	each on a new connection, CONC at a time.  Prints one line:
 *	"ok=N errors=N seconds=S rate=R p50_ms=X p99_ms=Y".
 *
 *   loadgen tunnels ADDR:PORT HOST:PORT N TIMEOUT
 *	Opens N connections to the proxy at ADDR:PORT, sends CONNECT
 *	HOST:PORT on each, completes a TLS handshake with the origin through
 *	every tunnel that answered 200, and leaves them idle.  Prints
 *	"ready ok=N failed=N" once all are settled (or TIMEOUT seconds have
 *	passed, or none has settled for 10 s), then holds them until its
 *	standard input closes.
 *
 * Why not wrk or ab: neither sends its requests through a proxy, and
 * neither opens idle tunnels.  Built by bench/proxy with cc; needs only
 * libc and OpenSSL.
 */
#define _GNU_SOURCE /* strcasestr */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum conn_state {
	CONN_CONNECTING,
	CONN_SENDING,
	CONN_READING,
	CONN_HANDSHAKING,
	CONN_IDLE,
	CONN_DONE,
};

struct conn {
	int fd;
	enum conn_state state;
	double started;
	size_t sent;
	char head[8192]; /* response head, up to the blank line */
	size_t head_len;
	int has_head;
	long long body_left; /* -1: until EOF */
	SSL *ssl;
};

static double
clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
addr_parse(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	/* Loopback only: this tool is for benchmarks on this machine. */
	if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		return -1;
	return 0;
}

static int
conn_open(const struct sockaddr_in *sin)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)sin, sizeof *sin) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads what is there into the response head, then counts body bytes.
 * Returns 1 when the response is complete, 0 to wait, -1 on error.
 */
static int
conn_read_response(struct conn *c)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof buf);
		if (n == -1)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			return c->has_head && c->body_left == -1 ? 1 : -1;
		if (!c->has_head) {
			size_t take = (size_t)n;
			char *end, *cl;

			if (take > sizeof c->head - 1 - c->head_len)
				take = sizeof c->head - 1 - c->head_len;
			memcpy(c->head + c->head_len, buf, take);
			c->head_len += take;
			c->head[c->head_len] = '\0';
			end = strstr(c->head, "\r\n\r\n");
			if (end == NULL) {
				if (c->head_len == sizeof c->head - 1)
					return -1;
				continue;
			}
			if (strncmp(c->head, "HTTP/1.", 7) != 0 ||
			    strncmp(c->head + 8, " 200", 4) != 0)
				return -1;
			c->has_head = 1;
			c->body_left = -1;
			cl = strcasestr(c->head, "\r\ncontent-length:");
			if (cl != NULL && cl < end)
				c->body_left = atoll(cl + 17);
			/* Body bytes that came with the head. */
			n = (ssize_t)c->head_len - (end + 4 - c->head) +
			    (n - (ssize_t)take);
		}
		if (c->body_left != -1) {
			c->body_left -= n;
			if (c->body_left <= 0)
				return 1;
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
loadgen_requests(const struct sockaddr_in *sin, const char *target, int total,
    int conc)
{
	struct epoll_event ev, evs[256];
	struct conn *conns;
	double *lat, start, deadline;
	char req[1024];
	int ep, started = 0, finished = 0, ok = 0, errors = 0, i, n;
	size_t req_len;

	req_len = (size_t)snprintf(req, sizeof req,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: airlock-loadgen\r\n"
	    "Connection: close\r\n\r\n",
	    target, "127.0.0.1");
	conns = calloc(conc, sizeof *conns);
	lat = calloc(total, sizeof *lat);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || lat == NULL || ep == -1)
		return 2;
	for (i = 0; i < conc; i++)
		conns[i].state = CONN_DONE;

	start = clock_now();
	deadline = start + 120;
	while (finished < total && clock_now() < deadline) {
		/* Keep CONC requests in flight. */
		for (i = 0; i < conc && started < total; i++) {
			struct conn *c = &conns[i];

			if (c->state != CONN_DONE)
				continue;
			memset(c, 0, sizeof *c);
			c->started = clock_now();
			started++;
			c->fd = conn_open(sin);
			if (c->fd == -1) {
				c->state = CONN_DONE;
				errors++;
				finished++;
				continue;
			}
			c->state = CONN_CONNECTING;
			ev.events = EPOLLOUT | EPOLLIN;
			ev.data.u32 = (uint32_t)i;
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		}
		n = epoll_wait(ep, evs, 256, 1000);
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			int r = 0, err = 0;
			socklen_t len = sizeof err;
			ssize_t w;

			if (c->state == CONN_CONNECTING) {
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
				    &len);
				if (err != 0)
					r = -1;
				else
					c->state = CONN_SENDING;
			}
			if (r == 0 && c->state == CONN_SENDING) {
				w = write(c->fd, req + c->sent,
				    req_len - c->sent);
				if (w == -1 && errno != EAGAIN)
					r = -1;
				else if (w > 0 &&
				    (c->sent += (size_t)w) == req_len) {
					c->state = CONN_READING;
					ev.events = EPOLLIN;
					ev.data.u32 = evs[i].data.u32;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd,
					    &ev);
				}
			}
			if (r == 0 && c->state == CONN_READING)
				r = conn_read_response(c);
			if (r == 0)
				continue;
			if (r == 1)
				lat[ok++] = clock_now() - c->started;
			else
				errors++;
			close(c->fd);
			c->state = CONN_DONE;
			finished++;
		}
	}
	errors += total - finished;
	{
		double secs = clock_now() - start;

		qsort(lat, ok, sizeof *lat, cmp_double);
		printf("ok=%d errors=%d seconds=%.4f rate=%.1f p50_ms=%.3f "
		       "p99_ms=%.3f\n",
		    ok, errors, secs, ok / secs,
		    ok ? lat[ok / 2] * 1e3 : 0.0,
		    ok ? lat[(ok * 99) / 100] * 1e3 : 0.0);
	}
	return errors == 0 ? 0 : 1;
}

/*
 * One step of a tunnel: connect, send CONNECT, read the proxy's answer,
 * handshake TLS through it.  Returns 1 when idle, 0 to wait, -1 on error.
 */
static int
tunnel_step(struct conn *c, SSL_CTX *ctx, const char *req, size_t req_len)
{
	int err = 0, r;
	socklen_t len = sizeof err;
	ssize_t w;

	if (c->state == CONN_CONNECTING) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0)
			return -1;
		c->state = CONN_SENDING;
	}
	if (c->state == CONN_SENDING) {
		w = write(c->fd, req + c->sent, req_len - c->sent);
		if (w == -1)
			return errno == EAGAIN ? 0 : -1;
		if ((c->sent += (size_t)w) < req_len)
			return 0;
		c->state = CONN_READING;
	}
	if (c->state == CONN_READING) {
		/* Read only the head: the origin speaks first after it. */
		while (!c->has_head) {
			w = read(c->fd, c->head + c->head_len, 1);
			if (w == -1)
				return errno == EAGAIN ? 0 : -1;
			if (w == 0 || ++c->head_len == sizeof c->head - 1)
				return -1;
			c->head[c->head_len] = '\0';
			if (c->head_len >= 4 &&
			    memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) ==
				0)
				c->has_head = 1;
		}
		if (strncmp(c->head, "HTTP/1.", 7) != 0 ||
		    strncmp(c->head + 8, " 200", 4) != 0)
			return -1;
		c->ssl = SSL_new(ctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
			return -1;
		SSL_set_connect_state(c->ssl);
		c->state = CONN_HANDSHAKING;
	}
	if (c->state == CONN_HANDSHAKING) {
		r = SSL_do_handshake(c->ssl);
		if (r == 1) {
			c->state = CONN_IDLE;
			return 1;
		}
		r = SSL_get_error(c->ssl, r);
		if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
			return 0;
		return -1;
	}
	return -1;
}

static int
loadgen_tunnels(const struct sockaddr_in *sin, const char *dest, int total,
    int timeout)
{
	struct epoll_event ev, evs[256];
	struct conn *conns;
	SSL_CTX *ctx;
	char req[512], buf[64];
	size_t req_len;
	double deadline, progress;
	int ep, started = 0, settled = 0, ok = 0, failed = 0, pending, i, n;

	req_len = (size_t)snprintf(req, sizeof req,
	    "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", dest, dest);
	ctx = SSL_CTX_new(TLS_client_method());
	conns = calloc(total, sizeof *conns);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ctx == NULL || conns == NULL || ep == -1)
		return 2;
	/* The origin's certificate is the benchmark's own: not checked. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	deadline = clock_now() + timeout;
	progress = clock_now();
	/* Stop at the deadline, or when nothing has moved for 10 s (a proxy
	 * out of file descriptors leaves the rest in its backlog). */
	while (settled < total && clock_now() < deadline &&
	    clock_now() < progress + 10) {
		/* At most 200 in progress, so as not to overflow a backlog. */
		pending = started - settled;
		for (; pending < 200 && started < total; pending++) {
			struct conn *c = &conns[started];

			c->fd = conn_open(sin);
			if (c->fd == -1) {
				c->state = CONN_DONE;
				failed++;
				settled++;
				started++;
				continue;
			}
			c->state = CONN_CONNECTING;
			ev.events = EPOLLOUT | EPOLLIN;
			ev.data.u32 = (uint32_t)started;
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			started++;
		}
		n = epoll_wait(ep, evs, 256, 200);
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			int r;

			if (c->state == CONN_IDLE || c->state == CONN_DONE)
				continue;
			r = tunnel_step(c, ctx, req, req_len);
			if (r == 0) {
				ev.events = EPOLLIN;
				if (c->state == CONN_CONNECTING ||
				    c->state == CONN_SENDING ||
				    (c->ssl != NULL && SSL_want_write(c->ssl)))
					ev.events |= EPOLLOUT;
				ev.data.u32 = evs[i].data.u32;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			progress = clock_now();
			if (r == 1) {
				ok++;
			} else {
				c->state = CONN_DONE;
				close(c->fd);
				failed++;
			}
			settled++;
		}
	}
	printf("ready ok=%d failed=%d\n", ok, total - ok);
	fflush(stdout);
	/* Hold the tunnels until told to let go. */
	while (read(STDIN_FILENO, buf, sizeof buf) > 0)
		;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc == 6 && strcmp(argv[1], "requests") == 0 &&
	    addr_parse(argv[2], &sin) == 0)
		return loadgen_requests(&sin, argv[3], atoi(argv[4]),
		    atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "tunnels") == 0 &&
	    addr_parse(argv[2], &sin) == 0)
		return loadgen_tunnels(&sin, argv[3], atoi(argv[4]),
		    atoi(argv[5]));
	fprintf(stderr,
	    "usage: loadgen requests 127.x.x.x:PORT TARGET N CONC\n"
	    "       loadgen tunnels 127.x.x.x:PORT HOST:PORT N TIMEOUT\n");
	return 2;
}
