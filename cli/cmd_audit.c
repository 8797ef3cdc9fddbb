/*
 * airlock audit: show a session's audit log as a timeline, follow it, or
 * verify its hash chain.
 *
 *   airlock audit [FILE] [--session ID] [--follow] [--json]
 *   airlock audit verify [FILE] [--session ID]
 *
 * Everything in a record may come from the agent (paths, URLs, command
 * lines), so nothing reaches the terminal unsanitised: control bytes, C1
 * controls and invalid UTF-8 are shown as '?'.  A line that is not a
 * record is shown the same way, after a warning on stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_record.h"
#include "cmd.h"
#include "session.h"
#include "util.h"

enum audit_col {
	COL_TIME,
	COL_COMPONENT,
	COL_DECISION,
	COL_DECIDED_BY,
	COL_OP,
	COL_TARGET,
	COL_RULE,
	COL_REASON,
	COL_WHO,
	N_COLS,
};

/* The widest a column may grow; longer values are cut with "...". */
static const size_t audit_col_max[N_COLS] = { 23, 9, 16, 24, 14, 48, 36, 40,
	48 };
/* Widths for a stream we cannot read twice. */
static const size_t audit_col_default[N_COLS] = { 23, 9, 13, 16, 8, 32, 24, 24,
	24 };
static const char *const audit_col_title[N_COLS] = { "TIME (UTC)", "COMPONENT",
	"DECISION", "DECIDED BY", "OP", "TARGET", "RULE", "REASON", "WHO" };

struct audit_view {
	const char *path;
	int is_json;
	int is_follow;
	int has_colour;
	int is_measuring; /* the first pass: widths only */
	size_t width[N_COLS];
	uint64_t lineno;
	uint64_t n_bad;
};

static volatile sig_atomic_t audit_is_interrupted;

static void
audit_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock audit [FILE] [--session ID] [--follow] "
	    "[--json]\n"
	    "       airlock audit verify [FILE] [--session ID]\n\n"
	    "Show an audit log as a timeline: time, component, decision (and "
	    "the\noutcome of a hold), who decided, operation, target, rule, "
	    "reason, and\nthe process that asked.  FILE defaults to the "
	    "audit.jsonl of the\nsession named by --session (an id or a "
	    "directory), else of the most\nrecent session; \"-\" reads "
	    "standard input.\n\n"
	    "  -s, --session ID  the session whose log to read\n"
	    "  -f, --follow      keep printing records as they are appended "
	    "(Ctrl-C stops)\n"
	    "  -j, --json        print the records as they are (JSON lines)\n"
	    "  -h, --help        this text\n\n"
	    "verify checks the hash chain and names the first line that was "
	    "edited,\ndeleted, reordered or left partial: exit 0 when intact, "
	    "1 when not,\n3 when the file cannot be read.\n");
}

