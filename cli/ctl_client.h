/*
 * ctl_client: the CLI's side of a session's control sockets (the protocol
 * is common/ctl.h), shared by `airlock pending`, `approve`, `deny` and
 * `watch`.
 *
 * Each daemon serves its own held actions: fs.sock for airlock-fs,
 * proxy.sock for airlock-proxy.  An id's first letter names its daemon
 * ("f3", "p12"), so a decision goes to one socket and a listing asks both.
 */
#ifndef AIRLOCK_CLI_CTL_CLIENT_H
#define AIRLOCK_CLI_CTL_CLIENT_H

#include <stddef.h>

struct ctl_daemon {
	char prefix; /* the first letter of its ids */
	const char *sock; /* its socket in the session directory */
	const char *what; /* for messages: "airlock-fs (files)" */
};

/* The daemons, in the order listings show them. */
extern const struct ctl_daemon ctl_daemons[];
#define CTL_N_DAEMONS 2

/*
 * One held action as a daemon lists it.  Every field is a non-NULL
 * string ("" when absent; numbers as their JSON text) that is safe to
 * print on a terminal: C0 and C1 controls and DEL, which an agent could
 * put in a path or an intent to redraw what a person decides from, are
 * replaced by '?'.  detail (a bounded diff or request head) keeps its
 * newlines and tabs.
 */
struct pending_item {
	char *id, *kind, *op, *target, *rule, *reason, *pid, *exe, *cmdline;
	char *intent, *age_ms, *left_ms, *detail;
	char *review; /* where the reviewer stands on it, or "" */
};

struct pending_list {
	struct pending_item *items;
	size_t n_items;
};

/*
 * Parse one daemon's "list" answer (a JSON array of flat objects) and
 * append its items to *list.  Returns 0, or -1 when the text is not such
 * an array (the items parsed so far stay in *list).
 */
int pending_list_parse(const char *text, struct pending_list *list);
/* Free the items and empty *list. */
void pending_list_free(struct pending_list *list);

/* The daemon serving id ([fp] and 1..19 digits), or NULL. */
const struct ctl_daemon *ctl_client_daemon_of(const char *id);

/* Why a socket did not answer (errno of ctl_request), in a person's
 * words. */
const char *ctl_client_why(int error);

/*
 * Resolve a --session argument (NULL: the newest session) into dir, or
 * print why not, naming the subcommand cmd.  Returns 0 or -1.
 */
int ctl_client_session_dir(
    const char *cmd, const char *arg, char *dir, size_t len);

/*
 * Ask d's daemon of session dir for its held actions and append them to
 * *list; *raw_out, when not NULL, receives the answer as sent (caller
 * frees).  Returns 0; -1 with errno when the socket does not answer;
 * -2 when the answer is not a list (it is in *raw_out when asked for).
 */
int ctl_client_list(const char *dir, const struct ctl_daemon *d,
    struct pending_list *list, char **raw_out);

/*
 * Send "approve ID [remember]" or "deny ID [remember]" (verb) to the
 * daemon that serves id in session dir.  *answer receives the daemon's
 * answer (caller frees).  Returns 0 when it answered "ok"; 1 when it
 * answered "error: ..." (*answer then holds the reason, without "error: "
 * and the newline; for an id no longer pending it says how it was
 * resolved); -1 with errno when the socket does not answer or id names
 * no daemon (EINVAL); -2 for any other answer.
 */
int ctl_client_decide(const char *dir, const char *verb, const char *id,
    int remember, char **answer);

/* A duration in milliseconds (its decimal text) as "850ms", "12s",
 * "3m05s", "2h10m"; "-" when ms_text is not a number. */
void ctl_client_format_ms(const char *ms_text, char *out, size_t len);

#endif
