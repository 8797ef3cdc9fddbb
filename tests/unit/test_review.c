/*
 * test_review: from staged entries to concrete changes (fs/diff.c):
 * deleted and opaque directories expand into their files, renames take
 * their content from the source, filters keep rename pairs and parent
 * directories; and the session.json reader.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs/diff.h"
#include "fs/stage.h"

struct fixture {
	char dir[64];
	char proj[96];
	char sess[96];
	int proj_fd;
	struct stage *st;
};

static void
put(const char *root, const char *path, const char *content)
{
	char full[PATH_MAX];
	FILE *f;

	snprintf(full, sizeof full, "%s/%s", root, path);
	assert_non_null(f = fopen(full, "w"));
	fputs(content, f);
	fclose(f);
}

static void
mk(const char *root, const char *path)
{
	char full[PATH_MAX];

	snprintf(full, sizeof full, "%s/%s", root, path);
	assert_int_equal(mkdir(full, 0755), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_review.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->proj, sizeof f->proj, "%s/proj", f->dir);
	snprintf(f->sess, sizeof f->sess, "%s/sess", f->dir);
	assert_int_equal(mkdir(f->proj, 0755), 0);
	assert_int_equal(mkdir(f->sess, 0700), 0);
	mk(f->proj, "d");
	put(f->proj, "d/one", "1\n");
	put(f->proj, "d/two", "2\n");
	mk(f->proj, "keep");
	put(f->proj, "keep/k", "k\n");
	put(f->proj, "moved", "content\n");
	f->proj_fd = open(f->proj, O_RDONLY | O_DIRECTORY);
	assert_true(f->proj_fd >= 0);
	assert_non_null(f->st = stage_open(f->sess, STAGE_WRITE));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	stage_close(f->st);
	close(f->proj_fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
record(struct fixture *f, enum stage_kind kind, const char *path, mode_t mode,
    const char *from, int is_opaque)
{
	struct stage_entry e;

	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.path = path;
	e.from = from;
	e.mode = mode;
	e.is_opaque = is_opaque;
	e.has_base = kind != STAGE_ADDED;
	assert_int_equal(stage_record(f->st, &e), 0);
}

static const struct review_change *
find(const struct review_set *set, const char *path)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].path, path) == 0)
			return &set->v[i];
	return NULL;
}

static void
test_review_deleted_dir_expands(void **state)
{
	struct fixture *f = *state;
	struct review_set set;
	const struct review_change *ch;

	record(f, STAGE_DELETED, "d", 0, NULL, 0);
	assert_int_equal(review_collect(f->st, f->proj_fd, NULL, 0, &set), 0);
	assert_int_equal(set.n, 3);
	assert_non_null(ch = find(&set, "d/one"));
	assert_int_equal(ch->old.src, REVIEW_LOWER);
	assert_int_equal(ch->new.src, REVIEW_NONE);
	assert_non_null(find(&set, "d/two"));
	assert_non_null(ch = find(&set, "d"));
	assert_true(S_ISDIR(ch->old.mode));
	assert_null(find(&set, "keep/k"));
	review_set_free(&set);
}

static void
test_review_opaque_dir(void **state)
{
	struct fixture *f = *state;
	struct review_set set;
	const struct review_change *ch;
	int ufd = stage_upper_fd(f->st);

	/* d was deleted and made again with one file: d/two is gone, d/one
	 * has new content. */
	assert_int_equal(mkdirat(ufd, "d", 0755), 0);
	put(f->sess, "upper/d/one", "new one\n");
	record(f, STAGE_MODIFIED, "d", 040755, NULL, 1);
	record(f, STAGE_MODIFIED, "d/one", 0100644, NULL, 0);
	assert_int_equal(review_collect(f->st, f->proj_fd, NULL, 0, &set), 0);
	assert_non_null(ch = find(&set, "d/two"));
	assert_int_equal(ch->new.src, REVIEW_NONE);
	assert_non_null(ch = find(&set, "d/one"));
	assert_int_equal(ch->new.src, REVIEW_UPPER);
	assert_null(find(&set, "d")); /* the same directory, same mode */
	review_set_free(&set);
}

