/*
 * run_secrets: secrets outside the room, sentinels inside (see
 * run_secrets.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mask.h"
#include "policy.h"
#include "run_secrets.h"
#include "util.h"

extern char **environ;

/* The env secrets taken out of the environment (run_secrets_take_env),
 * until run_secrets_pipe() hands them to the proxy and wipes them. */
struct rs_taken {
	char *name;
	char *value;
	size_t len;
};
static struct rs_taken *rs_taken;
static size_t rs_n_taken;

static const struct rs_taken *
rs_taken_find(const char *name)
{
	size_t i;

	for (i = 0; i < rs_n_taken; i++)
		if (strcmp(rs_taken[i].name, name) == 0)
			return &rs_taken[i];
	return NULL;
}

static void
rs_taken_wipe(void)
{
	size_t i;

	for (i = 0; i < rs_n_taken; i++) {
		explicit_bzero(rs_taken[i].value, rs_taken[i].len);
		free(rs_taken[i].value);
		free(rs_taken[i].name);
	}
	free(rs_taken);
	rs_taken = NULL;
	rs_n_taken = 0;
}

void
run_secrets_take_env(const struct policy *pol)
{
	const struct policy_secret *s;
	struct rs_taken *t;
	size_t n, i, len, vlen;
	char **e, *val;
	int found;

	s = policy_secrets(pol, &n);
	for (i = 0; i < n; i++) {
		if (s[i].env == NULL)
			continue;
		len = strlen(s[i].env);
		found = 0;
		/* every entry of that name: the first is the value getenv()
		 * gave; a duplicate is wiped all the same */
		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, s[i].env, len) != 0 || (*e)[len] != '=')
				continue;
			val = *e + len + 1;
			vlen = strlen(val);
			if (!found && rs_taken_find(s[i].env) == NULL) {
				rs_taken = xrealloc(rs_taken,
				    (rs_n_taken + 1) * sizeof *rs_taken);
				t = &rs_taken[rs_n_taken++];
				t->name = xstrdup(s[i].env);
				t->value = xmalloc(vlen + 1);
				memcpy(t->value, val, vlen + 1);
				t->len = vlen;
			}
			found = 1;
			/* also out of /proc/PID/environ and of the room's
			 * pid 1, a fork of this process */
			explicit_bzero(val, vlen);
		}
		if (found)
			(void)unsetenv(s[i].env);
	}
}

/* An env secret's value: taken, else still in the environment. */
static const char *
rs_env_value(const char *name, size_t *len)
{
	const struct rs_taken *t = rs_taken_find(name);
	const char *v;

	if (t != NULL) {
		*len = t->len;
		return t->value;
	}
	if ((v = getenv(name)) == NULL)
		return NULL;
	*len = strlen(v);
	return v;
}

/* "~/x" with home, or an absolute path as is; NULL without a home. */
static char *
rs_expand(const char *file, const char *home)
{
	char *out;

	if (file[0] != '~')
		return xstrdup(file);
	if (home == NULL || home[0] != '/')
		return NULL;
	xasprintf(&out, "%s%s%s", home,
	    home[strlen(home) - 1] == '/' ? "" : "/", file + 2);
	return out;
}

static char *
rs_hosts_text(const char *const *hosts)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; hosts != NULL && hosts[i] != NULL; i++)
		buf_addf(&b, "%s%s", i > 0 ? ", " : "", hosts[i]);
	if (b.len == 0)
		buf_adds(&b, "no host");
	return buf_release(&b);
}

