/*
 * airlock run: a session around one agent command.
 *
 * The order matters: the view is mounted before the room is made (the
 * room binds it over the project), the proxy serves before the agent
 * runs (room_release), and the daemons stop after the agent exits so
 * that `airlock commit` can run right away (commit refuses a mounted
 * session).  The staged work stays in the session.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "env_filter.h"
#include "home_diff.h"
#include "mask.h"
#include "policy.h"
#include "room.h"
#include "run_secrets.h"
#include "session.h"
#include "session_dir.h"
#include "util.h"

extern char **environ;

/* airlock run's own failures; CMD's statuses pass through otherwise */
#define RUN_EXIT_FAIL 125

static volatile sig_atomic_t run_child;
/* A stop asked for before the agent runs: the signal's number. */
static volatile sig_atomic_t run_stop_sig;

static void
run_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock run [--project DIR] [--policy FILE] "
	    "[--session-name NAME]\n"
	    "                   [--user USER] [--no-isolate] -- CMD "
	    "[ARG...]\n"
	    "       airlock run --show-env [--policy FILE] [--user USER] "
	    "[--no-isolate]\n"
	    "                   [-- CMD [ARG...]]\n\n"
	    "Create a session, mount a copy-on-write view of the project "
	    "(airlock-fs),\nstart its egress proxy (airlock-proxy) and run CMD "
	    "in it.  Writes are\nstaged in the session; review them with "
	    "`airlock diff` and apply them\nwith `airlock commit`.\n\n"
	    "  --project DIR       the project (default: the current "
	    "directory)\n"
	    "  --policy FILE       the policy (default: the built-in one)\n"
	    "  --session-name NAME the session id ([A-Za-z0-9._-], no leading "
	    "dot;\n"
	    "                      default: YYYYMMDD-HHMMSS-XXXX)\n"
	    "  --user USER         run CMD as USER (name or uid; root only); "
	    "with\n"
	    "                      --no-isolate it sees the view at the "
	    "project's path\n"
	    "  --no-isolate        no namespaces: CMD runs in the view with "
	    "the "
	    "proxy\n"
	    "                      variables set, and can reach the network "
	    "directly\n"
	    "  --show-env          print the environment CMD would get, and "
	    "each variable\n"
	    "                      dropped with the reason (not its value); "
	    "run nothing\n\n"
	    "Isolated (the default; as root, or as an ordinary user where "
	    "the kernel\nallows unprivileged user namespaces): CMD runs in "
	    "its own mount, network and\npid namespaces.  The project's own "
	    "path shows the view, the state\ndirectory is empty, the daemons' "
	    "processes are "
	    "not visible, and the only\nendpoint is the proxy at "
	    "http://127.0.0.1:%d (HTTP_PROXY, HTTPS_PROXY,\nALL_PROXY and "
	    "their lower-case forms point there; NO_PROXY is empty).\n"
	    "There is no DNS inside.  A root CMD loses CAP_SYS_ADMIN, "
	    "CAP_NET_ADMIN,\nCAP_SYS_PTRACE and the like; whatever CMD leaves "
	    "running ends with it.\n"
	    "Outside the project everything is read-only, but /tmp, /var/tmp, "
	    "/dev/shm and\n/run are the session's own (empty) and the home is "
	    "copy-on-write (`airlock diff\n--home` shows the changes; they "
	    "are never committed).  The policy's fs rules\non paths outside "
	    "the project (~/... or /...) hide them or make them writable;\n"
	    "~/.ssh, ~/.aws, /etc/shadow, other users' homes and the like are "
	    "hidden by\ndefault.\n"
	    "Isolated or not, variables that look like credentials (*_TOKEN, "
	    "*_KEY,\n*_SECRET, *_PASSWORD, AWS_*, SSH_AUTH_SOCK, ...) are not "
	    "passed on.\n"
	    "The policy's secrets (airlock.yaml(5), secrets:) are read "
	    "outside the room: the\nagent sees a sentinel in the variable or "
	    "in a masked copy of the file, and\nairlock-proxy puts the real "
	    "value back only in requests to the secret's hosts.\n"
	    "When the policy intercepts TLS, SSL_CERT_FILE, "
	    "NODE_EXTRA_CA_CERTS,\n"
	    "REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO and CURL_CA_BUNDLE name a "
	    "bundle of "
	    "the\nusual roots and the session CA (removed when CMD exits).\n\n"
	    "When CMD exits, the daemons stop (the session is `ended`; "
	    "`airlock resume`\nmounts it again) and a summary names the next "
	    "commands.\n\n"
	    "Exit status: CMD's (128+N when killed by signal N); 125 when "
	    "airlock run\nitself fails (usage, mount, proxy, namespaces); 126 "
	    "when CMD cannot be\nexecuted; 127 when CMD is not found.\n",
	    ROOM_PROXY_PORT);
}

/* Whether "NAME=value" names one of names (NULL-terminated). */
static int
run_env_named(const char *entry, char *const *names)
{
	size_t len = env_filter_name_len(entry), i;

	for (i = 0; names != NULL && names[i] != NULL; i++)
		if (strlen(names[i]) == len &&
		    memcmp(entry, names[i], len) == 0)
			return 1;
	return 0;
}

/* HTTP_PROXY & co: everything through the proxy, nothing exempted.  The
 * rest is the caller's environment less what looks like a credential
 * (env_filter.h), and each env secret's variable holds its sentinel
 * (whatever our environment still has under that name never passes). */
