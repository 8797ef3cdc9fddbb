/*
 * test_audit: the record format, the hash chain (across reopen and across
 * two processes), what verify catches (edit, delete, reorder, truncate,
 * partial line, garbage), and drop counting under overload.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "audit_record.h"
#include "util.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_audit.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/audit.jsonl", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* The whole file, NUL-terminated (caller frees). */
static char *
slurp(const char *path, size_t *len)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd;

	buf_init(&b);
	fd = open(path, O_RDONLY);
	assert_int_not_equal(fd, -1);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	*len = b.len;
	return buf_release(&b);
}

static void
spit(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);

	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Split a file's text into lines (pointers into text; '\n's become NULs). */
static size_t
split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	char *p = text, *nl;

	while (*p != '\0' && n < max) {
		lines[n++] = p;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

/* Rewrite path from lines[order[0..n)], each with its newline. */
static void
write_lines(const char *path, char **lines, const size_t *order, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		buf_adds(&b, lines[order[i]]);
		buf_add(&b, "\n", 1);
	}
	spit(path, b.data, b.len);
	buf_free(&b);
}

static void
log_some(struct audit_log *log, enum audit_component c, int first, int n)
{
	struct caller who;
	struct audit_event ev;
	char target[64];
	int i;

	memset(&who, 0, sizeof(who));
	who.pid = getpid();
	who.uid = getuid();
	str_copy(who.exe, "/usr/bin/agent", sizeof(who.exe));
	for (i = first; i < first + n; i++) {
		snprintf(target, sizeof(target), "src/file%d.c", i);
		memset(&ev, 0, sizeof(ev));
		ev.component = c;
		ev.op = "write";
		ev.target = target;
		ev.decision = DECISION_ALLOW;
		ev.decided_by = AUDIT_DECIDER_POLICY;
		ev.rule = "conf/airlock.yaml:12";
		ev.reason = "workspace";
		ev.caller = &who;
		ev.duration_ms = -1;
		assert_int_equal(audit_log_event(log, &ev), 0);
	}
}

/* A file of n good records. */
static void
make_log(const char *path, int n)
{
	struct audit_log *log = audit_open(path, "s1", 64);

	assert_non_null(log);
	log_some(log, AUDIT_COMPONENT_FS, 0, n);
	audit_close(log);
}

static void
expect_bad(const char *path, uint64_t line, const char *why_part)
{
	uint64_t bad = 0;
	char why[256];

	assert_int_equal(audit_verify_file(path, &bad, why, sizeof(why)), 1);
	assert_int_equal(bad, line);
	if (strstr(why, why_part) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, why_part);
}

static void
expect_ok(const char *path, uint64_t n)
{
	uint64_t count = 0;
	char why[256];

	if (audit_verify_file(path, &count, why, sizeof(why)) != 0)
		fail_msg("line %llu: %s", (unsigned long long)count, why);
	assert_int_equal(count, n);
}

static void
field_is(const struct audit_record *rec, const char *key, const char *want)
{
	const struct audit_field *f = audit_record_get(rec, key);
	char got[1024];

	if (f == NULL)
		fail_msg("no field %s", key);
	audit_field_text(f, got, sizeof(got));
	if (want == NULL) {
		assert_int_equal(f->type, AUDIT_JSON_NULL);
		return;
	}
	assert_string_equal(got, want);
}

