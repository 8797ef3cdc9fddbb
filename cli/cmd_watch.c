/*
 * airlock watch: a person at a terminal deciding held actions as they
 * arrive.
 *
 * The control protocol has no push (common/ctl.h), so watch polls both
 * daemons' lists, shows each held action once, oldest first, and asks
 * for a decision, which goes back as `approve|deny ID [remember]`.  While
 * it asks, it keeps polling: an action that someone else decides (another
 * `airlock approve`, a reviewer) or that times out is noted, and the
 * prompt moves on; the audit log says how it ended.
 *
 * On a terminal it reads single keys (the terminal in non-canonical mode,
 * restored on every way out, signals included), and drops what was typed
 * before an action was shown: a key pressed for one action never decides
 * the next.  Otherwise it reads one answer a line, and only while an
 * action is shown, so a script can drive it: printf 'a\n' | airlock watch.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit_record.h"
#include "cmd.h"
#include "ctl_client.h"
#include "session.h"
#include "util.h"

#define WATCH_POLL_MS 250
/* No daemon answering for this long means the session ended. */
#define WATCH_DOWN_MS 2000
/* How long to look for an action's outcome in the audit log after it
 * left the list (the daemon writes the record just after resolving). */
#define WATCH_OUTCOME_MS 1000
/* Lines of a held write's diff shown; the rest is counted. */
#define WATCH_DETAIL_LINES 60

/* What a person can answer. */
enum watch_answer {
	WATCH_NONE,
	WATCH_ALLOW,
	WATCH_ALLOW_SESSION,
	WATCH_DENY,
	WATCH_DENY_SESSION,
	WATCH_SKIP,
	WATCH_QUIT,
	WATCH_HELP,
};

static const struct watch_key {
	char key;
	const char *word;
	enum watch_answer answer;
} watch_keys[] = {
	{ 'a', "allow", WATCH_ALLOW },
	{ 's', "allow-session", WATCH_ALLOW_SESSION },
	{ 'd', "deny", WATCH_DENY },
	{ 'D', "deny-session", WATCH_DENY_SESSION },
	{ 'k', "skip", WATCH_SKIP },
	{ 'q', "quit", WATCH_QUIT },
	{ '?', "help", WATCH_HELP },
};
#define WATCH_N_KEYS (sizeof(watch_keys) / sizeof(watch_keys[0]))

/* The action on display: copies, since each poll replaces the list. */
struct watch_shown {
	char *id, *kind, *op, *target;
	unsigned long long deadline_ms; /* monotonic; 0 when unknown */
	off_t audit_off; /* the audit log's size before it was listed */
};

struct watch {
	char dir[4096];
	const char *sid;
	int is_once;
	int is_key_input; /* stdin is a terminal: single keys */
	int is_term_out; /* stdout is a terminal: colour, live prompt */
	int has_saved_tty;
	struct termios saved_tty;
	int is_input_done; /* stdin reached its end */
	char in[1024]; /* line mode: read but not yet used */
	size_t in_len;
	struct pending_list now; /* the last poll's merged list */
	unsigned long long now_ms; /* when it was taken */
	off_t audit_before; /* the audit log's size just before it */
	int answered[CTL_N_DAEMONS]; /* which daemons answered it */
	int was_answered[CTL_N_DAEMONS];
	unsigned long long down_since_ms; /* 0 while a daemon answers */
	char prompt[160]; /* the last prompt's varying part */
	char **seen; /* ids shown (or gone) already */
	size_t n_seen;
	int n_decided;
};

static volatile sig_atomic_t watch_signal;

static void
watch_on_signal(int sig)
{
	watch_signal = sig;
}

