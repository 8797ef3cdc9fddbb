/*
 * airlock pending | approve | deny: a person's side of held actions.
 *
 * Each daemon of a session serves its own held actions on its control
 * socket (fs.sock for airlock-fs, proxy.sock for airlock-proxy; see
 * common/ctl.h).  An id's first letter names its daemon ("f3", "p12"), so
 * approve and deny talk to one socket; pending asks both and merges.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "session.h"
#include "util.h"

#define APPROVE_MAX_DEPTH 16

/* The daemons, in the order pending lists them. */
static const struct approve_daemon {
	char prefix;
	const char *sock;
	const char *what;
} approve_daemons[] = {
	{ 'f', "fs.sock", "airlock-fs (files)" },
	{ 'p', "proxy.sock", "airlock-proxy (network)" },
};
#define APPROVE_N_DAEMONS (sizeof(approve_daemons) / sizeof(approve_daemons[0]))

/* One held action as the CLI shows it; every field is a string ("" when
 * absent, numbers as their JSON text). */
struct pending_item {
	char *id, *kind, *op, *target, *pid, *exe, *intent, *age_ms, *left_ms;
};

struct pending_list {
	struct pending_item *items;
	size_t n_items;
};

/* Options shared by the three commands. */
struct approve_opts {
	const char *session;
	const char *id;
	int has_json;
	int has_remember;
};

/*
 * A small reader for what the daemons send: an array of flat objects
 * whose values are strings, numbers, true/false/null (nested values are
 * skipped).  It is not a general JSON library; it only has to be strict
 * enough to refuse what it does not understand rather than misread it.
 */
static void
json_skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static int
json_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void
json_add_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Parse a string at *p (at its opening quote); *out is the decoded text,
 * which the caller frees. */
static int
json_parse_string(const char **p, char **out)
{
	const char *s = *p;
	struct buf b;
	unsigned cp, lo;
	char c;

	if (*s != '"')
		return -1;
	s++;
	buf_init(&b);
	for (;;) {
		c = *s;
		if (c == '\0' || (unsigned char)c < 0x20)
			goto fail;
		if (c == '"')
			break;
		if (c != '\\') {
			buf_add(&b, s, 1);
			s++;
			continue;
		}
		s++;
		switch (*s) {
		case '"':
		case '\\':
		case '/':
			buf_add(&b, s, 1);
			break;
		case 'b':
			buf_adds(&b, "\b");
			break;
		case 'f':
			buf_adds(&b, "\f");
			break;
		case 'n':
			buf_adds(&b, "\n");
			break;
		case 'r':
			buf_adds(&b, "\r");
			break;
		case 't':
			buf_adds(&b, "\t");
			break;
		case 'u':
			if (json_hex4(s + 1, &cp) != 0)
				goto fail;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && s[1] == '\\' &&
			    s[2] == 'u' && json_hex4(s + 3, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			json_add_utf8(&b, cp);
			break;
		default:
			goto fail;
		}
		s++;
	}
	*p = s + 1;
	*out = buf_release(&b);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

/* true, false, null or a number (its characters; strtod would accept
 * more than JSON does, and a looser check here only risks an odd number
 * being shown as written). */
static int
json_skip_literal(const char **p)
{
	static const char *words[] = { "true", "false", "null" };
	const char *start = *p;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strncmp(*p, words[i], strlen(words[i])) == 0) {
			*p += strlen(words[i]);
			return 0;
		}
	}
	while (**p != '\0' && strchr("-+.0123456789eE", **p) != NULL)
		(*p)++;
	return *p > start ? 0 : -1;
}

/* Skip any value; nested containers to a bounded depth. */
static int
json_skip_value(const char **p, int depth)
{
	char *s, close;

	json_skip_ws(p);
	if (**p == '"') {
		if (json_parse_string(p, &s) != 0)
			return -1;
		free(s);
		return 0;
	}
	if (**p == '{' || **p == '[') {
		if (depth >= APPROVE_MAX_DEPTH)
			return -1;
		close = **p == '{' ? '}' : ']';
		(*p)++;
		json_skip_ws(p);
		if (**p == close) {
			(*p)++;
			return 0;
		}
		for (;;) {
			if (close == '}') {
				json_skip_ws(p);
				if (json_parse_string(p, &s) != 0)
					return -1;
				free(s);
				json_skip_ws(p);
				if (**p != ':')
					return -1;
				(*p)++;
			}
			if (json_skip_value(p, depth + 1) != 0)
				return -1;
			json_skip_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			if (**p != close)
				return -1;
			(*p)++;
			return 0;
		}
	}
	return json_skip_literal(p);
}