static void
test_review_rename_without_copy(void **state)
{
	struct fixture *f = *state;
	struct review_set set;
	const struct review_change *ch;
	char *filters[] = { "renamed" };

	record(f, STAGE_RENAMED, "renamed", 0100644, "moved", 0);
	record(f, STAGE_DELETED, "moved", 0, NULL, 0);
	record(f, STAGE_ADDED, "other", 0100644, NULL, 0);
	put(f->sess, "upper/other", "x\n");
	/* Filtering on the target keeps its source's deletion. */
	assert_int_equal(
	    review_collect(f->st, f->proj_fd, filters, 1, &set), 0);
	assert_int_equal(set.n, 2);
	assert_non_null(ch = find(&set, "renamed"));
	assert_int_equal(ch->new.src, REVIEW_LOWER);
	assert_string_equal(ch->new.path, "moved");
	assert_non_null(ch = find(&set, "moved"));
	assert_int_equal(ch->new.src, REVIEW_NONE);
	assert_int_equal(set.n_selected, 2);
	review_set_free(&set);
}

static void
test_review_filter_keeps_parents(void **state)
{
	struct fixture *f = *state;
	struct review_set set;
	char *filters[] = { "n/m/file" };
	int ufd = stage_upper_fd(f->st);

	assert_int_equal(mkdirat(ufd, "n", 0755), 0);
	assert_int_equal(mkdirat(ufd, "n/m", 0755), 0);
	put(f->sess, "upper/n/m/file", "f\n");
	record(f, STAGE_ADDED, "n", 040755, NULL, 0);
	record(f, STAGE_ADDED, "n/m", 040755, NULL, 0);
	record(f, STAGE_ADDED, "n/m/file", 0100644, NULL, 0);
	assert_int_equal(
	    review_collect(f->st, f->proj_fd, filters, 1, &set), 0);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.v[0].path, "n");
	assert_string_equal(set.v[1].path, "n/m");
	assert_string_equal(set.v[2].path, "n/m/file");
	review_set_free(&set);
}

static void
test_review_path_matches(void **state)
{
	char *filters[] = { "src/", "a.c" };

	(void)state;
	assert_true(review_path_matches("src", filters, 2));
	assert_true(review_path_matches("src/x/y", filters, 2));
	assert_false(review_path_matches("srcx", filters, 2));
	assert_true(review_path_matches("a.c", filters, 2));
	assert_false(review_path_matches("a.cc", filters, 2));
	assert_true(review_path_matches("anything", NULL, 0));
}

static void
test_review_project_path(void **state)
{
	struct fixture *f = *state;
	char out[PATH_MAX];

	assert_int_equal(review_project_path(f->sess, out, sizeof out), -1);
	assert_int_equal(errno, ENOENT);
	put(f->sess, "session.json",
	    "{ \"id\": \"a\\\"b\", \"pids\": {\"fs\": 1, \"l\": [1, {\"x\": "
	    "\"}\"}]}, \"project\": \"/home/u/my \\u0041pp\\/src\" }");
	assert_int_equal(review_project_path(f->sess, out, sizeof out), 0);
	assert_string_equal(out, "/home/u/my App/src");
	put(f->sess, "session.json", "{\"state\": \"running\"}");
	assert_int_equal(review_project_path(f->sess, out, sizeof out), -1);
	assert_int_equal(errno, ENOENT);
	put(f->sess, "session.json", "{\"project\": \"relative\"}");
	assert_int_equal(review_project_path(f->sess, out, sizeof out), -1);
	put(f->sess, "session.json", "{\"project\": 7}");
	assert_int_equal(review_project_path(f->sess, out, sizeof out), -1);
	put(f->sess, "session.json", "not json");
	assert_int_equal(review_project_path(f->sess, out, sizeof out), -1);
	assert_int_equal(errno, EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_review_deleted_dir_expands, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_review_opaque_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_review_rename_without_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_review_filter_keeps_parents, setup, teardown),
		cmocka_unit_test(test_review_path_matches),
		cmocka_unit_test_setup_teardown(
		    test_review_project_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