static void
watch_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock watch [--session ID] [--once]\n\n"
	    "Show each action the session's daemons hold as it arrives (id, "
	    "kind,\noperation, target, rule and reason, the requesting "
	    "process, its intent,\nthe time left before the hold timeout "
	    "denies it, and for a held file\nwrite the change when the daemon "
	    "sends one), and decide it:\n\n"
	    "  a  allow once              s  allow for the session "
	    "(--remember)\n"
	    "  d  deny once               D  deny for the session "
	    "(--remember)\n"
	    "  k  skip (it stays held; `airlock pending` still lists it)\n"
	    "  q  quit                    ?  these keys again\n\n"
	    "On a terminal each answer is one key; otherwise one answer a "
	    "line (the\nletter, or allow, allow-session, deny, deny-session, "
	    "skip, quit), read\nonly while an action is shown.  An action "
	    "decided elsewhere or timed out\nwhile shown is noted, with how "
	    "it ended.  watch ends when its input ends\nor when the session's "
	    "daemons stop.\n\n"
	    "  --session ID  a session id or directory (default: the newest)\n"
	    "  --once        exit after deciding one action\n\n"
	    "Exit status: 0 quit, input ended, the session stopped, or --once "
	    "decided;\n1 --once ended before deciding anything; 2 usage; 3 "
	    "the session cannot\nbe found or none of its daemons answers.  "
	    "On SIGINT, SIGTERM or SIGHUP\nthe terminal is restored and watch "
	    "dies of the signal.\n");
}

static void
watch_shown_clear(struct watch_shown *s)
{
	free(s->id);
	free(s->kind);
	free(s->op);
	free(s->target);
	memset(s, 0, sizeof(*s));
}

static int
watch_is_seen(const struct watch *w, const char *id)
{
	size_t i;

	for (i = 0; i < w->n_seen; i++)
		if (strcmp(w->seen[i], id) == 0)
			return 1;
	return 0;
}

static void
watch_mark_seen(struct watch *w, const char *id)
{
	if (watch_is_seen(w, id))
		return;
	w->seen = xrealloc(w->seen, (w->n_seen + 1) * sizeof(*w->seen));
	w->seen[w->n_seen++] = xstrdup(id);
}

static const struct pending_item *
watch_find(const struct watch *w, const char *id)
{
	size_t i;

	for (i = 0; i < w->now.n_items; i++)
		if (strcmp(w->now.items[i].id, id) == 0)
			return &w->now.items[i];
	return NULL;
}

static off_t
watch_audit_size(const struct watch *w)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/audit.jsonl", w->dir);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * Ask both daemons for their lists.  Returns how many answered; a
 * daemon that stops or starts answering is noted once.
 */
static int
watch_poll(struct watch *w)
{
	struct pending_list list = { NULL, 0 };
	size_t i;
	int n_ok = 0, r;

	w->audit_before = watch_audit_size(w);
	for (i = 0; i < CTL_N_DAEMONS; i++) {
		r = ctl_client_list(w->dir, &ctl_daemons[i], &list, NULL);
		w->answered[i] = r == 0;
		if (r == 0)
			n_ok++;
		if (w->answered[i] != w->was_answered[i])
			printf("airlock watch: note: %s: %s\n",
			    ctl_daemons[i].what,
			    r == 0 ? "answers again"
			        : r == -1
			        ? ctl_client_why(errno)
			        : "sent an answer that is not a list");
		w->was_answered[i] = w->answered[i];
	}
	fflush(stdout);
	pending_list_free(&w->now);
	w->now = list;
	w->now_ms = time_mono_ms();
	if (n_ok > 0)
		w->down_since_ms = 0;
	else if (w->down_since_ms == 0)
		w->down_since_ms = w->now_ms;
	return n_ok;
}

/* The daemon of an id answered the last poll (so its absence from the
 * list means it is no longer held). */
static int
watch_daemon_answered(const struct watch *w, const char *id)
{
	size_t i;

	for (i = 0; i < CTL_N_DAEMONS; i++)
		if (id[0] == ctl_daemons[i].prefix)
			return w->answered[i];
	return 0;
}

