/*
 * stage_tool: build and inspect a session's staging area without a mount,
 * so that the review tests (diff, commit, discard) do not depend on
 * airlock-fs.
 *
 *   stage_tool record SESSION KIND BASE MODE PATH [FROM]
 *       KIND add|mod|del|ren|mode|clean, optionally with "+o" (opaque);
 *       BASE "-", 16 hex digits, or "=FILE": the xxh3 of FILE's content
 *       (of its target for a symlink, 0 for a directory);
 *       MODE octal (0100644, 040755, 0120777, 0 for del)
 *   stage_tool list SESSION          one entry a line
 *   stage_tool hash FILE             the xxh3 stage_hash_fd() computes
 *   stage_tool lock SESSION SECONDS  hold the writer lock (as a mounted
 *                                    airlock-fs does), then exit
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "fs/stage.h"

static int
tool_hash_file(const char *file, uint64_t *out)
{
	char target[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int fd, rc;

	if (lstat(file, &sb) != 0)
		return -1;
	if (S_ISDIR(sb.st_mode)) {
		*out = 0;
		return 0;
	}
	if (S_ISLNK(sb.st_mode)) {
		if ((n = readlink(file, target, sizeof target)) < 0)
			return -1;
		*out = XXH3_64bits(target, (size_t)n);
		return 0;
	}
	if ((fd = open(file, O_RDONLY)) < 0)
		return -1;
	rc = stage_hash_fd(fd, out);
	close(fd);
	return rc;
}

static int
tool_kind(const char *word, struct stage_entry *e)
{
	static const struct {
		const char *word;
		enum stage_kind kind;
	} kinds[] = {
		{ "add", STAGE_ADDED },
		{ "mod", STAGE_MODIFIED },
		{ "del", STAGE_DELETED },
		{ "ren", STAGE_RENAMED },
		{ "mode", STAGE_MODE },
		{ "clean", STAGE_CLEAN },
	};
	size_t i, len = strlen(word);

	if (len > 2 && strcmp(word + len - 2, "+o") == 0) {
		e->is_opaque = 1;
		len -= 2;
	}
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strlen(kinds[i].word) == len &&
		    strncmp(kinds[i].word, word, len) == 0) {
			e->kind = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

static int
tool_record(int argc, char **argv)
{
	struct stage_entry e;
	struct stage *st;
	char *end;
	int rc = 1;

	if (argc < 7 || argc > 8) {
		fprintf(stderr,
		    "usage: stage_tool record SESSION KIND BASE "
		    "MODE PATH [FROM]\n");
		return 2;
	}
	memset(&e, 0, sizeof e);
	if (tool_kind(argv[3], &e) != 0) {
		fprintf(stderr, "stage_tool: bad kind %s\n", argv[3]);
		return 2;
	}
	if (strcmp(argv[4], "-") != 0) {
		e.has_base = 1;
		if (argv[4][0] == '=') {
			if (tool_hash_file(argv[4] + 1, &e.base_hash) != 0) {
				perror(argv[4] + 1);
				return 1;
			}
		} else
			e.base_hash = strtoull(argv[4], NULL, 16);
	}
	e.mode = (mode_t)strtoul(argv[5], &end, 8);
	e.path = argv[6];
	e.from = argc == 8 ? argv[7] : NULL;
	if ((st = stage_open(argv[2], STAGE_WRITE)) == NULL) {
		fprintf(
		    stderr, "stage_tool: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (stage_record(st, &e) != 0)
		fprintf(stderr, "stage_tool: record: %s\n", strerror(errno));
	else
		rc = 0;
	stage_close(st);
	return rc;
}

static int
tool_list(const char *dir)
{
	struct stage_entry *list;
	struct stage *st;
	ssize_t n, i;

	if ((st = stage_open(dir, 0)) == NULL) {
		fprintf(stderr, "stage_tool: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if ((n = stage_list(st, &list)) < 0) {
		stage_close(st);
		return 1;
	}
	for (i = 0; i < n; i++) {
		printf("%s%s ", stage_kind_name(list[i].kind),
		    list[i].is_opaque ? "+o" : "");
		if (list[i].has_base)
			printf(
			    "%016llx", (unsigned long long)list[i].base_hash);
		else
			printf("-");
		printf(" 0%o %s%s%s\n", (unsigned)list[i].mode, list[i].path,
		    list[i].from != NULL ? " " : "",
		    list[i].from != NULL ? list[i].from : "");
	}
	stage_list_free(list, n);
	stage_close(st);
	return 0;
}

int
main(int argc, char **argv)
{
	struct stage *st;
	uint64_t h;

	if (argc >= 2 && strcmp(argv[1], "record") == 0)
		return tool_record(argc, argv);
	if (argc == 3 && strcmp(argv[1], "list") == 0)
		return tool_list(argv[2]);
	if (argc == 3 && strcmp(argv[1], "hash") == 0) {
		if (tool_hash_file(argv[2], &h) != 0) {
			perror(argv[2]);
			return 1;
		}
		printf("%016llx\n", (unsigned long long)h);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "lock") == 0) {
		if ((st = stage_open(argv[2], STAGE_WRITE)) == NULL) {
			fprintf(stderr, "stage_tool: %s: %s\n", argv[2],
			    strerror(errno));
			return 1;
		}
		printf("locked\n");
		fflush(stdout);
		sleep((unsigned)atoi(argv[3]));
		stage_close(st);
		return 0;
	}
	fprintf(stderr, "usage: stage_tool record|list|hash|lock ...\n");
	return 2;
}