/* A scalar as text: strings decoded, numbers as written, null as "". */
static int
json_parse_scalar(const char **p, char **out)
{
	const char *start;

	json_skip_ws(p);
	if (**p == '"')
		return json_parse_string(p, out);
	start = *p;
	if (json_skip_value(p, 0) != 0)
		return -1;
	if (strncmp(start, "null", 4) == 0 && *p - start == 4)
		*out = xstrdup("");
	else
		*out = xstrndup(start, (size_t)(*p - start));
	return 0;
}

/* The fields the CLI reads, by JSON key; the rest are skipped. */
static const struct pending_field {
	const char *key;
	size_t offset;
} pending_fields[] = {
	{ "id", offsetof(struct pending_item, id) },
	{ "kind", offsetof(struct pending_item, kind) },
	{ "op", offsetof(struct pending_item, op) },
	{ "target", offsetof(struct pending_item, target) },
	{ "pid", offsetof(struct pending_item, pid) },
	{ "exe", offsetof(struct pending_item, exe) },
	{ "intent", offsetof(struct pending_item, intent) },
	{ "age_ms", offsetof(struct pending_item, age_ms) },
	{ "left_ms", offsetof(struct pending_item, left_ms) },
};
#define PENDING_N_FIELDS (sizeof(pending_fields) / sizeof(pending_fields[0]))

static char **
pending_item_slot(struct pending_item *it, size_t i)
{
	return (char **)((char *)it + pending_fields[i].offset);
}

static char **
pending_item_field(struct pending_item *it, const char *key)
{
	size_t i;

	for (i = 0; i < PENDING_N_FIELDS; i++)
		if (strcmp(pending_fields[i].key, key) == 0)
			return pending_item_slot(it, i);
	return NULL;
}

static void
pending_item_clear(struct pending_item *it)
{
	size_t i;

	for (i = 0; i < PENDING_N_FIELDS; i++)
		free(*pending_item_slot(it, i));
	memset(it, 0, sizeof(*it));
}

/*
 * Make a field safe to print on a terminal.  Paths, intents and command
 * lines come from the agent: an escape sequence in a file name could
 * otherwise redraw the table a person decides from.  C0 controls, DEL and
 * the UTF-8 forms of C1 controls become '?', in place.
 */
