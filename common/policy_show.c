/*
 * policy_show: a compiled policy as text, so that a person can see what
 * airlock will enforce (the expanded @registries included) rather than
 * what the YAML seems to say.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_priv.h"
#include "util.h"

static void
show_ops(struct buf *b, unsigned ops)
{
	unsigned bit;
	int first = 1;

	if ((ops & FS_OP_ALL) == FS_OP_ALL) {
		buf_adds(b, "all");
		return;
	}
	for (bit = 1; bit <= FS_OP_XATTR; bit <<= 1) {
		if (!(ops & bit))
			continue;
		buf_addf(b, "%s%s", first ? "" : ",",
		    policy_fs_op_name((enum fs_op)bit));
		first = 0;
	}
}

static void
show_cidr(struct buf *b, const struct cidr *c)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, text, sizeof(text)) == NULL)
		str_copy(text, "?", sizeof(text));
	buf_addf(b, "%s/%u", text, c->prefix);
}

static void
show_host(struct buf *b, const struct host_pat *h)
{
	if (h->kind == HOST_ANY)
		buf_adds(b, "*");
	else if (h->kind == HOST_SUFFIX)
		buf_addf(b, "*%s", h->name);
	else
		buf_adds(b, h->name);
}

static void
show_fs_rule(struct buf *b, size_t i, const struct fs_rule *r)
{
	size_t k;

	buf_addf(b, "  fs[%zu]  %-5s %s\n    ops: ", i,
	    policy_decision_name(r->action), r->rule);
	show_ops(b, r->ops);
	buf_adds(b, "\n    paths:");
	for (k = 0; k < r->n_globs; k++)
		buf_addf(b, " %s", r->globs[k].text);
	for (k = 0; k < r->n_excepts; k++)
		buf_addf(b, " !%s", r->excepts[k].text);
	for (k = 0; k < r->n_outside; k++)
		buf_addf(b, " %s", r->outside[k]);
	for (k = 0; k < r->n_outside_excepts; k++)
		buf_addf(b, " !%s", r->outside_excepts[k]);
	buf_adds(b, "\n");
	if (r->reason[0] != '\0')
		buf_addf(b, "    reason: %s\n", r->reason);
}

static void
show_net_rule(struct buf *b, size_t i, const struct net_rule *r)
{
	size_t k;

	buf_addf(b, "  net[%zu] %-5s %s\n", i, policy_decision_name(r->action),
	    r->rule);
	if (!r->has_target)
		buf_adds(b, "    hosts: any\n");
	if (r->has_target) {
		buf_adds(b, "    hosts:");
		for (k = 0; k < r->n_hosts; k++) {
			buf_adds(b, " ");
			show_host(b, &r->hosts[k]);
		}
		if (r->n_hosts == 0)
			buf_adds(b, " (none)");
		buf_adds(b, "\n");
	}
	if (r->n_cidrs > 0) {
		buf_adds(b, "    cidrs:");
		for (k = 0; k < r->n_cidrs; k++) {
			buf_adds(b, " ");
			show_cidr(b, &r->cidrs[k]);
		}
		buf_adds(b, "\n");
	}
	if (r->n_ports > 0) {
		buf_adds(b, "    ports:");
		for (k = 0; k < r->n_ports; k++) {
			if (r->ports[k].lo == r->ports[k].hi)
				buf_addf(b, " %u", r->ports[k].lo);
			else
				buf_addf(b, " %u-%u", r->ports[k].lo,
				    r->ports[k].hi);
		}
		buf_adds(b, "\n");
	}
	if (r->n_methods > 0) {
		buf_adds(b, "    methods:");
		for (k = 0; k < r->n_methods; k++)
			buf_addf(b, " %s", r->methods[k]);
		buf_adds(b, "\n");
	}
	if (r->n_paths > 0) {
		buf_adds(b, "    paths:");
		for (k = 0; k < r->n_paths; k++)
			buf_addf(b, " %s", r->paths[k]);
		buf_adds(b, "\n");
	}
	if (r->reason[0] != '\0')
		buf_addf(b, "    reason: %s\n", r->reason);
}

static void
show_list(struct buf *b, const char *label, char *const *list)
{
	buf_addf(b, "%s", label);
	if (list == NULL || list[0] == NULL) {
		buf_adds(b, " (none)\n");
		return;
	}
	for (; *list != NULL; list++)
		buf_addf(b, " %s", *list);
	buf_adds(b, "\n");
}

static void
show_settings(struct buf *b, const struct policy *pol)
{
	const struct policy_settings *st = &pol->settings;
	static const char *const auth[] = { "off", "optional", "required" };

	buf_addf(b, "settings:\n  hold_timeout: %ums\n", st->hold_timeout_ms);
	if (st->review_command != NULL)
		show_list(b, "  review.command:", st->review_command);
	else if (st->review_url != NULL)
		buf_addf(b, "  review.url: %s\n", st->review_url);
	else
		buf_adds(b, "  review: (none)\n");
	buf_addf(b, "  review.timeout: %ums\n", st->review_timeout_ms);
	if (st->otlp_endpoint != NULL) {
		buf_addf(b,
		    "  telemetry.otlp.endpoint: %s\n  "
		    "telemetry.otlp.logs: %s\n",
		    st->otlp_endpoint, st->otlp_logs ? "true" : "false");
		if (st->otlp_headers != NULL) {
			char *const *h;

			/* Header values are often secrets: names only. */
			buf_adds(b, "  telemetry.otlp.headers:");
			for (h = st->otlp_headers; *h != NULL; h++)
				buf_addf(b, " %.*s", (int)strcspn(*h, ":"), *h);
			buf_adds(b, "\n");
		}
	} else
		buf_adds(b, "  telemetry: (none)\n");
	buf_addf(
	    b, "  tls.sni_check: %s\n", st->tls_sni_check ? "true" : "false");
	show_list(b, "  tls.intercept:", st->tls_intercept_hosts);
	buf_addf(b, "  proxy.auth: %s\n", auth[st->proxy_auth]);
}