void
run_secrets_list(struct run_secrets *rs, const struct policy *pol,
    const char *home, int isolate)
{
	const struct policy_secret *s;
	struct run_secret *r;
	struct stat st;
	size_t n, i, ne = 0, vlen = 0;

	memset(rs, 0, sizeof *rs);
	secret_set_init(&rs->set);
	s = policy_secrets(pol, &n);
	rs->v = xcalloc(n + 1, sizeof *rs->v);
	rs->env_names = xcalloc(n + 1, sizeof *rs->env_names);
	for (i = 0; i < n; i++) {
		r = &rs->v[rs->n++];
		r->name = xstrdup(s[i].name);
		r->index = i;
		r->rule = xstrdup(s[i].rule);
		r->hosts = rs_hosts_text(s[i].hosts);
		r->state = RUN_SECRET_GIVEN;
		if (s[i].env != NULL) {
			r->env = xstrdup(s[i].env);
			rs->env_names[ne++] = r->env;
			if (rs_env_value(r->env, &vlen) == NULL) {
				r->state = RUN_SECRET_MISSING;
				snprintf(r->why, sizeof r->why,
				    "$%s is not set in airlock's environment",
				    r->env);
			} else if (vlen == 0) {
				r->state = RUN_SECRET_MISSING;
				snprintf(r->why, sizeof r->why,
				    "$%s is empty in airlock's environment",
				    r->env);
			}
			continue;
		}
		if ((r->path = rs_expand(s[i].file, home)) == NULL) {
			r->state = RUN_SECRET_MISSING;
			snprintf(r->why, sizeof r->why,
			    "%s: there is no home for ~", s[i].file);
		} else if (stat(r->path, &st) != 0 &&
		    (errno == ENOENT || errno == ENOTDIR)) {
			r->state = RUN_SECRET_MISSING;
			snprintf(r->why, sizeof r->why, "%s does not exist",
			    r->path);
		} else if (!isolate) {
			r->state = RUN_SECRET_UNMASKED;
			snprintf(r->why, sizeof r->why,
			    "--no-isolate cannot mask %s (no mount namespace); "
			    "the agent can read the real file",
			    r->path);
		}
	}
}

/*
 * Read a regular file of at most RUN_SECRETS_FILE_MAX bytes into *text
 * (NUL-terminated; the caller wipes and frees it).  Returns 1, 0 when it
 * does not exist, or -1 with why filled.
 */
static int
rs_read(const char *path, int flags, char **text, size_t *len, struct stat *st,
    char *why, size_t why_len)
{
	size_t got = 0;
	ssize_t k;
	int fd, rc = -1;

	*text = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, why_len, "%s is not a regular file", path);
		goto out;
	}
	if (st->st_size > RUN_SECRETS_FILE_MAX) {
		snprintf(why, why_len, "%s is larger than %d bytes", path,
		    RUN_SECRETS_FILE_MAX);
		goto out;
	}
	*text = xmalloc((size_t)st->st_size + 1);
	while (got < (size_t)st->st_size) {
		k = read(fd, *text + got, (size_t)st->st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
			explicit_bzero(*text, got);
			free(*text);
			*text = NULL;
			goto out;
		}
		if (k == 0)
			break; /* it shrank: what was read is the file */
		got += (size_t)k;
	}
	(*text)[got] = '\0';
	*len = got;
	rc = 1;
out:
	close(fd);
	return rc;
}

/* A line "NAME SENTINEL" of SESSION/secrets: 0 with the parts, or -1. */
static int
rs_parse_line(const char *l, size_t n, size_t *name_len, const char **sent)
{
	const char *sp = memchr(l, ' ', n);

	if (sp == NULL || sp == l ||
	    (size_t)(l + n - (sp + 1)) != SECRET_SENTINEL_LEN ||
	    !secret_sentinel_at(sp + 1, SECRET_SENTINEL_LEN, 0) ||
	    memchr(l, '\0', n) != NULL)
		return -1;
	*name_len = (size_t)(sp - l);
	*sent = sp + 1;
	return 0;
}

/* Write SESSION/secrets (old lines of other names kept) atomically. */
static int
rs_sentinels_write(const struct run_secrets *rs, const char *dir,
    const char *old, size_t old_len)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	const char *l = old, *nl, *sent;
	size_t i, nlen;
	struct buf b;
	int fd = -1, rc = -1, mine;

	buf_init(&b);
	while (old != NULL && l < old + old_len) {
		nl = memchr(l, '\n', (size_t)(old + old_len - l));
		if (nl == NULL)
			break;
		if (rs_parse_line(l, (size_t)(nl - l), &nlen, &sent) == 0) {
			for (i = 0, mine = 0; i < rs->n && !mine; i++)
				mine = strlen(rs->v[i].name) == nlen &&
				    memcmp(rs->v[i].name, l, nlen) == 0;
			if (!mine)
				buf_add(&b, l, (size_t)(nl - l + 1));
		}
		l = nl + 1;
	}
	for (i = 0; i < rs->n; i++)
		buf_addf(&b, "%s %s\n", rs->v[i].name, rs->v[i].sentinel);
	snprintf(path, sizeof path, "%s/%s", dir, RUN_SECRETS_FILE);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, RUN_SECRETS_FILE);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    fd_write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		(void)unlink(tmp);
	buf_free(&b);
	return rc;
}

