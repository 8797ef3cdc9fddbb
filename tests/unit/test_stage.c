/*
 * test_stage: the staging manifest (record, replay, compaction, odd names,
 * crash-truncated lines, the writer lock, drop) and the beneath-opens.
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
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "fs/stage.h"

struct fixture {
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_stage.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
record(struct stage *st, enum stage_kind kind, const char *path, uint64_t base,
    mode_t mode, const char *from)
{
	struct stage_entry e;

	memset(&e, 0, sizeof e);
	e.path = path;
	e.kind = kind;
	e.from = from;
	e.has_base = base != 0;
	e.base_hash = base;
	e.mode = mode;
	assert_int_equal(stage_record(st, &e), 0);
}

static char *
read_manifest(const struct fixture *f)
{
	char path[128], *data;
	FILE *fp;
	long len;

	snprintf(path, sizeof path, "%s/manifest", f->dir);
	assert_non_null(fp = fopen(path, "r"));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	data = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return data;
}

static void
append_manifest(const struct fixture *f, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/manifest", f->dir);
	assert_non_null(fp = fopen(path, "a"));
	fputs(text, fp);
	fclose(fp);
}

static void
test_stage_creates_layout(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stat sb;
	char path[128];

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	snprintf(path, sizeof path, "%s/upper", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(path, sizeof path, "%s/manifest", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_true(stage_upper_fd(st) >= 0);
	stage_close(st);
}

static void
test_stage_record_replay(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e, *list;
	char buf[256];
	ssize_t n;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	record(st, STAGE_MODIFIED, "src/a.c", 0x1234, 0100644, NULL);
	record(st, STAGE_ADDED, "new", 0, 0100755, NULL);
	record(st, STAGE_DELETED, "old.txt", 0xabcdef0123456789ULL, 0, NULL);
	record(st, STAGE_RENAMED, "b/moved", 0x42, 0100600, "old.txt");
	stage_close(st);

	assert_non_null(st = stage_open(f->dir, 0));
	assert_int_equal(stage_lookup(st, "src/a.c", &e, buf, sizeof buf), 1);
	assert_int_equal(e.kind, STAGE_MODIFIED);
	assert_true(e.has_base);
	assert_int_equal(e.base_hash, 0x1234);
	assert_int_equal(e.mode, 0100644);
	assert_null(e.from);
	assert_int_equal(stage_lookup(st, "new", &e, buf, sizeof buf), 1);
	assert_false(e.has_base);
	assert_int_equal(e.mode, 0100755);
	assert_int_equal(stage_lookup(st, "old.txt", &e, buf, sizeof buf), 1);
	assert_int_equal(e.kind, STAGE_DELETED);
	assert_int_equal(e.base_hash, 0xabcdef0123456789ULL);
	assert_int_equal(stage_lookup(st, "b/moved", &e, buf, sizeof buf), 1);
	assert_int_equal(e.kind, STAGE_RENAMED);
	assert_string_equal(e.from, "old.txt");
	assert_int_equal(stage_lookup(st, "nothing", &e, buf, sizeof buf), 0);
	assert_int_equal(stage_lookup(st, "b/moved", &e, buf, 4), -1);
	assert_int_equal(errno, ERANGE);

	n = stage_list(st, &list);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].path, "b/moved");
	assert_string_equal(list[1].path, "new");
	assert_string_equal(list[2].path, "old.txt");
	assert_string_equal(list[3].path, "src/a.c");
	stage_list_free(list, n);
	stage_close(st);
}

static void
test_stage_last_record_wins_and_compacts(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e;
	char buf[256], *m;
	int i;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	for (i = 0; i < 1000; i++)
		record(st, STAGE_MODIFIED, "f", (uint64_t)i + 1, 0100644, NULL);
	record(st, STAGE_ADDED, "gone", 0, 0100644, NULL);
	record(st, STAGE_CLEAN, "gone", 0, 0, NULL);
	stage_close(st);

	m = read_manifest(f);
	assert_int_equal(strlen(m) > 1000 * 20, 1);
	free(m);

	/* A writer's open compacts: one line per live entry. */
	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	assert_int_equal(stage_lookup(st, "f", &e, buf, sizeof buf), 1);
	assert_int_equal(e.base_hash, 1000);
	assert_int_equal(stage_lookup(st, "gone", &e, buf, sizeof buf), 0);
	stage_close(st);
	m = read_manifest(f);
	assert_string_equal(m, "mod 00000000000003e8 0100644 f\n");
	free(m);
}