/* Where each secret comes from and who may receive it (never a value). */
static void
show_secrets(struct buf *b, const struct policy *pol)
{
	size_t i;

	if (pol->n_secrets == 0) {
		buf_adds(b, "secrets: (none)\n");
		return;
	}
	buf_addf(b, "secrets (%zu):\n", pol->n_secrets);
	for (i = 0; i < pol->n_secrets; i++) {
		const struct policy_secret *s = &pol->secrets[i];

		buf_addf(b, "  %s (%s): from ", s->name, s->rule);
		if (s->env != NULL)
			buf_addf(b, "$%s,", s->env);
		else if (s->match != NULL)
			buf_addf(
			    b, "file %s matching '%s',", s->file, s->match);
		else
			buf_addf(b, "file %s,", s->file);
		show_list(b, " to", (char *const *)s->hosts);
		if (s->body)
			buf_adds(b, "    also in request bodies\n");
	}
}

char *
policy_describe(const struct policy *pol)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_addf(&b, "policy: %s\nsha256: %s\n", pol->name, pol->source_hash);
	buf_addf(&b, "defaults: fs %s (%s), net %s (%s)\n",
	    policy_decision_name(pol->fs_default.decision),
	    pol->fs_default.rule,
	    policy_decision_name(pol->net_default.decision),
	    pol->net_default.rule);
	buf_addf(&b, "reads checked: %s\n", pol->checks_reads ? "yes" : "no");
	if (pol->uses_registries)
		show_list(&b, "@registries:", pol->registries);
	else
		buf_adds(&b, "@registries: (not used by this policy)\n");
	buf_addf(&b, "fs rules (%zu, first match wins):\n", pol->n_fs);
	for (i = 0; i < pol->n_fs; i++)
		show_fs_rule(&b, i, &pol->fs[i]);
	buf_addf(&b, "net rules (%zu, first match wins):\n", pol->n_net);
	for (i = 0; i < pol->n_net; i++)
		show_net_rule(&b, i, &pol->net[i]);
	buf_adds(&b,
	    "address check: cidrs: rules in order, then "
	    "builtin:special-addresses denies loopback, private, link-local, "
	    "CGNAT, ULA, multicast, documentation and mapped forms\n");
	show_settings(&b, pol);
	show_secrets(&b, pol);
	return buf_release(&b);
}