static void
pending_defang(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

/* Every field non-NULL and printable, so that printing needs no checks. */
static void
pending_item_fill(struct pending_item *it)
{
	size_t i;

	for (i = 0; i < PENDING_N_FIELDS; i++) {
		if (*pending_item_slot(it, i) == NULL)
			*pending_item_slot(it, i) = xstrdup("");
		pending_defang(*pending_item_slot(it, i));
	}
}

static int
pending_parse_object(const char **p, struct pending_item *it)
{
	char *key = NULL, **field;
	int rc = -1;

	json_skip_ws(p);
	if (**p != '{')
		return -1;
	(*p)++;
	json_skip_ws(p);
	if (**p == '}') {
		(*p)++;
		rc = 0;
		goto out;
	}
	for (;;) {
		json_skip_ws(p);
		if (json_parse_string(p, &key) != 0)
			goto out;
		json_skip_ws(p);
		if (**p != ':')
			goto out;
		(*p)++;
		field = pending_item_field(it, key);
		if (field != NULL) {
			free(*field);
			*field = NULL;
			if (json_parse_scalar(p, field) != 0)
				goto out;
		} else if (json_skip_value(p, 1) != 0)
			goto out;
		free(key);
		key = NULL;
		json_skip_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		if (**p != '}')
			goto out;
		(*p)++;
		rc = 0;
		goto out;
	}
out:
	free(key);
	pending_item_fill(it);
	return rc;
}

/* Append the items of one daemon's list answer to *list. */
static int
pending_parse(const char *text, struct pending_list *list)
{
	const char *p = text;
	struct pending_item it;

	json_skip_ws(&p);
	if (*p != '[')
		return -1;
	p++;
	json_skip_ws(&p);
	if (*p == ']')
		goto end;
	for (;;) {
		memset(&it, 0, sizeof(it));
		if (pending_parse_object(&p, &it) != 0) {
			pending_item_clear(&it);
			return -1;
		}
		list->items = xrealloc(
		    list->items, (list->n_items + 1) * sizeof(*list->items));
		list->items[list->n_items++] = it;
		json_skip_ws(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != ']')
			return -1;
		break;
	}
end:
	p++;
	json_skip_ws(&p);
	return *p == '\0' ? 0 : -1;
}

static void
pending_list_free(struct pending_list *list)
{
	size_t i;

	for (i = 0; i < list->n_items; i++)
		pending_item_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n_items = 0;
}

/* "850ms", "12s", "3m05s", "2h10m". */
static void
approve_format_ms(const char *ms_text, char *out, size_t len)
{
	unsigned long long ms, s;
	char *end;

	errno = 0;
	ms = strtoull(ms_text, &end, 10);
	if (ms_text[0] == '\0' || *end != '\0' || errno != 0) {
		snprintf(out, len, "-");
		return;
	}
	s = ms / 1000;
	if (ms < 1000)
		snprintf(out, len, "%llums", ms);
	else if (s < 60)
		snprintf(out, len, "%llus", s);
	else if (s < 3600)
		snprintf(out, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(out, len, "%lluh%02llum", s / 3600, (s / 60) % 60);
}

/* Copy s into out, cut to width columns (bytes; good enough for paths)
 * with "..." marking the cut. */
static void
approve_cut(const char *s, size_t width, char *out, size_t len)
{
	if (strlen(s) <= width || width < 4) {
		snprintf(out, len, "%s", s);
		return;
	}
	snprintf(out, len, "%.*s...", (int)(width - 3), s);
}

static void
pending_print_table(const struct pending_list *list)
{
	const struct pending_item *it;
	char proc[320], target[128], intent[64], age[32], left[32];
	const char *base;
	size_t i;

	printf("%-6s %-4s %-8s %-48s %-20s %-24s %6s %6s\n", "ID", "KIND", "OP",
	    "TARGET", "PROCESS", "INTENT", "AGE", "LEFT");
	for (i = 0; i < list->n_items; i++) {
		it = &list->items[i];
		base = strrchr(it->exe, '/');
		base = base != NULL ? base + 1 : it->exe;
		if (it->pid[0] == '\0')
			snprintf(proc, sizeof(proc), "-");
		else
			snprintf(proc, sizeof(proc), "%s/%s", it->pid,
			    base[0] != '\0' ? base : "?");
		approve_cut(it->target, 48, target, sizeof(target));
		approve_cut(it->intent[0] != '\0' ? it->intent : "-", 24,
		    intent, sizeof(intent));
		approve_format_ms(it->age_ms, age, sizeof(age));
		approve_format_ms(it->left_ms, left, sizeof(left));
		printf("%-6s %-4s %-8s %-48s %-20s %-24s %6s %6s\n", it->id,
		    it->kind, it->op, target, proc, intent, age, left);
	}
}

/* Append one daemon's array, without its brackets, to the merged one. */
static void
pending_merge_json(struct buf *merged, const char *answer, int *is_first)
{
	const char *start = answer, *end;

	json_skip_ws(&start);
	start++; /* '[' (checked by pending_parse) */
	end = start + strlen(start);
	while (end > start && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	end--; /* ']' */
	while (start < end && strchr(" \t\r\n", *start) != NULL)
		start++;
	if (start == end)
		return;
	if (!*is_first)
		buf_adds(merged, ",");
	buf_add(merged, start, (size_t)(end - start));
	*is_first = 0;
}

static int
approve_parse_opts(const char *cmd, int argc, char **argv, int wants_id,
    struct approve_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			o->session = argv[++i];
		else if (strncmp(argv[i], "--session=", 10) == 0)
			o->session = argv[i] + 10;
		else if (!wants_id && strcmp(argv[i], "--json") == 0)
			o->has_json = 1;
		else if (wants_id && strcmp(argv[i], "--remember") == 0)
			o->has_remember = 1;
		else if (wants_id && argv[i][0] != '-' && o->id == NULL)
			o->id = argv[i];
		else {
			fprintf(stderr,
			    "airlock %s: unexpected argument '%s';"
			    " see `airlock %s --help`\n",
			    cmd, argv[i], cmd);
			return -1;
		}
	}
	if (wants_id && o->id == NULL) {
		fprintf(stderr,
		    "airlock %s: which held action? Give its id"
		    " (see `airlock pending`)\n",
		    cmd);
		return -1;
	}
	return 0;
}

static int
approve_session_dir(const char *cmd, const char *arg, char *dir, size_t len)
{
	if (session_resolve(arg, dir, len) == 0)
		return 0;
	if (arg == NULL)
		fprintf(stderr,
		    "airlock %s: no session found (%s); start one"
		    " with `airlock run` or name one with --session\n",
		    cmd, strerror(errno));
	else
		fprintf(stderr,
		    "airlock %s: no session '%s' (%s); `airlock"
		    " sessions` lists them\n",
		    cmd, arg, strerror(errno));
	return -1;
}

/* Why a socket did not answer, in a person's words. */
static const char *
approve_why_unreachable(int error)
{
	switch (error) {
	case ENOENT:
		return "no socket (the daemon is not running)";
	case ECONNREFUSED:
		return "nothing answers (the daemon stopped)";
	case EACCES:
	case EPERM:
		return "permission denied (run as the session's owner)";
	case ETIMEDOUT:
		return "the daemon did not answer in time";
	}
	return strerror(error);
}

static void
pending_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock pending [--session ID] [--json]\n\n"
	    "List the actions the session's daemons hold for a decision:\n"
	    "files (ids f1, f2, ...) and network requests (p1, p2, ...),\n"
	    "with the requesting process, its intent, their age and the time\n"
	    "left before the hold timeout denies them.\n\n"
	    "  --session ID  a session id or directory (default: the newest)\n"
	    "  --json        one JSON array, as the daemons report it\n\n"
	    "Decide with `airlock approve ID` or `airlock deny ID`.\n");
}