static char **
run_build_env(const char *id, const char *url, const struct passwd *pw,
    const char *bundle, const struct run_secrets *rs)
{
	static const char *const drop[] = { "HTTP_PROXY=", "HTTPS_PROXY=",
		"http_proxy=", "https_proxy=", "ALL_PROXY=", "all_proxy=",
		"NO_PROXY=", "no_proxy=", "AIRLOCK_SESSION=", NULL };
	/* replaced only when the session CA must be trusted */
	static const char *const ca_vars[] = { "SSL_CERT_FILE=",
		"NODE_EXTRA_CA_CERTS=", "REQUESTS_CA_BUNDLE=",
		"GIT_SSL_CAINFO=", "CURL_CA_BUNDLE=", NULL };
	char **env, **kept;
	size_t n = 0, i, j;
	int keep;

	env_filter_split(environ, rs->env_names, &kept, NULL, NULL);
	for (i = 0; kept[i] != NULL; i++)
		n++;
	env = xcalloc(n + 24 + rs->n, sizeof *env);
	n = 0;
	for (i = 0; kept[i] != NULL; i++) {
		keep = !run_env_named(kept[i], rs->env_names);
		for (j = 0; drop[j] != NULL; j++)
			if (strncmp(kept[i], drop[j], strlen(drop[j])) == 0)
				keep = 0;
		for (j = 0; bundle != NULL && ca_vars[j] != NULL; j++)
			if (strncmp(kept[i], ca_vars[j], strlen(ca_vars[j])) ==
			    0)
				keep = 0;
		if (pw != NULL &&
		    (strncmp(kept[i], "HOME=", 5) == 0 ||
		        strncmp(kept[i], "USER=", 5) == 0 ||
		        strncmp(kept[i], "LOGNAME=", 8) == 0))
			keep = 0;
		if (keep)
			env[n++] = xstrdup(kept[i]);
	}
	free(kept);
	for (i = 0; i < rs->n; i++)
		if (rs->v[i].env != NULL && rs->v[i].state == RUN_SECRET_GIVEN)
			xasprintf(&env[n++], "%s=%s", rs->v[i].env,
			    rs->v[i].sentinel[0] != '\0'
			        ? rs->v[i].sentinel
			        : "<the session's sentinel>");
	xasprintf(&env[n++], "HTTP_PROXY=%s", url);
	xasprintf(&env[n++], "HTTPS_PROXY=%s", url);
	xasprintf(&env[n++], "http_proxy=%s", url);
	xasprintf(&env[n++], "https_proxy=%s", url);
	xasprintf(&env[n++], "ALL_PROXY=%s", url);
	xasprintf(&env[n++], "all_proxy=%s", url);
	env[n++] = xstrdup("NO_PROXY=");
	env[n++] = xstrdup("no_proxy=");
	xasprintf(&env[n++], "AIRLOCK_SESSION=%s", id);
	if (bundle != NULL) {
		xasprintf(&env[n++], "SSL_CERT_FILE=%s", bundle);
		xasprintf(&env[n++], "NODE_EXTRA_CA_CERTS=%s", bundle);
		xasprintf(&env[n++], "REQUESTS_CA_BUNDLE=%s", bundle);
		xasprintf(&env[n++], "GIT_SSL_CAINFO=%s", bundle);
		xasprintf(&env[n++], "CURL_CA_BUNDLE=%s", bundle);
	}
	if (pw != NULL) {
		xasprintf(&env[n++], "HOME=%s", pw->pw_dir);
		xasprintf(&env[n++], "USER=%s", pw->pw_name);
		xasprintf(&env[n++], "LOGNAME=%s", pw->pw_name);
	}
	env[n] = NULL;
	return env;
}

static void
run_env_free(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/*
 * The agent gets the terminal's signals itself; we only pass on what is
 * sent to us alone (kill airlock-run-pid).  Before the agent runs there is
 * nobody to pass it to: the start-up notes it and stops at its next step,
 * tearing down what it started, rather than die with the daemons left
 * running.  SA_RESTART: a start-up step is not cut short by it.
 */
static void
run_on_signal(int sig)
{
	if (run_child > 0)
		(void)kill(run_child, sig);
	else
		run_stop_sig = sig;
}

static void
run_signals(int on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? run_on_signal : SIG_DFL;
	sa.sa_flags = on ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void
run_catch_signals(void)
{
	run_signals(1);
}

/* 0 when start-up may go on, else 128 + the signal that stopped it. */
static int
run_stopped(const char *cmd)
{
	if (run_stop_sig == 0)
		return 0;
	fprintf(stderr,
	    "airlock %s: stopped by signal %d during start-up; the "
	    "session's daemons are stopped and CMD did not run\n",
	    cmd, (int)run_stop_sig);
	return 128 + run_stop_sig;
}

static int
run_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return RUN_EXIT_FAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Held, approved, denied and timed-out actions from the audit log. */
static void
run_count_audit(const char *dir, long *held, long *approved, long *denied,
    long *timeout, long *refused)
{
	char path[PATH_MAX + 32], *line = NULL;
	size_t cap = 0;
	FILE *f;

	*held = *approved = *denied = *timeout = *refused = 0;
	snprintf(path, sizeof path, "%s/audit.jsonl", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, "\"decision\":\"deny\"") != NULL)
			(*refused)++;
		if (strstr(line, "\"decision\":\"hold\"") == NULL)
			continue;
		if (strstr(line, "\"outcome\":\"approved\"") != NULL)
			(*approved)++;
		else if (strstr(line, "\"outcome\":\"denied\"") != NULL)
			(*denied)++;
		else if (strstr(line, "\"outcome\":\"timeout\"") != NULL)
			(*timeout)++;
		else
			continue;
		(*held)++;
	}
	free(line);
	fclose(f);
}

/* What lies outside the project, for the summary. */
static void
run_summary_room(const struct session_info *si, const struct mask_plan *masks,
    const char *home)
{
	char upper[PATH_MAX + 16], label[16];
	long changes = -1;
	size_t i;
	FILE *null;
	int ufd, lfd;

	fprintf(stderr,
	    "  outside:        read-only; /tmp, /var/tmp, /dev/shm, /run "
	    "private to the session\n");
	if (home != NULL) {
		snprintf(
		    upper, sizeof upper, "%s/%s", si->dir, HOME_DIFF_UPPER);
		ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		lfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		null = fopen("/dev/null", "we");
		if (ufd >= 0 && null != NULL &&
		    home_diff_write(ufd, lfd, 0, null, &changes) != 0)
			changes = -1;
		if (null != NULL)
			fclose(null);
		if (lfd >= 0)
			close(lfd);
		if (ufd >= 0)
			close(ufd);
		fprintf(stderr,
		    "  home:           %s, copy-on-write: %ld change%s kept "
		    "in the session\n"
		    "                  (airlock diff --home --session %s; "
		    "never committed)\n",
		    home, changes, changes == 1 ? "" : "s", si->id);
	}
	for (i = 0; masks != NULL && i < masks->n; i++) {
		snprintf(label, sizeof label,
		    "%s:", mask_kind_name(masks->v[i].kind));
		fprintf(stderr, "  %-15s %s (%s)\n", label, masks->v[i].path,
		    masks->v[i].rule);
	}
}

