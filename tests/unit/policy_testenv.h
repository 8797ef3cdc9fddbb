/*
 * policy_testenv: what the policy unit tests share.  @registries is read
 * from the machine's package-manager configuration; tests must not depend
 * on the machine they run on, so they point it at an empty root.
 */
#ifndef AIRLOCK_POLICY_TESTENV_H
#define AIRLOCK_POLICY_TESTENV_H

#include <stdlib.h>

static void
isolate_registries(void)
{
	setenv("AIRLOCK_REGISTRY_ROOT", "/nonexistent", 1);
	setenv("HOME", "/nonexistent", 1);
	unsetenv("NPM_CONFIG_REGISTRY");
	unsetenv("npm_config_registry");
	unsetenv("PIP_INDEX_URL");
	unsetenv("PIP_EXTRA_INDEX_URL");
	unsetenv("GOPROXY");
}

#endif
