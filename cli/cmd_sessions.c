/*
 * airlock sessions, end, resume: the life of a session after its run.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "room.h"
#include "run_secrets.h"
#include "session.h"
#include "session_dir.h"
#include "util.h"

/* How a daemon of the session is: "alive", "dead" (killed while the
 * session runs) or "stopped" (the session ended). */
static const char *
sessions_daemon(const struct session_info *si, const char *pidfile)
{
	if (strcmp(si->state, "running") != 0)
		return "stopped";
	return session_pid_alive(si->dir, pidfile) != 0 ? "alive" : "dead";
}

/* The DAEMONS column: "fs+proxy", "fs dead", "proxy dead", "both dead",
 * or "-" for an ended session. */
static const char *
sessions_daemons_text(const struct session_info *si)
{
	int fs = strcmp(sessions_daemon(si, "fs.pid"), "dead") == 0;
	int proxy = strcmp(sessions_daemon(si, "proxy.pid"), "dead") == 0;

	if (strcmp(si->state, "running") != 0)
		return "-";
	if (fs && proxy)
		return "both dead";
	if (fs)
		return "fs dead";
	if (proxy)
		return "proxy dead";
	return "fs+proxy";
}

/*
 * Append the names of the session's secrets to b (SESSION/secrets holds
 * "NAME SENTINEL" lines, never a value): as JSON strings joined by ",",
 * or as text joined by ", ".  Returns how many; 0 without the file.
 */
static int
sessions_secrets(const char *dir, struct buf *b, int json)
{
	char path[PATH_MAX + 16], line[512];
	int n = 0;
	size_t len;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, RUN_SECRETS_FILE);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		len = strcspn(line, " \n");
		if (len == 0)
			continue;
		line[len] = '\0';
		if (n++ > 0)
			buf_adds(b, json ? "," : ", ");
		if (json)
			buf_add_json_string(b, line);
		else
			buf_adds(b, line);
	}
	fclose(f);
	return n;
}

/* "  secrets: A, B" under a session's row, when it has any. */
static void
sessions_secret_line(struct buf *b, const char *dir)
{
	size_t mark = b->len;

	buf_adds(b, "  secrets: ");
	if (sessions_secrets(dir, b, 0) == 0)
		b->len = mark;
	else
		buf_adds(b, "\n");
}

static int
sessions_cmp(const void *a, const void *b)
{
	const struct session_info *x = a, *y = b;

	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
sessions_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock sessions [--json]\n\n"
	    "List the sessions of the state directory, oldest first: id, "
	    "state\n(running, ended, or stale: marked running but a "
	    "daemon is gone;\n`airlock resume ID` or `airlock end ID` "
	    "clears it), its daemons (fs+proxy,\nor which one is dead), "
	    "creation time, staged entries and project;\nunder a row, "
	    "the names of the secrets its policy declares (never a\n"
	    "value).  --json adds \"fs\" and \"proxy\": alive, dead or "
	    "stopped, and\n\"secrets\": those names.\n\n"
	    "Exit status: 0; 3 when the state directory cannot be read.\n");
}

