/*
 * policy_registries: the `@registries` host set.
 *
 * The hosts of the package registries this machine is set up to use, read
 * at load time from the package managers' own configuration: npm, pip, apt,
 * cargo and Go, user and system level, never from the project (the agent
 * can write there).  Only host names are kept.  No registry is named in
 * this file: a machine that configures none gets an empty set.
 *
 * AIRLOCK_REGISTRY_ROOT (tests only) prefixes every system path and makes
 * $HOME the home directory; it also turns off running `npm`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy_priv.h"
#include "util.h"

#define REG_FILE_MAX (1024 * 1024)
#define REG_MAX_HOSTS 1024
#define REG_NPM_TIMEOUT_MS 3000

extern char **environ;

struct reg_set {
	char *hosts[REG_MAX_HOSTS];
	size_t n;
	const char *root; /* "" or the test root */
	char home[4096];
};

static void
reg_add_host(struct reg_set *set, const char *host, size_t len)
{
	char name[POLICY_HOST_MAX];
	size_t i;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(name) || set->n >= REG_MAX_HOSTS)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '.' || c == '-' || c == '_' || c == ':' ||
		        c >= 0x80))
			return;
		name[i] = (char)c;
	}
	name[len] = '\0';
	for (i = 0; i < set->n; i++)
		if (strcmp(set->hosts[i], name) == 0)
			return;
	set->hosts[set->n++] = xstrdup(name);
}

/* The host of a URL ("sparse+https://user@host:8080/path"), if any. */
static void
reg_add_url(struct reg_set *set, const char *url, size_t len)
{
	const char *end = url + len, *p, *auth, *auth_end, *at, *h_end;

	while (len > 0 &&
	    (*url == ' ' || *url == '\t' || *url == '"' || *url == '\'')) {
		url++;
		len--;
	}
	p = memchr(url, ':', (size_t)(end - url));
	if (p == NULL || end - p < 3 || p[1] != '/' || p[2] != '/')
		return;
	/* Only network schemes: http(s), possibly after "sparse+" etc. */
	if (!((p - url >= 4 && strncasecmp(p - 4, "http", 4) == 0) ||
	        (p - url >= 5 && strncasecmp(p - 5, "https", 5) == 0)))
		return;
	auth = p + 3;
	for (auth_end = auth; auth_end < end && *auth_end != '/' &&
	     *auth_end != '?' && *auth_end != '#' && *auth_end != '"' &&
	     *auth_end != '\'' && *auth_end != ' ' && *auth_end != '\t';
	     auth_end++)
		;
	for (at = auth_end; at > auth && at[-1] != '@'; at--)
		;
	if (*at == '[') {
		h_end = memchr(at, ']', (size_t)(auth_end - at));
		if (h_end == NULL)
			return;
		reg_add_host(set, at, (size_t)(h_end - at) + 1);
		return;
	}
	h_end = memchr(at, ':', (size_t)(auth_end - at));
	if (h_end == NULL)
		h_end = auth_end;
	reg_add_host(set, at, (size_t)(h_end - at));
}

/* Every URL in a whitespace-separated list. */
static void
reg_add_url_list(struct reg_set *set, const char *s, size_t len)
{
	const char *end = s + len, *w;

	while (s < end) {
		while (s < end && strchr(" \t,|", *s) != NULL)
			s++;
		for (w = s; w < end && strchr(" \t,|", *w) == NULL; w++)
			;
		if (w > s)
			reg_add_url(set, s, (size_t)(w - s));
		s = w;
	}
}

/* Read a whole (small) file into a NUL-terminated buffer; NULL if none. */
static char *
reg_read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	struct stat st;
	int fd;

	if (path == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > REG_FILE_MAX)
		goto out;
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
out:
	close(fd);
	return buf;
}

static char *
reg_path(const struct reg_set *set, const char *sys_path)
{
	char *p;

	xasprintf(&p, "%s%s", set->root, sys_path);
	return p;
}

