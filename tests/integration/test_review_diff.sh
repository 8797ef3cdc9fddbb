#!/usr/bin/env bash
# airlock diff: the staged changes as a patch that git apply accepts
# against the untouched project and that reproduces the view exactly
# (modified, new, deleted, mode change, symlinks, rename, binary, names
# with spaces, a deleted directory); --stat, --name-status, PATH filters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/review_lib.sh"

command -v git >/dev/null || die "git is required"
review_init "$T/r"
review_standard_fixture
S=$R/sess
P=$R/proj
DIFF=("$AIRLOCK" diff --session "$S" --project "$P")

# Nothing staged yet in another session: no output, exit 0.
mkdir -p "$T/empty"
out=$("$AIRLOCK" diff --session "$T/empty" --project "$P")
check_eq "empty stage: exit 0, no output" "" "$out"

rc=0
"${DIFF[@]}" >"$T/plain.diff" || rc=$?
check_eq "diff exits 0" 0 $rc
plain=$(cat "$T/plain.diff")
check_contains "modified file" "diff --git a/src/main.c b/src/main.c" "$plain"
check_contains "new file mode" "new file mode 100755" "$plain"
check_contains "deleted file mode" "deleted file mode 100644" "$plain"
check_contains "old mode" "old mode 100644" "$plain"
check_contains "new mode" "new mode 100755" "$plain"
check_contains "symlink mode" "new file mode 120000" "$plain"
check_contains "symlink target, no newline" "+list.txt
\\ No newline at end of file" "$plain"
check_contains "rename from" "rename from src/list.txt" "$plain"
check_contains "rename to" "rename to src/numbers.txt" "$plain"
check_contains "similarity" "similarity index" "$plain"
check_contains "binary" "Binary files a/blob.bin and b/blob.bin differ" "$plain"
check_contains "names with spaces" "diff --git a/with space/new file.txt b/with space/new file.txt" "$plain"
check_contains "deleted directory's files" "diff --git a/docs/old dir/a.md b/docs/old dir/a.md
deleted file mode 100644" "$plain"
check_contains "deleted directory's other file" "diff --git a/docs/old dir/b.md b/docs/old dir/b.md" "$plain"
check_not "no colour when not a terminal" grep -q $'\033\\[' "$T/plain.diff"
check_not "the untouched file is not in the diff" grep -q "a/README" "$T/plain.diff"

# git apply --check against an untouched copy of the project.
cp -a "$P" "$T/copy"
rc=0
(cd "$T/copy" && git apply --check "$T/plain.diff" 2>"$T/check.err") || rc=$?
# The text-only patch cannot carry the binary change: git says so, and
# only about that file.
if [ $rc -ne 0 ]; then
	check_contains "only the binary is refused" "blob.bin" "$(cat "$T/check.err")"
fi

# With --binary the patch is complete: apply it and compare with the view.
"${DIFF[@]}" --binary >"$T/full.diff"
check "git apply --check accepts the --binary diff" \
	bash -c "cd '$T/copy' && git apply --check '$T/full.diff'"
check "git apply applies it" bash -c "cd '$T/copy' && git apply '$T/full.diff'"
check "the result is the staged tree exactly" trees_equal "$T/copy" "$R/want"
# Without binary, everything but the binary file round-trips as well.
cp -a "$P" "$T/copy2"
(cd "$T/copy2" && git apply --exclude=blob.bin "$T/plain.diff")
cp "$R/want/blob.bin" "$T/copy2/blob.bin"
check "text diff round trip (binary aside)" trees_equal "$T/copy2" "$R/want"

# The project itself was not written by diff.
check "diff leaves the project alone" bash -c "cd '$P' && test -e 'delete me.txt' && test -e src/list.txt"

# --name-status and --stat, like git's.
ns=$("${DIFF[@]}" --name-status)
check_contains "name-status rename" "R0" "$ns"
check_contains "name-status rename paths" "src/list.txt	src/numbers.txt" "$ns"
check_contains "name-status add" "A	with space/new file.txt" "$ns"
check_contains "name-status delete" "D	delete me.txt" "$ns"
check_contains "name-status modify" "M	src/main.c" "$ns"
stat=$("${DIFF[@]}" --stat)
check_contains "stat line" "src/main.c" "$stat"
check_contains "stat summary" "files changed" "$stat"

# PATH filters: a directory stands for everything below it.
f=$("${DIFF[@]}" --name-status src)
check_contains "filter keeps src/" "M	src/main.c" "$f"
check_not "filter drops others" grep -q "tool.sh" <<<"$f"
f=$("${DIFF[@]}" --name-status "with space/new file.txt")
check_eq "filter on one file" "A	with space/new file.txt" "$f"

# Colour on request.
"${DIFF[@]}" --color >"$T/color.diff"
check "--color colours" grep -q $'\033\\[' "$T/color.diff"

# session.json names the project when --project is absent.
printf '{"id": "x", "nested": {"a": [1, "b"]}, "project": "%s"}\n' "$P" >"$S/session.json"
"$AIRLOCK" diff --session "$S" --binary >"$T/fromjson.diff"
check "project read from session.json" cmp -s "$T/fromjson.diff" "$T/full.diff"
rm -f "$S/session.json"
check_not "no project: refused" "$AIRLOCK" diff --session "$S"
rc=0
"$AIRLOCK" diff --session "$S" >/dev/null 2>&1 || rc=$?
check_eq "no project: exit 2" 2 $rc

# A symlink in the project that points outside is never followed.
mkdir -p "$T/outside"
echo secret >"$T/outside/secret"
ln -s "$T/outside" "$P/escape"
"$STAGE_TOOL" record "$S" del - 0 "escape/secret"
out=$("${DIFF[@]}" 2>&1) || true
check_not "diff does not read through a project symlink" grep -q secret <<<"$out"

finish