int
cmd_sessions(int argc, char **argv)
{
	char state[PATH_MAX], base[PATH_MAX + 16], dir[PATH_MAX * 2];
	struct session_info *list = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct buf b;
	int json = 0, k;
	DIR *d;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			json = 1;
		else if (strcmp(argv[k], "-h") == 0 ||
		    strcmp(argv[k], "--help") == 0) {
			sessions_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "airlock sessions: bad argument '%s'\n",
			    argv[k]);
			sessions_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (session_state_dir(state, sizeof state) != 0) {
		fprintf(stderr, "airlock sessions: state directory: %s\n",
		    strerror(errno));
		return EXIT_IO;
	}
	snprintf(base, sizeof base, "%s/sessions", state);
	if ((d = opendir(base)) == NULL && errno != ENOENT) {
		fprintf(stderr, "airlock sessions: %s: %s\n", base,
		    strerror(errno));
		return EXIT_IO;
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/%s", base, de->d_name);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof *list);
		}
		if (session_info_read(dir, &list[n]) != 0)
			continue; /* not one of ours, or half-made */
		n++;
	}
	if (d != NULL)
		closedir(d);
	if (n > 0)
		qsort(list, n, sizeof *list, sessions_cmp);
	buf_init(&b);
	if (json)
		buf_adds(&b, "[");
	else if (n > 0)
		buf_addf(&b, "%-28s %-8s %-10s %-20s %6s  %s\n", "ID", "STATE",
		    "DAEMONS", "CREATED", "STAGED", "PROJECT");
	for (i = 0; i < n; i++) {
		long staged = session_staged_count(list[i].dir);

		if (json) {
			buf_adds(&b, i > 0 ? ",\n {" : "\n {");
			buf_adds(&b, "\"id\":");
			buf_add_json_string(&b, list[i].id);
			buf_adds(&b, ",\"state\":");
			buf_add_json_string(&b, session_state_now(&list[i]));
			buf_adds(&b, ",\"fs\":");
			buf_add_json_string(
			    &b, sessions_daemon(&list[i], "fs.pid"));
			buf_adds(&b, ",\"proxy\":");
			buf_add_json_string(
			    &b, sessions_daemon(&list[i], "proxy.pid"));
			buf_adds(&b, ",\"project\":");
			buf_add_json_string(&b, list[i].project);
			buf_adds(&b, ",\"created\":");
			buf_add_json_string(&b, list[i].created);
			buf_addf(&b,
			    ",\"staged\":%ld,\"isolated\":%s,"
			    "\"dir\":",
			    staged, list[i].isolated ? "true" : "false");
			buf_add_json_string(&b, list[i].dir);
			buf_adds(&b, ",\"secrets\":[");
			(void)sessions_secrets(list[i].dir, &b, 1);
			buf_adds(&b, "]}");
		} else {
			buf_addf(&b, "%-28s %-8s %-10s %-20.19s %6ld  %s\n",
			    list[i].id, session_state_now(&list[i]),
			    sessions_daemons_text(&list[i]), list[i].created,
			    staged, list[i].project);
			sessions_secret_line(&b, list[i].dir);
		}
	}
	if (json)
		buf_adds(&b, n > 0 ? "\n]\n" : "]\n");
	else if (n == 0)
		buf_addf(&b, "no sessions in %s\n", base);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	free(list);
	return 0;
}

