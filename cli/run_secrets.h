/*
 * run_secrets: the policy's secrets (policy.h, `secrets:`) on the room's
 * side of `airlock run` and `airlock resume`.
 *
 * Each secret's real value is read outside the room: an env secret from
 * airlock's own environment as it arrives (under sudo too), a file secret
 * from its file ("~/" is the invoking user's home: under sudo SUDO_UID's),
 * through secret_extract().  The agent gets the secret's sentinel
 * instead: in the variable, or in a masked copy of the file that the room
 * binds read-only over the real one (MASK_SECRET in the mask plan).
 * airlock-proxy gets the values through a pipe (run_secrets_pipe()), and
 * nothing else ever holds them: no file, no argument, no daemon's
 * environment (run_secrets_take_env() takes them out of ours first), no
 * log line, no summary.
 *
 * Sentinels are per session and stay the same across `airlock resume`:
 * SESSION/secrets (0600) keeps "NAME SENTINEL" lines, never a value.  The
 * masked copies lie in SESSION/secrets.d/ and hold the sentinel only.
 *
 * What a demanding user expects when a source is missing (the variable is
 * unset or empty, the file does not exist): the secret is skipped with a
 * warning that names it, the agent does not get it, the summary lists it.
 * A file that exists but yields no secret (unreadable, too big, a NUL
 * byte, no match for the pattern) is hidden (an empty file in its place),
 * never shown as it is: what the pattern missed may be the credential.
 * Every occurrence of the value in a file is masked, not only the one the
 * pattern found.  --no-isolate cannot mask a file (there is no mount
 * namespace): its file secrets are left out, with a warning.
 */
#ifndef AIRLOCK_CLI_RUN_SECRETS_H
#define AIRLOCK_CLI_RUN_SECRETS_H

#include <stddef.h>
#include <stdio.h>

#include "secret.h"

struct mask_plan;
struct policy;

/* The file that keeps a session's sentinels, and the masked copies' dir. */
#define RUN_SECRETS_FILE "secrets"
#define RUN_SECRETS_DIR "secrets.d"
/* The largest file a file secret is read from. */
#define RUN_SECRETS_FILE_MAX (1024 * 1024)

enum run_secret_state {
	RUN_SECRET_GIVEN, /* the agent has the sentinel, the proxy the value */
	RUN_SECRET_MISSING, /* no source: skipped */
	RUN_SECRET_HIDDEN, /* a file that yields no secret: hidden */
	RUN_SECRET_UNMASKED, /* a file under --no-isolate: left out */
};

struct run_secret {
	char *name;
	size_t index; /* in policy_secrets() */
	char *env; /* env secrets: the variable; else NULL */
	char *path; /* file secrets: the file, "~" expanded; else NULL */
	char *masked; /* a given file secret: its masked copy */
	char *hosts; /* "a, b": who may receive it, for messages */
	char *rule; /* "file:line" */
	char sentinel[SECRET_SENTINEL_LEN + 1]; /* "" until gathered */
	enum run_secret_state state;
	char why[512]; /* why skipped or hidden; never a value */
};

struct run_secrets {
	struct run_secret *v;
	size_t n;
	char **env_names; /* every env secret's variable, NULL-terminated */
	struct secret_set set; /* the values, until run_secrets_pipe() */
};

/*
 * Take the policy's env secrets out of this process's environment (their
 * bytes wiped where they lay, then unset) into a private store, so that
 * no process started from now on (airlock-fs, airlock-proxy) inherits
 * them.  Calling it again takes only what is still there.
 */
void run_secrets_take_env(const struct policy *pol);

/*
 * Fill rs with pol's secrets: names, sources and hosts, and for each
 * whether its source is there (RUN_SECRET_GIVEN or RUN_SECRET_MISSING);
 * no value is read and no sentinel made (for --show-env).  home is what
 * "~/" stands for (NULL: such files are missing).  Free with
 * run_secrets_free().
 */
void run_secrets_list(struct run_secrets *rs, const struct policy *pol,
    const char *home, int isolate);

/*
 * run_secrets_list(), then everything the run needs: the session's
 * sentinels (read from and written to dir/RUN_SECRETS_FILE), the values
 * (into rs->set), the masked copies (dir/RUN_SECRETS_DIR).  Warnings go
 * to stderr.  Returns 0, or -1 (printed) when the session must not start.
 */
int run_secrets_gather(struct run_secrets *rs, const struct policy *pol,
    const char *dir, const char *home, int isolate, const char *cmd);

/*
 * Add the masks to plan: MASK_SECRET over each given file secret (it
 * replaces a mask the plan has for that path, e.g. the default that hides
 * ~/.netrc), MASK_HIDE over each hidden one.  Returns 0, or -1 with err.
 */
int run_secrets_plan(const struct run_secrets *rs, struct mask_plan *plan,
    char *err, size_t err_len);

/*
 * The values for airlock-proxy: a pipe whose read end (close-on-exec) is
 * put in *fd, holding secret_set_encode() text, its write end closed;
 * then every value in this process is wiped.  *fd is -1 when there is no
 * value to send.  Returns 0, or -1 (printed).
 */
int run_secrets_pipe(struct run_secrets *rs, int *fd, const char *cmd);

/* The summary's lines: names, hosts, what was skipped or hidden. */
void run_secrets_summary(const struct run_secrets *rs, FILE *f);

/* Wipes what values are left (rs's, and those run_secrets_take_env()
 * took), then frees. */
void run_secrets_free(struct run_secrets *rs);

#endif