/* The oldest listed action not shown yet, or NULL. */
static const struct pending_item *
watch_next(const struct watch *w, size_t *n_new)
{
	const struct pending_item *best = NULL;
	unsigned long long age, best_age = 0;
	size_t i;

	*n_new = 0;
	for (i = 0; i < w->now.n_items; i++) {
		if (watch_is_seen(w, w->now.items[i].id))
			continue;
		(*n_new)++;
		age = strtoull(w->now.items[i].age_ms, NULL, 10);
		if (best == NULL || age > best_age) {
			best = &w->now.items[i];
			best_age = age;
		}
	}
	return best;
}

/* Cooked input back; safe to call twice, and from every way out. */
static void
watch_tty_restore(struct watch *w)
{
	if (!w->has_saved_tty)
		return;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &w->saved_tty);
	w->has_saved_tty = 0;
}

/* Single keys without echo; the terminal still turns ^C into SIGINT. */
static int
watch_tty_raw(struct watch *w)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &w->saved_tty) != 0)
		return -1;
	t = w->saved_tty;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0)
		return -1;
	w->has_saved_tty = 1;
	return 0;
}

static void
watch_signals(int on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? watch_on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() and read() return EINTR to the loop */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* "1m58s left" from a deadline. */
static void
watch_format_left(unsigned long long deadline_ms, char *out, size_t len)
{
	unsigned long long now = time_mono_ms();
	char ms[32], t[32];

	if (deadline_ms == 0) {
		snprintf(out, len, "time left unknown");
		return;
	}
	snprintf(
	    ms, sizeof(ms), "%llu", deadline_ms > now ? deadline_ms - now : 0);
	ctl_client_format_ms(ms, t, sizeof(t));
	snprintf(out, len, "%s left", t);
}

static void
watch_print_detail(const struct watch *w, const char *detail)
{
	const char *p = detail, *nl, *colour;
	size_t n_lines = 0, n_more = 0;
	int len;

	if (detail[0] == '\0')
		return;
	printf("  change:\n");
	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (int)(nl - p) : (int)strlen(p);
		if (n_lines++ < WATCH_DETAIL_LINES) {
			colour = NULL;
			if (w->is_term_out && p[0] == '+')
				colour = "\033[32m";
			else if (w->is_term_out && p[0] == '-')
				colour = "\033[31m";
			printf("    %s%.*s%s\n", colour != NULL ? colour : "",
			    len, p, colour != NULL ? "\033[0m" : "");
		} else
			n_more++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (n_more > 0)
		printf("    (%zu more lines; `airlock diff --session %s` shows "
		       "staged content)\n",
		    n_more, w->sid);
}

/* Everything a person decides from.  The fields were made safe to
 * print by the parser (ctl_client.h). */
static void
watch_show(const struct watch *w, const struct pending_item *it)
{
	char clock[16], age[32], left[48];
	unsigned long long left_ms;
	struct tm tm;
	time_t t = time(NULL);

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	ctl_client_format_ms(it->age_ms, age, sizeof(age));
	left_ms = strtoull(it->left_ms, NULL, 10);
	if (it->left_ms[0] != '\0')
		watch_format_left(w->now_ms + left_ms, left, sizeof(left));
	else
		snprintf(left, sizeof(left), "time left unknown");
	printf("\n%s[%s] held %s: %s %s %s%s\n",
	    w->is_term_out ? "\033[1m" : "", clock, it->id, it->kind, it->op,
	    it->target, w->is_term_out ? "\033[0m" : "");
	printf("  rule:     %s%s%s\n", it->rule[0] != '\0' ? it->rule : "-",
	    it->reason[0] != '\0' ? ": " : "", it->reason);
	if (it->pid[0] != '\0' && strcmp(it->pid, "0") != 0)
		printf("  process:  %s %s%s%s\n", it->pid,
		    it->exe[0] != '\0' ? it->exe : "?",
		    it->cmdline[0] != '\0' ? ": " : "", it->cmdline);
	else
		printf("  process:  unknown\n");
	printf("  intent:   %s\n", it->intent[0] != '\0' ? it->intent : "-");
	printf("  waiting:  %s, %s\n", age, left);
	if (it->review[0] != '\0')
		printf("  review:   %s\n", it->review);
	watch_print_detail(w, it->detail);
}

/* The prompt, with the time left; on a live terminal it is redrawn in
 * place when that text changes (is_forced: always). */
static void
watch_prompt(
    struct watch *w, const struct watch_shown *s, size_t n_more, int is_forced)
{
	char left[48], more[48] = "", text[sizeof(w->prompt)];

	watch_format_left(s->deadline_ms, left, sizeof(left));
	if (n_more > 0)
		snprintf(more, sizeof(more), "; %zu more waiting", n_more);
	snprintf(text, sizeof(text), "%s (%s%s)", s->id, left, more);
	if (!is_forced && strcmp(text, w->prompt) == 0)
		return;
	str_copy(w->prompt, text, sizeof(w->prompt));
	printf("%s%s [a]llow, allow for [s]ession, [d]eny, [D]eny for "
	       "session, s[k]ip, [q]uit? ",
	    w->is_term_out && w->is_key_input ? "\r\033[K" : "", text);
	fflush(stdout);
}

static enum watch_answer
watch_answer_of(const char *text)
{
	size_t i;

	for (i = 0; i < WATCH_N_KEYS; i++)
		if ((text[0] == watch_keys[i].key && text[1] == '\0') ||
		    strcmp(text, watch_keys[i].word) == 0)
			return watch_keys[i].answer;
	return WATCH_NONE;
}

/* After ESC, the rest of an escape sequence (an arrow key is ESC [ D:
 * never "deny for the session"); bounded by time. */
static void
watch_drain_escape(void)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	char c;
	int i;

	for (i = 0; i < 16; i++) {
		if (poll(&pfd, 1, 30) <= 0 || read(STDIN_FILENO, &c, 1) != 1)
			return;
		if (i > 0 && c >= 0x40 && c <= 0x7e)
			return;
	}
}

