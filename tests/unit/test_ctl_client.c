/*
 * test_ctl_client: the CLI's reader of the daemons' held-action lists
 * (cli/ctl_client.c): fields, escapes, what is made safe to print, and
 * what is refused.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_client.h"

static void
test_parse_fields(void **state)
{
	struct pending_list list = { NULL, 0 };
	const char *text =
	    "[{\"id\":\"f1\",\"kind\":\"fs\",\"op\":\"write\","
	    "\"target\":\".git/hooks/pre-commit\",\"rule\":\"p.yaml:3\","
	    "\"reason\":\"hooks\",\"pid\":42,\"uid\":0,"
	    "\"exe\":\"/usr/bin/git\",\"cmdline\":\"git commit\","
	    "\"intent\":null,\"trace_id\":\"ab\",\"age_ms\":1500,"
	    "\"left_ms\":58500,\"detail\":\"+#!/bin/sh\\n+\\tcurl x\\n\","
	    "\"extra\":{\"nested\":[1,2,{\"a\":true}]}}]\n";

	(void)state;
	assert_int_equal(pending_list_parse(text, &list), 0);
	assert_int_equal(list.n_items, 1);
	assert_string_equal(list.items[0].id, "f1");
	assert_string_equal(list.items[0].kind, "fs");
	assert_string_equal(list.items[0].op, "write");
	assert_string_equal(list.items[0].target, ".git/hooks/pre-commit");
	assert_string_equal(list.items[0].rule, "p.yaml:3");
	assert_string_equal(list.items[0].reason, "hooks");
	assert_string_equal(list.items[0].pid, "42");
	assert_string_equal(list.items[0].exe, "/usr/bin/git");
	assert_string_equal(list.items[0].cmdline, "git commit");
	assert_string_equal(list.items[0].intent, ""); /* null */
	assert_string_equal(list.items[0].age_ms, "1500");
	assert_string_equal(list.items[0].left_ms, "58500");
	/* the diff keeps its newlines and tabs */
	assert_string_equal(list.items[0].detail, "+#!/bin/sh\n+\tcurl x\n");
	pending_list_free(&list);
	assert_int_equal(list.n_items, 0);
	assert_null(list.items);
}

static void
test_parse_appends(void **state)
{
	struct pending_list list = { NULL, 0 };

	(void)state;
	assert_int_equal(pending_list_parse(" [ ] ", &list), 0);
	assert_int_equal(list.n_items, 0);
	assert_int_equal(pending_list_parse("[{\"id\":\"f1\"}]", &list), 0);
	assert_int_equal(
	    pending_list_parse("[{\"id\":\"p1\"},{\"id\":\"p2\"}]", &list), 0);
	assert_int_equal(list.n_items, 3);
	assert_string_equal(list.items[2].id, "p2");
	/* absent fields are "" */
	assert_string_equal(list.items[2].detail, "");
	assert_string_equal(list.items[2].target, "");
	pending_list_free(&list);
}

static void
test_parse_defangs(void **state)
{
	struct pending_list list = { NULL, 0 };
	/* ESC, BEL, a newline in a path, a C1 CSI (U+009B) and DEL; in
	 * the detail an ESC goes but the newline stays */
	const char *text =
	    "[{\"id\":\"f1\",\"target\":\"a\\u001b["
	    "2Jb\\u0007\\nc\\u009bd\\u007f\","
	    "\"intent\":\"x\\r\\ny\",\"detail\":\"+\\u001b]0;t\\u0007\\n-z\"}]";

	(void)state;
	assert_int_equal(pending_list_parse(text, &list), 0);
	assert_string_equal(list.items[0].target, "a?[2Jb??c??d?");
	assert_string_equal(list.items[0].intent, "x??y");
	assert_string_equal(list.items[0].detail, "+?]0;t?\n-z");
	pending_list_free(&list);
}

static void
test_parse_unicode(void **state)
{
	struct pending_list list = { NULL, 0 };

	(void)state;
	/* é, a surrogate pair (U+1F600) and a lone surrogate */
	assert_int_equal(pending_list_parse("[{\"target\":\"\\u00e9"
	                                    "\\ud83d\\ude00\\ud800x\"}]",
	                     &list),
	    0);
	assert_string_equal(
	    list.items[0].target, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
	pending_list_free(&list);
}

static void
test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"",
		"{}",
		"[",
		"[{\"id\":\"f1\"}",
		"[{\"id\":\"f1\"}] trailing",
		"[{\"id\":f1}]",
		"[{\"id\":\"f1\",}]",
		"[{\"id\" \"f1\"}]",
		"[{\"id\":\"a\\qb\"}]",
		"[{\"id\":\"a\nb\"}]",
		"[{\"id\":\"\\u12\"}]",
		"[1]",
		"[{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}]",
	};
	struct pending_list list = { NULL, 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pending_list_parse(bad[i], &list) == 0)
			fail_msg("accepted: %s", bad[i]);
		pending_list_free(&list);
	}
}

static void
test_daemon_of(void **state)
{
	(void)state;
	assert_non_null(ctl_client_daemon_of("f1"));
	assert_string_equal(ctl_client_daemon_of("f12")->sock, "fs.sock");
	assert_string_equal(ctl_client_daemon_of("p3")->sock, "proxy.sock");
	assert_null(ctl_client_daemon_of("f"));
	assert_null(ctl_client_daemon_of("q1"));
	assert_null(ctl_client_daemon_of("f1x"));
	assert_null(ctl_client_daemon_of("f1 remember"));
	assert_null(ctl_client_daemon_of("f12345678901234567890"));
}

static void
test_format_ms(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "0", "0ms" },
		{ "850", "850ms" },
		{ "12000", "12s" },
		{ "185000", "3m05s" },
		{ "7800000", "2h10m" },
		{ "", "-" },
		{ "12x", "-" },
		{ "-5", "-" },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctl_client_format_ms(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_appends),
		cmocka_unit_test(test_parse_defangs),
		cmocka_unit_test(test_parse_unicode),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_daemon_of),
		cmocka_unit_test(test_format_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