static void
test_stage_odd_names(void **state)
{
	static const char *names[] = {
		"with space/and more spaces.txt",
		"new\nline",
		"100%_done%41",
		"latin1-\xe9\xff\x80",
		"-leading-dash",
		"tab\there",
		"del\x7f",
		"utf8-\xc3\xa9t\xc3\xa9",
	};
	struct stage *st;
	struct fixture *f = *state;
	struct stage_entry e, *list;
	char buf[256], *m, *p;
	size_t i, n_names = sizeof names / sizeof names[0];
	ssize_t n;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	for (i = 0; i < n_names; i++)
		record(st, STAGE_ADDED, names[i], 0, 0100644, NULL);
	record(st, STAGE_RENAMED, "to name", 7, 0100644, "from\nname");
	stage_close(st);

	/* Every line has exactly its fields: no raw space, newline or high
	 * byte leaks into a path. */
	m = read_manifest(f);
	for (p = m; *p != '\0'; p++)
		assert_true((unsigned char)*p < 0x7f);
	free(m);

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	for (i = 0; i < n_names; i++) {
		assert_int_equal(
		    stage_lookup(st, names[i], &e, buf, sizeof buf), 1);
		assert_string_equal(e.path, names[i]);
	}
	assert_int_equal(stage_lookup(st, "to name", &e, buf, sizeof buf), 1);
	assert_string_equal(e.from, "from\nname");
	n = stage_list(st, &list);
	assert_int_equal(n, (ssize_t)n_names + 1);
	for (i = 1; i < (size_t)n; i++) /* bytewise order */
		assert_true(strcmp(list[i - 1].path, list[i].path) < 0);
	stage_list_free(list, n);
	stage_close(st);
}

static void
test_stage_truncated_last_line(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e;
	char buf[256];

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	record(st, STAGE_MODIFIED, "kept", 5, 0100644, NULL);
	stage_close(st);
	/* A crash mid-append: the last line has no newline. */
	append_manifest(f, "mod 0000000000000009 0100644 kep");

	assert_non_null(st = stage_open(f->dir, 0));
	assert_int_equal(stage_lookup(st, "kept", &e, buf, sizeof buf), 1);
	assert_int_equal(e.base_hash, 5);
	assert_int_equal(stage_lookup(st, "kep", &e, buf, sizeof buf), 0);
	stage_close(st);

	/* The writer drops it, and a new record does not join it. */
	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	record(st, STAGE_ADDED, "after", 0, 0100644, NULL);
	stage_close(st);
	assert_non_null(st = stage_open(f->dir, 0));
	assert_int_equal(stage_lookup(st, "after", &e, buf, sizeof buf), 1);
	assert_int_equal(stage_lookup(st, "kept", &e, buf, sizeof buf), 1);
	stage_close(st);
}

static void
test_stage_bad_line_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct stage *st;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	stage_close(st);
	append_manifest(f, "mod 0000000000000009 0100644 ../escape\n");
	assert_null(stage_open(f->dir, 0));
	assert_int_equal(errno, EBADMSG);
}

static void
test_stage_bad_lines(void **state)
{
	static const char *bad[] = {
		"bogus - 0100644 x\n",
		"mod 12 0100644 x\n",
		"mod - 0100999 x\n",
		"mod - 0100644\n",
		"mod - 0100644 /abs\n",
		"mod - 0100644 a//b\n",
		"mod - 0100644 a%2\n",
		"mod - 0100644 a%00b\n",
		"ren - 0100644 x\n",
		"mod - 0100644 x y\n",
	};
	struct fixture *f = *state;
	struct stage *st;
	char path[128];
	size_t i;

	snprintf(path, sizeof path, "%s/manifest", f->dir);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unlink(path);
		append_manifest(f, bad[i]);
		st = stage_open(f->dir, 0);
		if (st != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(errno, EBADMSG);
	}
}

static void
test_stage_refuses_bad_paths(void **state)
{
	static const char *bad[] = { "", "/etc/passwd", "../x", "a/../b",
		"a/./b", "a/", ".", "..", "a//b" };
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e;
	size_t i;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		e.path = bad[i];
		e.kind = STAGE_ADDED;
		e.mode = 0100644;
		assert_int_equal(stage_record(st, &e), -1);
		assert_int_equal(errno, EINVAL);
	}
	stage_close(st);
}

static void
test_stage_lock(void **state)
{
	struct fixture *f = *state;
	struct stage *w, *r;
	struct stage_entry e;

	assert_non_null(w = stage_open(f->dir, STAGE_WRITE));
	assert_null(stage_open(f->dir, STAGE_WRITE));
	assert_int_equal(errno, EBUSY);
	/* Readers do not need the lock, and cannot record. */
	assert_non_null(r = stage_open(f->dir, 0));
	memset(&e, 0, sizeof e);
	e.path = "x";
	e.kind = STAGE_ADDED;
	assert_int_equal(stage_record(r, &e), -1);
	assert_int_equal(errno, EBADF);
	stage_close(r);
	stage_close(w);
	assert_non_null(w = stage_open(f->dir, STAGE_WRITE));
	stage_close(w);
}