static char *
reg_home_path(const struct reg_set *set, const char *rel)
{
	char *p;

	if (set->home[0] == '\0')
		return NULL;
	xasprintf(&p, "%s/%s", set->home, rel);
	return p;
}

/* Next line of buf: [*line, *line_end); returns 0 at the end. */
static int
reg_next_line(char **cursor, char **line, char **line_end)
{
	char *p = *cursor, *nl;

	if (p == NULL || *p == '\0')
		return 0;
	nl = strchr(p, '\n');
	*line = p;
	*line_end = nl != NULL ? nl : p + strlen(p);
	*cursor = nl != NULL ? nl + 1 : *line_end;
	if (*line_end > *line && (*line_end)[-1] == '\r')
		(*line_end)--;
	return 1;
}

static char *
reg_trim(char *s, char **end)
{
	while (s < *end && (*s == ' ' || *s == '\t'))
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
	return s;
}

/* ---- npm ---- */

/* "registry=URL" and "@scope:registry=URL"; returns how many. */
static int
reg_npm_file(struct reg_set *set, char *path)
{
	char *buf = reg_read_file(path), *cur = buf, *l, *e, *eq, *k_end;
	int found = 0;

	free(path);
	while (reg_next_line(&cur, &l, &e)) {
		l = reg_trim(l, &e);
		if (l == e || *l == '#' || *l == ';')
			continue;
		eq = memchr(l, '=', (size_t)(e - l));
		if (eq == NULL)
			continue;
		k_end = eq;
		reg_trim(l, &k_end);
		if (k_end - l >= 8 && strncmp(k_end - 8, "registry", 8) == 0 &&
		    (k_end - l == 8 || k_end[-9] == ':')) {
			size_t before = set->n;

			reg_add_url(set, eq + 1, (size_t)(e - eq - 1));
			found += set->n > before || k_end - l == 8;
		}
	}
	free(buf);
	return found;
}

static int
reg_on_path(const char *prog)
{
	const char *path = getenv("PATH"), *p, *colon;
	char full[4096];

	if (path == NULL)
		return 0;
	for (p = path; *p != '\0'; p = colon + 1) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		if (colon > p &&
		    snprintf(full, sizeof(full), "%.*s/%s", (int)(colon - p), p,
		        prog) < (int)sizeof(full) &&
		    access(full, X_OK) == 0)
			return 1;
		if (*colon == '\0')
			break;
	}
	return 0;
}

/*
 * `npm config get registry` into out (NUL-terminated), killed after
 * REG_NPM_TIMEOUT_MS.  Returns the length read (0 on any failure).
 */
