/*
 * env_filter: which of the caller's environment variables the agent may
 * inherit.  The room's environment is built, not inherited whole: a
 * variable whose name looks like a credential (a suffix such as _TOKEN or
 * _KEY, a cloud or model-provider prefix, a well-known name, the ssh and
 * gpg agent sockets) is dropped, unless the policy declares it as a
 * secret (the `secrets:` section hands its names in as keep).
 * The rules are a table (env_filter.c), matched case-insensitively.
 */
#ifndef AIRLOCK_CLI_ENV_FILTER_H
#define AIRLOCK_CLI_ENV_FILTER_H

#include <stddef.h>

/*
 * Why the variable "NAME=value" (or a bare NAME) would be dropped: a
 * static text naming the pattern ("name ends in _TOKEN"), or NULL when it
 * may pass.  A name listed in keep (NULL-terminated, or NULL) always
 * passes: the policy vouches for it.
 */
const char *env_filter_why(const char *entry, char *const *keep);

/*
 * Split envp (NULL-terminated "NAME=value" strings) into what passes and
 * what is dropped.  *kept receives a NULL-terminated array of the
 * entries that pass (the strings are borrowed from envp); *dropped, when
 * not NULL, a NULL-terminated array of the dropped entries (borrowed
 * too), and *whys, when not NULL, the reason of each, in the same order.
 * The caller frees the three arrays (not the strings).  Never fails
 * (allocation failure aborts).
 */
void env_filter_split(char *const *envp, char *const *keep, char ***kept,
    char ***dropped, const char ***whys);

/* The length of the name part of "NAME=value". */
size_t env_filter_name_len(const char *entry);

#endif