static void
run_summary(const struct session_info *si, const char *cmd, int status,
    const struct mask_plan *masks, const char *home,
    const struct run_secrets *rs)
{
	long staged, held, approved, denied, timeout, refused;

	staged = session_staged_count(si->dir);
	run_count_audit(si->dir, &held, &approved, &denied, &timeout, &refused);
	fprintf(stderr,
	    "\nairlock %s: session %s ended (command exit status "
	    "%d)\n",
	    cmd, si->id, status);
	if (staged < 0)
		fprintf(stderr,
		    "  files staged:   unknown (cannot read the "
		    "stage: %s)\n",
		    strerror(errno));
	else
		fprintf(stderr, "  files staged:   %ld\n", staged);
	fprintf(stderr,
	    "  actions held:   %ld (approved %ld, denied %ld, "
	    "timed out %ld)\n",
	    held, approved, denied, timeout);
	fprintf(stderr, "  actions denied: %ld by the policy\n", refused);
	if (si->isolated)
		run_summary_room(si, masks, home);
	run_secrets_summary(rs, stderr);
	fprintf(stderr,
	    "next:\n"
	    "  airlock diff --session %s      review the staged changes\n"
	    "  airlock commit --session %s    apply them to %s\n"
	    "  airlock discard --session %s   drop them\n"
	    "  airlock audit --session %s     every decision\n",
	    si->id, si->id, si->project, si->id, si->id);
}

static int
run_user(const char *cmd, const char *user, struct passwd *out, char *buf,
    size_t len)
{
	struct passwd *pw = NULL;
	char *end;
	unsigned long uid;

	if (getpwnam_r(user, out, buf, len, &pw) == 0 && pw != NULL)
		return 0;
	uid = strtoul(user, &end, 10);
	if (*user != '\0' && *end == '\0' &&
	    getpwuid_r((uid_t)uid, out, buf, len, &pw) == 0 && pw != NULL)
		return 0;
	fprintf(stderr, "airlock %s: --user %s: no such user\n", cmd, user);
	return -1;
}

/* The session's policy, loaded again (the daemons load it too); NULL
 * when it no longer loads (printed), which fails the run. */
static struct policy *
run_load_policy(const struct session_info *si, const char *cmd)
{
	struct policy_error err;
	struct policy *pol;

	/* Once for this command and the daemons it starts (policy.h). */
	policy_registries_pin();
	pol = policy_load(si->policy[0] != '\0' ? si->policy : NULL, &err);
	if (pol == NULL)
		fprintf(stderr, "airlock %s: policy: %s\n", cmd,
		    err.text[0] != '\0' ? err.text : "cannot load");
	return pol;
}

int
run_take_secrets(const struct session_info *si, const char *cmd)
{
	struct policy *pol = run_load_policy(si, cmd);

	if (pol == NULL)
		return -1;
	run_secrets_take_env(pol);
	policy_free(pol);
	return 0;
}

static int
run_policy_intercepts(const struct policy *pol)
{
	char *const *h = policy_settings(pol)->tls_intercept_hosts;

	return h != NULL && h[0] != NULL;
}

/* The agent's home: --user's, else $HOME, else the passwd entry's. */
static const char *
run_agent_home(const struct passwd *pw)
{
	const char *h;
	struct passwd *me;

	if (pw != NULL)
		return pw->pw_dir;
	if ((h = getenv("HOME")) != NULL && h[0] == '/')
		return h;
	me = getpwuid(geteuid());
	return me != NULL && me->pw_dir[0] == '/' ? me->pw_dir : NULL;
}

/*
 * A file the command line names by its absolute path in the host's /tmp,
 * /var/tmp or /dev/shm (`airlock run -- bash /tmp/agent.sh`) keeps its
 * place in the room's private ones, read-only: the user asked for it to
 * run.  Nothing else of the host's tmp dirs comes in, and a file a rule
 * already decides (or hides) stays as the rule says.
 */
static void
run_plan_argv_files(struct mask_plan *plan, char *const *argv)
{
	static const char *const tmps[] = { "/tmp", "/var/tmp", "/dev/shm" };
	char real[PATH_MAX], tmp[PATH_MAX], err[64];
	struct stat st;
	size_t i, k;

	for (i = 0; argv[i] != NULL; i++) {
		if (argv[i][0] != '/' || realpath(argv[i], real) == NULL ||
		    stat(real, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		for (k = 0; k < sizeof tmps / sizeof *tmps; k++)
			if (realpath(tmps[k], tmp) != NULL &&
			    mask_path_below(real, tmp))
				break;
		if (k < sizeof tmps / sizeof *tmps)
			(void)mask_plan_add(plan, real, MASK_RDONLY,
			    "the command line", "a file CMD names", err,
			    sizeof err);
	}
}

/* Under sudo, the invoking user's home (SUDO_UID): "~" rules hold for
 * it too.  Returns 0 with out filled, or -1 when there is none. */
static int
run_sudo_home(char *out, size_t len)
{
	const char *s = getenv("SUDO_UID");
	struct passwd *pw;
	unsigned long uid;
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	uid = strtoul(s, &end, 10);
	if (*end != '\0' || (pw = getpwuid((uid_t)uid)) == NULL ||
	    pw->pw_dir[0] != '/' || strcmp(pw->pw_dir, "/") == 0)
		return -1;
	return str_copy(out, pw->pw_dir, len) < len ? 0 : -1;
}

/* What "~/" stands for in a file secret: the invoking user's home (under
 * sudo SUDO_UID's, else ours), whoever the agent runs as. */
static const char *
run_secrets_home(char *buf, size_t len)
{
	return run_sudo_home(buf, len) == 0 ? buf : run_agent_home(NULL);
}

/* mountinfo's octal escapes (\040 for a space) decoded in place. */
static void
run_unescape_mount(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++, out++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 3;
		} else
			*out = *s;
	}
	*out = '\0';
}

/*
 * The mounts beneath a home, read-only in the room.  The copy-on-write
 * home is an overlay of the home's own file system, which does not cross
 * into mounts beneath it: a data disk or a network share at ~/work would
 * show as an empty directory.  Each is bound read-only at its place
 * instead (like the rest of the host).  Mounts inside the project (the
 * view is the project there) and inside hidden paths (the state dir, a
 * hidden secret: mask_plan_settle() drops them) stay out.
 */
static void
run_plan_home_mounts(
    struct mask_plan *plan, const char *const *homes, const char *project)
{
	char line[2 * PATH_MAX], mp[PATH_MAX], err[64];
	size_t i;
	FILE *f;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		run_unescape_mount(mp);
		if (strcmp(mp, project) == 0 || mask_path_below(mp, project))
			continue;
		for (i = 0; homes[i] != NULL; i++)
			if (mask_path_below(mp, homes[i]))
				break;
		if (homes[i] != NULL)
			(void)mask_plan_add(plan, mp, MASK_RDONLY,
			    "builtin:home-mount",
			    "a mount beneath the home (the copy-on-write "
			    "home does not reach into it)",
			    err, sizeof err);
	}
	fclose(f);
}