static size_t
reg_npm_run(char *out, size_t cap)
{
	/* no log file, no update check: asking must leave nothing in the
	 * home (npm logs what it did not understand of ~/.npmrc, which the
	 * room's copy-on-write home would show the agent) and send nothing */
	char *argv[] = { "npm", "config", "get", "registry", "--logs-max=0",
		"--no-update-notifier", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	size_t len = 0;
	int fds[2] = { -1, -1 }, status, spawned = 0;
	unsigned long long deadline;
	struct pollfd pfd;
	pid_t pid;
	ssize_t n;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return 0;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	if (posix_spawnp(&pid, "npm", &fa, &attr, argv, environ) == 0)
		spawned = 1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (!spawned)
		goto out;
	deadline = time_mono_ms() + REG_NPM_TIMEOUT_MS;
	while (len < cap - 1) {
		unsigned long long now = time_mono_ms();

		if (now >= deadline)
			break;
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			break;
		n = read(fds[0], out + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out[len] = '\0';
out:
	close(fds[0]);
	return len;
}

static void
reg_npm_exec(struct reg_set *set)
{
	char out[4096];
	size_t len = reg_npm_run(out, sizeof(out));

	reg_add_url_list(set, out, len);
}

/* Whether npm's user or system configuration files name a registry. */
static int
reg_npm_files(struct reg_set *set)
{
	int found = 0;

	found += reg_npm_file(set, reg_home_path(set, ".npmrc"));
	found += reg_npm_file(set, reg_path(set, "/etc/npmrc"));
	found += reg_npm_file(set, reg_path(set, "/usr/etc/npmrc"));
	return found;
}

static void
reg_npm(struct reg_set *set)
{
	const char *env = getenv("NPM_CONFIG_REGISTRY");
	int found = 0;

	if (env == NULL)
		env = getenv("npm_config_registry");
	if (env != NULL && *env != '\0') {
		reg_add_url_list(set, env, strlen(env));
		found = 1;
	}
	found += reg_npm_files(set);
	if (!found && set->root[0] == '\0' && reg_on_path("npm"))
		reg_npm_exec(set);
}

/* ---- pip ---- */

static void
reg_pip_file(struct reg_set *set, char *path)
{
	char *buf = reg_read_file(path), *cur = buf, *l, *e, *sep, *k_end;
	int in_urls = 0;

	free(path);
	while (reg_next_line(&cur, &l, &e)) {
		int indented = l < e && (*l == ' ' || *l == '\t');

		l = reg_trim(l, &e);
		if (l == e || *l == '#' || *l == ';') {
			continue;
		}
		if (indented && in_urls) {
			reg_add_url_list(set, l, (size_t)(e - l));
			continue;
		}
		in_urls = 0;
		if (*l == '[')
			continue;
		sep = l + strcspn(l, "=:");
		if (sep >= e)
			continue;
		k_end = sep;
		reg_trim(l, &k_end);
		if ((k_end - l == 9 &&
		        (strncmp(l, "index-url", 9) == 0 ||
		            strncmp(l, "index_url", 9) == 0)) ||
		    (k_end - l == 15 &&
		        (strncmp(l, "extra-index-url", 15) == 0 ||
		            strncmp(l, "extra_index_url", 15) == 0))) {
			in_urls = 1;
			reg_add_url_list(set, sep + 1, (size_t)(e - sep - 1));
		}
	}
	free(buf);
}

static void
reg_pip(struct reg_set *set)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *env;
	char *p;

	if ((env = getenv("PIP_INDEX_URL")) != NULL)
		reg_add_url_list(set, env, strlen(env));
	if ((env = getenv("PIP_EXTRA_INDEX_URL")) != NULL)
		reg_add_url_list(set, env, strlen(env));
	reg_pip_file(set, reg_path(set, "/etc/pip.conf"));
	reg_pip_file(set, reg_path(set, "/etc/xdg/pip/pip.conf"));
	if (xdg != NULL && xdg[0] == '/' && set->root[0] == '\0') {
		xasprintf(&p, "%s/pip/pip.conf", xdg);
		reg_pip_file(set, p);
	}
	reg_pip_file(set, reg_home_path(set, ".config/pip/pip.conf"));
	reg_pip_file(set, reg_home_path(set, ".pip/pip.conf"));
}

/* ---- apt ---- */

/* One-line style: "deb [opts] URI suite [components]". */
static void
reg_apt_list(struct reg_set *set, char *path)
{
	char *buf = reg_read_file(path), *cur = buf, *l, *e, *w;

	free(path);
	while (reg_next_line(&cur, &l, &e)) {
		l = reg_trim(l, &e);
		if (e - l < 4 || strncmp(l, "deb", 3) != 0)
			continue;
		w = l + 3;
		if (e - w >= 4 && strncmp(w, "-src", 4) == 0)
			w += 4;
		if (w >= e || (*w != ' ' && *w != '\t'))
			continue;
		w = reg_trim(w, &e);
		if (w < e && *w == '[') {
			w = memchr(w, ']', (size_t)(e - w));
			if (w == NULL)
				continue;
			w = reg_trim(w + 1, &e);
		}
		reg_add_url(set, w,
		    strcspn(w, " \t") < (size_t)(e - w) ? strcspn(w, " \t")
		                                        : (size_t)(e - w));
	}
	free(buf);
}

/* deb822 style: stanzas with "URIs:" (and maybe "Enabled: no"). */
static void
reg_apt_sources(struct reg_set *set, char *path)
{
	char *buf = reg_read_file(path), *cur = buf, *l, *e, *v;
	struct reg_set *stanza = xcalloc(1, sizeof(*stanza));
	int enabled = 1, in_uris = 0, more = 1;
	size_t i;

	free(path);
	while (more) {
		more = reg_next_line(&cur, &l, &e);
		if (!more || reg_trim(l, &e) == e) {
			for (i = 0; i < stanza->n; i++) {
				if (enabled)
					reg_add_host(set, stanza->hosts[i],
					    strlen(stanza->hosts[i]));
				free(stanza->hosts[i]);
			}
			stanza->n = 0;
			enabled = 1;
			in_uris = 0;
			continue;
		}
		if (*l == '#')
			continue;
		if (*l == ' ' || *l == '\t') {
			if (in_uris)
				reg_add_url_list(stanza, l, (size_t)(e - l));
			continue;
		}
		in_uris = 0;
		if (e - l >= 5 && strncasecmp(l, "URIs:", 5) == 0) {
			in_uris = 1;
			reg_add_url_list(stanza, l + 5, (size_t)(e - l - 5));
		} else if (e - l >= 8 && strncasecmp(l, "Enabled:", 8) == 0) {
			v = reg_trim(l + 8, &e);
			enabled = !(e - v == 2 && strncasecmp(v, "no", 2) == 0);
		}
	}
	free(stanza);
	free(buf);
}

static int
reg_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

static void
reg_apt(struct reg_set *set)
{
	char *dir = reg_path(set, "/etc/apt/sources.list.d"), *p;
	struct dirent *de;
	DIR *d;

	reg_apt_list(set, reg_path(set, "/etc/apt/sources.list"));
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		if (reg_has_suffix(de->d_name, ".list"))
			reg_apt_list(set, p);
		else if (reg_has_suffix(de->d_name, ".sources"))
			reg_apt_sources(set, p);
		else
			free(p);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
}

/* ---- cargo ---- */

/* `key = "URL"` anywhere in line, key at a word start. */
static void
reg_cargo_values(struct reg_set *set, const char *line, const char *key)
{
	const char *p = line, *q, *end;
	size_t klen = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		int at_word = p == line || strchr(" \t{,", p[-1]) != NULL;

		q = p + klen;
		p = q;
		if (!at_word)
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '"' && *q != '\'')
			continue;
		end = strchr(q + 1, *q);
		if (end != NULL)
			reg_add_url(set, q + 1, (size_t)(end - q - 1));
	}
}

