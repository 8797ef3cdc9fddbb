/*
 * libFuzzer target for the CLI's reader of the daemons' held-action lists
 * (cli/ctl_client.c).  Whatever the input, every field of every item it
 * returns is a string that is safe to print on a terminal: no C0 control
 * (detail may keep '\n' and '\t'), no DEL, no UTF-8 C1 control.  The
 * daemons are trusted, but their fields carry what the agent chose.
 * Seeds: tests/fuzz/corpus/pending_list.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_field(const char *s, int is_multiline)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		__builtin_trap();
	for (; *p != '\0'; p++) {
		if (is_multiline && (*p == '\n' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			__builtin_trap();
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending_list list = { NULL, 0 };
	const struct pending_item *it;
	char *text;
	size_t i;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)pending_list_parse(text, &list);
	for (i = 0; i < list.n_items; i++) {
		it = &list.items[i];
		fuzz_check_field(it->id, 0);
		fuzz_check_field(it->kind, 0);
		fuzz_check_field(it->op, 0);
		fuzz_check_field(it->target, 0);
		fuzz_check_field(it->rule, 0);
		fuzz_check_field(it->reason, 0);
		fuzz_check_field(it->pid, 0);
		fuzz_check_field(it->exe, 0);
		fuzz_check_field(it->cmdline, 0);
		fuzz_check_field(it->intent, 0);
		fuzz_check_field(it->age_ms, 0);
		fuzz_check_field(it->left_ms, 0);
		fuzz_check_field(it->detail, 1);
	}
	pending_list_free(&list);
	free(text);
	return 0;
}