/*
 * Each secret's sentinel: the one SESSION/secrets keeps for its name (a
 * resumed session), else a new one; then the file is written back.  A
 * malformed file, or two names with one sentinel, stops the run: the
 * proxy could not tell the secrets apart.
 */
static int
rs_sentinels(struct run_secrets *rs, const char *dir, const char *cmd)
{
	char path[PATH_MAX + 32], why[PATH_MAX + 64], *text = NULL;
	const char *l, *nl, *sent;
	size_t len = 0, line = 0, nlen, i, j;
	struct stat st;
	int rc = -1, got;

	snprintf(path, sizeof path, "%s/%s", dir, RUN_SECRETS_FILE);
	got = rs_read(path, O_NOFOLLOW, &text, &len, &st, why, sizeof why);
	if (got < 0) {
		fprintf(stderr, "airlock %s: %s\n", cmd, why);
		return -1;
	}
	for (l = text; got > 0 && l < text + len; l = nl + 1) {
		line++;
		nl = memchr(l, '\n', (size_t)(text + len - l));
		if (nl == NULL ||
		    rs_parse_line(l, (size_t)(nl - l), &nlen, &sent) != 0) {
			fprintf(stderr,
			    "airlock %s: %s: line %zu is malformed (a line is "
			    "\"NAME SENTINEL\")\n",
			    cmd, path, line);
			goto out;
		}
		for (i = 0; i < rs->n; i++)
			if (strlen(rs->v[i].name) == nlen &&
			    memcmp(rs->v[i].name, l, nlen) == 0)
				memcpy(rs->v[i].sentinel, sent,
				    SECRET_SENTINEL_LEN);
	}
	for (i = 0; i < rs->n; i++) {
		if (rs->v[i].sentinel[0] != '\0')
			continue;
		if (secret_sentinel_make(rs->v[i].sentinel) != 0) {
			fprintf(stderr, "airlock %s: no randomness: %s\n", cmd,
			    strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < rs->n; i++)
		for (j = i + 1; j < rs->n; j++)
			if (strcmp(rs->v[i].sentinel, rs->v[j].sentinel) == 0) {
				fprintf(stderr,
				    "airlock %s: %s: secrets '%s' and '%s' "
				    "have one sentinel\n",
				    cmd, path, rs->v[i].name, rs->v[j].name);
				goto out;
			}
	if (rs_sentinels_write(rs, dir, text, got > 0 ? len : 0) != 0) {
		fprintf(
		    stderr, "airlock %s: %s: %s\n", cmd, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text); /* sentinels and names only */
	return rc;
}

/* text with every occurrence of value replaced by sentinel (the caller
 * frees; no byte of value is copied). */
static char *
rs_mask_all(const char *text, size_t len, const char *value, size_t vlen,
    const char *sentinel, size_t *out_len)
{
	const char *p;
	size_t at = 0;
	struct buf b;

	buf_init(&b);
	while (at < len &&
	    (p = memmem(text + at, len - at, value, vlen)) != NULL) {
		buf_add(&b, text + at, (size_t)(p - (text + at)));
		buf_adds(&b, sentinel);
		at = (size_t)(p - text) + vlen;
	}
	buf_add(&b, text + at, len - at);
	*out_len = b.len;
	return buf_release(&b);
}

/* The masked copy, in SESSION/secrets.d/, with the real file's owner and
 * mode (tools such as ssh and netrc readers check them). */
static int
rs_write_masked(const char *dir, struct run_secret *r, const char *data,
    size_t len, const struct stat *st, const char *cmd)
{
	char path[PATH_MAX + 32];
	int dfd = -1, fd = -1, rc = -1;

	snprintf(path, sizeof path, "%s/%s", dir, RUN_SECRETS_DIR);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		goto out;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		goto out;
	xasprintf(&r->masked, "%s/masked-%s", path, r->name);
	fd = openat(dfd, r->masked + strlen(path) + 1,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fd_write_all(fd, data, len) != 0)
		goto out;
	if (geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) != 0)
		goto out;
	if (fchmod(fd, st->st_mode & 0777) != 0)
		goto out;
	rc = close(fd);
	fd = -1;
out:
	if (rc != 0)
		fprintf(stderr,
		    "airlock %s: secret '%s': cannot write its masked copy "
		    "%s: %s\n",
		    cmd, r->name, r->masked != NULL ? r->masked : path,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int
rs_gather_env(struct run_secrets *rs, struct run_secret *r)
{
	const char *v;
	size_t len;

	v = rs_env_value(r->env, &len);
	if (v == NULL || len == 0) {
		r->state = RUN_SECRET_MISSING; /* gone since the list */
		snprintf(r->why, sizeof r->why,
		    "$%s is not set in airlock's environment", r->env);
		return 0;
	}
	if (secret_set_add(&rs->set, r->index, r->sentinel, v, len) == NULL) {
		fprintf(
		    stderr, "airlock: secret '%s': a bad sentinel\n", r->name);
		return -1;
	}
	return 0;
}

/* Read, extract, mask, write the masked copy.  Returns 0 (the state says
 * how it went) or -1 (printed): the run must stop. */
static int
rs_gather_file(struct run_secrets *rs, struct run_secret *r, const char *match,
    const char *dir, const char *cmd)
{
	char *text = NULL, *masked = NULL;
	size_t len = 0, off, vlen, mlen;
	struct stat st;
	int got, rc = -1;

	got = rs_read(r->path, 0, &text, &len, &st, r->why, sizeof r->why);
	if (got == 0) {
		r->state = RUN_SECRET_MISSING;
		snprintf(r->why, sizeof r->why, "%s does not exist", r->path);
		return 0;
	}
	if (got < 0) {
		r->state = RUN_SECRET_HIDDEN;
		return 0;
	}
	if (secret_extract(text, len, match, &off, &vlen) != 0) {
		r->state = RUN_SECRET_HIDDEN;
		snprintf(r->why, sizeof r->why, "%s: %s", r->path,
		    match != NULL ? "its pattern finds no secret in it"
		                  : "it is empty or holds a NUL byte");
		rc = 0;
		goto out;
	}
	if (secret_set_add(&rs->set, r->index, r->sentinel, text + off, vlen) ==
	    NULL) {
		fprintf(stderr, "airlock %s: secret '%s': a bad sentinel\n",
		    cmd, r->name);
		goto out;
	}
	masked = rs_mask_all(text, len, text + off, vlen, r->sentinel, &mlen);
	rc = rs_write_masked(dir, r, masked, mlen, &st, cmd);
out:
	if (text != NULL)
		explicit_bzero(text, len);
	free(text);
	free(masked);
	return rc;
}

int
run_secrets_gather(struct run_secrets *rs, const struct policy *pol,
    const char *dir, const char *home, int isolate, const char *cmd)
{
	const struct policy_secret *s;
	struct run_secret *r;
	size_t n, i;

	run_secrets_list(rs, pol, home, isolate);
	if (rs->n == 0)
		return 0;
	s = policy_secrets(pol, &n);
	if (rs_sentinels(rs, dir, cmd) != 0)
		return -1;
	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (r->state == RUN_SECRET_GIVEN &&
		    (r->env != NULL ? rs_gather_env(rs, r)
		                    : rs_gather_file(rs, r, s[r->index].match,
		                          dir, cmd)) != 0)
			return -1;
		if (r->state == RUN_SECRET_GIVEN)
			continue;
		fprintf(stderr, "airlock %s: secret '%s' (%s): %s: %s\n", cmd,
		    r->name, r->rule, r->why,
		    r->state == RUN_SECRET_HIDDEN ? "the file is hidden in "
		                                    "the room"
		        : r->state == RUN_SECRET_UNMASKED
		        ? "the proxy does not get its value"
		        : "the agent does not get it");
	}
	return 0;
}

int
run_secrets_plan(const struct run_secrets *rs, struct mask_plan *plan,
    char *err, size_t err_len)
{
	const struct run_secret *r;
	char reason[128];
	size_t i;

	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		snprintf(reason, sizeof reason, "secret %s", r->name);
		if (r->state == RUN_SECRET_GIVEN && r->path != NULL &&
		    mask_plan_set(plan, r->path, MASK_SECRET, r->masked,
		        r->rule, reason, err, err_len) != 0)
			return -1;
		if (r->state == RUN_SECRET_HIDDEN &&
		    mask_plan_set(plan, r->path, MASK_HIDE, NULL, r->rule,
		        reason, err, err_len) != 0)
			return -1;
	}
	return 0;
}

int
run_secrets_pipe(struct run_secrets *rs, int *fd, const char *cmd)
{
	size_t need = 0, i;
	int p[2] = { -1, -1 }, rc = -1, cap, hi;
	struct buf b;

	*fd = -1;
	buf_init(&b);
	if (rs->set.n == 0) {
		rc = 0;
		goto out;
	}
	/* sized once: a realloc would leave copies of the values behind */
	for (i = 0; i < rs->set.n; i++)
		need += 24 + SECRET_SENTINEL_LEN + 2 * rs->set.v[i].value_len;
	b.data = xmalloc(need + 1);
	b.cap = need + 1;
	secret_set_encode(&rs->set, &b);
	if (pipe2(p, O_CLOEXEC) != 0)
		goto fail;
	/* the whole text waits in the pipe: the proxy reads it when it
	 * starts, and the write end is closed before anything forks */
	cap = fcntl(p[1], F_GETPIPE_SZ);
	if (cap >= 0 && (size_t)cap < b.len &&
	    (b.len > INT_MAX || fcntl(p[1], F_SETPIPE_SZ, (int)b.len) < 0))
		goto fail;
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fd_write_all(p[1], b.data, b.len) != 0)
		goto fail;
	close(p[1]);
	p[1] = -1;
	/* kept above stdin, stdout and stderr, which the proxy's start
	 * replaces */
	if (p[0] <= STDERR_FILENO) {
		if ((hi = fcntl(p[0], F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) < 0)
			goto fail;
		close(p[0]);
		p[0] = hi;
	}
	*fd = p[0];
	p[0] = -1;
	rc = 0;
	goto out;
fail:
	fprintf(stderr,
	    "airlock %s: cannot hand the secrets (%zu bytes) to "
	    "airlock-proxy: %s\n",
	    cmd, b.len, strerror(errno));
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	secret_set_free(&rs->set);
	rs_taken_wipe();
	return rc;
}

void
run_secrets_summary(const struct run_secrets *rs, FILE *f)
{
	const struct run_secret *r;
	const char *label = "secrets:";
	size_t i;

	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (r->state != RUN_SECRET_GIVEN)
			continue;
		if (r->env != NULL)
			fprintf(f,
			    "  %-15s %s: $%s holds a sentinel; the real value "
			    "goes only to %s\n",
			    label, r->name, r->env, r->hosts);
		else
			fprintf(f,
			    "  %-15s %s: %s shows a masked copy; the real "
			    "value goes only to %s\n",
			    label, r->name, r->path, r->hosts);
		label = "";
	}
	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (r->state != RUN_SECRET_GIVEN)
			fprintf(f, "  %-15s %s: %s\n",
			    r->state == RUN_SECRET_HIDDEN ? "secret hidden:"
			                                  : "secret skipped:",
			    r->name, r->why);
	}
}

void
run_secrets_free(struct run_secrets *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->v[i].name);
		free(rs->v[i].env);
		free(rs->v[i].path);
		free(rs->v[i].masked);
		free(rs->v[i].hosts);
		free(rs->v[i].rule);
	}
	free(rs->v);
	free(rs->env_names);
	secret_set_free(&rs->set);
	rs_taken_wipe();
	memset(rs, 0, sizeof *rs);
}