/* In [registries.*], [registry], [source.*] (and [registries] with inline
 * tables): every `index = "URL"` and `registry = "URL"`. */
static void
reg_cargo_file(struct reg_set *set, char *path)
{
	char *buf = reg_read_file(path), *cur = buf, *l, *e;
	int in_section = 0;

	free(path);
	while (reg_next_line(&cur, &l, &e)) {
		l = reg_trim(l, &e);
		if (l == e || *l == '#')
			continue;
		if (*l == '[') {
			in_section = strncmp(l, "[registries", 11) == 0 ||
			    strncmp(l, "[registry]", 10) == 0 ||
			    strncmp(l, "[source", 7) == 0;
			continue;
		}
		if (!in_section)
			continue;
		*e = '\0';
		reg_cargo_values(set, l, "index");
		reg_cargo_values(set, l, "registry");
	}
	free(buf);
}

static void
reg_cargo(struct reg_set *set)
{
	const char *cargo_home = getenv("CARGO_HOME");
	char *p;

	if (cargo_home != NULL && cargo_home[0] == '/' &&
	    set->root[0] == '\0') {
		xasprintf(&p, "%s/config.toml", cargo_home);
		reg_cargo_file(set, p);
		xasprintf(&p, "%s/config", cargo_home);
		reg_cargo_file(set, p);
		return;
	}
	reg_cargo_file(set, reg_home_path(set, ".cargo/config.toml"));
	reg_cargo_file(set, reg_home_path(set, ".cargo/config"));
}

