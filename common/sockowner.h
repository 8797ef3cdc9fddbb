/*
 * sockowner: which process is at the other end of a connection accepted
 * on this machine.
 *
 * A unix socket says so itself (SO_PEERCRED).  A TCP client does not: the
 * agent reaches airlock-proxy over loopback, often from a network
 * namespace of its own.  The kernel lists every TCP socket of a namespace
 * in /proc/PID/net/tcp{,6} (for any PID in that namespace) with its inode
 * and owner, and every process's descriptors in /proc/PID/fd name the
 * socket inodes they hold.  So: find the client's half of the connection
 * (local and remote address swapped) in the namespaces the processes on
 * this machine are in, then the process that holds that inode.
 *
 * This reads /proc at some length (one pass over the processes, bounded
 * by SOCKOWNER_MAX_PIDS), so it is for rare events, a held request, and
 * never for every connection.  Processes this one may not inspect (another
 * user's, without CAP_SYS_PTRACE) are skipped: the uid the kernel lists
 * for the socket is still known.
 */
#ifndef AIRLOCK_SOCKOWNER_H
#define AIRLOCK_SOCKOWNER_H

#include <sys/socket.h>
#include <sys/types.h>

/*
 * At most this many /proc entries are looked at per search.  The cost
 * grows with the processes and their descriptors: measured on a 2-core
 * machine, 2.4 ms with 80 processes, 190-350 ms with 2,000 more holding 20
 * descriptors each.  Too slow for an event loop's thread: such a caller
 * takes the query at once and searches from a thread of its own (below).
 */
#define SOCKOWNER_MAX_PIDS 8192

/*
 * What a search needs to know about a socket, taken from it at once
 * (cheap, no /proc) so that the search can run later, in another thread,
 * after the socket itself may have closed.
 */
struct sockowner_query {
	int is_known; /* a unix socket: pid and uid came with it */
	pid_t pid;
	uid_t uid;
	struct sockaddr_storage ours, theirs; /* TCP: both ends */
};

/*
 * The process at the other end of the connected socket fd (one this
 * process accepted, or connected).  Returns 0 with *pid (0 when the socket
 * was found but no inspectable process holds it) and *uid set; -1 with
 * errno (ENOENT: no such socket is listed, e.g. the peer already closed;
 * EAFNOSUPPORT: not a TCP or unix socket).
 */
int sockowner_find(int fd, pid_t *pid, uid_t *uid);

/* sockowner_find() in two steps: take the query from fd (0, or -1 with
 * errno as above), then search /proc for it (the same results). */
int sockowner_query_make(int fd, struct sockowner_query *q);
int sockowner_query_run(
    const struct sockowner_query *q, pid_t *pid, uid_t *uid);

#endif
