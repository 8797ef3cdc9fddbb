/*
 * libFuzzer target for the policy loader: any bytes either compile into a
 * policy or are refused with a positioned message; a policy that loads is
 * then evaluated a little (and described) so that the compiled tables are
 * exercised too, and the indexed evaluation must agree with a walk of
 * every rule.  Seeds: tests/fuzz/corpus/policy (copies of conf/).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* @registries from an empty root: no files, no npm. */
	setenv("AIRLOCK_REGISTRY_ROOT", "/nonexistent", 1);
	setenv("HOME", "/nonexistent", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "", "a", ".env", "src/a.c",
		".git/hooks/pre-commit", "a/b/c/d.pem" };
	struct policy_error err;
	struct policy_verdict v, u;
	unsigned op;
	struct net_request req = { "a.example.test", 443, NULL, NULL };
	struct policy *pol;
	size_t i;
	char *text;

	pol = policy_load_buffer("fuzz.yaml", (const char *)data, size, &err);
	if (pol == NULL) {
		if (strlen(err.text) == 0)
			abort(); /* every refusal says why */
		return 0;
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (op = FS_OP_READ; op <= FS_OP_XATTR; op <<= 1) {
			policy_eval_fs(pol, (enum fs_op)op, paths[i],
			    strlen(paths[i]), &v);
			policy_eval_fs_linear(pol, (enum fs_op)op, paths[i],
			    strlen(paths[i]), &u);
			if (v.rule != u.rule)
				abort();
		}
	}
	policy_eval_net(pol, &req, &v);
	policy_eval_net_linear(pol, &req, &u);
	if (v.rule != u.rule)
		abort();
	req.host = "[::ffff:10.0.0.1]";
	req.method = "GET";
	req.path = "/x";
	policy_eval_net(pol, &req, &v);
	text = policy_describe(pol);
	free(text);
	policy_free(pol);
	return 0;
}
