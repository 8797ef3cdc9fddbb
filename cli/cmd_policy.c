/*
 * airlock policy: check, evaluate and show a policy.
 *
 *   airlock policy check FILE
 *   airlock policy eval [--policy FILE] (--fs OP PATH | --net HOST:PORT
 *       [--method M] [--url U]) [--json]
 *   airlock policy show [--policy FILE]
 *
 * Without --policy the embedded default (conf/airlock.yaml) is used.  Exit
 * status: 0 when the policy loads (for eval: whatever the decision, which
 * is the output), 2 for a bad policy or bad usage, with the loader's
 * "file:line:column: what is wrong" on stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "policy.h"
#include "util.h"

#define PATH_MAX_LEN 4096

static void
policy_usage(FILE *f)
{
	fprintf(f,
	    "usage: airlock policy check FILE\n"
	    "       airlock policy eval [--policy FILE] (--fs OP PATH | "
	    "--net HOST:PORT\n"
	    "                           [--method M] [--url U]) [--json]\n"
	    "       airlock policy show [--policy FILE]\n\n"
	    "check  load FILE and report the first error as "
	    "file:line:column\n"
	    "eval   print the decision (allow, hold or deny), the rule "
	    "(file:line)\n"
	    "       that made it and its reason; OP is read, write, create, "
	    "delete,\n"
	    "       rename, chmod, link or xattr; PATH is relative to the "
	    "project root\n"
	    "show   print the compiled rules and the expanded @registries\n\n"
	    "Without --policy, the default policy built into airlock is used."
	    "\nExit status: 0 when the policy loads (for eval whatever the "
	    "decision:\nthe decision is the output), 2 for a bad policy or "
	    "bad usage.\nSee airlock.yaml(5).\n");
}

static struct policy *
policy_open(const char *file)
{
	struct policy_error err;
	struct policy *pol;

	if (file != NULL)
		pol = policy_load_file(file, &err);
	else
		pol = policy_load_default(&err);
	if (pol == NULL)
		fprintf(stderr, "%s\n", err.text);
	return pol;
}

static int
policy_cmd_check(int argc, char **argv)
{
	struct policy_error err;
	struct policy *pol;

	if (argc != 2) {
		policy_usage(stderr);
		return EXIT_USAGE;
	}
	pol = policy_load_file(argv[1], &err);
	if (pol == NULL) {
		fprintf(stderr, "%s\n", err.text);
		return EXIT_USAGE;
	}
	printf("%s: ok (sha256 %s)\n", argv[1], policy_source_hash(pol));
	policy_free(pol);
	return 0;
}

/*
 * Clean a project-relative path as airlock-fs would present it: drop "./"
 * and doubled or trailing slashes.  An absolute path or a ".." component
 * is refused: rules only speak of paths inside the project.
 */
static int
policy_clean_path(const char *in, char *out, size_t size)
{
	const char *p = in, *end;
	size_t n = 0, len;

	if (in[0] == '/') {
		fprintf(stderr,
		    "airlock policy: '%s' must be relative to the "
		    "project root\n",
		    in);
		return -1;
	}
	while (*p != '\0') {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			fprintf(stderr,
			    "airlock policy: '%s' leaves the "
			    "project ('..')\n",
			    in);
			return -1;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size) {
				fprintf(stderr,
				    "airlock policy: path too "
				    "long\n");
				return -1;
			}
			if (n > 0)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = end;
	}
	out[n] = '\0';
	return 0;
}

/* "host:443", "[::1]:443". */
static int
policy_parse_hostport(const char *arg, char *host, size_t size, uint16_t *port)
{
	const char *colon;
	size_t hl;
	char *end;
	unsigned long v;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		colon = rb + 1;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL || memchr(arg, ':', (size_t)(colon - arg)))
			goto bad;
	}
	hl = (size_t)(colon - arg);
	if (hl == 0 || hl >= size)
		goto bad;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	v = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || v == 0 || v > 65535)
		goto bad;
	*port = (uint16_t)v;
	return 0;
bad:
	fprintf(stderr,
	    "airlock policy: --net wants HOST:PORT (IPv6 as "
	    "[::1]:443), not '%s'\n",
	    arg);
	return -1;
}

/* The path (and query) of a URL, or the argument if it is a path. */
static const char *
policy_url_path(const char *url)
{
	const char *p = strstr(url, "://");

	if (url[0] == '/' || p == NULL)
		return url;
	p = strchr(p + 3, '/');
	return p != NULL ? p : "/";
}