/* A key from the terminal, when one comes within timeout_ms: its
 * answer, WATCH_NONE, or -1 when the input ended or failed. */
static int
watch_read_key(int timeout_ms)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	char key[2] = { '\0', '\0' };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return WATCH_NONE;
	n = read(STDIN_FILENO, key, 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return WATCH_NONE;
	if (n <= 0)
		return -1;
	if (key[0] == 0x1b) {
		watch_drain_escape();
		return WATCH_NONE;
	}
	if (key[0] == 0x04) /* ^D */
		return WATCH_QUIT;
	return watch_answer_of(key);
}

/* Take the first whole line of w->in (or its unterminated last line once
 * the input ended) into line, trimmed.  Returns 0, or -1 when there is
 * none. */
static int
watch_take_line(struct watch *w, char *line, size_t len)
{
	char *nl, *p = w->in, *e;
	size_t used;

	if ((nl = memchr(w->in, '\n', w->in_len)) == NULL) {
		if (!w->is_input_done || w->in_len == 0)
			return -1;
		nl = w->in + w->in_len;
	}
	used = (size_t)(nl - w->in) + (nl < w->in + w->in_len ? 1 : 0);
	e = nl;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	snprintf(line, len, "%.*s", (int)(e - p), p);
	memmove(w->in, w->in + used, w->in_len - used);
	w->in_len -= used;
	return 0;
}

/* An answer line, when one is (or comes within timeout_ms) in stdin:
 * its answer, WATCH_NONE (not one yet, or not an answer: said so), or
 * -1 when the input ended or failed. */
static int
watch_read_line(struct watch *w, int timeout_ms)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	char line[sizeof(w->in)];
	enum watch_answer a;
	ssize_t n;

	if (memchr(w->in, '\n', w->in_len) == NULL && !w->is_input_done) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return WATCH_NONE;
		if (w->in_len == sizeof(w->in))
			w->in_len = 0; /* a line that long is no answer */
		n = read(
		    STDIN_FILENO, w->in + w->in_len, sizeof(w->in) - w->in_len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return WATCH_NONE;
		if (n < 0)
			return -1;
		if (n == 0)
			w->is_input_done = 1;
		w->in_len += (size_t)n;
	}
	if (watch_take_line(w, line, sizeof(line)) != 0)
		return w->is_input_done ? -1 : WATCH_NONE;
	if (line[0] == '\0')
		return WATCH_NONE;
	a = watch_answer_of(line);
	printf("%s\n", line);
	if (a == WATCH_NONE)
		printf(
		    "airlock watch: '%.40s' is not an answer (a, s, d, D, k, "
		    "q or ?)\n",
		    line);
	fflush(stdout);
	return a;
}