/* Resolve a required session ID and read its session.json. */
static int
sessions_open(const char *cmd, const char *arg, struct session_info *si)
{
	char dir[PATH_MAX];

	if (session_resolve(arg, dir, sizeof dir) != 0) {
		fprintf(stderr,
		    "airlock %s: no session %s: %s (see `airlock "
		    "sessions`)\n",
		    cmd, arg, strerror(errno));
		return -1;
	}
	if (session_info_read(dir, si) != 0) {
		fprintf(stderr, "airlock %s: %s/session.json: %s\n", cmd, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_end(int argc, char **argv)
{
	struct session_info si;
	int rc;

	if (cmd_wants_help(argc, argv)) {
		printf(
		    "usage: airlock end ID\n\n"
		    "Stop a session's daemons: airlock-proxy and airlock-fs "
		    "(SIGTERM, which\nunmounts the view; a lazy unmount when "
		    "the daemon is already dead),\nand mark it ended.  The "
		    "staged changes stay: `airlock diff`, `commit`,\n"
		    "`discard` or `resume` them.\n\n"
		    "Exit status: 0 stopped (or already ended); 2 usage or no "
		    "such session;\n3 a daemon could not be stopped.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: airlock end ID\n");
		return EXIT_USAGE;
	}
	if (sessions_open("end", argv[1], &si) != 0)
		return EXIT_USAGE;
	rc = session_stop(&si, "end");
	str_copy(si.state, "ended", sizeof si.state);
	if (session_info_write(&si) != 0) {
		fprintf(stderr, "airlock end: %s/session.json: %s\n", si.dir,
		    strerror(errno));
		return EXIT_IO;
	}
	if (rc != 0)
		return EXIT_IO;
	printf("airlock end: session %s ended; its staged changes stay (see "
	       "`airlock diff --session %s`)\n",
	    si.id, si.id);
	return 0;
}

static void
resume_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock resume ID [--user USER] [--no-isolate] "
	    "[-- CMD [ARG...]]\n\n"
	    "Mount an ended (or stale) session again.  Without CMD: start its "
	    "airlock-fs\nand airlock-proxy (on 127.0.0.1, a free port) and "
	    "print where they are;\n`airlock end ID` stops them.  With CMD: "
	    "run CMD in it as `airlock run`\ndoes (isolated by default), "
	    "then stop the daemons.\n\n"
	    "A stale session (a daemon was killed) is resumed the same "
	    "way, once its\nagent has exited.\n\n"
	    "Exit status: without CMD 0, 2 usage (or the session is "
	    "running, or its\nagent still runs), 3 a daemon failed; with "
	    "CMD as for `airlock run`\n(CMD's status, 125 when airlock "
	    "fails).\n");
}

int
cmd_resume(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "no-isolate", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_info si;
	struct run_opts ro;
	const char *id;
	int ch, has_cmd, fail;

	memset(&ro, 0, sizeof ro);
	ro.cmd = "resume";
	ro.isolate = 1;
	ro.intercept = -1;
	optind = 1;
	opterr = 0;
	/* ID first, then options, then -- CMD */
	if (argc >= 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		resume_usage(stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		resume_usage(stderr);
		return EXIT_USAGE;
	}
	id = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			ro.user = optarg;
			break;
		case 'N':
			ro.isolate = 0;
			break;
		case 'h':
			resume_usage(stdout);
			return 0;
		default:
			resume_usage(stderr);
			return EXIT_USAGE;
		}
	}
	has_cmd = optind < argc;
	fail = has_cmd ? 125 : EXIT_IO;
	ro.argv = argv + optind;
	if (sessions_open("resume", id, &si) != 0)
		return has_cmd ? 125 : EXIT_USAGE;
	if (strcmp(session_state_now(&si), "running") == 0) {
		fprintf(stderr,
		    "airlock resume: session %s is running; `airlock"
		    " end %s` first\n",
		    si.id, si.id);
		return has_cmd ? 125 : EXIT_USAGE;
	}
	/* A daemon died under a live agent: starting new daemons now would
	 * pull the proxy from under it, and its room still holds the dead
	 * view.  The run ends when the agent does. */
	if (strcmp(si.state, "running") == 0 && session_agent_alive(&si)) {
		fprintf(stderr,
		    "airlock resume: session %s is stale, but its agent (pid "
		    "%ld) still runs in its room; let it finish (or stop it) "
		    "and its `airlock run` ends the session, then resume\n",
		    si.id, (long)si.agent_pid);
		return has_cmd ? 125 : EXIT_USAGE;
	}
	if (has_cmd && ro.isolate && geteuid() != 0 &&
	    room_userns_check("resume") != 0)
		return 125;
	/* a stale session: clear the dead mount and the other daemon */
	if (session_stop(&si, "resume") != 0)
		return fail;
	if (si.mountpoint[0] == '\0' &&
	    (size_t)snprintf(si.mountpoint, sizeof si.mountpoint,
	        "%.4000s/view", si.dir) >= sizeof si.mountpoint)
		return fail;
	/* an ordinary user's view may lie in /tmp (run_view_place), which
	 * the end of a run or a reboot empties */
	if (run_view_place(&si, "resume") != 0)
		goto failed;
	if (has_cmd)
		run_catch_signals();
	/* the values go to the proxy alone, not into airlock-fs's environ */
	if (has_cmd && run_take_secrets(&si, "resume") != 0)
		goto failed;
	if (session_start_fs(&si, "resume") != 0)
		goto failed;
	if (has_cmd)
		return run_in_session(&si, &ro);
	if (session_start_proxy(&si, "resume", "127.0.0.1:0") != 0)
		goto failed;
	si.isolated = 0;
	str_copy(si.state, "running", sizeof si.state);
	if (session_info_write(&si) != 0) {
		fprintf(stderr, "airlock resume: %s/session.json: %s\n", si.dir,
		    strerror(errno));
		goto failed;
	}
	printf("airlock resume: session %s is mounted at %s\n"
	       "  proxy: http://%s\n"
	       "  work in it (not isolated):  cd %s && export "
	       "HTTPS_PROXY=http://%s\n"
	       "  or run a command in it:     airlock end %s && airlock resume "
	       "%s -- CMD\n"
	       "  stop it:                    airlock end %s\n",
	    si.id, si.mountpoint, si.proxy_listen, si.mountpoint,
	    si.proxy_listen, si.id, si.id, si.id);
	return 0;
failed:
	(void)session_stop(&si, "resume");
	str_copy(si.state, "ended", sizeof si.state);
	(void)session_info_write(&si);
	return fail;
}