static void
touch_upper(struct stage *st, const char *path)
{
	int fd;

	fd = openat(stage_upper_fd(st), path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void
test_stage_drop(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e;
	struct stat sb;
	char buf[256];
	int ufd;

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	ufd = stage_upper_fd(st);
	assert_int_equal(mkdirat(ufd, "d", 0755), 0);
	assert_int_equal(mkdirat(ufd, "d/e", 0755), 0);
	touch_upper(st, "d/e/f");
	touch_upper(st, "d/e/untracked");
	touch_upper(st, "top");
	record(st, STAGE_ADDED, "d", 0, 040755, NULL);
	record(st, STAGE_ADDED, "d/e/f", 0, 0100644, NULL);
	record(st, STAGE_MODIFIED, "top", 3, 0100644, NULL);

	assert_int_equal(stage_drop(st, "top"), 0);
	assert_int_equal(fstatat(ufd, "top", &sb, 0), -1);
	assert_int_equal(stage_lookup(st, "top", &e, buf, sizeof buf), 0);

	/* d still holds a staged entry: its directory stays. */
	assert_int_equal(stage_drop(st, "d"), 0);
	assert_int_equal(fstatat(ufd, "d/e/f", &sb, 0), 0);
	assert_int_equal(stage_drop(st, "d/e/f"), 0);
	assert_int_equal(fstatat(ufd, "d/e/f", &sb, 0), -1);
	/* Nothing staged below d now: dropping it again removes the tree. */
	record(st, STAGE_ADDED, "d", 0, 040755, NULL);
	assert_int_equal(stage_drop(st, "d"), 0);
	assert_int_equal(fstatat(ufd, "d", &sb, 0), -1);
	/* A deletion has no upper file. */
	record(st, STAGE_DELETED, "never/was", 9, 0, NULL);
	assert_int_equal(stage_drop(st, "never/was"), 0);
	stage_close(st);

	assert_non_null(st = stage_open(f->dir, 0));
	assert_int_equal(stage_lookup(st, "d/e/f", &e, buf, sizeof buf), 0);
	assert_int_equal(stage_lookup(st, "never/was", &e, buf, sizeof buf), 0);
	stage_close(st);
}

static void
test_stage_opaque_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct stage *st;
	struct stage_entry e;
	char buf[256];

	assert_non_null(st = stage_open(f->dir, STAGE_WRITE));
	memset(&e, 0, sizeof e);
	e.path = "dir";
	e.kind = STAGE_MODIFIED;
	e.has_base = 1;
	e.mode = 040700;
	e.is_opaque = 1;
	assert_int_equal(stage_record(st, &e), 0);
	stage_close(st);
	assert_non_null(st = stage_open(f->dir, 0));
	assert_int_equal(stage_lookup(st, "dir", &e, buf, sizeof buf), 1);
	assert_true(e.is_opaque);
	assert_int_equal(e.kind, STAGE_MODIFIED);
	assert_int_equal(e.mode, 040700);
	stage_close(st);
}

static void
test_stage_hash_fd(void **state)
{
	struct fixture *f = *state;
	char path[128], *data;
	size_t len = 300 * 1024 + 17, i;
	uint64_t h;
	int fd;

	data = malloc(len);
	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7);
	snprintf(path, sizeof path, "%s/blob", f->dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	lseek(fd, 5, SEEK_SET); /* stage_hash_fd reads from offset 0 anyway */
	assert_int_equal(stage_hash_fd(fd, &h), 0);
	assert_int_equal(h, XXH3_64bits(data, len));
	close(fd);
	free(data);
}

static void
test_stage_open_beneath(void **state)
{
	struct fixture *f = *state;
	char path[128];
	const char *name;
	int root, fd;

	snprintf(path, sizeof path, "%s/root", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/sub", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/sub/file", f->dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof path, "%s/root/up", f->dir);
	assert_int_equal(symlink("..", path), 0);
	snprintf(path, sizeof path, "%s/root/alias", f->dir);
	assert_int_equal(symlink("sub", path), 0);
	snprintf(path, sizeof path, "%s/root", f->dir);
	root = open(path, O_RDONLY | O_DIRECTORY);

	fd = stage_open_beneath(root, "sub/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
	    stage_open_beneath(root, "alias/file", O_RDONLY, 0), -1);
	assert_int_equal(
	    stage_open_beneath(root, "up/manifest", O_RDONLY, 0), -1);
	assert_int_equal(stage_open_beneath(root, "alias", O_RDONLY, 0), -1);
	assert_int_equal(
	    stage_open_beneath(root, "../root/sub", O_RDONLY, 0), -1);
	assert_int_equal(errno, EINVAL);

	fd = stage_open_parent(root, "sub/file", &name);
	assert_true(fd >= 0);
	assert_string_equal(name, "file");
	close(fd);
	fd = stage_open_parent(root, "top", &name);
	assert_true(fd >= 0);
	assert_string_equal(name, "top");
	close(fd);
	assert_int_equal(stage_open_parent(root, "alias/x", &name), -1);
	close(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_stage_creates_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_record_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_last_record_wins_and_compacts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_odd_names, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_truncated_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_bad_line_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_refuses_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_opaque_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_hash_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stage_open_beneath, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