int
cmd_pending(int argc, char **argv)
{
	struct approve_opts o;
	struct pending_list list = { NULL, 0 };
	struct buf merged;
	char dir[4096], path[4200], *answer;
	size_t i;
	int n_ok = 0, is_first = 1, rc = EXIT_IO;

	buf_init(&merged);
	if (cmd_wants_help(argc, argv)) {
		pending_usage(stdout);
		return 0;
	}
	if (approve_parse_opts("pending", argc, argv, 0, &o) != 0)
		return EXIT_USAGE;
	if (approve_session_dir("pending", o.session, dir, sizeof(dir)) != 0)
		return EXIT_IO;

	buf_adds(&merged, "[");
	for (i = 0; i < APPROVE_N_DAEMONS; i++) {
		snprintf(
		    path, sizeof(path), "%s/%s", dir, approve_daemons[i].sock);
		if (ctl_request(path, "list", &answer) != 0) {
			fprintf(stderr,
			    "airlock pending: note: %s: %s; its held"
			    " actions are not listed\n",
			    path, approve_why_unreachable(errno));
			continue;
		}
		if (pending_parse(answer, &list) != 0) {
			fprintf(stderr,
			    "airlock pending: note: %s answered: %.200s", path,
			    answer);
			if (answer[0] == '\0' ||
			    answer[strlen(answer) - 1] != '\n')
				fputc('\n', stderr);
			free(answer);
			continue;
		}
		pending_merge_json(&merged, answer, &is_first);
		free(answer);
		n_ok++;
	}
	buf_adds(&merged, "]\n");
	if (n_ok == 0) {
		fprintf(stderr,
		    "airlock pending: the daemons of session %s are"
		    " not running (nothing answers on %s/fs.sock or"
		    " %s/proxy.sock); start them again with `airlock resume %s`"
		    "\n",
		    session_id_of(dir), dir, dir, session_id_of(dir));
		goto out;
	}
	if (o.has_json)
		fwrite(merged.data, 1, merged.len, stdout);
	else if (list.n_items == 0)
		printf("no held actions in session %s\n", session_id_of(dir));
	else
		pending_print_table(&list);
	rc = fflush(stdout) == 0 ? 0 : EXIT_IO;
out:
	pending_list_free(&list);
	buf_free(&merged);
	return rc;
}

static const struct approve_daemon *
approve_daemon_of(const char *id)
{
	size_t i, j;

	for (j = 1; id[j] != '\0'; j++)
		if (id[j] < '0' || id[j] > '9')
			return NULL;
	if (j == 1 || j > 20)
		return NULL;
	for (i = 0; i < APPROVE_N_DAEMONS; i++)
		if (id[0] == approve_daemons[i].prefix)
			return &approve_daemons[i];
	return NULL;
}

