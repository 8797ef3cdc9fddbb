/*
 * session_dir: session directories and their session.json.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "fs/stage.h"
#include "session_dir.h"
#include "util.h"

int
session_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= SESSION_ID_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return 0;
	return 1;
}

/* mkdir -p for the state dir's parents (0700 for what we create). */
static int
session_mkdirs(const char *path)
{
	char tmp[PATH_MAX], *p;

	if (str_copy(tmp, path, sizeof tmp) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
session_dir_create(const char *name, struct session_info *si)
{
	char state[PATH_MAX], base[PATH_MAX];
	unsigned char rnd[2];
	struct tm tm;
	time_t now;
	int n;

	memset(si, 0, sizeof *si);
	si->agent_uid = -1;
	if (session_state_dir(state, sizeof state) != 0)
		return -1;
	n = snprintf(base, sizeof base, "%s/sessions", state);
	if (n < 0 || (size_t)n >= sizeof base) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (session_mkdirs(base) != 0)
		return -1;
	si->created_ns = time_wall_ns();
	time_format_rfc3339(si->created_ns, si->created, sizeof si->created);
	if (name != NULL) {
		if (!session_name_valid(name)) {
			errno = EINVAL;
			return -1;
		}
		str_copy(si->id, name, sizeof si->id);
	} else {
		now = (time_t)(si->created_ns / 1000000000ULL);
		gmtime_r(&now, &tm);
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			return -1;
		snprintf(si->id, sizeof si->id,
		    "%04d%02d%02d-%02d%02d%02d-%02x%02x", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    rnd[0], rnd[1]);
	}
	n = snprintf(si->dir, sizeof si->dir, "%s/%s", base, si->id);
	if (n < 0 || (size_t)n >= sizeof si->dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(si->mountpoint, sizeof si->mountpoint, "%s/view", si->dir);
	if (n < 0 || (size_t)n >= sizeof si->mountpoint) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* EEXIST here is the name being taken: never reuse a session */
	if (mkdir(si->dir, 0700) != 0)
		return -1;
	if (chmod(si->dir, 0700) != 0 || mkdir(si->mountpoint, 0700) != 0)
		return -1;
	str_copy(si->state, "running", sizeof si->state);
	return 0;
}

/*
 * A small file (a pid file, /proc/PID/stat) into buf, NUL-terminated.
 * Returns its length, or 0 when it cannot be opened, read, or is empty.
 */
static size_t
session_read_small(const char *path, int flags, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | flags)) < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}

/*
 * When pid started, in clock ticks after boot (field 22 of
 * /proc/PID/stat), or 0.  With the pid, it names one process for good:
 * a pid alone may be recycled once its process is gone.
 */
static unsigned long long
session_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	int field;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (session_read_small(path, 0, buf, sizeof buf) == 0)
		return 0;
	/* the command name (field 2) may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
		start = strtoull(p, NULL, 10);
	return start;
}

static void
session_json_str(struct buf *b, const char *key, const char *val, int last)
{
	buf_addf(b, "  \"%s\": ", key);
	buf_add_json_string(b, val);
	buf_adds(b, last ? "\n" : ",\n");
}

int
session_info_write(const struct session_info *si)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	struct buf b;
	size_t off = 0;
	ssize_t w;
	int fd = -1, rc = -1, saved;

	buf_init(&b);
	snprintf(tmp, sizeof tmp, "%s/session.json.tmp", si->dir);
	snprintf(path, sizeof path, "%s/session.json", si->dir);
	buf_adds(&b, "{\n");
	session_json_str(&b, "id", si->id, 0);
	session_json_str(&b, "project", si->project, 0);
	session_json_str(&b, "mountpoint", si->mountpoint, 0);
	session_json_str(&b, "policy", si->policy, 0);
	session_json_str(&b, "policy_hash", si->policy_hash, 0);
	buf_addf(&b, "  \"isolated\": %d,\n", si->isolated ? 1 : 0);
	buf_addf(&b, "  \"agent_uid\": %ld,\n", si->agent_uid);
	buf_addf(&b, "  \"fs_pid\": %ld,\n", (long)si->fs_pid);
	buf_addf(&b, "  \"proxy_pid\": %ld,\n", (long)si->proxy_pid);
	buf_addf(&b, "  \"agent_pid\": %ld,\n", (long)si->agent_pid);
	buf_addf(&b, "  \"agent_start\": %llu,\n",
	    si->agent_pid > 0
	        ? (si->agent_start != 0 ? si->agent_start
	                                : session_proc_start(si->agent_pid))
	        : 0ULL);
	session_json_str(&b, "proxy_listen", si->proxy_listen, 0);
	session_json_str(&b, "state", si->state, 0);
	session_json_str(&b, "created", si->created, 0);
	buf_addf(&b, "  \"created_ns\": %llu\n}\n", si->created_ns);

	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	while (off < b.len) {
		w = write(fd, b.data + off, b.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		(void)unlink(tmp);
	buf_free(&b);
	errno = saved;
	return rc;
}

/* Decode the JSON string at p (after the opening quote) into out. */
static int
session_json_decode(const char *p, char *out, size_t len)
{
	size_t n = 0;
	unsigned int v;
	char c;

	for (; *p != '"'; p++) {
		if (*p == '\0')
			return -1;
		c = *p;
		if (c == '\\') {
			switch (*++p) {
			case '"':
			case '\\':
			case '/':
				c = *p;
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				if (sscanf(p + 1, "%4x", &v) != 1 || v == 0 ||
				    v > 0xff)
					return -1;
				c = (char)v;
				p += 4;
				break;
			default:
				return -1;
			}
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

int
session_info_read(const char *dir, struct session_info *si)
{
	char path[PATH_MAX + 32], line[PATH_MAX * 2], key[32], *p, *q;
	FILE *f;
	long v;
	int rc = -1, seen = 0;

	memset(si, 0, sizeof *si);
	si->agent_uid = -1;
	str_copy(si->dir, dir, sizeof si->dir);
	str_copy(si->id, session_id_of(dir), sizeof si->id);
	snprintf(path, sizeof path, "%s/session.json", dir);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		p = line;
		while (*p == ' ')
			p++;
		if (*p != '"')
			continue;
		q = strchr(p + 1, '"');
		if (q == NULL || (size_t)(q - p - 1) >= sizeof key)
			goto bad;
		memcpy(key, p + 1, (size_t)(q - p - 1));
		key[q - p - 1] = '\0';
		p = q + 1;
		if (*p++ != ':')
			goto bad;
		while (*p == ' ')
			p++;
		if (*p == '"') {
			char *dst = NULL;
			size_t len = 0;

			if (strcmp(key, "project") == 0)
				dst = si->project, len = sizeof si->project;
			else if (strcmp(key, "mountpoint") == 0)
				dst = si->mountpoint,
				len = sizeof si->mountpoint;
			else if (strcmp(key, "policy") == 0)
				dst = si->policy, len = sizeof si->policy;
			else if (strcmp(key, "policy_hash") == 0)
				dst = si->policy_hash,
				len = sizeof si->policy_hash;
			else if (strcmp(key, "proxy_listen") == 0)
				dst = si->proxy_listen,
				len = sizeof si->proxy_listen;
			else if (strcmp(key, "state") == 0)
				dst = si->state, len = sizeof si->state;
			else if (strcmp(key, "created") == 0)
				dst = si->created, len = sizeof si->created;
			if (dst != NULL &&
			    session_json_decode(p + 1, dst, len) != 0)
				goto bad;
			seen++;
			continue;
		}
		if (strcmp(key, "created_ns") == 0) {
			si->created_ns = strtoull(p, NULL, 10);
			continue;
		}
		if (strcmp(key, "agent_start") == 0) {
			si->agent_start = strtoull(p, NULL, 10);
			continue;
		}
		v = strtol(p, NULL, 10);
		if (strcmp(key, "isolated") == 0)
			si->isolated = v != 0;
		else if (strcmp(key, "agent_uid") == 0)
			si->agent_uid = v >= 0 && v < (long)UINT32_MAX ? v : -1;
		else if (strcmp(key, "fs_pid") == 0)
			si->fs_pid = (pid_t)v;
		else if (strcmp(key, "proxy_pid") == 0)
			si->proxy_pid = (pid_t)v;
		else if (strcmp(key, "agent_pid") == 0)
			si->agent_pid = (pid_t)v;
	}
	if (seen == 0 || si->project[0] != '/' || si->state[0] == '\0')
		goto bad;
	rc = 0;
	goto out;
bad:
	errno = EBADMSG;
out:
	fclose(f);
	return rc;
}

pid_t
session_pid_alive(const char *dir, const char *name)
{
	char path[PATH_MAX + 32], buf[32], cmd[256];
	long pid;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (session_read_small(path, O_NOFOLLOW, buf, sizeof buf) == 0)
		return 0;
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	/* a pid file outliving its daemon (kill -9) may name a recycled
	 * pid: only an airlock daemon counts */
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if (session_read_small(path, 0, cmd, sizeof cmd) == 0)
		return 0;
	if (strstr(cmd, "airlock-") == NULL)
		return 0;
	return (pid_t)pid;
}

int
session_agent_alive(const struct session_info *si)
{
	char path[64], state = '\0', buf[1024], *p;

	if (si->agent_pid <= 1 ||
	    (kill(si->agent_pid, 0) != 0 && errno != EPERM))
		return 0;
	if (si->agent_start != 0 &&
	    session_proc_start(si->agent_pid) != si->agent_start)
		return 0; /* another process got the pid */
	/* a zombie waits for `airlock run` to reap it: it runs no more */
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)si->agent_pid);
	if (session_read_small(path, 0, buf, sizeof buf) == 0)
		return 0;
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		state = p[2];
	return state != 'Z' && state != 'X';
}

const char *
session_state_now(const struct session_info *si)
{
	if (strcmp(si->state, "running") != 0)
		return si->state;
	if (session_pid_alive(si->dir, "fs.pid") == 0 ||
	    session_pid_alive(si->dir, "proxy.pid") == 0)
		return "stale";
	return "running";
}

/* Where a daemon binary is: the override, next to us, else PATH. */
static void
session_find_binary(const char *name, const char *env, char *out, size_t len)
{
	static const char *const rel[] = { "", "/../sbin", "/../fs",
		"/../proxy" };
	char self[PATH_MAX], *slash;
	const char *o = getenv(env);
	size_t i;
	ssize_t n;

	if (o != NULL && o[0] != '\0') {
		str_copy(out, o, len);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			int m =
			    snprintf(out, len, "%s%s/%s", self, rel[i], name);

			if (m > 0 && (size_t)m < len && access(out, X_OK) == 0)
				return;
		}
	}
	str_copy(out, name, len);
}

