/*
 * runs_later: the table of names that run later, and a small JSON reader
 * for package.json's lifecycle scripts (see runs_later.h).
 */
#include "config.h"

#include "runs_later.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

enum rl_where {
	RL_ROOT, /* at the project root only */
	RL_ANY, /* in any directory */
};

enum rl_span {
	RL_FILE, /* the name itself */
	RL_BELOW, /* the directory and everything below it */
	RL_SUFFIX, /* any file name ending in the name */
};

struct rl_rule {
	const char *name;
	enum rl_where where;
	enum rl_span span;
	const char *why;
};

#define RL_CI "a CI definition: it runs on CI machines, with CI's secrets"
#define RL_SHELL "a shell start-up file: every later shell runs it"
#define RL_VSCODE                                                              \
	"editor configuration: VS Code runs the tasks and tools it names"
#define RL_HOOKS "a git hook manager's file: git runs what it names"

static const struct rl_rule rl_rules[] = {
	{ ".github/workflows", RL_ROOT, RL_BELOW, RL_CI },
	{ ".github/actions", RL_ROOT, RL_BELOW, RL_CI },
	{ ".gitlab-ci.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".gitlab/ci", RL_ROOT, RL_BELOW, RL_CI },
	{ ".circleci", RL_ROOT, RL_BELOW, RL_CI },
	{ "Jenkinsfile", RL_ROOT, RL_FILE, RL_CI },
	{ ".travis.yml", RL_ROOT, RL_FILE, RL_CI },
	{ "azure-pipelines.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".azure-pipelines", RL_ROOT, RL_BELOW, RL_CI },
	{ ".buildkite", RL_ROOT, RL_BELOW, RL_CI },
	{ "bitbucket-pipelines.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".drone.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".woodpecker.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".woodpecker", RL_ROOT, RL_BELOW, RL_CI },
	{ "appveyor.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".appveyor.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".cirrus.yml", RL_ROOT, RL_FILE, RL_CI },
	{ ".devcontainer", RL_ANY, RL_BELOW,
	    "a dev container definition: an editor builds and runs it" },
	{ ".devcontainer.json", RL_ANY, RL_FILE,
	    "a dev container definition: an editor builds and runs it" },
	{ ".vscode/tasks.json", RL_ANY, RL_FILE, RL_VSCODE },
	{ ".vscode/settings.json", RL_ANY, RL_FILE, RL_VSCODE },
	{ ".vscode/launch.json", RL_ANY, RL_FILE, RL_VSCODE },
	{ ".code-workspace", RL_ANY, RL_SUFFIX, RL_VSCODE },
	{ ".husky", RL_ANY, RL_BELOW, RL_HOOKS },
	{ ".pre-commit-config.yaml", RL_ANY, RL_FILE, RL_HOOKS },
	{ "lefthook.yml", RL_ANY, RL_FILE, RL_HOOKS },
	{ ".lefthook.yml", RL_ANY, RL_FILE, RL_HOOKS },
	{ ".envrc", RL_ANY, RL_FILE,
	    "direnv runs it in every shell that enters its directory" },
	{ ".npmrc", RL_ANY, RL_FILE,
	    "npm configuration: it can name the shell and node options npm "
	    "runs with" },
	{ ".yarnrc", RL_ANY, RL_FILE,
	    "yarn configuration: it can name the program yarn runs" },
	{ ".yarnrc.yml", RL_ANY, RL_FILE,
	    "yarn configuration: it can name the program yarn runs" },
	{ ".bashrc", RL_ANY, RL_FILE, RL_SHELL },
	{ ".bash_profile", RL_ANY, RL_FILE, RL_SHELL },
	{ ".bash_login", RL_ANY, RL_FILE, RL_SHELL },
	{ ".bash_logout", RL_ANY, RL_FILE, RL_SHELL },
	{ ".profile", RL_ANY, RL_FILE, RL_SHELL },
	{ ".zshrc", RL_ANY, RL_FILE, RL_SHELL },
	{ ".zshenv", RL_ANY, RL_FILE, RL_SHELL },
	{ ".zprofile", RL_ANY, RL_FILE, RL_SHELL },
	{ ".zlogin", RL_ANY, RL_FILE, RL_SHELL },
	{ ".zlogout", RL_ANY, RL_FILE, RL_SHELL },
	{ ".kshrc", RL_ANY, RL_FILE, RL_SHELL },
	{ ".cshrc", RL_ANY, RL_FILE, RL_SHELL },
	{ ".tcshrc", RL_ANY, RL_FILE, RL_SHELL },
	{ ".login", RL_ANY, RL_FILE, RL_SHELL },
	{ ".config/fish", RL_ANY, RL_BELOW, RL_SHELL },
};

/* Whether s (a path or the tail of one) is the rule's name, or below it. */
static int
rl_match_here(const struct rl_rule *r, const char *s)
{
	size_t n = strlen(r->name), len;

	switch (r->span) {
	case RL_FILE:
		return strcmp(s, r->name) == 0;
	case RL_BELOW:
		return strncmp(s, r->name, n) == 0 &&
		    (s[n] == '\0' || s[n] == '/');
	case RL_SUFFIX:
		len = strlen(s);
		return strchr(s, '/') == NULL && len > n &&
		    strcmp(s + len - n, r->name) == 0;
	}
	return 0;
}

static int
rl_match(const struct rl_rule *r, const char *path)
{
	const char *p;

	if (rl_match_here(r, path))
		return 1;
	if (r->where != RL_ANY)
		return 0;
	for (p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/'))
		if (rl_match_here(r, p + 1))
			return 1;
	return 0;
}

/*
 * Inside a git directory (a ".git" component at any depth, which covers
 * submodules' .git/modules/NAME and worktrees' .git/worktrees/NAME):
 * anything under a "hooks" directory, and "config" or "config.worktree".
 * A ".git" that is not a directory is a gitdir pointer: git would take
 * its hooks and config from wherever it points.
 */
static const char *
rl_git(const char *path)
{
	const char *c = path, *next, *git = NULL;
	size_t n;

	for (; c != NULL; c = next) {
		next = strchr(c, '/');
		n = next != NULL ? (size_t)(next - c) : strlen(c);
		if (next != NULL)
			next++;
		if (git == NULL) {
			if (n == 4 && memcmp(c, ".git", 4) == 0) {
				git = c;
				if (next == NULL)
					return "git's own directory or gitdir "
					       "pointer: git takes its hooks "
					       "and config from it";
			}
			continue;
		}
		if (n == 5 && memcmp(c, "hooks", 5) == 0)
			return "a git hook: git runs it";
		if (next == NULL &&
		    ((n == 6 && memcmp(c, "config", 6) == 0) ||
		        (n == 15 && memcmp(c, "config.worktree", 15) == 0)))
			return "git's config: it can name hooks, filters and "
			       "commands git runs";
	}
	return NULL;
}

const char *
runs_later_path(const char *path)
{
	const char *why;
	size_t i;

	if ((why = rl_git(path)) != NULL)
		return why;
	for (i = 0; i < sizeof rl_rules / sizeof rl_rules[0]; i++)
		if (rl_match(&rl_rules[i], path))
			return rl_rules[i].why;
	return NULL;
}

/* Whether dir (a tail of a path) is a directory above the rule's name. */
static int
rl_is_above(const struct rl_rule *r, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(r->name, dir, n) == 0 && r->name[n] == '/';
}

const char *
runs_later_ancestor(const char *path)
{
	const char *p;
	size_t i;

	for (i = 0; i < sizeof rl_rules / sizeof rl_rules[0]; i++) {
		if (rl_is_above(&rl_rules[i], path))
			return rl_rules[i].why;
		if (rl_rules[i].where != RL_ANY)
			continue;
		for (p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/'))
			if (rl_is_above(&rl_rules[i], p + 1))
				return rl_rules[i].why;
	}
	return NULL;
}

int
runs_later_by_content(const char *path)
{
	const char *base = strrchr(path, '/');

	return strcmp(base != NULL ? base + 1 : path, "package.json") == 0;
}

/* ---- package.json ---- */

/* The scripts npm runs by itself, on install, publish, pack, version and
 * so on; each also with "pre" and "post" in front. */
static const char *const rl_lifecycle[] = {
	"install", "uninstall", "prepare", "publish", "pack", "version",
	"shrinkwrap", "dependencies", "publishOnly", /* prepublishOnly */
};
#define RL_N_LIFECYCLE (3 * (sizeof rl_lifecycle / sizeof rl_lifecycle[0]))
#define RL_JSON_DEPTH 64
#define RL_KEY_MAX 64

/* Where a lifecycle script's value sits in the text, as written. */
struct rl_script {
	const char *value; /* NULL: absent */
	size_t len;
};

struct rl_json {
	const char *p, *end;
	int depth;
};

static void
rl_ws(struct rl_json *j)
{
	while (j->p < j->end &&
	    (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/*
 * A JSON string at j->p.  When key is not NULL, its decoded value goes
 * there, NUL-terminated, as far as it fits: an escape that decodes to a
 * character outside ASCII, or to NUL, becomes 0x80, which no script name
 * holds (so "post\u0069nstall" is postinstall, as JSON.parse reads it).
 * A key longer than the buffer is marked too long with a 0x80 at its end.
 * Returns 0 or -1 (not valid JSON).
 */
static int
rl_string(struct rl_json *j, char *key, size_t key_len)
{
	size_t n = 0;
	unsigned v;
	char c;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	for (;;) {
		if (j->p >= j->end)
			return -1;
		c = *j->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->p >= j->end)
				return -1;
			switch (c = *j->p++) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				c = (char)0x80; /* in no script name */
				break;
			case 'u':
				if (j->end - j->p < 4 ||
				    hex4_decode(j->p, &v) != 0)
					return -1;
				j->p += 4;
				c = v > 0 && v < 0x80 ? (char)v : (char)0x80;
				break;
			default:
				return -1;
			}
		}
		if (key != NULL && n + 1 < key_len)
			key[n++] = c;
		else if (key != NULL)
			key[key_len - 2] = (char)0x80;
	}
	if (key != NULL)
		key[n] = '\0';
	return 0;
}

static int rl_value(struct rl_json *j);

/* A number, or true, false, null: the characters they are made of (a
 * malformed one is as harmless here as a well-formed one). */
static int
rl_scalar(struct rl_json *j)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *start = j->p;
	size_t i, n;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		n = strlen(words[i]);
		if ((size_t)(j->end - j->p) >= n &&
		    memcmp(j->p, words[i], n) == 0) {
			j->p += n;
			return 0;
		}
	}
	while (j->p < j->end && strchr("0123456789+-.eE", *j->p) != NULL &&
	    *j->p != '\0')
		j->p++;
	return j->p > start ? 0 : -1;
}

/* An object (at '{': each member's key and the span of its value go to
 * fn) or an array (at '['). */
static int
rl_container(struct rl_json *j,
    void (*fn)(void *arg, const char *key, const char *v, size_t len),
    void *arg)
{
	char key[RL_KEY_MAX];
	const char *v;
	char close = *j->p == '{' ? '}' : ']';

	if (++j->depth > RL_JSON_DEPTH)
		return -1;
	j->p++;
	rl_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		rl_ws(j);
		if (close == '}') {
			if (rl_string(j, key, sizeof key) != 0)
				return -1;
			rl_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
			rl_ws(j);
		}
		v = j->p;
		if (rl_value(j) != 0)
			return -1;
		if (close == '}' && fn != NULL)
			fn(arg, key, v, (size_t)(j->p - v));
		rl_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			break;
		}
		if (*j->p++ != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int
rl_value(struct rl_json *j)
{
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
	case '[':
		return rl_container(j, NULL, NULL);
	case '"':
		return rl_string(j, NULL, 0);
	default:
		return rl_scalar(j);
	}
}

/* The index of a lifecycle script name in a table of RL_N_LIFECYCLE
 * (plain, pre-, post-), or -1. */
static int
rl_lifecycle_index(const char *key)
{
	static const char *const prefixes[] = { "", "pre", "post" };
	size_t i, k, n;

	for (k = 0; k < 3; k++) {
		n = strlen(prefixes[k]);
		if (strncmp(key, prefixes[k], n) != 0)
			continue;
		for (i = 0; i < sizeof rl_lifecycle / sizeof rl_lifecycle[0];
		     i++)
			if (strcmp(key + n, rl_lifecycle[i]) == 0)
				return (int)(k * (RL_N_LIFECYCLE / 3) + i);
	}
	return -1;
}

static const char *
rl_lifecycle_name(size_t i, char *buf, size_t len)
{
	static const char *const prefixes[] = { "", "pre", "post" };

	snprintf(buf, len, "%s%s", prefixes[i / (RL_N_LIFECYCLE / 3)],
	    rl_lifecycle[i % (RL_N_LIFECYCLE / 3)]);
	return buf;
}

/* A member of "scripts": the last one of a name wins, as in JSON.parse. */
static void
rl_on_script(void *arg, const char *key, const char *v, size_t len)
{
	struct rl_script *s = arg;
	int i;

	if ((i = rl_lifecycle_index(key)) < 0)
		return;
	s[i].value = v;
	s[i].len = len;
}

struct rl_top {
	struct rl_script *scripts;
	int bad; /* a "scripts" value that did not parse */
};

/* A top-level member: "scripts" (the last one wins) is read again for
 * its members; anything that is not an object holds no scripts. */
static void
rl_on_top(void *arg, const char *key, const char *v, size_t len)
{
	struct rl_top *t = arg;
	struct rl_json j = { v, v + len, 1 };

	if (strcmp(key, "scripts") != 0)
		return;
	memset(t->scripts, 0, RL_N_LIFECYCLE * sizeof *t->scripts);
	if (len > 0 && *v == '{' && rl_container(&j, rl_on_script, t->scripts))
		t->bad = 1;
}

/* Read text's lifecycle scripts into s.  Returns 0, or -1 when text is
 * not one valid JSON object. */
static int
rl_package_scripts(const char *text, size_t len, struct rl_script *s)
{
	struct rl_json j;
	struct rl_top t = { s, 0 };

	memset(s, 0, RL_N_LIFECYCLE * sizeof *s);
	if (text == NULL)
		return 0;
	j.p = text;
	j.end = text + len;
	j.depth = 0;
	/* npm strips a byte order mark before parsing. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		j.p += 3;
	rl_ws(&j);
	if (j.p >= j.end || *j.p != '{' ||
	    rl_container(&j, rl_on_top, &t) != 0 || t.bad)
		return -1;
	rl_ws(&j);
	return j.p == j.end ? 0 : -1;
}

int
runs_later_package_json(const char *old, size_t old_len, const char *new,
    size_t new_len, char *why, size_t why_len)
{
	struct rl_script a[RL_N_LIFECYCLE], b[RL_N_LIFECYCLE];
	char name[RL_KEY_MAX];
	size_t i;

	if (rl_package_scripts(new, new_len, b) != 0 ||
	    rl_package_scripts(old, old_len, a) != 0) {
		snprintf(why, why_len,
		    "package.json that does not parse as JSON: its lifecycle "
		    "scripts cannot be checked");
		return 1;
	}
	for (i = 0; i < RL_N_LIFECYCLE; i++) {
		if ((a[i].value == NULL) != (b[i].value == NULL) ||
		    (a[i].value != NULL &&
		        (a[i].len != b[i].len ||
		            memcmp(a[i].value, b[i].value, a[i].len) != 0))) {
			snprintf(why, why_len,
			    "package.json lifecycle script \"%s\" %s: npm "
			    "runs it by itself",
			    rl_lifecycle_name(i, name, sizeof name),
			    a[i].value == NULL       ? "added"
			        : b[i].value == NULL ? "removed"
			                             : "changed");
			return 1;
		}
	}
	return 0;
}