static void
approve_usage(FILE *f, const char *cmd)
{
	fprintf(f,
	    "usage: airlock %s ID [--remember] [--session ID]\n\n"
	    "%s the held action ID (from `airlock pending`): the operation\n"
	    "that waits for it %s.\n\n"
	    "  --remember    %s identical requests (same kind, operation and\n"
	    "                target) for the rest of the session, as well\n"
	    "  --session ID  a session id or directory (default: the newest)\n"
	    "\nExit status: 0 decided; 1 not pending any more (already "
	    "decided\n"
	    "or timed out) or refused; 2 usage; 3 the daemon cannot be "
	    "reached.\n",
	    cmd, strcmp(cmd, "approve") == 0 ? "Approve" : "Deny",
	    strcmp(cmd, "approve") == 0 ? "goes on" : "fails with a denial",
	    strcmp(cmd, "approve") == 0 ? "approve" : "deny");
}

/* Find id in a daemon's list answer, for the confirmation line. */
static int
approve_describe(const char *answer, const char *id, char *out, size_t len)
{
	struct pending_list list = { NULL, 0 };
	size_t i;
	int rc = -1;

	if (pending_parse(answer, &list) != 0)
		goto out;
	for (i = 0; i < list.n_items; i++) {
		if (strcmp(list.items[i].id, id) != 0)
			continue;
		snprintf(out, len, " (%s %s)", list.items[i].op,
		    list.items[i].target);
		rc = 0;
		break;
	}
out:
	pending_list_free(&list);
	return rc;
}

/* approve and deny differ only in their word. */
static int
approve_decide(const char *cmd, int argc, char **argv)
{
	const struct approve_daemon *d;
	struct approve_opts o;
	char dir[4096], path[4200], line[64], what[600] = "";
	char *answer = NULL, *listed = NULL;
	int rc = EXIT_IO;

	if (cmd_wants_help(argc, argv)) {
		approve_usage(stdout, cmd);
		return 0;
	}
	if (approve_parse_opts(cmd, argc, argv, 1, &o) != 0)
		return EXIT_USAGE;
	if ((d = approve_daemon_of(o.id)) == NULL) {
		fprintf(stderr,
		    "airlock %s: '%s' is not a held action id (ids"
		    " look like f3 for files or p12 for the network; see"
		    " `airlock pending`)\n",
		    cmd, o.id);
		return EXIT_USAGE;
	}
	if (approve_session_dir(cmd, o.session, dir, sizeof(dir)) != 0)
		return EXIT_IO;
	snprintf(path, sizeof(path), "%s/%s", dir, d->sock);

	/* What it is, for the confirmation; a failure here is not fatal
	 * (the decision itself is what must reach the daemon). */
	if (ctl_request(path, "list", &listed) == 0)
		approve_describe(listed, o.id, what, sizeof(what));

	snprintf(line, sizeof(line), "%s %s%s", cmd, o.id,
	    o.has_remember ? " remember" : "");
	if (ctl_request(path, line, &answer) != 0) {
		fprintf(stderr,
		    "airlock %s: cannot reach %s at %s: %s; is"
		    " session %s running? (`airlock sessions`, `airlock resume"
		    " %s`)\n",
		    cmd, d->what, path, approve_why_unreachable(errno),
		    session_id_of(dir), session_id_of(dir));
		goto out;
	}
	if (strcmp(answer, "ok\n") == 0) {
		printf("%s %s%s%s\n",
		    strcmp(cmd, "approve") == 0 ? "approved" : "denied", o.id,
		    what,
		    o.has_remember ? "; remembered for"
		                     " identical requests in this session"
		                   : "");
		rc = fflush(stdout) == 0 ? 0 : EXIT_IO;
		goto out;
	}
	if (strncmp(answer, "error: ", 7) == 0) {
		answer[strcspn(answer, "\n")] = '\0';
		fprintf(stderr, "airlock %s: %s\n", cmd, answer + 7);
		rc = EXIT_NEGATIVE;
		goto out;
	}
	fprintf(stderr, "airlock %s: unexpected answer from %s: %.200s\n", cmd,
	    path, answer);
out:
	free(listed);
	free(answer);
	return rc;
}

int
cmd_approve(int argc, char **argv)
{
	return approve_decide("approve", argc, argv);
}

int
cmd_deny(int argc, char **argv)
{
	return approve_decide("deny", argc, argv);
}
