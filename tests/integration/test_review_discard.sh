#!/usr/bin/env bash
# airlock discard: drops the named staged paths (and what is below them),
# or all of them; one line per path; the staged content leaves upper/;
# the project is never touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/review_lib.sh"

review_init "$T/r"
review_standard_fixture
S=$R/sess
P=$R/proj
cp -a "$P" "$T/orig"
DIFF=("$AIRLOCK" diff --session "$S" --project "$P" --name-status)

out=$("$AIRLOCK" discard --session "$S" src/main.c)
check_eq "one path: one line" "discarded mod	src/main.c" "$out"
check_not "gone from the diff" grep -q "src/main.c" <<<"$("${DIFF[@]}")"
check "its staged copy left upper/" test ! -e "$S/upper/src/main.c"
check_contains "the rest stays staged" "A	tool.sh" "$("${DIFF[@]}")"

# A directory stands for everything below it.
out=$("$AIRLOCK" discard --session "$S" "new dir")
check_contains "subtree: the file" "discarded add	new dir/inner.txt" "$out"
check_contains "subtree: the directory" "discarded add	new dir" "$out"
check_eq "subtree: two lines" 2 "$(wc -l <<<"$out")"
check "subtree: upper/ cleaned" test ! -e "$S/upper/new dir"

# A name with a space, and a deletion (no upper file).
out=$("$AIRLOCK" discard --session "$S" "delete me.txt" "with space/new file.txt")
check_contains "deletion dropped" "discarded del	delete me.txt" "$out"
check_contains "name with space dropped" "discarded add	with space/new file.txt" "$out"

# Nothing matches: says so, exit 0.
out=$("$AIRLOCK" discard --session "$S" no/such/path)
check_eq "nothing to discard" "nothing to discard" "$out"

# Everything.
"$AIRLOCK" discard --session "$S" >/dev/null
check_eq "all: the stage is empty" "" "$("$STAGE_TOOL" list "$S")"
check_eq "all: the diff is empty" "" "$("$AIRLOCK" diff --session "$S" --project "$P")"
check_eq "all: upper/ holds no file" "" "$(find "$S/upper" -type f -o -type l)"
check "the project was never touched" trees_equal "$P" "$T/orig"
out=$("$AIRLOCK" commit --session "$S" --project "$P")
check_eq "then commit has nothing to do" "nothing to commit" "$out"

finish