/*
 * The mask plan: the state dir first (always hidden: the sessions and
 * their control sockets), then the policy's outside rules ("~" is the
 * agent's home, and under sudo the invoking user's as well).  A path that
 * cannot be resolved stops the run: we cannot tell what it would show.
 */
static int
run_plan_masks(const struct policy *pol, const char *home, const char *state,
    const char *project, char *const *argv, const struct run_secrets *rs,
    struct mask_plan *plan, const char *cmd)
{
	struct mask_plan extra;
	char err[PATH_MAX + 256], sudo[PATH_MAX];
	const char *homes[3];
	size_t i, nh = 0;

	homes[nh] = NULL;
	if (home != NULL)
		homes[nh++] = home;
	if (run_sudo_home(sudo, sizeof sudo) == 0 &&
	    (home == NULL || strcmp(sudo, home) != 0))
		homes[nh++] = sudo;
	homes[nh] = NULL;
	if (mask_plan_build(pol, homes, &extra, err, sizeof err) != 0)
		goto fail;
	plan->v = NULL;
	plan->n = 0;
	if (mask_plan_add(plan, state, MASK_HIDE, "builtin:state-dir",
	        "airlock's sessions and control sockets", err, sizeof err) != 0)
		goto fail;
	/* the users' runtime dirs (session buses, agents' sockets: a way
	 * out of any netns) are out of the room with the rest of the host's
	 * /run, which is the room's own (room.c) */
	for (i = 0; i < extra.n; i++)
		if (mask_plan_add(plan, extra.v[i].path, extra.v[i].kind,
		        extra.v[i].rule, extra.v[i].reason, err,
		        sizeof err) != 0)
			goto fail;
	mask_plan_free(&extra);
	if (run_secrets_plan(rs, plan, err, sizeof err) != 0)
		goto fail;
	run_plan_home_mounts(plan, homes, project);
	run_plan_argv_files(plan, argv);
	mask_plan_keep_project(plan, project);
	mask_plan_settle(plan);
	return 0;
fail:
	mask_plan_free(&extra);
	fprintf(stderr,
	    "airlock %s: cannot hide or expose a path outside the project, "
	    "so the agent does not run: %s\n",
	    cmd, err);
	return -1;
}

/* A resumed session whose agent now has another home: its changes lie
 * over the new one; say so rather than mix homes silently. */
static void
run_home_check_source(const char *path, const char *home, const char *cmd)
{
	char old[PATH_MAX];
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(old, sizeof old, f) != NULL) {
		old[strcspn(old, "\n")] = '\0';
		if (strcmp(old, home) != 0)
			fprintf(stderr,
			    "airlock %s: the session's home changes were made "
			    "over %s; they now lie over %s\n",
			    cmd, old, home);
	}
	fclose(f);
}

/*
 * SESSION/home/{upper,work} for the copy-on-write home, and
 * SESSION/home/source naming the real home (for `airlock diff --home`).
 * The upper dir takes the home's owner and mode: overlayfs shows them
 * for the home itself.  Fills real with the resolved home, or leaves
 * it "" when there is no home to show (none, /, or within the project:
 * the view covers it).  Returns 0, or -1 (printed).
 */
static int
run_home_prepare(const struct session_info *si, const char *home, char *real,
    size_t real_len, const char *cmd)
{
	char path[PATH_MAX + 32], buf[PATH_MAX];
	struct stat st;
	int fd, n;

	real[0] = '\0';
	if (home == NULL || realpath(home, buf) == NULL ||
	    stat(buf, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    strcmp(buf, "/") == 0 || strcmp(buf, si->project) == 0 ||
	    mask_path_below(buf, si->project))
		return 0;
	snprintf(path, sizeof path, "%s/%s", si->dir, HOME_DIFF_DIR);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof path, "%s/%s", si->dir, HOME_DIFF_WORK);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof path, "%s/%s", si->dir, HOME_DIFF_UPPER);
	if ((mkdir(path, 0700) != 0 && errno != EEXIST) ||
	    chown(path, st.st_uid, st.st_gid) != 0 ||
	    chmod(path, st.st_mode & 07777) != 0)
		goto fail;
	snprintf(path, sizeof path, "%s/%s", si->dir, HOME_DIFF_SOURCE);
	run_home_check_source(path, buf, cmd);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	n = dprintf(fd, "%s\n", buf);
	if (close(fd) != 0 || n < 0)
		goto fail;
	str_copy(real, buf, real_len);
	return 0;
fail:
	fprintf(stderr, "airlock %s: %s: %s\n", cmd, path, strerror(errno));
	return -1;
}