/*
 * How an action that left the list ended, from the audit log: its first
 * hold record with an outcome after off.  Returns 0 with out filled, or
 * -1 when there is none (yet).
 */
static int
watch_audit_outcome(
    const struct watch *w, const struct watch_shown *s, char *out, size_t len)
{
	static const char *const keys[] = { "component", "op", "target",
		"decision", "outcome", "decided_by", "reason" };
	char path[4200], why[128], v[7][512], *line = NULL;
	const char *component = strcmp(s->kind, "fs") == 0 ? "fs" : "proxy";
	const struct audit_field *f;
	struct audit_record rec;
	size_t cap = 0, i;
	ssize_t n;
	FILE *fp;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/audit.jsonl", w->dir);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fseeko(fp, s->audit_off, SEEK_SET) != 0)
		goto out;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (audit_record_parse(
		        line, (size_t)n, &rec, why, sizeof(why)) != 0)
			continue;
		for (i = 0; i < 7; i++) {
			f = audit_record_get(&rec, keys[i]);
			v[i][0] = '\0';
			if (f != NULL)
				audit_field_text(f, v[i], sizeof(v[i]));
		}
		if (strcmp(v[0], component) != 0 || strcmp(v[1], s->op) != 0 ||
		    strcmp(v[2], s->target) != 0 || strcmp(v[3], "hold") != 0 ||
		    v[4][0] == '\0')
			continue;
		for (i = 4; i < 7; i++)
			for (char *c = v[i]; *c != '\0'; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
		if (strcmp(v[4], "timeout") == 0)
			snprintf(out, len, "timed out and was denied");
		else
			snprintf(out, len, "was %s elsewhere (by %s%s%s)", v[4],
			    v[5], v[6][0] != '\0' ? ": " : "", v[6]);
		rc = 0;
		break;
	}
out:
	free(line);
	fclose(fp);
	return rc;
}

/* The shown action is no longer listed: say how it ended. */
static void
watch_note_gone(struct watch *w, const struct watch_shown *s)
{
	unsigned long long end = time_mono_ms() + WATCH_OUTCOME_MS;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	char how[2048];

	while (watch_audit_outcome(w, s, how, sizeof(how)) != 0) {
		if (time_mono_ms() >= end) {
			if (s->deadline_ms != 0 &&
			    time_mono_ms() + WATCH_POLL_MS >= s->deadline_ms)
				snprintf(how, sizeof(how),
				    "timed out and was denied");
			else
				snprintf(
				    how, sizeof(how), "was decided elsewhere");
			break;
		}
		nanosleep(&ts, NULL);
	}
	printf("%s%s (%s %s) %s\n",
	    w->is_term_out && w->is_key_input ? "\r\033[K" : "\n", s->id, s->op,
	    s->target, how);
	fflush(stdout);
}

static void
watch_decide(struct watch *w, const struct watch_shown *s, enum watch_answer a)
{
	int is_allow = a == WATCH_ALLOW || a == WATCH_ALLOW_SESSION;
	int remember = a == WATCH_ALLOW_SESSION || a == WATCH_DENY_SESSION;
	char *answer = NULL;
	int r;

	r = ctl_client_decide(
	    w->dir, is_allow ? "approve" : "deny", s->id, remember, &answer);
	if (w->is_key_input)
		printf("\n");
	if (r == 0) {
		printf("%s %s (%s %s)%s\n", is_allow ? "approved" : "denied",
		    s->id, s->op, s->target,
		    remember ? "; remembered for identical requests in this "
		               "session"
		             : "");
		w->n_decided++;
	} else if (r == 1)
		printf("not decided here: %s\n", answer);
	else if (r == -1)
		printf("airlock watch: cannot reach the daemon of %s: %s\n",
		    s->id, ctl_client_why(errno));
	else
		printf("airlock watch: unexpected answer about %s: %.200s\n",
		    s->id, answer);
	fflush(stdout);
	free(answer);
}