/* ---- Go ---- */

/* The file `go env -w` writes: $GOENV, else the user config dir. */
static char *
reg_read_file_home(const struct reg_set *set)
{
	const char *goenv = getenv("GOENV"), *xdg = getenv("XDG_CONFIG_HOME");
	char *p = NULL, *buf;

	if (set->root[0] == '\0' && goenv != NULL && goenv[0] == '/')
		p = xstrdup(goenv);
	else if (set->root[0] == '\0' && xdg != NULL && xdg[0] == '/')
		xasprintf(&p, "%s/go/env", xdg);
	else
		p = reg_home_path(set, ".config/go/env");
	if (p == NULL)
		return NULL;
	buf = reg_read_file(p);
	free(p);
	return buf;
}

static void
reg_go(struct reg_set *set)
{
	const char *env = getenv("GOPROXY");
	char *buf, *cur, *l, *e;

	if (env != NULL) {
		reg_add_url_list(set, env, strlen(env));
		return;
	}
	/* `go env -w` writes here; the environment wins over it. */
	buf = reg_read_file_home(set);
	cur = buf;
	while (reg_next_line(&cur, &l, &e))
		if (e - l > 8 && strncmp(l, "GOPROXY=", 8) == 0)
			reg_add_url_list(set, l + 8, (size_t)(e - l - 8));
	free(buf);
}

/* ---- the set ---- */

static void
reg_find_home(struct reg_set *set)
{
	const char *home = getenv("HOME"), *sudo_uid = getenv("SUDO_UID");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	uid_t uid = getuid();

	set->home[0] = '\0';
	if (set->root[0] == '\0' && uid == 0 && sudo_uid != NULL &&
	    sudo_uid[0] != '\0') {
		/* The invoking user's configuration, not root's. */
		uid = (uid_t)strtoul(sudo_uid, NULL, 10);
		home = NULL;
	}
	if (home != NULL && home[0] == '/') {
		str_copy(set->home, home, sizeof(set->home));
		return;
	}
	if (set->root[0] != '\0')
		return;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL && pw.pw_dir != NULL)
		str_copy(set->home, pw.pw_dir, sizeof(set->home));
}

char **
policy_registries_expand(struct policy_arena *arena)
{
	struct reg_set *set = xcalloc(1, sizeof(*set));
	const char *root = getenv("AIRLOCK_REGISTRY_ROOT");
	char **out;
	size_t i;

	set->root = root != NULL ? root : "";
	reg_find_home(set);
	reg_npm(set);
	reg_pip(set);
	reg_apt(set);
	reg_cargo(set);
	reg_go(set);
	out = policy_arena_array(arena, set->n + 1, sizeof(*out));
	for (i = 0; i < set->n; i++) {
		out[i] = policy_arena_strdup(arena, set->hosts[i]);
		free(set->hosts[i]);
	}
	free(set);
	return out;
}

void
policy_registries_pin(void)
{
	struct reg_set *set;
	char out[4096];
	size_t len, i;
	int found;

	if (getenv("AIRLOCK_REGISTRY_ROOT") != NULL ||
	    getenv("NPM_CONFIG_REGISTRY") != NULL ||
	    getenv("npm_config_registry") != NULL || !reg_on_path("npm"))
		return;
	set = xcalloc(1, sizeof(*set));
	set->root = "";
	reg_find_home(set);
	found = reg_npm_files(set);
	for (i = 0; i < set->n; i++)
		free(set->hosts[i]);
	free(set);
	if (found)
		return;
	/* Only npm's built-in default is left: ask once, keep the answer
	 * (one URL, as npm prints it) for this process and its children. */
	len = reg_npm_run(out, sizeof(out));
	while (len > 0 &&
	    (out[len - 1] == '\n' || out[len - 1] == '\r' ||
	        out[len - 1] == ' '))
		out[--len] = '\0';
	if (len > 0 && strpbrk(out, " \t\n") == NULL &&
	    strstr(out, "://") != NULL)
		setenv("npm_config_registry", out, 1);
}
