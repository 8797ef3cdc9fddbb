/*
 * ctl_client: asking a session's daemons for their held actions and
 * sending them decisions (see ctl_client.h).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "session.h"
#include "util.h"

#define CTL_CLIENT_MAX_DEPTH 16

const struct ctl_daemon ctl_daemons[CTL_N_DAEMONS] = {
	{ 'f', "fs.sock", "airlock-fs (files)" },
	{ 'p', "proxy.sock", "airlock-proxy (network)" },
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

static void
json_add_utf8(struct buf *b, unsigned cp)
{
	char u[4];

	buf_add(b, u, utf8_encode(cp, u));
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
			if (hex4_decode(s + 1, &cp) != 0)
				goto fail;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && s[1] == '\\' &&
			    s[2] == 'u' && hex4_decode(s + 3, &lo) == 0 &&
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
		if (depth >= CTL_CLIENT_MAX_DEPTH)
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
	{ "rule", offsetof(struct pending_item, rule) },
	{ "reason", offsetof(struct pending_item, reason) },
	{ "cmdline", offsetof(struct pending_item, cmdline) },
	{ "detail", offsetof(struct pending_item, detail) },
	{ "review", offsetof(struct pending_item, review) },
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
pending_defang(char *s, int is_multiline)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (is_multiline && (*p == '\n' || *p == '\t'))
			continue;
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
		pending_defang(*pending_item_slot(it, i),
		    pending_item_slot(it, i) == &it->detail);
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
int
pending_list_parse(const char *text, struct pending_list *list)
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

void
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
void
ctl_client_format_ms(const char *ms_text, char *out, size_t len)
{
	unsigned long long ms, s;
	char *end;

	errno = 0;
	ms = strtoull(ms_text, &end, 10);
	/* strtoull would take "-5" (and wrap it) */
	if (ms_text[0] < '0' || ms_text[0] > '9' || *end != '\0' ||
	    errno != 0) {
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

int
ctl_client_session_dir(const char *cmd, const char *arg, char *dir, size_t len)
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
const char *
ctl_client_why(int error)
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

const struct ctl_daemon *
ctl_client_daemon_of(const char *id)
{
	size_t i, j;

	for (j = 1; id[j] != '\0'; j++)
		if (id[j] < '0' || id[j] > '9')
			return NULL;
	if (j == 1 || j > 20)
		return NULL;
	for (i = 0; i < CTL_N_DAEMONS; i++)
		if (id[0] == ctl_daemons[i].prefix)
			return &ctl_daemons[i];
	return NULL;
}

int
ctl_client_list(const char *dir, const struct ctl_daemon *d,
    struct pending_list *list, char **raw_out)
{
	char path[4200], *answer = NULL;
	int rc;

	if (raw_out != NULL)
		*raw_out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, d->sock) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (ctl_request(path, "list", &answer) != 0)
		return -1;
	rc = pending_list_parse(answer, list) == 0 ? 0 : -2;
	if (raw_out != NULL)
		*raw_out = answer;
	else
		free(answer);
	return rc;
}

int
ctl_client_decide(const char *dir, const char *verb, const char *id,
    int remember, char **answer)
{
	const struct ctl_daemon *d;
	char path[4200], line[64];
	size_t n;

	*answer = NULL;
	if ((d = ctl_client_daemon_of(id)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, d->sock) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(line, sizeof(line), "%s %s%s", verb, id,
	    remember ? " remember" : "");
	if (ctl_request(path, line, answer) != 0)
		return -1;
	if (strcmp(*answer, "ok\n") == 0)
		return 0;
	if (strncmp(*answer, "error: ", 7) != 0)
		return -2;
	n = strcspn(*answer + 7, "\n");
	memmove(*answer, *answer + 7, n);
	(*answer)[n] = '\0';
	return 1;
}
