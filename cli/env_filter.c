/*
 * env_filter: credential-looking variables stay out of the room (see
 * env_filter.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env_filter.h"
#include "util.h"

enum env_match {
	ENV_SUFFIX,
	ENV_PREFIX,
	ENV_EXACT,
};

struct env_rule {
	enum env_match match;
	const char *text; /* compared case-insensitively */
	const char *why;
};

/* First match wins (the well-known names first, for the reason they
 * give); a name none of these match passes. */
static const struct env_rule env_rules[] = {
	{ ENV_EXACT, "TOKEN", "name is TOKEN" },
	{ ENV_EXACT, "SECRET", "name is SECRET" },
	{ ENV_EXACT, "PASSWORD", "name is PASSWORD" },
	{ ENV_EXACT, "APIKEY", "name is APIKEY" },
	{ ENV_EXACT, "GOOGLE_APPLICATION_CREDENTIALS",
	    "GOOGLE_APPLICATION_CREDENTIALS (cloud credentials)" },
	{ ENV_EXACT, "GH_TOKEN", "GH_TOKEN (a code host token)" },
	{ ENV_EXACT, "GITHUB_TOKEN", "GITHUB_TOKEN (a code host token)" },
	{ ENV_EXACT, "OPENAI_API_KEY",
	    "OPENAI_API_KEY (a model provider key)" },
	{ ENV_EXACT, "ANTHROPIC_API_KEY",
	    "ANTHROPIC_API_KEY (a model provider key)" },
	{ ENV_EXACT, "NPM_TOKEN", "NPM_TOKEN (a package registry token)" },
	{ ENV_EXACT, "DOCKER_AUTH_CONFIG",
	    "DOCKER_AUTH_CONFIG (registry credentials)" },
	{ ENV_EXACT, "SSH_AUTH_SOCK",
	    "SSH_AUTH_SOCK (the ssh agent holds keys)" },
	{ ENV_EXACT, "SSH_AGENT_PID", "SSH_AGENT_PID (the ssh agent)" },
	{ ENV_EXACT, "GPG_AGENT_INFO",
	    "GPG_AGENT_INFO (the gpg agent holds keys)" },
	{ ENV_EXACT, "KRB5CCNAME", "KRB5CCNAME (a Kerberos ticket cache)" },
	{ ENV_PREFIX, "AWS_", "AWS_* (cloud credentials and profiles)" },
	{ ENV_PREFIX, "AZURE_", "AZURE_* (cloud credentials)" },
	{ ENV_PREFIX, "ARM_CLIENT_", "ARM_CLIENT_* (cloud credentials)" },
	{ ENV_PREFIX, "CLOUDSDK_AUTH_", "CLOUDSDK_AUTH_* (cloud credentials)" },
	{ ENV_SUFFIX, "_TOKEN", "name ends in _TOKEN" },
	{ ENV_SUFFIX, "_AUTHTOKEN", "name ends in _AUTHTOKEN" },
	{ ENV_SUFFIX, "_SECRET", "name ends in _SECRET" },
	{ ENV_SUFFIX, "_PASSWORD", "name ends in _PASSWORD" },
	{ ENV_SUFFIX, "_PASSWD", "name ends in _PASSWD" },
	{ ENV_SUFFIX, "_PASSPHRASE", "name ends in _PASSPHRASE" },
	{ ENV_SUFFIX, "_KEY", "name ends in _KEY" },
	{ ENV_SUFFIX, "_APIKEY", "name ends in _APIKEY" },
	{ ENV_SUFFIX, "_CREDENTIALS", "name ends in _CREDENTIALS" },
	{ ENV_SUFFIX, "_CREDENTIAL", "name ends in _CREDENTIAL" },
	{ ENV_SUFFIX, "_AUTH", "name ends in _AUTH" },
	{ ENV_SUFFIX, "_PAT", "name ends in _PAT (a personal access token)" },
};

size_t
env_filter_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

static int
env_rule_match(const struct env_rule *r, const char *name, size_t len)
{
	size_t n = strlen(r->text);

	switch (r->match) {
	case ENV_SUFFIX:
		return len > n && strncasecmp(name + len - n, r->text, n) == 0;
	case ENV_PREFIX:
		return len > n && strncasecmp(name, r->text, n) == 0;
	case ENV_EXACT:
		return len == n && strncasecmp(name, r->text, n) == 0;
	}
	return 0;
}

/* scheme://user:password@host: a value that carries a password. */
static int
env_value_has_password(const char *value)
{
	const char *p = strstr(value, "://"), *at, *colon;
	size_t span;

	if (p == NULL)
		return 0;
	p += 3;
	span = strcspn(p, "/?#");
	at = memchr(p, '@', span);
	if (at == NULL)
		return 0;
	colon = memchr(p, ':', (size_t)(at - p));
	return colon != NULL && colon + 1 < at;
}

static int
env_is_kept(const char *name, size_t len, char *const *keep)
{
	size_t i;

	for (i = 0; keep != NULL && keep[i] != NULL; i++)
		if (strlen(keep[i]) == len && memcmp(keep[i], name, len) == 0)
			return 1;
	return 0;
}

const char *
env_filter_why(const char *entry, char *const *keep)
{
	size_t len = env_filter_name_len(entry), i;

	if (env_is_kept(entry, len, keep))
		return NULL;
	for (i = 0; i < sizeof env_rules / sizeof *env_rules; i++)
		if (env_rule_match(&env_rules[i], entry, len))
			return env_rules[i].why;
	if (entry[len] == '=' && env_value_has_password(entry + len + 1))
		return "value is a URL with a password in it";
	return NULL;
}

void
env_filter_split(char *const *envp, char *const *keep, char ***kept,
    char ***dropped, const char ***whys)
{
	size_t n = 0, nk = 0, nd = 0, i;
	const char *why;

	while (envp[n] != NULL)
		n++;
	*kept = xcalloc(n + 1, sizeof **kept);
	if (dropped != NULL)
		*dropped = xcalloc(n + 1, sizeof **dropped);
	if (whys != NULL)
		*whys = xcalloc(n + 1, sizeof **whys);
	for (i = 0; i < n; i++) {
		why = env_filter_why(envp[i], keep);
		if (why == NULL) {
			(*kept)[nk++] = envp[i];
			continue;
		}
		if (dropped != NULL)
			(*dropped)[nd] = envp[i];
		if (whys != NULL)
			(*whys)[nd] = why;
		nd++;
	}
}
