/*
 * sockowner: which process is at the other end of a connection (see
 * sockowner.h for how).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sockowner.h"

/* Seen network namespaces (their nsfs inodes): each is read once. */
#define SOCKOWNER_MAX_NETNS 256

/*
 * The client's half of the connection as /proc/net/tcp{,6} print it:
 * "%08X:%04X" of the address word(s) as stored and the port.  A v4 peer
 * may sit on a v6 socket (v4-mapped) or the other way round, so both forms
 * are kept when there is a v4 one.
 */
struct sockowner_key {
	char v4_local[16], v4_remote[16]; /* "" when not IPv4 */
	char v6_local[40], v6_remote[40];
};

struct sockowner_hit {
	unsigned long inode;
	unsigned int uid;
};

static void
sockowner_fmt4(char *out, size_t len, const struct in_addr *a, in_port_t port)
{
	snprintf(out, len, "%08X:%04X", (unsigned int)a->s_addr,
	    (unsigned int)ntohs(port));
}

static void
sockowner_fmt6(char *out, size_t len, const struct in6_addr *a, in_port_t port)
{
	unsigned int w[4];

	memcpy(w, a->s6_addr, sizeof w);
	snprintf(out, len, "%08X%08X%08X%08X:%04X", w[0], w[1], w[2], w[3],
	    (unsigned int)ntohs(port));
}

/* One side of the key from an address; v4 and mapped forms both. */
static int
sockowner_fmt(const struct sockaddr_storage *ss, char *v4, size_t v4_len,
    char *v6, size_t v6_len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr mapped;
	struct in_addr a4;

	v4[0] = v6[0] = '\0';
	if (ss->ss_family == AF_INET) {
		sockowner_fmt4(v4, v4_len, &sin->sin_addr, sin->sin_port);
		memset(&mapped, 0, sizeof mapped);
		mapped.s6_addr[10] = mapped.s6_addr[11] = 0xff;
		memcpy(&mapped.s6_addr[12], &sin->sin_addr, 4);
		sockowner_fmt6(v6, v6_len, &mapped, sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		sockowner_fmt6(v6, v6_len, &sin6->sin6_addr, sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&a4, &sin6->sin6_addr.s6_addr[12], 4);
			sockowner_fmt4(v4, v4_len, &a4, sin6->sin6_port);
		}
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

/* The client's half: its local address is our peer, its remote ours. */
static int
sockowner_key_make(const struct sockowner_query *q, struct sockowner_key *k)
{
	if (sockowner_fmt(&q->theirs, k->v4_local, sizeof k->v4_local,
	        k->v6_local, sizeof k->v6_local) != 0 ||
	    sockowner_fmt(&q->ours, k->v4_remote, sizeof k->v4_remote,
	        k->v6_remote, sizeof k->v6_remote) != 0)
		return -1;
	return 0;
}

/* Search one table (PID/net/tcp or tcp6 under procfd) for the key. */
static int
sockowner_search_table(int procfd, const char *path, const char *local,
    const char *remote, struct sockowner_hit *hit)
{
	char line[512], l[64], r[64];
	unsigned long inode;
	unsigned int uid;
	FILE *f;
	int fd, found = 0;

	if (local[0] == '\0')
		return 0;
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return 0;
	}
	/* "sl local rem st tx:rx tr:when retrnsmt uid timeout inode" */
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%*s %63s %63s %*s %*s %*s %*s %u %*s %lu", l,
		        r, &uid, &inode) != 4)
			continue;
		if (strcmp(l, local) == 0 && strcmp(r, remote) == 0 &&
		    inode != 0) {
			hit->inode = inode;
			hit->uid = uid;
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Search the TCP tables of the namespace PID (a name under procfd). */
static int
sockowner_search_ns(int procfd, const char *pid, const struct sockowner_key *k,
    struct sockowner_hit *hit)
{
	char path[300];

	snprintf(path, sizeof path, "%s/net/tcp", pid);
	if (sockowner_search_table(
	        procfd, path, k->v4_local, k->v4_remote, hit))
		return 1;
	snprintf(path, sizeof path, "%s/net/tcp6", pid);
	return sockowner_search_table(
	    procfd, path, k->v6_local, k->v6_remote, hit);
}

static int
sockowner_is_pid(const char *name)
{
	if (*name == '\0')
		return 0;
	for (; *name != '\0'; name++)
		if (*name < '0' || *name > '9')
			return 0;
	return 1;
}

/* Whether ino is in seen[0..*n); if not, add it (when there is room). */
static int
sockowner_seen(ino_t *seen, size_t *n, ino_t ino)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (seen[i] == ino)
			return 1;
	if (*n < SOCKOWNER_MAX_NETNS)
		seen[(*n)++] = ino;
	return 0;
}