/*
 * Wait for the person's answer about s, polling the daemons meanwhile.
 * Returns the answer; WATCH_SKIP when s left the list (noted); -1 when
 * the input ended; WATCH_QUIT on a signal too.
 */
static int
watch_ask(struct watch *w, struct watch_shown *s)
{
	unsigned long long next_poll = time_mono_ms() + WATCH_POLL_MS;
	size_t n_more = 0;
	int a;

	if (w->is_key_input)
		(void)tcflush(STDIN_FILENO, TCIFLUSH); /* no typed-ahead key */
	(void)watch_next(w, &n_more);
	watch_prompt(w, s, n_more, 1);
	for (;;) {
		if (watch_signal != 0)
			return WATCH_QUIT;
		a = w->is_key_input ? watch_read_key(WATCH_POLL_MS)
		                    : watch_read_line(w, WATCH_POLL_MS);
		if (a == WATCH_HELP) {
			printf("\n");
			watch_usage(stdout);
			watch_prompt(w, s, n_more, 1);
			continue;
		}
		if (a != WATCH_NONE)
			return a;
		if (w->is_input_done && w->in_len == 0)
			return -1;
		if (time_mono_ms() < next_poll)
			continue;
		next_poll = time_mono_ms() + WATCH_POLL_MS;
		(void)watch_poll(w);
		if (watch_daemon_answered(w, s->id) &&
		    watch_find(w, s->id) == NULL) {
			watch_note_gone(w, s);
			return WATCH_SKIP;
		}
		(void)watch_next(w, &n_more);
		if (w->is_term_out && w->is_key_input)
			watch_prompt(w, s, n_more, 0);
	}
}

/*
 * Between actions: wait a poll interval.  On a terminal a 'q' quits; a
 * pipe is not read (its lines belong to the next action) but its end is
 * noticed.  Returns 1 to go on, 0 to stop.
 */
static int
watch_idle(struct watch *w)
{
	struct pollfd pfd = { STDIN_FILENO, 0, 0 };
	struct timespec ts = { 0, WATCH_POLL_MS * 1000000L };
	int n_avail = 0;
	char c;

	if (w->is_key_input) {
		pfd.events = POLLIN;
		if (poll(&pfd, 1, WATCH_POLL_MS) > 0) {
			if (read(STDIN_FILENO, &c, 1) != 1)
				return 0;
			if (c == 'q' || c == 0x04)
				return 0;
			if (c == 0x1b)
				watch_drain_escape();
		}
		return 1;
	}
	if (w->is_input_done) {
		if (w->in_len == 0)
			return 0;
		pfd.fd = -1;
	}
	/* events 0: only hang-up and errors wake it */
	if (poll(&pfd, 1, WATCH_POLL_MS) > 0 &&
	    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
		if (ioctl(STDIN_FILENO, FIONREAD, &n_avail) == 0 &&
		    n_avail > 0) {
			/* its last lines wait for the next actions */
			nanosleep(&ts, NULL);
			return 1;
		}
		w->is_input_done = 1;
		return w->in_len > 0;
	}
	return 1;
}