/* Print the tail of a daemon's log after it failed to start. */
static void
session_show_log(const char *dir, const char *name, const char *cmd)
{
	char path[PATH_MAX + 32], line[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		fprintf(stderr, "airlock %s: %s", cmd, line);
	fclose(f);
}

/*
 * Run a --daemon argv with stderr into SESSION/log; its stdout into
 * out (when out != NULL).  Returns the exit status of the foreground
 * half, or -1.
 */
static uid_t session_spawn_uid = (uid_t)-1;
static gid_t session_spawn_gid = (gid_t)-1;

void
session_spawn_as(uid_t uid, gid_t gid)
{
	session_spawn_uid = uid;
	session_spawn_gid = gid;
}

static int
session_spawn(const char *dir, const char *log, char *const argv[], char *out,
    size_t out_len, int keep_fd)
{
	char path[PATH_MAX + 32];
	int lfd, pfd[2] = { -1, -1 }, status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	snprintf(path, sizeof path, "%s/%s", dir, log);
	lfd = open(
	    path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd < 0)
		return -1;
	if (out != NULL && pipe2(pfd, O_CLOEXEC) != 0) {
		close(lfd);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, STDIN_FILENO);
		dup2(out != NULL ? pfd[1] : nul, STDOUT_FILENO);
		dup2(lfd, STDERR_FILENO);
		/* inherited by this one program only (argv names it) */
		if (keep_fd > STDERR_FILENO && fcntl(keep_fd, F_SETFD, 0) != 0)
			_exit(126);
		if (session_spawn_uid != (uid_t)-1 &&
		    (setgroups(0, NULL) != 0 ||
		        setgid(session_spawn_gid) != 0 ||
		        setuid(session_spawn_uid) != 0)) {
			fprintf(stderr, "%s: cannot run as uid %u: %s\n",
			    argv[0], (unsigned)session_spawn_uid,
			    strerror(errno));
			_exit(126);
		}
		/* a bare name is looked up on PATH only, never in the
		 * current directory (by default, the project) */
		if (strchr(argv[0], '/') != NULL)
			execv(argv[0], argv);
		else
			execvp(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(lfd);
	if (out != NULL) {
		close(pfd[1]);
		while (pid > 0 &&
		    (r = read(pfd[0], out + n, out_len - 1 - n)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			n += (size_t)r;
			if (n == out_len - 1)
				break;
		}
		out[n] = '\0';
		close(pfd[0]);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The arguments both daemons take from the session, appended to argv at
 * n (room for 8 more); uid is the caller's buffer for --agent-uid.
 * Returns the new count, argv NULL-terminated.
 */
static int
session_daemon_args(const struct session_info *si, const char **argv, int n,
    char *uid, size_t uid_len)
{
	argv[n++] = "--session";
	argv[n++] = si->dir;
	if (si->policy[0] != '\0') {
		argv[n++] = "--policy";
		argv[n++] = si->policy;
	}
	if (si->agent_uid >= 0) {
		snprintf(uid, uid_len, "%ld", si->agent_uid);
		argv[n++] = "--agent-uid";
		argv[n++] = uid;
	}
	argv[n++] = "--daemon";
	argv[n] = NULL;
	return n;
}

int
session_start_fs(struct session_info *si, const char *cmd)
{
	char bin[PATH_MAX], uid[24];
	const char *argv[14];
	int n = 0, rc;

	session_find_binary("airlock-fs", "AIRLOCK_FS", bin, sizeof bin);
	argv[n++] = bin;
	argv[n++] = "--project";
	argv[n++] = si->project;
	argv[n++] = "--mount";
	argv[n++] = si->mountpoint;
	n = session_daemon_args(si, argv, n, uid, sizeof uid);
	rc = session_spawn(si->dir, "fs.log", (char *const *)argv, NULL, 0, -1);
	if (rc != 0) {
		session_show_log(si->dir, "fs.log", cmd);
		fprintf(stderr,
		    "airlock %s: airlock-fs (%s) failed to mount "
		    "%s (status %d)\n",
		    cmd, bin, si->mountpoint, rc);
		return -1;
	}
	si->fs_pid = session_pid_alive(si->dir, "fs.pid");
	if (si->fs_pid == 0) {
		fprintf(stderr,
		    "airlock %s: airlock-fs started but wrote no "
		    "live pid in %s/fs.pid\n",
		    cmd, si->dir);
		return -1;
	}
	return 0;
}

int
session_start_proxy(struct session_info *si, const char *cmd, const char *spec)
{
	return session_start_proxy_secrets(si, cmd, spec, -1);
}

int
session_start_proxy_secrets(
    struct session_info *si, const char *cmd, const char *spec, int secrets_fd)
{
	char bin[PATH_MAX], out[4096], uid[24], sfd[24], *p, *e;
	const char *argv[16];
	int n = 0, rc;

	if (secrets_fd >= 0 && secrets_fd <= STDERR_FILENO) {
		fprintf(stderr, "airlock %s: the secrets' pipe is fd %d\n", cmd,
		    secrets_fd);
		return -1;
	}
	session_find_binary("airlock-proxy", "AIRLOCK_PROXY", bin, sizeof bin);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = spec;
	if (secrets_fd >= 0) {
		snprintf(sfd, sizeof sfd, "%d", secrets_fd);
		argv[n++] = "--secrets-fd";
		argv[n++] = sfd;
	}
	n = session_daemon_args(si, argv, n, uid, sizeof uid);
	rc = session_spawn(si->dir, "proxy.log", (char *const *)argv, out,
	    sizeof out, secrets_fd);
	if (rc != 0) {
		session_show_log(si->dir, "proxy.log", cmd);
		fprintf(stderr,
		    "airlock %s: airlock-proxy (%s) failed to start"
		    " (status %d)\n",
		    cmd, bin, rc);
		return -1;
	}
	si->proxy_listen[0] = '\0';
	if ((p = strstr(out, "listening on ")) != NULL) {
		p += strlen("listening on ");
		if ((e = strchr(p, '\n')) != NULL)
			*e = '\0';
		str_copy(si->proxy_listen, p, sizeof si->proxy_listen);
	}
	si->proxy_pid = session_pid_alive(si->dir, "proxy.pid");
	if (si->proxy_pid == 0) {
		fprintf(stderr,
		    "airlock %s: airlock-proxy started but wrote no"
		    " live pid in %s/proxy.pid\n",
		    cmd, si->dir);
		return -1;
	}
	return 0;
}

int
session_is_mounted(const char *mnt)
{
	char parent[PATH_MAX], *slash;
	struct stat a, b;

	if (stat(mnt, &a) != 0)
		return errno == ENOTCONN || errno == EIO;
	if (str_copy(parent, mnt, sizeof parent) >= sizeof parent ||
	    (slash = strrchr(parent, '/')) == NULL)
		return 0;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &b) != 0)
		return 0;
	return a.st_dev != b.st_dev;
}

/* Alive and not a zombie (an orphaned daemon is reaped by whatever pid 1
 * is, which in a container may never happen). */
static int
session_proc_live(pid_t pid)
{
	char path[64], c;
	ssize_t n;
	int fd;

	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, &c, 1);
	close(fd);
	return n == 1;
}

/* SIGTERM, then wait up to timeout_ms; SIGKILL when it is still there. */
static int
session_kill_wait(pid_t pid, unsigned long long timeout_ms)
{
	unsigned long long end = time_mono_ms() + timeout_ms;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int killed = 0;

	if (pid <= 1)
		return 0;
	if (kill(pid, SIGTERM) != 0)
		return errno == ESRCH ? 0 : -1;
	while (session_proc_live(pid)) {
		if (time_mono_ms() > end) {
			if (killed) {
				errno = ETIMEDOUT;
				return -1;
			}
			(void)kill(pid, SIGKILL);
			killed = 1;
			end = time_mono_ms() + 2000;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* An ordinary user's view (airlock-fs killed before it unmounted): only
 * fusermount3, setuid, may take it down.  0 when it did. */
static int
session_fusermount_u(const char *mnt)
{
	int status, e = errno;
	pid_t pid;

	if (geteuid() == 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", "-u", "-q", "-z", "--",
		    mnt, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	errno = e;
	return -1;
}

int
session_stop(struct session_info *si, const char *cmd)
{
	pid_t pid;
	int rc = 0;

	if ((pid = session_pid_alive(si->dir, "proxy.pid")) != 0 &&
	    session_kill_wait(pid, 5000) != 0) {
		fprintf(stderr,
		    "airlock %s: cannot stop airlock-proxy (pid "
		    "%ld): %s\n",
		    cmd, (long)pid, strerror(errno));
		rc = -1;
	}
	/* airlock-fs unmounts on SIGTERM once its open requests are done */
	if ((pid = session_pid_alive(si->dir, "fs.pid")) != 0 &&
	    session_kill_wait(pid, 10000) != 0) {
		fprintf(stderr,
		    "airlock %s: cannot stop airlock-fs (pid %ld):"
		    " %s\n",
		    cmd, (long)pid, strerror(errno));
		rc = -1;
	}
	if (si->mountpoint[0] != '\0' && session_is_mounted(si->mountpoint) &&
	    umount2(si->mountpoint, MNT_DETACH) != 0 &&
	    session_fusermount_u(si->mountpoint) != 0) {
		fprintf(stderr, "airlock %s: cannot unmount %s: %s\n", cmd,
		    si->mountpoint, strerror(errno));
		rc = -1;
	}
	si->fs_pid = 0;
	si->proxy_pid = 0;
	si->agent_pid = 0;
	return rc;
}

long
session_staged_count(const char *dir)
{
	struct stage_entry *list;
	struct stage *st;
	ssize_t n;

	if ((st = stage_open(dir, 0)) == NULL)
		return -1;
	n = stage_list(st, &list);
	if (n >= 0)
		stage_list_free(list, n);
	stage_close(st);
	return (long)n;
}
