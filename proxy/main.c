/*
 * airlock-proxy: the agent's only way to the network.  See
 * airlock-proxy(8).
 *
 * Start-up order matters: bind first (so that a port clash is a clear
 * start-up error, and a --daemon parent can print the real ports), fork,
 * then start every thread (threads do not survive fork) with the signals
 * blocked, so that only the main thread's sigwait() sees them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/thread.h>

#include "approval.h"
#include "audit.h"
#include "conn.h"
#include "ctl.h"
#include "lookup.h"
#include "otlp_attach.h"
#include "policy.h"
#include "proxy.h"
#include "sandbox.h"
#include "sentinel.h"
#include "session.h"
#include "util.h"

/* dir/name into out; -1 (ENAMETOOLONG) when it does not fit. */
static int
main_path(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock-proxy [--policy FILE] [--listen ADDR:PORT | "
	    "--listen unix:PATH | --listen fd:N]...\n"
	    "                     [--session DIR] [--threads N] [--daemon] "
	    "[--audit FILE]\n"
	    "                     [--max-conns N] [--resolv-conf FILE] "
	    "[--nameserver ADDR:PORT]\n"
	    "                     [--hosts FILE] [--ca-dir DIR] "
	    "[--header-timeout T] [--idle-timeout T]\n"
	    "                     [--connect-timeout T] [--peek-timeout T] "
	    "[--drain-timeout T]\n"
	    "                     [--relay auto|splice|copy]  (how bytes "
	    "move)\n"
	    "                     [--agent-uid UID]  (refused on proxy.sock)\n"
	    "                     [--secrets-fd N]  (the secrets' values, "
	    "from a pipe)\n"
	    "                     [--no-seccomp]  (debugging)\n"
	    "Times are seconds, or take an \"ms\" suffix.  See "
	    "airlock-proxy(8).\n");
}