static int
watch_parse_opts(int argc, char **argv, const char **session, int *is_once)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			*session = argv[++i];
		else if (strncmp(argv[i], "--session=", 10) == 0)
			*session = argv[i] + 10;
		else if (strcmp(argv[i], "--once") == 0)
			*is_once = 1;
		else {
			fprintf(stderr,
			    "airlock watch: unexpected argument '%s';"
			    " see `airlock watch --help`\n",
			    argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Show and decide actions until told to stop.  Returns the exit status
 * (the signal, if one came, is in watch_signal). */
static int
watch_loop(struct watch *w)
{
	const struct pending_item *it;
	struct watch_shown s;
	size_t n_new;
	int a;

	memset(&s, 0, sizeof(s));
	for (;;) {
		if (watch_signal != 0)
			break;
		if (w->down_since_ms != 0 &&
		    time_mono_ms() - w->down_since_ms >= WATCH_DOWN_MS) {
			printf("airlock watch: the daemons of session %s "
			       "stopped; nothing more to decide\n",
			    w->sid);
			break;
		}
		if ((it = watch_next(w, &n_new)) == NULL) {
			if (!watch_idle(w)) {
				if (!w->is_key_input)
					printf("airlock watch: input ended\n");
				break;
			}
			(void)watch_poll(w);
			continue;
		}
		watch_show(w, it);
		s.id = xstrdup(it->id);
		s.kind = xstrdup(it->kind);
		s.op = xstrdup(it->op);
		s.target = xstrdup(it->target);
		s.deadline_ms = it->left_ms[0] != '\0'
		    ? w->now_ms + strtoull(it->left_ms, NULL, 10)
		    : 0;
		s.audit_off = w->audit_before;
		watch_mark_seen(w, s.id);
		a = watch_ask(w, &s);
		if (a == -1 || a == WATCH_QUIT) {
			if (watch_signal == 0)
				printf("%s%s stays held (`airlock pending`)\n",
				    a == -1 ? "\ninput ended; " : "\n", s.id);
			watch_shown_clear(&s);
			break;
		}
		if (a == WATCH_SKIP) {
			if (watch_find(w, s.id) != NULL)
				printf("%sskipped %s; it stays held\n",
				    w->is_key_input ? "\n" : "", s.id);
		} else
			watch_decide(w, &s, (enum watch_answer)a);
		fflush(stdout);
		watch_shown_clear(&s);
		if (w->is_once && w->n_decided > 0)
			break;
		(void)watch_poll(w);
	}
	fflush(stdout);
	if (w->is_once && w->n_decided == 0)
		return EXIT_NEGATIVE;
	return 0;
}

int
cmd_watch(int argc, char **argv)
{
	struct watch w;
	const char *session = NULL;
	size_t i;
	int rc = EXIT_IO, sig;

	if (cmd_wants_help(argc, argv)) {
		watch_usage(stdout);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	if (watch_parse_opts(argc, argv, &session, &w.is_once) != 0)
		return EXIT_USAGE;
	if (ctl_client_session_dir("watch", session, w.dir, sizeof(w.dir)) != 0)
		return EXIT_IO;
	w.sid = session_id_of(w.dir);
	for (i = 0; i < CTL_N_DAEMONS; i++)
		w.was_answered[i] = 1; /* note only the ones that do not */
	watch_signal = 0;
	watch_signals(1);
	if (watch_poll(&w) == 0) {
		fprintf(stderr,
		    "airlock watch: the daemons of session %s are not "
		    "running; start them again with `airlock resume %s`\n",
		    w.sid, w.sid);
		goto out;
	}
	w.is_key_input = isatty(STDIN_FILENO);
	w.is_term_out = isatty(STDOUT_FILENO);
	if (w.is_key_input && watch_tty_raw(&w) != 0) {
		fprintf(stderr, "airlock watch: the terminal: %s\n",
		    strerror(errno));
		goto out;
	}
	printf("airlock watch: session %s; waiting for held actions%s\n", w.sid,
	    w.is_key_input ? " (q quits)" : "");
	fflush(stdout);
	rc = watch_loop(&w);
out:
	watch_tty_restore(&w);
	pending_list_free(&w.now);
	for (i = 0; i < w.n_seen; i++)
		free(w.seen[i]);
	free(w.seen);
	sig = watch_signal;
	watch_signals(0);
	if (sig != 0 && sig != SIGPIPE) {
		fflush(stdout);
		raise(sig); /* die of it, as the shell expects */
	}
	return sig == SIGPIPE ? EXIT_IO : rc;
}