/* FILE, or the session's audit.jsonl. */
static int
audit_resolve_path(const char *file, const char *session, char *out, size_t len)
{
	char dir[PATH_MAX];

	if (file != NULL && session != NULL) {
		fprintf(stderr,
		    "airlock audit: give FILE or --session, not "
		    "both\n");
		return EXIT_USAGE;
	}
	if (file != NULL) {
		if (str_copy(out, file, len) >= len) {
			fprintf(stderr, "airlock audit: path too long\n");
			return EXIT_USAGE;
		}
		return 0;
	}
	if (session_resolve(session, dir, sizeof(dir)) != 0) {
		if (session != NULL)
			fprintf(stderr, "airlock audit: session %s: %s\n",
			    session, strerror(errno));
		else
			fprintf(stderr,
			    "airlock audit: no session found (%s); "
			    "give FILE or --session\n",
			    strerror(errno));
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(out, len, "%s/audit.jsonl", dir) >= len) {
		fprintf(stderr, "airlock audit: path too long\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* Length of the valid, printable UTF-8 sequence at s (at most n bytes),
 * or 0 when it is invalid or a C0/C1 control. */
static size_t
audit_printable_len(const unsigned char *s, size_t n)
{
	size_t len, i;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* C1 controls: some terminals obey them */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/* Columns src would take uncut (for the measuring pass). */
static size_t
audit_cols_of(const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + n;
	size_t cols = 0, k;

	while (p < end) {
		k = audit_printable_len(p, (size_t)(end - p));
		p += k != 0 ? k : 1;
		cols++;
	}
	return cols;
}

/*
 * Sanitise src[0..n) into b, at most max columns (one per character),
 * cutting with "..." when longer.  Returns the columns used.
 */
static size_t
audit_add_cell(struct buf *b, const char *src, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)src;
	const unsigned char *end = p + n;
	size_t cols = 0, total = audit_cols_of(src, n), k;

	while (p < end) {
		if (total > max && cols + 3 >= max) {
			buf_add(b, "...", max >= 3 ? 3 : max);
			return cols + (max >= 3 ? 3 : max);
		}
		k = audit_printable_len(p, (size_t)(end - p));
		if (k == 0) {
			buf_add(b, "?", 1);
			p++;
		} else {
			buf_add(b, p, k);
			p += k;
		}
		cols++;
	}
	return cols;
}

static void
audit_text(
    const struct audit_record *rec, const char *key, char *out, size_t len)
{
	const struct audit_field *f = audit_record_get(rec, key);

	out[0] = '\0';
	if (f != NULL)
		audit_field_text(f, out, len);
}

/* The cells of one record, as text (not yet sanitised). */
struct audit_cells {
	char v[N_COLS][1024];
	const char *colour[N_COLS];
};

static void
audit_fill_cells(const struct audit_record *rec, struct audit_cells *c)
{
	char outcome[64], pid[32], uid[32], identity[256], intent[256];
	char *base, *t;

	memset(c->colour, 0, sizeof(c->colour));
	audit_text(rec, "ts", c->v[COL_TIME], sizeof(c->v[COL_TIME]));
	/* 2026-11-25T20:31:02.123456789Z -> 2026-11-25 20:31:02.123 (UTC) */
	t = c->v[COL_TIME];
	if (strlen(t) >= 23 && t[10] == 'T' && t[19] == '.') {
		t[10] = ' ';
		t[23] = '\0';
	}
	audit_text(
	    rec, "component", c->v[COL_COMPONENT], sizeof(c->v[COL_COMPONENT]));
	audit_text(
	    rec, "decision", c->v[COL_DECISION], sizeof(c->v[COL_DECISION]));
	audit_text(rec, "outcome", outcome, sizeof(outcome));
	if (strcmp(c->v[COL_DECISION], "allow") == 0)
		c->colour[COL_DECISION] = "\033[32m";
	else if (strcmp(c->v[COL_DECISION], "deny") == 0)
		c->colour[COL_DECISION] = "\033[31m";
	else if (strcmp(c->v[COL_DECISION], "hold") == 0)
		c->colour[COL_DECISION] = "\033[33m";
	if (outcome[0] != '\0') {
		size_t n = strlen(c->v[COL_DECISION]);

		snprintf(c->v[COL_DECISION] + n, sizeof(c->v[COL_DECISION]) - n,
		    "/%s", outcome);
		c->colour[COL_DECISION] =
		    strcmp(outcome, "approved") == 0 ? "\033[32m" : "\033[31m";
	}
	if (c->v[COL_DECISION][0] == '\0')
		str_copy(c->v[COL_DECISION], "-", sizeof(c->v[COL_DECISION]));
	audit_text(rec, "decided_by", c->v[COL_DECIDED_BY],
	    sizeof(c->v[COL_DECIDED_BY]));
	/* "reviewer" alone does not say which: name it. */
	audit_text(rec, "reviewer", identity, sizeof(identity));
	if (identity[0] != '\0') {
		t = c->v[COL_DECIDED_BY];
		snprintf(t + strlen(t),
		    sizeof(c->v[COL_DECIDED_BY]) - strlen(t), " (%s)",
		    identity);
	}
	audit_text(rec, "op", c->v[COL_OP], sizeof(c->v[COL_OP]));
	if (strncmp(c->v[COL_OP], "audit.", 6) == 0)
		c->colour[COL_OP] = "\033[35m";
	audit_text(rec, "target", c->v[COL_TARGET], sizeof(c->v[COL_TARGET]));
	audit_text(rec, "rule", c->v[COL_RULE], sizeof(c->v[COL_RULE]));
	audit_text(rec, "reason", c->v[COL_REASON], sizeof(c->v[COL_REASON]));

	/* who: exe's last component[pid] uid N, as IDENTITY, "intent" */
	audit_text(rec, "exe", c->v[COL_WHO], sizeof(c->v[COL_WHO]));
	base = strrchr(c->v[COL_WHO], '/');
	if (base != NULL)
		memmove(c->v[COL_WHO], base + 1, strlen(base + 1) + 1);
	audit_text(rec, "pid", pid, sizeof(pid));
	audit_text(rec, "uid", uid, sizeof(uid));
	audit_text(rec, "identity", identity, sizeof(identity));
	audit_text(rec, "intent", intent, sizeof(intent));
	t = c->v[COL_WHO];
	if (pid[0] != '\0')
		snprintf(t + strlen(t), sizeof(c->v[COL_WHO]) - strlen(t),
		    "[%s]", pid);
	if (uid[0] != '\0')
		snprintf(t + strlen(t), sizeof(c->v[COL_WHO]) - strlen(t),
		    "%suid %s", t[0] != '\0' ? " " : "", uid);
	if (identity[0] != '\0')
		snprintf(t + strlen(t), sizeof(c->v[COL_WHO]) - strlen(t),
		    " as %s", identity);
	if (intent[0] != '\0')
		snprintf(t + strlen(t), sizeof(c->v[COL_WHO]) - strlen(t),
		    " \"%s\"", intent);
}

static void
audit_show_garbage(
    struct audit_view *v, const char *line, size_t len, const char *why)
{
	struct buf b;

	v->n_bad++;
	fflush(stdout);
	fprintf(stderr,
	    "airlock audit: warning: %s:%llu: not an audit record "
	    "(%s)\n",
	    v->path, (unsigned long long)v->lineno, why);
	buf_init(&b);
	audit_add_cell(&b, line, len, SIZE_MAX);
	buf_add(&b, "\n", 1);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* A JSON object is shown as a record only when it has what every record
 * has; anything else is shown raw, so that it is not mistaken for one. */
static int
audit_looks_like_record(
    const struct audit_record *rec, char *why, size_t why_len)
{
	static const char *const keys[] = { "ts", "seq", "op", "hash" };
	const struct audit_field *f;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		f = audit_record_get(rec, keys[i]);
		if (f == NULL ||
		    (f->type != AUDIT_JSON_STRING) !=
		        (strcmp(keys[i], "seq") == 0)) {
			snprintf(why, why_len, "no \"%s\" field", keys[i]);
			return 0;
		}
	}
	return 1;
}

static void
audit_show_line(struct audit_view *v, const char *line, size_t len)
{
	static struct audit_cells cells;
	struct audit_record rec;
	struct buf b;
	char why[128];
	size_t i, cols;

	v->lineno++;
	if (v->is_json) {
		if (!v->is_measuring) {
			fwrite(line, 1, len, stdout);
			fputc('\n', stdout);
		}
		return;
	}
	if (audit_record_parse(line, len, &rec, why, sizeof(why)) != 0 ||
	    !audit_looks_like_record(&rec, why, sizeof(why))) {
		if (!v->is_measuring)
			audit_show_garbage(v, line, len, why);
		return;
	}
	audit_fill_cells(&rec, &cells);
	if (v->is_measuring) {
		for (i = 0; i < N_COLS; i++) {
			cols = audit_cols_of(cells.v[i], strlen(cells.v[i]));
			if (cols > audit_col_max[i])
				cols = audit_col_max[i];
			if (cols > v->width[i])
				v->width[i] = cols;
		}
		return;
	}
	buf_init(&b);
	for (i = 0; i < N_COLS; i++) {
		int is_last = i == N_COLS - 1;

		if (v->has_colour && cells.colour[i] != NULL)
			buf_adds(&b, cells.colour[i]);
		cols = audit_add_cell(&b, cells.v[i], strlen(cells.v[i]),
		    is_last ? audit_col_max[i] : v->width[i]);
		if (v->has_colour && cells.colour[i] != NULL)
			buf_adds(&b, "\033[0m");
		if (is_last)
			break;
		for (; cols < v->width[i] + 2; cols++)
			buf_add(&b, " ", 1);
	}
	while (b.len > 0 && b.data[b.len - 1] == ' ')
		b.len--;
	buf_add(&b, "\n", 1);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
audit_show_header(struct audit_view *v)
{
	struct buf b;
	size_t i, cols;

	buf_init(&b);
	if (v->has_colour)
		buf_adds(&b, "\033[1m");
	for (i = 0; i < N_COLS; i++) {
		buf_adds(&b, audit_col_title[i]);
		if (i == N_COLS - 1)
			break;
		for (cols = strlen(audit_col_title[i]); cols < v->width[i] + 2;
		     cols++)
			buf_add(&b, " ", 1);
	}
	if (v->has_colour)
		buf_adds(&b, "\033[0m");
	buf_add(&b, "\n", 1);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/*
 * Feed the complete lines of fd (from its offset to EOF) to
 * audit_show_line; a trailing partial line stays in *pending.  Returns 0
 * at EOF, or -1 with errno (EINTR when interrupted).
 */
static int
audit_read_lines(struct audit_view *v, int fd, struct buf *pending)
{
	char chunk[65536];
	ssize_t n;
	size_t start, i;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		buf_add(pending, chunk, (size_t)n);
		start = 0;
		for (i = pending->len - (size_t)n; i < pending->len; i++) {
			if (pending->data[i] != '\n')
				continue;
			audit_show_line(v, pending->data + start, i - start);
			start = i + 1;
		}
		memmove(
		    pending->data, pending->data + start, pending->len - start);
		pending->len -= start;
		if (audit_is_interrupted) {
			errno = EINTR;
			return -1;
		}
	}
}

static void
audit_on_signal(int sig)
{
	(void)sig;
	audit_is_interrupted = 1;
}

/*
 * After EOF: wait for appends (inotify, with a once-a-second look at the
 * size in case inotify is not available) until SIGINT or SIGTERM.
 */
static int
audit_follow(struct audit_view *v, int fd, struct buf *pending)
{
	struct sigaction sa;
	struct pollfd pfd;
	struct stat st;
	char ev[4096];
	int in = -1, rc = EXIT_IO;
	off_t pos;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = audit_on_signal; /* no SA_RESTART: poll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in != -1 && inotify_add_watch(in, v->path, IN_MODIFY) == -1) {
		close(in);
		in = -1;
	}
	pfd.fd = in;
	pfd.events = POLLIN;
	while (!audit_is_interrupted) {
		fflush(stdout);
		if (poll(&pfd, in != -1 ? 1 : 0, 1000) == -1 && errno != EINTR)
			goto out;
		if (audit_is_interrupted)
			break;
		if (in != -1)
			while (read(in, ev, sizeof(ev)) > 0)
				;
		if (fstat(fd, &st) != 0 || (pos = lseek(fd, 0, SEEK_CUR)) == -1)
			goto out;
		if (st.st_size < pos) {
			fprintf(stderr,
			    "airlock audit: warning: %s was cut "
			    "short; reading it again from the start\n",
			    v->path);
			if (lseek(fd, 0, SEEK_SET) == -1)
				goto out;
			pending->len = 0;
			v->lineno = 0;
		}
		if (audit_read_lines(v, fd, pending) != 0 && errno != EINTR)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "airlock audit: %s: %s\n", v->path,
		    strerror(errno));
	if (in != -1)
		close(in);
	return rc;
}

static int
audit_show(struct audit_view *v)
{
	struct buf pending;
	int fd, rc = EXIT_IO, is_stdin = strcmp(v->path, "-") == 0;
	size_t i;

	buf_init(&pending);
	fd = is_stdin ? STDIN_FILENO
	              : open(v->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		fprintf(stderr, "airlock audit: %s: %s\n", v->path,
		    strerror(errno));
		goto out;
	}
	/* Two passes when we can: the first sizes the columns. */
	if (!v->is_json && lseek(fd, 0, SEEK_SET) == 0) {
		v->is_measuring = 1;
		for (i = 0; i < N_COLS; i++)
			v->width[i] = strlen(audit_col_title[i]);
		v->width[COL_TIME] = audit_col_max[COL_TIME];
		if (audit_read_lines(v, fd, &pending) != 0 ||
		    lseek(fd, 0, SEEK_SET) != 0)
			goto io;
		v->is_measuring = 0;
		v->lineno = 0;
		pending.len = 0;
	} else
		memcpy(v->width, audit_col_default, sizeof(v->width));
	if (v->is_follow && is_stdin) {
		fprintf(stderr, "airlock audit: --follow needs a file\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!v->is_json)
		audit_show_header(v);
	if (audit_read_lines(v, fd, &pending) != 0)
		goto io;
	if (v->is_follow) {
		rc = audit_follow(v, fd, &pending);
		goto out;
	}
	if (pending.len > 0) {
		v->lineno++;
		audit_show_garbage(
		    v, pending.data, pending.len, "partial last line");
	}
	rc = 0;
	goto out;
io:
	fprintf(stderr, "airlock audit: %s: %s\n", v->path, strerror(errno));
out:
	fflush(stdout);
	if (fd != -1 && !is_stdin)
		close(fd);
	buf_free(&pending);
	return rc;
}

static int
audit_verify(const char *path)
{
	char why[256];
	uint64_t line;
	int rc;

	rc = audit_verify_file(path, &line, why, sizeof(why));
	if (rc == -1) {
		fprintf(stderr, "airlock audit verify: %s: %s\n", path,
		    strerror(errno));
		return EXIT_IO;
	}
	if (rc == 1) {
		printf("%s:%llu: %s\n", path, (unsigned long long)line, why);
		return EXIT_NEGATIVE;
	}
	printf("ok: %llu record%s, chain intact\n", (unsigned long long)line,
	    line == 1 ? "" : "s");
	return 0;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_view v;
	const char *session = NULL, *file = NULL;
	char path[PATH_MAX];
	int is_verify = 0, c, rc;

	memset(&v, 0, sizeof(v));
	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		is_verify = 1;
		argc--;
		argv++;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, is_verify ? "s:h" : "s:fjh", opts,
	            NULL)) != -1) {
		switch (c) {
		case 's':
			session = optarg;
			break;
		case 'f':
			v.is_follow = 1;
			break;
		case 'j':
			v.is_json = 1;
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			fprintf(stderr,
			    "airlock audit: unknown or incomplete "
			    "option '%s'\n",
			    argv[optind - 1]);
			audit_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "airlock audit: one FILE at most\n");
		audit_usage(stderr);
		return EXIT_USAGE;
	}
	if ((rc = audit_resolve_path(file, session, path, sizeof(path))) != 0)
		return rc;
	if (is_verify)
		return audit_verify(path);
	v.path = path;
	v.has_colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	return audit_show(&v);
}