static void
policy_print_verdict(const struct policy_verdict *v, int json,
    const char *domain, const char *op, const char *target)
{
	struct buf b;

	if (!json) {
		printf("decision: %s\nrule:     %s\nreason:   %s\n",
		    policy_decision_name(v->decision), v->rule,
		    v->reason[0] != '\0' ? v->reason : "(none given)");
		return;
	}
	buf_init(&b);
	buf_adds(&b, "{\"decision\":");
	buf_add_json_string(&b, policy_decision_name(v->decision));
	buf_adds(&b, ",\"rule\":");
	buf_add_json_string(&b, v->rule);
	buf_adds(&b, ",\"reason\":");
	buf_add_json_string(&b, v->reason);
	buf_adds(&b, ",\"domain\":");
	buf_add_json_string(&b, domain);
	buf_adds(&b, ",\"op\":");
	buf_add_json_string(&b, op);
	buf_adds(&b, ",\"target\":");
	buf_add_json_string(&b, target);
	buf_adds(&b, "}\n");
	fputs(b.data, stdout);
	buf_free(&b);
}

static int
policy_cmd_eval(int argc, char **argv)
{
	const char *file = NULL, *fs_op = NULL, *fs_path = NULL, *net = NULL;
	const char *method = NULL, *url = NULL;
	char path[PATH_MAX_LEN], host[300], target[400];
	struct net_request req;
	struct policy_verdict v;
	struct policy *pol = NULL;
	enum fs_op op;
	int json = 0, i, rc = EXIT_USAGE;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--fs") == 0 && i + 2 < argc) {
			fs_op = argv[++i];
			fs_path = argv[++i];
		} else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc)
			net = argv[++i];
		else if (strcmp(argv[i], "--method") == 0 && i + 1 < argc)
			method = argv[++i];
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else {
			fprintf(stderr,
			    "airlock policy eval: unknown or "
			    "incomplete argument '%s'\n",
			    argv[i]);
			goto usage;
		}
	}
	if ((fs_op == NULL) == (net == NULL) ||
	    (fs_op != NULL && (method != NULL || url != NULL)))
		goto usage;
	if (fs_op != NULL) {
		if (policy_fs_op_parse(fs_op, &op) != 0) {
			fprintf(stderr,
			    "airlock policy eval: unknown operation "
			    "'%s' (read, write, create, delete, rename, "
			    "chmod, link, xattr)\n",
			    fs_op);
			goto out;
		}
		if (policy_clean_path(fs_path, path, sizeof(path)) != 0)
			goto out;
	} else if (policy_parse_hostport(net, host, sizeof(host), &req.port) !=
	    0)
		goto out;
	pol = policy_open(file);
	if (pol == NULL)
		goto out;
	if (fs_op != NULL) {
		policy_eval_fs(pol, op, path, strlen(path), &v);
		policy_print_verdict(
		    &v, json, "fs", policy_fs_op_name(op), path);
	} else {
		req.host = host;
		req.method = method;
		req.path = url != NULL ? policy_url_path(url) : NULL;
		if (req.path != NULL && req.method == NULL)
			req.method = "GET";
		policy_eval_net(pol, &req, &v);
		snprintf(target, sizeof(target), "%s:%u", host, req.port);
		policy_print_verdict(&v, json, "net",
		    method != NULL ? method : (url != NULL ? "GET" : "CONNECT"),
		    url != NULL ? url : target);
	}
	rc = 0;
	goto out;
usage:
	policy_usage(stderr);
out:
	policy_free(pol);
	return rc;
}

static int
policy_cmd_show(int argc, char **argv)
{
	const char *file = NULL;
	struct policy *pol;
	char *text;

	if (argc == 3 && strcmp(argv[1], "--policy") == 0)
		file = argv[2];
	else if (argc != 1) {
		policy_usage(stderr);
		return EXIT_USAGE;
	}
	pol = policy_open(file);
	if (pol == NULL)
		return EXIT_USAGE;
	text = policy_describe(pol);
	fputs(text, stdout);
	free(text);
	policy_free(pol);
	return 0;
}

int
cmd_policy(int argc, char **argv)
{
	if (argc < 2 || cmd_wants_help(argc, argv)) {
		policy_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return policy_cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return policy_cmd_show(argc - 1, argv + 1);
	fprintf(stderr, "airlock policy: unknown subcommand '%s'\n", argv[1]);
	policy_usage(stderr);
	return EXIT_USAGE;
}
