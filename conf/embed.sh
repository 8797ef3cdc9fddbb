#!/bin/sh
# Print a C file that holds FILE's bytes as the array NAME (NUL-terminated)
# and NAME_len, for the default policy compiled into airlock.  Uses od and
# awk only, so it runs wherever the build does.
# usage: embed.sh FILE NAME
set -eu
file=$1
name=$2
printf '/* Generated from %s by conf/embed.sh: do not edit. */\n' "$(basename "$file")"
printf '#include "config.h"\n\n#include <stddef.h>\n\n'
printf 'extern const char %s[];\nextern const size_t %s_len;\n\n' "$name" "$name"
printf 'const char %s[] =\n' "$name"
od -An -v -to1 "$file" | awk '
{
	for (i = 1; i <= NF; i++) {
		line = line "\\" $i
		if (++n % 16 == 0) {
			print "\t\"" line "\""
			line = ""
		}
	}
}
END {
	print "\t\"" line "\";"
}'
printf 'const size_t %s_len = sizeof(%s) - 1;\n' "$name" "$name"
