/*
 * caller: who asked, read from /proc/PID through one directory fd so that
 * every field comes from the same process (a pid reused between two path
 * lookups would mix two processes; an fd on /proc/PID goes stale
 * instead, and reads then fail with ESRCH).  Every field is best effort: a
 * field we cannot read stays "" and never fails the caller's request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caller.h"
#include "util.h"

/* An environment entry longer than this is not one we want in full. */
#define CALLER_ENV_ENTRY_MAX 512

static int
caller_is_lhex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
caller_is_zero(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '0')
			return 0;
	return 1;
}

/*
 * W3C Trace Context, version 00 only: exactly "00-" 32 hex "-" 16 hex "-"
 * 2 hex, lower case, ids not all zeros.  A later version may append
 * fields, but we cannot know what they mean, so we take none of it rather
 * than guess.
 */
int
caller_parse_traceparent(const char *tp, char trace_id[33], char span_id[17])
{
	trace_id[0] = '\0';
	span_id[0] = '\0';
	if (tp == NULL || strlen(tp) != 55 || memcmp(tp, "00-", 3) != 0 ||
	    tp[35] != '-' || tp[52] != '-' || !caller_is_lhex(tp + 3, 32) ||
	    !caller_is_lhex(tp + 36, 16) || !caller_is_lhex(tp + 53, 2) ||
	    caller_is_zero(tp + 3, 32) || caller_is_zero(tp + 36, 16))
		return -1;
	memcpy(trace_id, tp + 3, 32);
	trace_id[32] = '\0';
	memcpy(span_id, tp + 36, 16);
	span_id[16] = '\0';
	return 0;
}

/* Read up to len - 1 bytes of dirfd/name into b; returns the count, or -1. */
static ssize_t
caller_read_file(int dirfd, const char *name, char *b, size_t len)
{
	ssize_t n, total = 0;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while ((size_t)total < len - 1) {
		n = read(fd, b + total, len - 1 - (size_t)total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < len - 1 - (size_t)(total - n))
			break; /* short read: EOF (see caller_read_environ) */
	}
	close(fd);
	b[total] = '\0';
	return total;
}

static void
caller_read_cmdline(int dirfd, struct caller *out)
{
	ssize_t n, i;

	n = caller_read_file(
	    dirfd, "cmdline", out->cmdline, sizeof(out->cmdline));
	if (n <= 0) {
		out->cmdline[0] = '\0';
		return;
	}
	/* Arguments are NUL-separated (and NUL-terminated). */
	while (n > 0 && out->cmdline[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (out->cmdline[i] == '\0')
			out->cmdline[i] = ' ';
	out->cmdline[n] = '\0';
}

/* Look at one complete environment entry. */
static void
caller_take_env(const char *e, size_t len, struct caller *out)
{
	static const char tp[] = "TRACEPARENT=", in[] = "AIRLOCK_INTENT=";
	char value[CALLER_ENV_ENTRY_MAX];

	if (len >= sizeof(tp) - 1 && memcmp(e, tp, sizeof(tp) - 1) == 0) {
		str_copy(value, e + sizeof(tp) - 1, sizeof(value));
		caller_parse_traceparent(value, out->trace_id, out->span_id);
	} else if (len >= sizeof(in) - 1 && memcmp(e, in, sizeof(in) - 1) == 0)
		str_copy(out->intent, e + sizeof(in) - 1, sizeof(out->intent));
}

/*
 * The environment can be as large as ARG_MAX, so it is streamed: each
 * entry is collected (truncated to CALLER_ENV_ENTRY_MAX) and looked at
 * when its NUL arrives.  Unreadable (another user's process) is fine.
 * procfs fills a read of cmdline or environ as far as the data goes, so a
 * short read is the end: stopping there saves a system call per file,
 * and airlock-fs reads a caller for every file it decides on.
 */
static void
caller_read_environ(int dirfd, struct caller *out)
{
	char chunk[4096], entry[CALLER_ENV_ENTRY_MAX];
	size_t elen = 0;
	ssize_t n, i;
	int fd, is_eof;

	fd = openat(dirfd, "environ", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		is_eof = (size_t)n < sizeof(chunk);
		for (i = 0; i < n; i++) {
			if (chunk[i] != '\0') {
				if (elen < sizeof(entry) - 1)
					entry[elen++] = chunk[i];
				continue;
			}
			entry[elen] = '\0';
			caller_take_env(entry, elen, out);
			elen = 0;
		}
		if (is_eof)
			break;
	}
	close(fd);
}

int
caller_read(pid_t pid, uid_t uid, gid_t gid, struct caller *out)
{
	char dir[32];
	ssize_t n;
	int dirfd;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->uid = uid;
	out->gid = gid;
	if (pid <= 0)
		return 0;
	snprintf(dir, sizeof(dir), "/proc/%ld", (long)pid);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	n = readlinkat(dirfd, "exe", out->exe, sizeof(out->exe) - 1);
	out->exe[n > 0 ? n : 0] = '\0';
	caller_read_cmdline(dirfd, out);
	caller_read_environ(dirfd, out);
	close(dirfd);
	return 0;
}