/* Find the socket in any namespace the processes here are in. */
static int
sockowner_find_inode(
    int procfd, const struct sockowner_key *k, struct sockowner_hit *hit)
{
	ino_t seen[SOCKOWNER_MAX_NETNS];
	size_t n_seen = 0, n_pids = 0;
	char path[300];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd, found = 0;

	if (fstatat(procfd, "self/ns/net", &st, 0) == 0)
		(void)sockowner_seen(seen, &n_seen, st.st_ino);
	if (sockowner_search_ns(procfd, "self", k, hit))
		return 1;
	dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return 0;
	}
	while (!found && n_pids < SOCKOWNER_MAX_PIDS &&
	    (de = readdir(d)) != NULL) {
		if (!sockowner_is_pid(de->d_name))
			continue;
		n_pids++;
		snprintf(path, sizeof path, "%s/ns/net", de->d_name);
		/* a namespace we cannot name is read anyway: no dedup */
		if (fstatat(procfd, path, &st, 0) == 0 &&
		    sockowner_seen(seen, &n_seen, st.st_ino))
			continue;
		found = sockowner_search_ns(procfd, de->d_name, k, hit);
	}
	closedir(d);
	return found;
}

/* Whether process PID (a name under procfd) holds "socket:[inode]". */
static int
sockowner_holds(int procfd, const char *pid, const char *want)
{
	char path[300], link[64];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int fd, dfd, found = 0;

	snprintf(path, sizeof path, "%s/fd", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return 0;
	}
	dfd = dirfd(d);
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dfd, de->d_name, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

static pid_t
sockowner_find_holder(int procfd, unsigned long inode)
{
	char want[64];
	struct dirent *de;
	size_t n_pids = 0;
	pid_t self = getpid(), pid = 0, p;
	DIR *d;
	int dfd;

	snprintf(want, sizeof want, "socket:[%lu]", inode);
	dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return 0;
	}
	while (pid == 0 && n_pids < SOCKOWNER_MAX_PIDS &&
	    (de = readdir(d)) != NULL) {
		if (!sockowner_is_pid(de->d_name))
			continue;
		n_pids++;
		p = (pid_t)strtol(de->d_name, NULL, 10);
		if (p != self && sockowner_holds(procfd, de->d_name, want))
			pid = p;
	}
	closedir(d);
	return pid;
}

int
sockowner_query_make(int fd, struct sockowner_query *q)
{
	struct ucred cred;
	socklen_t len;

	memset(q, 0, sizeof *q);
	len = sizeof q->ours;
	if (getsockname(fd, (struct sockaddr *)&q->ours, &len) != 0)
		return -1;
	if (q->ours.ss_family == AF_UNIX) {
		len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
			return -1;
		q->is_known = 1;
		q->pid = cred.pid;
		q->uid = cred.uid;
		return 0;
	}
	if (q->ours.ss_family != AF_INET && q->ours.ss_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	len = sizeof q->theirs;
	return getpeername(fd, (struct sockaddr *)&q->theirs, &len);
}

int
sockowner_query_run(const struct sockowner_query *q, pid_t *pid, uid_t *uid)
{
	struct sockowner_key k;
	struct sockowner_hit hit;
	int procfd, ret = -1;

	if (q->is_known) {
		*pid = q->pid;
		*uid = q->uid;
		return 0;
	}
	if (sockowner_key_make(q, &k) != 0)
		return -1;
	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -1;
	memset(&hit, 0, sizeof hit);
	if (!sockowner_find_inode(procfd, &k, &hit)) {
		errno = ENOENT;
		goto out;
	}
	*uid = (uid_t)hit.uid;
	*pid = sockowner_find_holder(procfd, hit.inode);
	ret = 0;
out:
	close(procfd);
	return ret;
}

int
sockowner_find(int fd, pid_t *pid, uid_t *uid)
{
	struct sockowner_query q;

	if (sockowner_query_make(fd, &q) != 0)
		return -1;
	return sockowner_query_run(&q, pid, uid);
}