static int
run_copy_file(FILE *out, const char *path)
{
	char buf[8192];
	FILE *in;
	size_t n;

	if ((in = fopen(path, "re")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return 0;
}

/*
 * The agent's CA bundle: the system's roots and the session CA, in a
 * file outside the (hidden) session directory, readable by --user.  The
 * name is chosen before the room forks (its environment names it); the
 * content is written once the proxy has made its CA.
 */
static int
run_write_bundle(
    const struct session_info *si, const char *cmd, const char *bundle)
{
	static const char *const roots[] = {
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt", NULL
	};
	char ca[PATH_MAX + 16];
	FILE *out;
	size_t i;
	int fd, rc = 0;

	fd = open(bundle, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "airlock %s: %s: %s\n", cmd, bundle,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* the roots the agent would have trusted, then the session CA */
	for (i = 0; i < sizeof roots / sizeof *roots - 1; i++)
		if (roots[i] != NULL && run_copy_file(out, roots[i]) == 0)
			break;
	snprintf(ca, sizeof ca, "%s/ca/ca.pem", si->dir);
	if (run_copy_file(out, ca) != 0) {
		fprintf(
		    stderr, "airlock %s: %s: %s\n", cmd, ca, strerror(errno));
		rc = -1;
	}
	if (fclose(out) != 0)
		rc = -1;
	return rc;
}

/* dir exists, is a directory (not a link), ours, and closed to others */
static int
run_dir_is_private(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * An ordinary user's state dir lies in the home (by default), and so would
 * the view mounted in SESSION/view.  In the room's user namespace every mount
 * inherited from the host is locked, and overlayfs refuses a lower dir
 * with a locked mount below it: the copy-on-write home could not be
 * made.  So the view is mounted at /tmp/airlock-UID/ID instead (a dir
 * of the user's own, 0700, checked, not followed through a link): no
 * mount lies in the home, and the room's private /tmp hides the place.
 * Root's state dir is not in a home; its view stays where it was.
 */
int
run_view_place(struct session_info *si, const char *cmd)
{
	char base[64], mnt[PATH_MAX], home[PATH_MAX], dir[PATH_MAX];
	const char *h = run_agent_home(NULL);

	if (geteuid() == 0)
		return 0;
	/* a state dir outside the home (AIRLOCK_STATE_DIR, XDG_STATE_HOME)
	 * keeps the view in the session */
	if (h == NULL || realpath(h, home) == NULL ||
	    realpath(si->dir, dir) == NULL || !mask_path_below(dir, home))
		return 0;
	snprintf(base, sizeof base, "/tmp/airlock-%u", (unsigned)geteuid());
	if ((size_t)snprintf(mnt, sizeof mnt, "%s/%s", base, si->id) >=
	    sizeof mnt) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((mkdir(base, 0700) != 0 && errno != EEXIST) ||
	    run_dir_is_private(base) != 0) {
		str_copy(mnt, base, sizeof mnt);
		goto fail;
	}
	if ((mkdir(mnt, 0700) != 0 && errno != EEXIST) ||
	    run_dir_is_private(mnt) != 0)
		goto fail;
	str_copy(si->mountpoint, mnt, sizeof si->mountpoint);
	return 0;
fail:
	fprintf(stderr,
	    "airlock %s: %s: %s (the view of an ordinary user's session is "
	    "mounted there: a directory of the user's own, mode 0700)\n",
	    cmd, mnt, strerror(errno));
	return -1;
}

/* Give path (no link followed) to uid:gid; ENOENT is nothing to do. */
static int
run_chown(int dirfd, const char *name, uid_t uid, gid_t gid)
{
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

/* Add o+x to an airlock dir so that the proxy's user can pass it. */
static int
run_dir_passable(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	if ((st.st_mode & S_IXOTH) != 0)
		return 0;
	return chmod(dir, (st.st_mode & 07777) | S_IXOTH);
}

/* Can uid:gid write the session dir and its audit log, and read the
 * policy?  Asked of a child that has become it. */
static int
run_user_can(const struct session_info *si, uid_t uid, gid_t gid)
{
	char path[PATH_MAX + 32];
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0)
			_exit(1);
		snprintf(path, sizeof path, "%s/audit.jsonl", si->dir);
		_exit(access(si->dir, W_OK | X_OK) == 0 &&
		            (access(path, F_OK) != 0 ||
		                access(path, W_OK) == 0) &&
		            (si->policy[0] == '\0' ||
		                access(si->policy, R_OK) == 0)
		        ? 0
		        : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * A root-started session (sudo airlock run) runs airlock-proxy as the
 * invoking user (SUDO_UID): the proxy needs no privilege (its listener is
 * handed to it, or it binds 127.0.0.1:0), so a flaw in the code that
 * parses the network's bytes reaches only what that user could.  Not
 * when the agent runs as that user (--user): the control sockets refuse
 * the agent's uid (SO_PEERCRED), which must never be a daemon's, and the
 * agent must not signal or trace its proxy.  airlock-fs stays root: it
 * mounts the view with allow_other for a root or --user agent, and reads
 * every project file the agent may.  The session dir becomes the user's
 * (the proxy writes its pid, socket, CA and audit records there; that
 * user started the session and decides its holds anyway), and airlock's
 * state and sessions dirs get o+x so that it can reach it.  Where the
 * user still cannot reach it or read the policy, the proxy stays root,
 * and says so.  Returns 1 with *uid, *gid set, or 0.
 */
static int
run_proxy_user(struct session_info *si, uid_t agent, const char *cmd,
    uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	char state[PATH_MAX], sessions[PATH_MAX + 16];
	struct passwd *pw;
	unsigned long u, g;
	char *end;
	int dfd, cfd;

	if (geteuid() != 0 || su == NULL || *su == '\0')
		return 0;
	u = strtoul(su, &end, 10);
	if (*end != '\0' || u == 0 || u >= (uid_t)-1 ||
	    (pw = getpwuid((uid_t)u)) == NULL)
		return 0;
	g = pw->pw_gid;
	if (sg != NULL && *sg != '\0') {
		g = strtoul(sg, &end, 10);
		if (*end != '\0' || g >= (gid_t)-1)
			return 0;
	}
	if ((uid_t)u == agent)
		return 0;
	if (session_state_dir(state, sizeof state) != 0)
		return 0;
	snprintf(sessions, sizeof sessions, "%s/sessions", state);
	if (run_dir_passable(state) != 0 || run_dir_passable(sessions) != 0)
		goto root;
	if ((dfd = open(
	         si->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto root;
	if (fchown(dfd, (uid_t)u, (gid_t)g) != 0 ||
	    run_chown(dfd, "audit.jsonl", (uid_t)u, (gid_t)g) != 0 ||
	    run_chown(dfd, "ca", (uid_t)u, (gid_t)g) != 0) {
		close(dfd);
		goto root;
	}
	/* a CA made by a root proxy before: the user's proxy reuses it */
	if ((cfd = openat(dfd, "ca",
	         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		(void)run_chown(cfd, "ca.pem", (uid_t)u, (gid_t)g);
		(void)run_chown(cfd, "ca.key", (uid_t)u, (gid_t)g);
		close(cfd);
	}
	close(dfd);
	if (!run_user_can(si, (uid_t)u, (gid_t)g))
		goto root;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 1;
root:
	fprintf(stderr,
	    "airlock %s: airlock-proxy runs as root: uid %lu (SUDO_UID) "
	    "cannot reach %s or read the policy\n",
	    cmd, u, si->dir);
	return 0;
}

static int
run_start_proxy(struct session_info *si, const struct run_opts *ro,
    const struct room_cfg *cfg, const char *spec, int secrets_fd)
{
	uid_t uid;
	gid_t gid;
	int rc, as_user;

	as_user = run_proxy_user(
	    si, cfg->has_user ? cfg->uid : geteuid(), ro->cmd, &uid, &gid);
	if (as_user)
		session_spawn_as(uid, gid);
	rc = session_start_proxy_secrets(si, ro->cmd, spec, secrets_fd);
	session_spawn_as((uid_t)-1, (gid_t)-1);
	return rc;
}

int
run_in_session(struct session_info *si, const struct run_opts *ro)
{
	struct passwd pwd, *pw = NULL;
	struct room_cfg cfg;
	struct mask_plan masks = { NULL, 0 };
	struct run_secrets rs;
	struct policy *pol = NULL;
	char pwbuf[4096], state[PATH_MAX], url[96], spec[32];
	char home[PATH_MAX], upper[PATH_MAX + 16], work[PATH_MAX + 16];
	char bundle[] = "/tmp/airlock-ca-XXXXXX.pem", shome[PATH_MAX];
	char **env = NULL;
	int intercept = 0, bfd, sfd = -1;
	int lfd = -1, go = -1, status = RUN_EXIT_FAIL, started = 0;
	pid_t pid = -1;

	if (ro->user != NULL) {
		if (run_user(ro->cmd, ro->user, &pwd, pwbuf, sizeof pwbuf) != 0)
			goto out;
		pw = &pwd;
	}
	if (session_state_dir(state, sizeof state) != 0) {
		fprintf(stderr, "airlock %s: state directory: %s\n", ro->cmd,
		    strerror(errno));
		goto out;
	}
	memset(&rs, 0, sizeof rs);
	memset(&cfg, 0, sizeof cfg);
	cfg.secrets_fd = -1;
	cfg.isolate = ro->isolate;
	cfg.cmd_name = ro->cmd;
	cfg.project = si->project;
	cfg.view = si->mountpoint;
	cfg.state_dir = state;
	cfg.argv = ro->argv;
	cfg.userns = ro->isolate && geteuid() != 0;
	if (pw != NULL && geteuid() != 0 && pw->pw_uid != geteuid()) {
		fprintf(stderr,
		    "airlock %s: --user %s: only root can run CMD as another "
		    "user\n",
		    ro->cmd, ro->user);
		goto out;
	}
	if (pw != NULL && geteuid() != 0)
		pw = NULL; /* oneself: nothing to drop to */
	if (pw != NULL) {
		cfg.has_user = 1;
		cfg.uid = pw->pw_uid;
		cfg.gid = pw->pw_gid;
		cfg.user = pw->pw_name;
		cfg.home = pw->pw_dir;
	}
	si->isolated = ro->isolate;
	home[0] = '\0';
	if ((pol = run_load_policy(si, ro->cmd)) == NULL)
		goto out;
	intercept =
	    ro->intercept >= 0 ? ro->intercept : run_policy_intercepts(pol);
	/* `airlock run` took them before airlock-fs started; resume now */
	run_secrets_take_env(pol);
	if (run_secrets_gather(&rs, pol, si->dir,
	        run_secrets_home(shome, sizeof shome), ro->isolate,
	        ro->cmd) != 0)
		goto out;
	if (ro->isolate) {
		if (run_plan_masks(pol, run_agent_home(pw), state, si->project,
		        ro->argv, &rs, &masks, ro->cmd) != 0 ||
		    run_home_prepare(si, run_agent_home(pw), home, sizeof home,
		        ro->cmd) != 0)
			goto out;
		cfg.masks = &masks;
		if (home[0] != '\0') {
			snprintf(upper, sizeof upper, "%s/%s", si->dir,
			    HOME_DIFF_UPPER);
			snprintf(work, sizeof work, "%s/%s", si->dir,
			    HOME_DIFF_WORK);
			cfg.home_lower = home;
			cfg.home_upper = upper;
			cfg.home_work = work;
		}
	}
	/* the values go into the pipe and out of this process's memory
	 * before anything forks: the room's pid 1 is a fork that never
	 * execs */
	if (run_secrets_pipe(&rs, &sfd, ro->cmd) != 0)
		goto out;
	/* the proxy intercepts the secrets' hosts: the agent must trust
	 * the session CA */
	if (sfd >= 0)
		intercept = 1;
	if (intercept) {
		if ((bfd = mkstemps(bundle, 4)) < 0 || fchmod(bfd, 0644) != 0) {
			fprintf(stderr, "airlock %s: CA bundle: %s\n", ro->cmd,
			    strerror(errno));
			if (bfd >= 0) {
				close(bfd);
				(void)unlink(bundle);
			}
			intercept = 0;
			goto out;
		}
		close(bfd);
		cfg.keep_file = bundle;
	}

	if (ro->isolate) {
		snprintf(
		    url, sizeof url, "http://127.0.0.1:%d", ROOM_PROXY_PORT);
		env = run_build_env(
		    si->id, url, pw, intercept ? bundle : NULL, &rs);
		cfg.envp = env;
		cfg.secrets_fd = sfd;
		if ((pid = room_start(&cfg, &lfd, &go)) < 0)
			goto out;
		if (lfd < 0)
			goto out; /* the child said why */
		snprintf(spec, sizeof spec, "fd:%d", lfd);
		if (run_start_proxy(si, ro, &cfg, spec, sfd) != 0)
			goto out;
		close(lfd);
		lfd = -1;
		snprintf(si->proxy_listen, sizeof si->proxy_listen,
		    "127.0.0.1:%d (in the room)", ROOM_PROXY_PORT);
	} else {
		fprintf(stderr,
		    "airlock %s: --no-isolate: the agent can reach "
		    "the network directly and write outside the project; only "
		    "the proxy variables point it at airlock-proxy, and "
		    "credential-looking variables are still left out\n",
		    ro->cmd);
		if (run_start_proxy(si, ro, &cfg, "127.0.0.1:0", sfd) != 0)
			goto out;
		close(sfd);
		sfd = -1;
		if (strncmp(si->proxy_listen, "127.0.0.1:", 10) != 0) {
			fprintf(stderr,
			    "airlock %s: airlock-proxy reported no "
			    "listening address\n",
			    ro->cmd);
			goto out;
		}
		snprintf(url, sizeof url, "http://%s", si->proxy_listen);
		env = run_build_env(
		    si->id, url, pw, intercept ? bundle : NULL, &rs);
		cfg.envp = env;
		if ((pid = room_start(&cfg, &lfd, &go)) < 0)
			goto out;
	}
	if (sfd >= 0) {
		close(sfd); /* the proxy has its own */
		sfd = -1;
	}
	if (intercept && run_write_bundle(si, ro->cmd, bundle) != 0)
		goto out;
	si->agent_pid = pid;
	str_copy(si->state, "running", sizeof si->state);
	if (session_info_write(si) != 0) {
		fprintf(stderr, "airlock %s: %s/session.json: %s\n", ro->cmd,
		    si->dir, strerror(errno));
		goto out;
	}
	fprintf(stderr, "airlock %s: session %s: %s %s, proxy %s\n", ro->cmd,
	    si->id, ro->isolate ? "the view is at" : "the view is",
	    ro->isolate ? si->project : si->mountpoint, url);
	run_signals(1);
	if ((status = run_stopped(ro->cmd)) != 0)
		goto out;
	status = RUN_EXIT_FAIL;
	if (room_release(go) != 0) {
		go = -1;
		fprintf(stderr, "airlock %s: the agent's process went away\n",
		    ro->cmd);
		goto out;
	}
	go = -1;
	started = 1;
	/* a signal between the check and here found no child to pass to */
	run_child = pid;
	if (run_stop_sig != 0)
		(void)kill(pid, run_stop_sig);
	status = run_wait(pid);
	pid = -1;
out:
	if (sfd >= 0)
		close(sfd);
	if (go >= 0)
		close(go); /* the child exits without running CMD */
	if (lfd >= 0)
		close(lfd);
	if (pid > 0) {
		(void)run_wait(pid);
		if (status == 0)
			status = RUN_EXIT_FAIL;
	}
	/* the handler stays: a second Ctrl-C must not cut the teardown */
	run_child = 0;
	if (session_stop(si, ro->cmd) != 0 && status == 0)
		status = RUN_EXIT_FAIL;
	str_copy(si->state, "ended", sizeof si->state);
	if (session_info_write(si) != 0)
		fprintf(stderr, "airlock %s: %s/session.json: %s\n", ro->cmd,
		    si->dir, strerror(errno));
	/* an ordinary user's view place (run_view_place): empty now, and
	 * made again by `airlock resume` */
	if (geteuid() != 0) {
		char base[64];
		int n = snprintf(
		    base, sizeof base, "/tmp/airlock-%u/", (unsigned)geteuid());

		if (n > 0 && strncmp(si->mountpoint, base, (size_t)n) == 0)
			(void)rmdir(si->mountpoint);
	}
	if (intercept > 0)
		(void)unlink(bundle);
	if (started)
		run_summary(si, ro->cmd, status, &masks,
		    home[0] != '\0' ? home : NULL, &rs);
	else
		fprintf(stderr,
		    "airlock %s: session %s ended before the "
		    "command ran\n",
		    ro->cmd, si->id);
	if (env != NULL)
		run_env_free(env);
	mask_plan_free(&masks);
	run_secrets_free(&rs);
	if (pol != NULL)
		policy_free(pol);
	run_signals(0);
	return status;
}

/*
 * airlock run --show-env: the environment CMD would get, then each
 * variable left out and why, its value never printed.  Runs nothing and
 * creates no session; what a session fills in shows as <...>.
 */
static int
run_show_env(const char *policy_file, const char *user, int isolate)
{
	struct passwd pwd, *pw = NULL;
	struct policy_error err;
	struct policy *pol;
	char pwbuf[4096], url[96], shome[PATH_MAX], **env, **kept, **dropped;
	const struct run_secret *r;
	struct run_secrets rs;
	const char **whys;
	size_t i, n;

	if (user != NULL) {
		if (run_user("run", user, &pwd, pwbuf, sizeof pwbuf) != 0)
			return RUN_EXIT_FAIL;
		pw = &pwd;
	}
	pol = policy_load(policy_file, &err);
	if (pol == NULL) {
		fprintf(stderr, "airlock run: policy: %s\n",
		    err.text[0] != '\0' ? err.text : "cannot load");
		return RUN_EXIT_FAIL;
	}
	if (isolate)
		snprintf(
		    url, sizeof url, "http://127.0.0.1:%d", ROOM_PROXY_PORT);
	else
		snprintf(url, sizeof url, "http://127.0.0.1:<port>");
	run_secrets_list(
	    &rs, pol, run_secrets_home(shome, sizeof shome), isolate);
	for (i = 0, n = 0; i < rs.n; i++)
		n += rs.v[i].state == RUN_SECRET_GIVEN;
	/* a secret's hosts are intercepted, as a run would */
	env = run_build_env("<session id>", url, pw,
	    run_policy_intercepts(pol) || n > 0 ? "<the session's CA bundle>"
	                                        : NULL,
	    &rs);
	printf("# the agent's environment (airlock run --show-env; nothing "
	       "was run)%s\n",
	    isolate ? "" : ", --no-isolate");
	for (i = 0; env[i] != NULL; i++)
		printf("%s\n", env[i]);
	/* the secrets: where each sentinel shows, never a value */
	for (i = 0; i < rs.n; i++) {
		r = &rs.v[i];
		if (r->state != RUN_SECRET_GIVEN)
			printf("# secret %s: %s: %s\n", r->name, r->why,
			    r->state == RUN_SECRET_UNMASKED
			        ? "left out"
			        : "the agent will not get it");
		else if (r->env != NULL)
			printf("# secret %s: %s holds a sentinel, not the "
			       "value; the proxy puts the value back for %s\n",
			    r->name, r->env, r->hosts);
		else
			printf("# secret %s: %s shows a masked copy (a "
			       "sentinel in place of the value); the proxy "
			       "puts the value back for %s\n",
			    r->name, r->path, r->hosts);
	}
	env_filter_split(environ, rs.env_names, &kept, &dropped, &whys);
	for (n = 0; dropped[n] != NULL; n++)
		;
	printf("# dropped: %zu variable%s that look%s like credentials "
	       "(values not shown)\n",
	    n, n == 1 ? "" : "s", n == 1 ? "s" : "");
	for (i = 0; i < n; i++)
		printf("# dropped %.*s: %s\n",
		    (int)env_filter_name_len(dropped[i]), dropped[i], whys[i]);
	free(kept);
	free(dropped);
	free(whys);
	run_env_free(env);
	run_secrets_free(&rs);
	policy_free(pol);
	return 0;
}

/* The project may not hold the state dir nor sit inside it. */
static int
run_check_places(const char *cmd, const char *project)
{
	char state[PATH_MAX], real[PATH_MAX];
	size_t n;

	if (session_state_dir(state, sizeof state) != 0) {
		fprintf(stderr, "airlock %s: state directory: %s\n", cmd,
		    strerror(errno));
		return -1;
	}
	if (mkdir(state, 0700) != 0 && errno != EEXIST) {
		/* session_dir_create makes parents; realpath needs it now */
	}
	if (realpath(state, real) == NULL)
		str_copy(real, state, sizeof real);
	n = strlen(real);
	if (strncmp(project, real, n) == 0 &&
	    (project[n] == '/' || project[n] == '\0')) {
		fprintf(stderr,
		    "airlock %s: the project %s is inside the state"
		    " directory %s\n",
		    cmd, project, real);
		return -1;
	}
	if (strcmp(project, "/") == 0) {
		fprintf(stderr, "airlock %s: the project cannot be /\n", cmd);
		return -1;
	}
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "project", required_argument, NULL, 'p' },
		{ "policy", required_argument, NULL, 'P' },
		{ "session-name", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-isolate", no_argument, NULL, 'N' },
		{ "show-env", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *project = ".", *policy_file = NULL, *name = NULL;
	struct policy_error err;
	struct session_info si;
	struct run_opts ro;
	struct policy *pol;
	char *const *hosts;
	char real[PATH_MAX], polreal[PATH_MAX];
	int ch, show_env = 0, rc = 0;

	memset(&ro, 0, sizeof ro);
	ro.cmd = "run";
	ro.isolate = 1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			project = optarg;
			break;
		case 'P':
			policy_file = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'u':
			ro.user = optarg;
			break;
		case 'N':
			ro.isolate = 0;
			break;
		case 'E':
			show_env = 1;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "airlock run: bad option '%s'\n",
			    argv[optind - 1]);
			run_usage(stderr);
			return RUN_EXIT_FAIL;
		}
	}
	if (show_env) {
		if (policy_file != NULL &&
		    realpath(policy_file, polreal) == NULL) {
			fprintf(stderr, "airlock run: --policy %s: %s\n",
			    policy_file, strerror(errno));
			return RUN_EXIT_FAIL;
		}
		return run_show_env(
		    policy_file != NULL ? polreal : NULL, ro.user, ro.isolate);
	}
	if (optind >= argc) {
		fprintf(stderr,
		    "airlock run: no command (airlock run [OPTIONS]"
		    " -- CMD [ARG...])\n");
		return RUN_EXIT_FAIL;
	}
	ro.argv = argv + optind;
	if (name != NULL && !session_name_valid(name)) {
		fprintf(stderr,
		    "airlock run: --session-name '%s': use "
		    "[A-Za-z0-9._-], not starting with a dot\n",
		    name);
		return RUN_EXIT_FAIL;
	}
	if (realpath(project, real) == NULL) {
		fprintf(stderr, "airlock run: --project %s: %s\n", project,
		    strerror(errno));
		return RUN_EXIT_FAIL;
	}
	if (run_check_places("run", real) != 0)
		return RUN_EXIT_FAIL;
	if (access("/dev/fuse", R_OK | W_OK) != 0 && errno == EACCES) {
		fprintf(stderr,
		    "airlock run: /dev/fuse is not open to uid %u: give it "
		    "mode 0666 (Debian's udev rule does; `chmod 0666 "
		    "/dev/fuse` as root), or run as root\n",
		    (unsigned)geteuid());
		return RUN_EXIT_FAIL;
	}
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr,
		    "airlock run: /dev/fuse is missing: %s (load "
		    "the fuse module, or give the container --device "
		    "/dev/fuse)\n",
		    strerror(errno));
		return RUN_EXIT_FAIL;
	}
	if (ro.user != NULL && geteuid() != 0) {
		struct passwd who;
		char whobuf[4096];

		if (run_user("run", ro.user, &who, whobuf, sizeof whobuf) != 0)
			return RUN_EXIT_FAIL;
		if (who.pw_uid != geteuid()) {
			fprintf(stderr,
			    "airlock run: --user %s: only root can run CMD as "
			    "another user\n",
			    ro.user);
			return RUN_EXIT_FAIL;
		}
	}
	/* an ordinary user's room is a user namespace: refuse up front,
	 * and say which knob forbids it, rather than run unisolated */
	if (ro.isolate && geteuid() != 0 && room_userns_check("run") != 0)
		return RUN_EXIT_FAIL;
	if (policy_file != NULL && realpath(policy_file, polreal) == NULL) {
		fprintf(stderr, "airlock run: --policy %s: %s\n", policy_file,
		    strerror(errno));
		return RUN_EXIT_FAIL;
	}
	policy_registries_pin();
	pol = policy_load(policy_file != NULL ? polreal : NULL, &err);
	if (pol == NULL) {
		fprintf(stderr, "airlock run: policy: %s\n",
		    err.text[0] != '\0' ? err.text : "cannot load");
		return RUN_EXIT_FAIL;
	}
	/* from the first thing made on: a signal tears it down again */
	run_catch_signals();
	if (session_dir_create(name, &si) != 0) {
		fprintf(stderr,
		    "airlock run: cannot create the session%s%s: "
		    "%s\n",
		    name != NULL ? " " : "", name != NULL ? name : "",
		    errno == EEXIST ? "it exists already" : strerror(errno));
		policy_free(pol);
		return RUN_EXIT_FAIL;
	}
	str_copy(si.project, real, sizeof si.project);
	if (policy_file != NULL)
		str_copy(si.policy, polreal, sizeof si.policy);
	str_copy(
	    si.policy_hash, policy_source_hash(pol), sizeof si.policy_hash);
	/* out of the environment before airlock-fs inherits it */
	run_secrets_take_env(pol);
	hosts = policy_settings(pol)->tls_intercept_hosts;
	ro.intercept = hosts != NULL && hosts[0] != NULL;
	policy_free(pol);
	si.isolated = ro.isolate;
	if (ro.user != NULL) {
		struct passwd agent;
		char pwbuf[4096];

		/* The daemons refuse the agent's uid on their control
		 * sockets: it may never decide its own requests. */
		if (run_user("run", ro.user, &agent, pwbuf, sizeof pwbuf) != 0)
			return RUN_EXIT_FAIL;
		if (agent.pw_uid != geteuid())
			si.agent_uid = (long)agent.pw_uid;
	}
	if (session_info_write(&si) != 0) {
		fprintf(stderr, "airlock run: %s/session.json: %s\n", si.dir,
		    strerror(errno));
		return RUN_EXIT_FAIL;
	}
	if (run_view_place(&si, "run") != 0 ||
	    session_start_fs(&si, "run") != 0 ||
	    (rc = run_stopped("run")) != 0) {
		(void)session_stop(&si, "run");
		str_copy(si.state, "ended", sizeof si.state);
		(void)session_info_write(&si);
		run_signals(0);
		return rc != 0 ? rc : RUN_EXIT_FAIL;
	}
	return run_in_session(&si, &ro);
}
