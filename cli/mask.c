/*
 * mask: outside-the-project rules as a list of mounts (see mask.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "policy.h"
#include "util.h"

const char *
mask_kind_name(enum mask_kind kind)
{
	switch (kind) {
	case MASK_HIDE:
		return "hidden";
	case MASK_RDONLY:
		return "read-only";
	case MASK_WRITE:
		return "writable";
	case MASK_SECRET:
		return "masked";
	}
	return "?";
}

int
mask_path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

void
mask_plan_free(struct mask_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		free(plan->v[i].path);
		free(plan->v[i].rule);
		free(plan->v[i].reason);
		free(plan->v[i].source);
	}
	free(plan->v);
	plan->v = NULL;
	plan->n = 0;
}

static int
mask_plan_has(const struct mask_plan *plan, const char *path)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].path, path) == 0)
			return 1;
	return 0;
}

/*
 * Resolve path into real (PATH_MAX bytes).  Returns 1 when it exists, 0
 * when it (or what a symlink names) does not, -1 with errno otherwise.
 */
static int
mask_resolve(const char *path, char *real, struct stat *st)
{
	if (lstat(path, st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (realpath(path, real) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (stat(real, st) != 0)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

int
mask_plan_add(struct mask_plan *plan, const char *path, enum mask_kind kind,
    const char *rule, const char *reason, char *err, size_t err_len)
{
	char real[PATH_MAX];
	struct mask_entry *e;
	struct stat st;
	int rc;

	rc = mask_resolve(path, real, &st);
	if (rc < 0) {
		snprintf(
		    err, err_len, "%s (%s): %s", path, rule, strerror(errno));
		return -1;
	}
	if (rc == 0 || mask_plan_has(plan, real))
		return 0;
	if (strcmp(real, "/") == 0) {
		snprintf(err, err_len, "%s (%s): resolves to /", path, rule);
		return -1;
	}
	plan->v = xrealloc(plan->v, (plan->n + 1) * sizeof *plan->v);
	e = &plan->v[plan->n++];
	e->path = xstrdup(real);
	e->kind = kind;
	e->is_dir = S_ISDIR(st.st_mode);
	e->rule = xstrdup(rule);
	e->reason = xstrdup(reason != NULL ? reason : "");
	e->source = NULL;
	return 0;
}

int
mask_plan_set(struct mask_plan *plan, const char *path, enum mask_kind kind,
    const char *source, const char *rule, const char *reason, char *err,
    size_t err_len)
{
	char real[PATH_MAX];
	struct mask_entry *e;
	struct stat st;
	size_t i;
	int rc;

	rc = mask_resolve(path, real, &st);
	if (rc < 0) {
		snprintf(
		    err, err_len, "%s (%s): %s", path, rule, strerror(errno));
		return -1;
	}
	if (rc == 0)
		return 0;
	if (kind == MASK_SECRET && (source == NULL || S_ISDIR(st.st_mode))) {
		snprintf(err, err_len, "%s (%s): a masked copy is for a file",
		    path, rule);
		return -1;
	}
	for (i = 0; i < plan->n && strcmp(plan->v[i].path, real) != 0; i++)
		;
	if (i == plan->n) {
		if (mask_plan_add(
		        plan, path, kind, rule, reason, err, err_len) != 0)
			return -1;
		for (i = 0; i < plan->n && strcmp(plan->v[i].path, real) != 0;
		     i++)
			;
		if (i == plan->n)
			return 0; /* gone in between */
	}
	e = &plan->v[i];
	free(e->rule);
	free(e->reason);
	free(e->source);
	e->kind = kind;
	e->rule = xstrdup(rule);
	e->reason = xstrdup(reason != NULL ? reason : "");
	e->source = source != NULL ? xstrdup(source) : NULL;
	return 0;
}

/* "~" and "~/x" with home put in front, its wildcards escaped. */
static int
mask_expand_home(const char *pat, const char *home, char *out, size_t len)
{
	size_t n = 0;
	const char *p;

	if (pat[0] != '~') {
		if (strlen(pat) >= len)
			return -1;
		str_copy(out, pat, len);
		return 0;
	}
	if (home == NULL || home[0] != '/')
		return -1;
	for (p = home; *p != '\0'; p++) {
		if (n + 3 >= len)
			return -1;
		if (strchr("*?[\\", *p) != NULL)
			out[n++] = '\\';
		out[n++] = *p;
	}
	if (n + strlen(pat + 1) + 1 > len)
		return -1;
	strcpy(out + n, pat + 1);
	return 0;
}

static int
mask_has_wildcard(const char *pat)
{
	return strpbrk(pat, "*?[") != NULL;
}

/* glob(3) said nothing about why; keep what matters for fail-closed. */
static int mask_glob_errno;
static const char *mask_glob_epath;
static char mask_glob_ebuf[PATH_MAX];

static int
mask_glob_err(const char *epath, int eerrno)
{
	if (eerrno != ENOENT && eerrno != ENOTDIR && mask_glob_errno == 0) {
		mask_glob_errno = eerrno;
		str_copy(mask_glob_ebuf, epath, sizeof mask_glob_ebuf);
		mask_glob_epath = mask_glob_ebuf;
	}
	return 0;
}

/* A match that ends in "." or "..": not a path a rule meant. */
static int
mask_is_dot(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
}

/*
 * The paths pat names (home expanded), resolved, into *out (count *n,
 * the caller frees each and the array).  Returns 0, or -1 with err.
 */
static int
mask_expand(const char *pat, const char *home, const char *rule, char ***out,
    size_t *n, char *err, size_t err_len)
{
	char buf[PATH_MAX], real[PATH_MAX];
	struct stat st;
	glob_t g;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (mask_expand_home(pat, home, buf, sizeof buf) != 0)
		return 0; /* no home: nothing "~" could name */
	if (!mask_has_wildcard(buf)) {
		/* glob(3) would call ELOOP "no match": look ourselves */
		rc = mask_resolve(buf, real, &st);
		if (rc < 0) {
			snprintf(err, err_len, "%s (%s): %s", buf, rule,
			    strerror(errno));
			return -1;
		}
		if (rc > 0) {
			*out = xcalloc(1, sizeof **out);
			(*out)[(*n)++] = xstrdup(buf);
		}
		return 0;
	}
	mask_glob_errno = 0;
	rc = glob(buf, GLOB_PERIOD, mask_glob_err, &g);
	if (rc == GLOB_NOMATCH)
		return 0;
	if (rc != 0 || mask_glob_errno != 0) {
		snprintf(err, err_len, "%s (%s): %s", pat, rule,
		    mask_glob_errno != 0 ? mask_glob_epath
		                         : (rc == GLOB_NOSPACE ? "out of memory"
		                                               : "read error"));
		if (mask_glob_errno != 0) {
			size_t k = strlen(err);

			snprintf(err + k, err_len - k, ": %s",
			    strerror(mask_glob_errno));
		}
		if (rc == 0)
			globfree(&g);
		return -1;
	}
	*out = xcalloc(g.gl_pathc + 1, sizeof **out);
	for (i = 0; i < g.gl_pathc; i++)
		if (!mask_is_dot(g.gl_pathv[i]))
			(*out)[(*n)++] = xstrdup(g.gl_pathv[i]);
	globfree(&g);
	return 0;
}

static void
mask_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The homes a pattern is expanded for: each of homes when it starts
 * with "~", else just once (with no home). */
static size_t
mask_n_homes(const char *pat, const char *const *homes)
{
	size_t n = 0;

	if (pat[0] != '~')
		return 1;
	while (homes != NULL && homes[n] != NULL)
		n++;
	return n;
}

static const char *
mask_home_at(const char *pat, const char *const *homes, size_t i)
{
	return pat[0] == '~' ? homes[i] : NULL;
}

/* Whether path (resolved) is one the rule's "!" patterns name. */
static int
mask_excepted(const struct policy_outside_rule *r, const char *const *homes,
    const char *path, char *err, size_t err_len, int *is_except)
{
	char real[PATH_MAX], **v;
	struct stat st;
	size_t i, h, k, n;
	const char *p;

	*is_except = 0;
	for (i = 0; r->excepts[i] != NULL && !*is_except; i++) {
		p = r->excepts[i];
		for (h = 0; h < mask_n_homes(p, homes) && !*is_except; h++) {
			if (mask_expand(p, mask_home_at(p, homes, h), r->rule,
			        &v, &n, err, err_len) != 0)
				return -1;
			for (k = 0; k < n; k++)
				if (mask_resolve(v[k], real, &st) > 0 &&
				    strcmp(real, path) == 0)
					*is_except = 1;
			mask_strv_free(v, n);
		}
	}
	return 0;
}

/* What a rule does outside the project, or -1: nothing to mount. */
static int
mask_rule_kind(const struct policy_outside_rule *r)
{
	if (r->action == DECISION_ALLOW)
		return (r->ops & FS_OP_WRITE) ? MASK_WRITE : -1;
	if (r->ops & FS_OP_READ)
		return MASK_HIDE;
	return MASK_RDONLY;
}

static int
mask_add_pattern(struct mask_plan *plan, const struct policy_outside_rule *r,
    int kind, const char *pat, const char *home, const char *const *homes,
    char *err, size_t err_len)
{
	char real[PATH_MAX], **v;
	struct stat st;
	size_t k, n;
	int skip, rc = 0;

	if (mask_expand(pat, home, r->rule, &v, &n, err, err_len) != 0)
		return -1;
	for (k = 0; k < n && rc == 0; k++) {
		if (mask_resolve(v[k], real, &st) <= 0)
			continue; /* raced away, or caught below */
		rc = mask_excepted(r, homes, real, err, err_len, &skip);
		if (rc == 0 && !skip)
			rc = mask_plan_add(plan, v[k], (enum mask_kind)kind,
			    r->rule, r->reason, err, err_len);
	}
	mask_strv_free(v, n);
	return rc;
}

static int
mask_add_rule(struct mask_plan *plan, const struct policy_outside_rule *r,
    const char *const *homes, char *err, size_t err_len)
{
	size_t i, h;
	int kind;

	if ((kind = mask_rule_kind(r)) < 0)
		return 0;
	for (i = 0; r->paths[i] != NULL; i++)
		for (h = 0; h < mask_n_homes(r->paths[i], homes); h++)
			if (mask_add_pattern(plan, r, kind, r->paths[i],
			        mask_home_at(r->paths[i], homes, h), homes, err,
			        err_len) != 0)
				return -1;
	return 0;
}

int
mask_plan_build(const struct policy *pol, const char *const *homes,
    struct mask_plan *plan, char *err, size_t err_len)
{
	const struct policy_outside_rule *r;
	size_t i, n;

	plan->v = NULL;
	plan->n = 0;
	err[0] = '\0';
	r = policy_fs_outside(pol, &n);
	for (i = 0; i < n; i++)
		if (mask_add_rule(plan, &r[i], homes, err, err_len) != 0)
			return -1;
	return 0;
}

static void
mask_entry_free(struct mask_entry *e)
{
	free(e->path);
	free(e->rule);
	free(e->reason);
	free(e->source);
}

void
mask_plan_keep_project(struct mask_plan *plan, const char *project)
{
	size_t i, k = 0;

	for (i = 0; i < plan->n; i++) {
		if (plan->v[i].kind == MASK_WRITE &&
		    (strcmp(plan->v[i].path, project) == 0 ||
		        mask_path_below(plan->v[i].path, project))) {
			mask_entry_free(&plan->v[i]);
			continue;
		}
		plan->v[k++] = plan->v[i];
	}
	plan->n = k;
}

void
mask_plan_settle(struct mask_plan *plan)
{
	size_t i, j, k = 0;
	int covered;

	for (i = 0; i < plan->n; i++) {
		covered = 0;
		for (j = 0; j < plan->n && !covered; j++)
			covered = plan->v[i].kind != MASK_SECRET &&
			    plan->v[j].kind == MASK_HIDE &&
			    mask_path_below(plan->v[i].path, plan->v[j].path);
		if (covered) {
			mask_entry_free(&plan->v[i]);
			continue;
		}
		plan->v[k++] = plan->v[i];
	}
	plan->n = k;
}