/* "10", "2.5", "10s", "500ms" -> milliseconds.  Returns 0 or -1. */
static int
main_parse_ms(const char *s, unsigned *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else
		return -1;
	if (v > 86400000.0 * 7)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
main_parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v == 0 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void
main_raise_nofile(void)
{
	struct rlimit rl;

	/* Each tunnel holds two sockets and up to four pipe ends. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct policy *
main_load_policy(const char *file)
{
	struct policy_error err;
	struct policy *pol;

	if ((pol = policy_load(file, &err)) == NULL)
		fprintf(stderr, "airlock-proxy: %s\n",
		    err.text[0] != '\0' ? err.text : "cannot load the policy");
	return pol;
}

/* Write SESSION/proxy.pid (0600). */
static void
main_write_pid(const char *session_dir)
{
	char path[PATH_MAX];
	FILE *f;
	int fd;

	if (main_path(path, sizeof path, session_dir, "proxy.pid") != 0)
		return;
	fd = open(
	    path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		fprintf(
		    stderr, "airlock-proxy: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/*
 * --daemon: fork; the parent waits until the child says it is serving,
 * prints the listening lines and exits 0 (or 2 when the child failed).
 * Returns in the child with *ready_fd set to the pipe to report on.
 */
static void
main_daemonize(struct proxy *p, int *ready_fd)
{
	int fds[2], i, devnull;
	char ok;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		perror("airlock-proxy: pipe");
		exit(2);
	}
	pid = fork();
	if (pid < 0) {
		perror("airlock-proxy: fork");
		exit(2);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &ok, 1) != 1 || ok != '1')
			exit(2);
		for (i = 0; i < p->n_listen; i++)
			printf("airlock-proxy: listening on %s\n",
			    p->listen[i].text);
		fflush(stdout);
		exit(0);
	}
	close(fds[0]);
	*ready_fd = fds[1];
	(void)setsid();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
}

static int
main_open_session(struct proxy *p, const char *session_dir)
{
	const struct policy_settings *set = policy_settings(p->policy->pol);
	char path[PATH_MAX];
	const char *audit_path = p->cfg.audit_file;

	p->approvals = approvals_new("p", set->hold_timeout_ms);
	if (p->approvals == NULL) {
		fprintf(stderr, "airlock-proxy: cannot set up approvals\n");
		return -1;
	}
	if (session_dir != NULL) {
		p->session_id = session_id_of(session_dir);
		if (main_path(path, sizeof path, session_dir, "proxy.sock") ==
		    0)
			p->ctl = ctl_server_start(
			    path, p->approvals, p->cfg.agent_uid);
		if (p->ctl == NULL) {
			fprintf(stderr, "airlock-proxy: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		if (audit_path == NULL) {
			if (main_path(path, sizeof path, session_dir,
			        "audit.jsonl") != 0) {
				perror("airlock-proxy: audit.jsonl");
				return -1;
			}
			audit_path = path;
		}
	} else {
		fprintf(stderr,
		    "airlock-proxy: no --session: no control "
		    "socket, so held requests can only time out (after %u s)\n",
		    set->hold_timeout_ms / 1000);
	}
	if (audit_path != NULL) {
		p->audit = audit_open(audit_path,
		    p->session_id != NULL ? p->session_id : "", 4096);
		if (p->audit == NULL) {
			fprintf(stderr, "airlock-proxy: audit %s: %s\n",
			    audit_path, strerror(errno));
			return -1;
		}
		/* The proxy does not know the project: the session id
		 * joins its records to airlock-fs's. */
		if (otlp_attach(p->audit, p->policy->pol, AUDIT_COMPONENT_PROXY,
		        p->session_id, NULL, &p->otlp) != 0)
			return -1;
	}
	/* the policy at start names the reviewer; a reload keeps it */
	if (approvals_set_reviewer(p->approvals, p->policy->pol, p->audit,
	        AUDIT_COMPONENT_PROXY, p->session_id) != 0) {
		fprintf(stderr, "airlock-proxy: review: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* The thread that names held requests' callers (lookup.h): a thread, so
 * started before sandbox_lockdown(), and with the signals blocked. */
static int
main_start_lookup(struct proxy *p)
{
	p->lookup = lookup_start();
	if (p->lookup == NULL) {
		fprintf(stderr, "airlock-proxy: lookup thread: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Serve signals until SIGTERM or SIGINT. */
static void
main_wait_signals(struct proxy *p, const sigset_t *set)
{
	struct policy *pol;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			pol = main_load_policy(p->cfg.policy_file);
			if (pol == NULL) {
				fprintf(stderr,
				    "airlock-proxy: reload failed; "
				    "the previous policy stays\n");
				continue;
			}
			/* The values came once, at start: a policy that no
			 * longer names each of them cannot govern them. */
			if (!secret_set_fits(&p->secrets, pol)) {
				fprintf(stderr,
				    "airlock-proxy: reload refused: the new "
				    "policy has fewer secrets than "
				    "--secrets-fd "
				    "gave; the previous policy stays\n");
				policy_free(pol);
				continue;
			}
			proxy_policy_swap(p, pol);
			(void)intercept_prepare(p);
			fprintf(stderr, "airlock-proxy: policy reloaded (%s)\n",
			    p->cfg.policy_file != NULL ? p->cfg.policy_file
			                               : "built-in default");
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			return;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "session", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "audit", required_argument, NULL, 'a' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "resolv-conf", required_argument, NULL, 'r' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "ca-dir", required_argument, NULL, 'c' },
		{ "header-timeout", required_argument, NULL, 1 },
		{ "idle-timeout", required_argument, NULL, 2 },
		{ "connect-timeout", required_argument, NULL, 3 },
		{ "peek-timeout", required_argument, NULL, 4 },
		{ "drain-timeout", required_argument, NULL, 5 },
		{ "agent-uid", required_argument, NULL, 'u' },
		{ "no-seccomp", no_argument, NULL, 6 },
		{ "secrets-fd", required_argument, NULL, 7 },
		{ "relay", required_argument, NULL, 8 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct proxy proxy;
	struct proxy *p = &proxy;
	const char *listen_specs[PROXY_MAX_LISTEN];
	const char *session_arg = NULL;
	char session_dir[PATH_MAX], ca_dir[PATH_MAX];
	struct policy *pol;
	sigset_t sigs;
	int n_listen = 0, ch, ready_fd = -1, i, ok, no_seccomp = 0;
	int secrets_fd = -1;
	unsigned *timeout, fd_arg;
	long nproc;

	nproc = sysconf(_SC_NPROCESSORS_ONLN);
	p->cfg.n_threads = nproc > 0 ? (nproc > 64 ? 64 : (int)nproc) : 1;
	p->cfg.max_conns = 16384;
	p->cfg.header_timeout_ms = 10000;
	p->cfg.idle_timeout_ms = 300000;
	p->cfg.connect_timeout_ms = 10000;
	p->cfg.peek_timeout_ms = 3000;
	p->cfg.drain_timeout_ms = 10000;
	p->cfg.agent_uid = (uid_t)-1;
	while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		timeout = NULL;
		switch (ch) {
		case 'p':
			p->cfg.policy_file = optarg;
			break;
		case 'l':
			if (n_listen == PROXY_MAX_LISTEN) {
				fprintf(stderr,
				    "airlock-proxy: too many "
				    "--listen\n");
				return 2;
			}
			listen_specs[n_listen++] = optarg;
			break;
		case 's':
			session_arg = optarg;
			break;
		case 'u':
			if (ctl_parse_uid(optarg, &p->cfg.agent_uid) != 0) {
				fprintf(stderr,
				    "airlock-proxy: --agent-uid %s: expected "
				    "a uid\n",
				    optarg);
				return 2;
			}
			break;
		case 't':
			if (main_parse_uint(optarg, 64,
			        (unsigned *)&p->cfg.n_threads) != 0) {
				fprintf(
				    stderr, "airlock-proxy: --threads 1..64\n");
				return 2;
			}
			break;
		case 'd':
			p->cfg.is_daemon = 1;
			break;
		case 'a':
			p->cfg.audit_file = optarg;
			break;
		case 'm':
			if (main_parse_uint(
			        optarg, 1000000, &p->cfg.max_conns) != 0) {
				fprintf(
				    stderr, "airlock-proxy: bad --max-conns\n");
				return 2;
			}
			break;
		case 'r':
			p->cfg.resolv_conf = optarg;
			break;
		case 'n':
			p->cfg.nameserver = optarg;
			break;
		case 'H':
			p->cfg.hosts_file = optarg;
			break;
		case 'c':
			p->cfg.ca_dir = optarg;
			break;
		case 1:
			timeout = &p->cfg.header_timeout_ms;
			break;
		case 2:
			timeout = &p->cfg.idle_timeout_ms;
			break;
		case 3:
			timeout = &p->cfg.connect_timeout_ms;
			break;
		case 4:
			timeout = &p->cfg.peek_timeout_ms;
			break;
		case 5:
			timeout = &p->cfg.drain_timeout_ms;
			break;
		case 6:
			no_seccomp = 1;
			break;
		case 7:
			if (main_parse_uint(optarg, INT_MAX, &fd_arg) != 0 ||
			    fd_arg <= STDERR_FILENO) {
				fprintf(stderr,
				    "airlock-proxy: --secrets-fd %s: expected "
				    "a file descriptor above 2\n",
				    optarg);
				return 2;
			}
			secrets_fd = (int)fd_arg;
			break;
		case 8:
			if (strcmp(optarg, "auto") == 0)
				p->cfg.relay = PROXY_RELAY_AUTO;
			else if (strcmp(optarg, "splice") == 0)
				p->cfg.relay = PROXY_RELAY_SPLICE;
			else if (strcmp(optarg, "copy") == 0)
				p->cfg.relay = PROXY_RELAY_COPY;
			else {
				fprintf(stderr,
				    "airlock-proxy: --relay %s: expected auto, "
				    "splice or copy\n",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			main_usage(stdout);
			return 0;
		case 'V':
			printf("airlock-proxy %s\n", PACKAGE_VERSION);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
		if (timeout != NULL &&
		    (main_parse_ms(optarg, timeout) != 0 || *timeout == 0)) {
			fprintf(
			    stderr, "airlock-proxy: bad time '%s'\n", optarg);
			return 2;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 2;
	}
	if (n_listen == 0)
		listen_specs[n_listen++] = "127.0.0.1:3128";

	signal(SIGPIPE, SIG_IGN);
	main_raise_nofile();
	/* Forwarded bodies pass through 256 KiB buffers that are freed and
	 * allocated again all the time: keep that memory mapped instead of
	 * handing it back to the kernel (and faulting it in again) each
	 * time. */
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "airlock-proxy: libevent lacks pthreads\n");
		return 2;
	}
	pthread_mutex_init(&p->policy_lock, NULL);
	pol = main_load_policy(p->cfg.policy_file);
	if (pol == NULL)
		return 2;
	proxy_policy_swap(p, pol);
	secret_set_init(&p->secrets);
	if (secrets_fd >= 0 && sentinel_load(p, pol, secrets_fd) != 0)
		return 2;
	if (session_arg != NULL) {
		if (session_resolve(
		        session_arg, session_dir, sizeof session_dir) != 0) {
			fprintf(stderr, "airlock-proxy: session %s: %s\n",
			    session_arg, strerror(errno));
			return 2;
		}
		if (p->cfg.ca_dir == NULL &&
		    main_path(ca_dir, sizeof ca_dir, session_dir, "ca") == 0)
			p->cfg.ca_dir = ca_dir;
	}
	intercept_init();
	if (listener_bind_all(p, listen_specs, n_listen) != 0)
		return 2;
	if (p->cfg.is_daemon)
		main_daemonize(p, &ready_fd);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ok = main_open_session(p, session_arg != NULL ? session_dir : NULL) ==
	        0 &&
	    intercept_prepare(p) == 0 && main_start_lookup(p) == 0 &&
	    listener_start_workers(p) == 0 &&
	    sandbox_lockdown(&(struct sandbox_profile){
	        .daemon = SANDBOX_PROXY, .no_seccomp = no_seccomp }) == 0;
	if (!ok) {
		if (ready_fd >= 0)
			(void)!write(ready_fd, "0", 1);
		return 2;
	}
	if (p->cfg.is_daemon && session_arg != NULL)
		main_write_pid(session_dir);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "1", 1);
		close(ready_fd);
	} else {
		for (i = 0; i < p->n_listen; i++)
			printf("airlock-proxy: listening on %s\n",
			    p->listen[i].text);
		fflush(stdout);
	}

	main_wait_signals(p, &sigs);

	fprintf(stderr, "airlock-proxy: stopping: draining open requests\n");
	/* first, so that no answer arrives in a worker's inbox once its loop
	 * ended; a hold from now on names no process */
	lookup_stop(p->lookup);
	listener_stop_workers(p);
	listener_join_workers(p);
	lookup_free(p->lookup);
	if (p->ctl != NULL)
		ctl_server_stop(p->ctl);
	approvals_free(p->approvals);
	if (p->audit != NULL)
		otlp_detach_close(p->audit, p->otlp);
	secret_set_free(&p->secrets);
	if (p->cfg.is_daemon && session_arg != NULL) {
		char path[PATH_MAX];

		if (main_path(path, sizeof path, session_dir, "proxy.pid") == 0)
			(void)unlink(path);
	}
	return 0;
}