static void
test_format_fields(void **state)
{
	static const char *const order[] = { "ts", "seq", "session",
		"component", "op", "target", "decision", "outcome",
		"decided_by", "rule", "reason", "reviewer", "pid", "uid", "exe",
		"cmdline", "trace_id", "span_id", "intent", "identity",
		"bytes_in", "bytes_out", "duration_ms", "prev", "hash" };
	struct caller who;
	struct audit_event ev;
	struct audit_record rec;
	struct buf b;
	char hash[65], hash2[65], why[128];
	uint64_t seq;
	size_t i;

	(void)state;
	memset(&who, 0, sizeof(who));
	who.pid = 4242;
	who.uid = 1000;
	str_copy(who.exe, "/usr/bin/python3", sizeof(who.exe));
	str_copy(who.cmdline, "python3 -c \"print('x')\"", sizeof(who.cmdline));
	str_copy(who.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736",
	    sizeof(who.trace_id));
	str_copy(who.span_id, "00f067aa0ba902b7", sizeof(who.span_id));
	str_copy(who.intent, "fix the build", sizeof(who.intent));
	str_copy(who.identity, "agent-1", sizeof(who.identity));
	memset(&ev, 0, sizeof(ev));
	ev.component = AUDIT_COMPONENT_PROXY;
	ev.op = "CONNECT";
	ev.target = "quote\" back\\slash\nnl\x01 tab\t \xc3\xa9 bad\xff";
	ev.decision = DECISION_HOLD;
	ev.outcome = AUDIT_OUTCOME_APPROVED;
	ev.decided_by = AUDIT_DECIDER_HUMAN;
	ev.rule = "conf/airlock.yaml:40";
	ev.reason = NULL;
	ev.reviewer = "alice";
	ev.caller = &who;
	ev.bytes_in = 123;
	ev.bytes_out = 456;
	ev.duration_ms = 789;

	buf_init(&b);
	audit_record_format(&b, &ev, "sess-9", 1764102265123456789ULL, 7,
	    audit_hash_zero, hash);
	assert_null(memchr(b.data, '\n', b.len));
	assert_non_null(
	    strstr(b.data, "\"ts\":\"2025-11-25T20:24:25.123456789Z\""));
	assert_non_null(strstr(b.data,
	    "\"target\":\"quote\\\" back\\\\slash\\nnl\\u0001 tab\\t "
	    "\xc3\xa9 bad\xef\xbf\xbd\""));
	assert_int_equal(
	    audit_record_parse(b.data, b.len, &rec, why, sizeof(why)), 0);
	assert_int_equal(rec.n_fields, sizeof(order) / sizeof(order[0]));
	for (i = 0; i < rec.n_fields; i++)
		if (rec.fields[i].key_len != strlen(order[i]) ||
		    memcmp(rec.fields[i].key, order[i], rec.fields[i].key_len))
			fail_msg("field %zu is not %s", i, order[i]);
	field_is(&rec, "seq", "7");
	field_is(&rec, "session", "sess-9");
	field_is(&rec, "component", "proxy");
	field_is(&rec, "op", "CONNECT");
	field_is(&rec, "target",
	    "quote\" back\\slash\nnl\x01 tab\t \xc3\xa9 bad\xef\xbf\xbd");
	field_is(&rec, "decision", "hold");
	field_is(&rec, "outcome", "approved");
	field_is(&rec, "decided_by", "human");
	field_is(&rec, "reason", NULL);
	field_is(&rec, "reviewer", "alice");
	field_is(&rec, "pid", "4242");
	field_is(&rec, "uid", "1000");
	field_is(&rec, "cmdline", "python3 -c \"print('x')\"");
	field_is(&rec, "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
	field_is(&rec, "intent", "fix the build");
	field_is(&rec, "identity", "agent-1");
	field_is(&rec, "bytes_out", "456");
	field_is(&rec, "duration_ms", "789");
	field_is(&rec, "prev", audit_hash_zero);
	field_is(&rec, "hash", hash);
	assert_int_equal(audit_record_check(b.data, b.len, audit_hash_zero, 7,
	                     hash2, &seq, why, sizeof(why)),
	    0);
	assert_string_equal(hash, hash2);

	/* No caller, not held, no reviewer: fields omitted or null. */
	ev.caller = NULL;
	ev.outcome = AUDIT_OUTCOME_NONE;
	ev.reviewer = NULL;
	ev.rule = NULL;
	ev.duration_ms = -1;
	b.len = 0;
	audit_record_format(&b, &ev, "", 0, 1, audit_hash_zero, hash);
	assert_int_equal(
	    audit_record_parse(b.data, b.len, &rec, why, sizeof(why)), 0);
	assert_null(audit_record_get(&rec, "outcome"));
	assert_null(audit_record_get(&rec, "reviewer"));
	assert_null(audit_record_get(&rec, "identity"));
	field_is(&rec, "rule", NULL);
	field_is(&rec, "pid", NULL);
	field_is(&rec, "exe", NULL);
	field_is(&rec, "duration_ms", NULL);
	field_is(&rec, "session", "");
	buf_free(&b);
}

static void
test_parse_garbage(void **state)
{
	static const char *const bad[] = { "", "{", "[]", "{\"a\":1,}",
		"{\"a\":{\"b\":1}}", "{\"a\":\"\\x\"}", "{\"a\":1}x",
		"{\"a\":1,\"a\":2}", "{\"a\":01}", "{\"a\":\"unterminated}",
		"{\"a\" 1}", "{\"a\":tru}", "\x01\x02" };
	static const char good[] = "{\"a\":-1.5e3,\"b\":null,\"c\":true,"
	                           "\"d\":\"\\ud83d\\ude00\"}";
	struct audit_record rec;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (audit_record_parse(
		        bad[i], strlen(bad[i]), &rec, why, sizeof(why)) == 0)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(
	    audit_record_parse(good, strlen(good), &rec, why, sizeof(why)), 0);
	field_is(&rec, "d", "\xf0\x9f\x98\x80");
}

static void
test_chain_reopen(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log;
	char *text, *lines[32];
	struct audit_record rec;
	uint64_t seq;
	size_t len, n;
	char why[128];

	make_log(fx->path, 10);
	log = audit_open(fx->path, "s1", 8);
	assert_non_null(log);
	log_some(log, AUDIT_COMPONENT_PROXY, 10, 5);
	assert_int_equal(audit_flush(log), 0);
	assert_int_equal(audit_dropped(log), 0);
	audit_close(log);
	expect_ok(fx->path, 15);

	text = slurp(fx->path, &len);
	n = split_lines(text, lines, 32);
	assert_int_equal(n, 15);
	assert_int_equal(audit_record_parse(lines[14], strlen(lines[14]), &rec,
	                     why, sizeof(why)),
	    0);
	assert_int_equal(
	    audit_field_u64(audit_record_get(&rec, "seq"), &seq), 0);
	assert_int_equal(seq, 15);
	field_is(&rec, "component", "proxy");
	field_is(&rec, "target", "src/file14.c");
	free(text);
}

/* Two processes, each with its own audit_log on the same file. */
static void
test_two_processes(void **state)
{
	struct fixture *fx = *state;
	char *text, *lines[700];
	pid_t pid[2];
	int i, j, status, n_fs = 0, n_proxy = 0;
	size_t len, n;

	make_log(fx->path, 1);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_int_not_equal(pid[i], -1);
		if (pid[i] == 0) {
			struct audit_log *log = audit_open(fx->path, "s1", 64);

			if (log == NULL)
				_exit(1);
			for (j = 0; j < 30; j++) {
				log_some(log,
				    i == 0 ? AUDIT_COMPONENT_FS
				           : AUDIT_COMPONENT_PROXY,
				    j * 10, 10);
				if (audit_flush(log) != 0)
					_exit(1);
			}
			audit_close(log);
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	expect_ok(fx->path, 601);
	text = slurp(fx->path, &len);
	n = split_lines(text, lines, 700);
	assert_int_equal(n, 601);
	for (i = 1; i < (int)n; i++) {
		if (strstr(lines[i], "\"component\":\"fs\"") != NULL)
			n_fs++;
		else if (strstr(lines[i], "\"component\":\"proxy\"") != NULL)
			n_proxy++;
	}
	assert_int_equal(n_fs, 300);
	assert_int_equal(n_proxy, 300);
	free(text);
}

static void
test_tamper_edit(void **state)
{
	struct fixture *fx = *state;
	char *text, *p;
	size_t len;

	make_log(fx->path, 10);
	text = slurp(fx->path, &len);
	p = strstr(text, "src/file4.c");
	assert_non_null(p);
	p[4] = 'F'; /* one byte of line 5 */
	spit(fx->path, text, len);
	expect_bad(fx->path, 5, "edited");
	free(text);

	/* Editing the prev field itself breaks the link instead. */
	unlink(fx->path);
	make_log(fx->path, 10);
	text = slurp(fx->path, &len);
	p = strstr(strstr(text, "src/file6.c"), "\"prev\":\"") + 8;
	*p = *p == 'a' ? 'b' : 'a';
	spit(fx->path, text, len);
	expect_bad(fx->path, 7, "deleted, inserted or reordered");
	free(text);
	unlink(fx->path);
}

static void
test_delete_reorder_truncate(void **state)
{
	struct fixture *fx = *state;
	static const size_t deleted[] = { 0, 1, 2, 4, 5, 6, 7, 8, 9 };
	static const size_t reordered[] = { 0, 1, 3, 2, 4, 5, 6, 7, 8, 9 };
	static const size_t cut[] = { 0, 1, 7, 8, 9 };
	static const size_t first_gone[] = { 1, 2, 3 };
	char *text, *lines[16];
	size_t len;

	make_log(fx->path, 10);
	text = slurp(fx->path, &len);
	assert_int_equal(split_lines(text, lines, 16), 10);

	write_lines(fx->path, lines, deleted, 9);
	expect_bad(fx->path, 4, "deleted, inserted or reordered");
	write_lines(fx->path, lines, reordered, 10);
	expect_bad(fx->path, 3, "deleted, inserted or reordered");
	write_lines(fx->path, lines, cut, 5);
	expect_bad(fx->path, 3, "deleted, inserted or reordered");
	write_lines(fx->path, lines, first_gone, 3);
	expect_bad(fx->path, 1, "deleted, inserted or reordered");
	free(text);
}

static void
test_partial_last_line(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log;
	char *text;
	size_t len;

	make_log(fx->path, 10);
	text = slurp(fx->path, &len);
	/* Keep 9 lines and half of the tenth: a writer died mid-line. */
	spit(fx->path, text, len - 40);
	expect_bad(fx->path, 10, "partial");
	errno = 0;
	log = audit_open(fx->path, "s1", 8);
	assert_null(log);
	assert_int_equal(errno, EBADMSG);

	/* A complete last line that does not verify: refused too. */
	text[len - 10] = text[len - 10] == '0' ? '1' : '0';
	spit(fx->path, text, len);
	expect_bad(fx->path, 10, "edited");
	errno = 0;
	assert_null(audit_open(fx->path, "s1", 8));
	assert_int_equal(errno, EBADMSG);
	free(text);
}

/* Another writer died under the lock mid-line while we were running. */
static void
test_runtime_repair(void **state)
{
	struct fixture *fx = *state;
	static const char partial[] =
	    "{\"ts\":\"2026-11-25T20:00:00Z\",\"seq\":";
	struct audit_log *log;
	char *text;
	size_t len;
	int fd;

	log = audit_open(fx->path, "s1", 8);
	assert_non_null(log);
	log_some(log, AUDIT_COMPONENT_FS, 0, 3);
	assert_int_equal(audit_flush(log), 0);
	fd = open(fx->path, O_WRONLY | O_APPEND);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(write(fd, partial, sizeof(partial) - 1),
	    (ssize_t)sizeof(partial) - 1);
	close(fd);
	log_some(log, AUDIT_COMPONENT_FS, 3, 2);
	audit_close(log);
	expect_ok(fx->path, 6);
	text = slurp(fx->path, &len);
	assert_non_null(strstr(text, "\"op\":\"audit.repaired\""));
	assert_non_null(strstr(text, "partial line of 35 bytes"));
	free(text);
}

static void
test_verify_odd_files(void **state)
{
	struct fixture *fx = *state;
	static const char junk[] = "\x7f"
	                           "ELF\x00\x01\x02garbage\n\xff\xfe\n";
	uint64_t n = 99;
	char why[128];

	spit(fx->path, "", 0);
	expect_ok(fx->path, 0);
	spit(fx->path, junk, sizeof(junk) - 1);
	expect_bad(fx->path, 1, "not an audit record");
	spit(fx->path, "\n", 1);
	expect_bad(fx->path, 1, "empty line");
	spit(fx->path, "{\"seq\":1}\n", 10);
	expect_bad(fx->path, 1, "\"prev\" and \"hash\"");
	unlink(fx->path);
	assert_int_equal(audit_verify_file(fx->path, &n, why, sizeof(why)), -1);
	assert_int_equal(errno, ENOENT);
	/* A symlink is not followed by the writer. */
	assert_int_equal(symlink("/dev/null", fx->path), 0);
	assert_null(audit_open(fx->path, "s1", 8));
	unlink(fx->path);
}

struct sink_seen {
	int n;
	int n_bad;
	char last_op[32];
};

static void
count_sink(
    const struct audit_event *ev, const char *line, size_t len, void *arg)
{
	struct sink_seen *seen = arg;
	char hash[65], why[128];
	uint64_t seq;

	seen->n++;
	if (strlen(line) != len ||
	    audit_record_check(
	        line, len, NULL, 0, hash, &seq, why, sizeof(why)) != 0)
		seen->n_bad++;
	str_copy(seen->last_op, ev->op, sizeof(seen->last_op));
}

static void
test_sink(void **state)
{
	struct fixture *fx = *state;
	struct sink_seen seen = { 0, 0, "" };
	struct audit_log *log;

	log = audit_open(fx->path, "s1", 64);
	assert_non_null(log);
	audit_add_sink(log, count_sink, &seen);
	log_some(log, AUDIT_COMPONENT_FS, 0, 20);
	audit_close(log);
	assert_int_equal(seen.n, 20);
	assert_int_equal(seen.n_bad, 0);
	assert_string_equal(seen.last_op, "write");
}

/*
 * Overload: a tiny queue and a writer stalled on the file lock (which the
 * test holds through its own open file description).
 */
static void
test_drop_counting(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log;
	char *text, *lines[64], *p;
	uint64_t recorded = 0;
	size_t len, n, i, n_events = 0;
	int fd, n_ok = 0, n_dropped = 0, k;

	log = audit_open(fx->path, "s1", 4);
	assert_non_null(log);
	fd = open(fx->path, O_RDONLY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	for (k = 0; k < 100; k++) {
		struct audit_event ev = { .component = AUDIT_COMPONENT_FS,
			.op = "write",
			.target = "x",
			.duration_ms = -1 };

		if (audit_log_event(log, &ev) == 0)
			n_ok++;
		else {
			assert_int_equal(errno, ENOBUFS);
			n_dropped++;
		}
	}
	/* The bound holds even for slots the writer has taken: they are
	 * given back only once written. */
	assert_int_equal(n_ok, 4);
	assert_int_equal(audit_dropped(log), (uint64_t)n_dropped);
	close(fd); /* releases the lock: the writer goes on */
	assert_int_equal(audit_flush(log), 0);
	/* Room again: a later event is written after the drop record. */
	log_some(log, AUDIT_COMPONENT_FS, 0, 1);
	audit_close(log);

	/* The drops may be recorded in more than one record: the writer
	 * notes the count each time it takes a batch. */
	text = slurp(fx->path, &len);
	n = split_lines(text, lines, 64);
	for (i = 0; i < n; i++) {
		if ((p = strstr(lines[i], "\"op\":\"audit.dropped\"")) !=
		    NULL) {
			assert_non_null(strstr(lines[i], "\"decision\":null"));
			p = strstr(lines[i], "\"reason\":\"");
			assert_non_null(p);
			recorded += strtoull(p + 10, NULL, 10);
		} else
			n_events++;
	}
	assert_int_equal(recorded, (uint64_t)n_dropped);
	assert_int_equal(n_events, (size_t)n_ok + 1);
	assert_true(n > n_events);
	free(text);
	expect_ok(fx->path, n);
}

/*
 * A write that fails part-way (the file size limit stands in for a full
 * disk) leaves no partial line: the writer cuts back, counts the lost
 * records as dropped, reports it from audit_flush, and records the count
 * once writing works again.  In a child: the limit is per process.
 */
static void
test_write_failure(void **state)
{
	struct fixture *fx = *state;
	struct rlimit rl;
	struct stat st;
	char *text;
	size_t len;
	pid_t pid;
	int status;

	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		struct audit_log *log;
		int rc = 10;

		signal(SIGXFSZ, SIG_IGN);
		if ((log = audit_open(fx->path, "s1", 64)) == NULL)
			_exit(1);
		log_some(log, AUDIT_COMPONENT_FS, 0, 3);
		if (audit_flush(log) != 0 || stat(fx->path, &st) != 0)
			_exit(2);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = (rlim_t)st.st_size + 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(3);
		log_some(log, AUDIT_COMPONENT_FS, 3, 5);
		if (audit_flush(log) != -1 || errno != EFBIG)
			_exit(4);
		if (audit_dropped(log) != 5)
			_exit(5);
		if (stat(fx->path, &st) != 0 ||
		    st.st_size + 100 != (off_t)rl.rlim_cur)
			_exit(6); /* the partial write was not cut back */
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(7);
		log_some(log, AUDIT_COMPONENT_FS, 8, 1);
		rc = audit_flush(log) == 0 ? 0 : 8;
		audit_close(log);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	expect_ok(fx->path, 5);
	text = slurp(fx->path, &len);
	assert_non_null(strstr(text, "\"reason\":\"5 events dropped"));
	assert_non_null(strstr(text, "src/file8.c"));
	assert_null(strstr(text, "src/file3.c"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test_setup_teardown(
		    test_chain_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tamper_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_delete_reorder_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_partial_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_runtime_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_verify_odd_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_drop_counting, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_write_failure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
