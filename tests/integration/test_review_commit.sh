#!/usr/bin/env bash
# airlock commit: applies every kind of staged change so that the project
# becomes the view exactly; conflicts refuse everything and name the path,
# --force overrides; a mounted session is refused; PATH filters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/review_lib.sh"

review_init "$T/r"
review_standard_fixture
S=$R/sess
P=$R/proj
cp -a "$P" "$T/orig"

# --dry-run names what would change and writes nothing.
out=$("$AIRLOCK" commit --session "$S" --project "$P" --dry-run)
check_contains "dry run names a change" "would commit M	src/main.c" "$out"
check "dry run writes nothing" trees_equal "$P" "$T/orig"

# A mounted session (the stage lock held, as airlock-fs holds it) is refused.
"$STAGE_TOOL" lock "$S" 30 >"$T/lock.out" &
locker=$!
at_exit "kill $locker"
wait_for 5 grep -q locked "$T/lock.out" || die "stage_tool lock did not start"
rc=0
err=$("$AIRLOCK" commit --session "$S" --project "$P" 2>&1) || rc=$?
check_eq "mounted: exit 1" 1 "$rc"
check_contains "mounted: says so" "session is mounted; stop airlock-fs first" "$err"
rc=0
err=$("$AIRLOCK" discard --session "$S" 2>&1) || rc=$?
check_eq "discard while mounted: exit 1" 1 "$rc"
kill "$locker"
wait "$locker" 2>/dev/null || true
check "mounted: nothing written" trees_equal "$P" "$T/orig"

# The commit applies everything.
rc=0
out=$("$AIRLOCK" commit --session "$S" --project "$P") || rc=$?
check_eq "commit exits 0" 0 "$rc"
check_contains "commit reports a rename target" "src/numbers.txt" "$out"
check "the project is now the staged tree" trees_equal "$P" "$R/want"
check_eq "the stage is empty" "" "$("$STAGE_TOOL" list "$S")"
check_eq "no journal left" "" "$(ls "$S" | grep -E '^commit\.' || true)"
check_eq "no temp files in the project" "" "$(find "$P" -name '.airlock-tmp-*')"
out=$("$AIRLOCK" commit --session "$S" --project "$P")
check_eq "a second commit has nothing to do" "nothing to commit" "$out"
check_eq "and the diff is empty" "" "$("$AIRLOCK" diff --session "$S" --project "$P")"

# Conflicts: the project changed after staging.
review_init "$T/c"
mkdir -p "$R/proj/src"
echo one >"$R/proj/src/a.c"
echo two >"$R/proj/b.c"
echo three >"$R/proj/c.c"
review_snapshot
st_mod src/a.c "staged a
"
st_mod b.c "staged b
"
st_add new.c "new
"
st_del c.c
echo "edited by a person" >"$R/proj/src/a.c"   # changed since staged
echo "created by a person" >"$R/proj/new.c"    # exists now, base said absent
rm "$R/proj/c.c"                               # gone, base said present
cp -a "$R/proj" "$T/before"
rc=0
err=$("$AIRLOCK" commit --session "$R/sess" --project "$R/proj" 2>&1) || rc=$?
check_eq "conflict: exit 1" 1 "$rc"
check_contains "conflict names the path" "conflict: src/a.c changed in the project since it was staged; re-run with --force to overwrite, or airlock discard src/a.c" "$err"
check_contains "conflict: created since" "conflict: new.c was created in the project since it was staged" "$err"
check_contains "conflict: deleted since" "conflict: c.c was deleted in the project since it was staged" "$err"
check_not "a clean path is not called a conflict" grep -q "conflict: b.c" <<<"$err"
check "all or nothing: nothing written" trees_equal "$R/proj" "$T/before"
check_contains "the stage keeps them" "src/a.c" "$("$STAGE_TOOL" list "$R/sess")"

# Committing only the clean path works.
rc=0
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" b.c >/dev/null || rc=$?
check_eq "commit of a clean path: exit 0" 0 "$rc"
check_eq "b.c committed" "staged b" "$(cat "$R/proj/b.c")"
check_eq "a.c untouched" "edited by a person" "$(cat "$R/proj/src/a.c")"
check_not "b.c left the stage" grep -q " b.c" <<<"$("$STAGE_TOOL" list "$R/sess")"

# --force overwrites.
rc=0
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" --force >/dev/null || rc=$?
check_eq "--force: exit 0" 0 "$rc"
check_eq "--force wrote a.c" "staged a" "$(cat "$R/proj/src/a.c")"
check_eq "--force wrote new.c" "new" "$(cat "$R/proj/new.c")"
check_eq "stage empty after --force" "" "$("$STAGE_TOOL" list "$R/sess")"

# A rename whose destination appeared in the project meanwhile.
review_init "$T/rn"
echo moving >"$R/proj/from.txt"
review_snapshot
st_ren from.txt to.txt
echo "made by a person" >"$R/proj/to.txt"
rc=0
err=$("$AIRLOCK" commit --session "$R/sess" --project "$R/proj" 2>&1) || rc=$?
check_eq "rename onto a new project file: exit 1" 1 "$rc"
check_contains "rename conflict named" "conflict: to.txt was created in the project since it was staged" "$err"
check_eq "rename conflict: nothing written" "made by a person" "$(cat "$R/proj/to.txt")"

# A symlink in the project's parent directories is never followed.
review_init "$T/s"
mkdir -p "$T/outside" "$R/proj/real"
ln -s "$T/outside" "$R/proj/evil"
review_snapshot
mkdir -p "$R/sess/upper/evil"
echo pwned >"$R/sess/upper/evil/x"
"$STAGE_TOOL" record "$R/sess" add - 0100644 evil/x
rc=0
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" --force >/dev/null 2>&1 || rc=$?
check_eq "write through a project symlink: refused (exit 3)" 3 "$rc"
check "nothing written outside the project" test ! -e "$T/outside/x"
check "refused before any journal" test ! -e "$R/sess/commit.journal"

# A file replaced by a directory (and back): type changes.
review_init "$T/t"
echo file >"$R/proj/x"
mkdir -p "$R/proj/y"
echo inner >"$R/proj/y/inner"
review_snapshot
"$STAGE_TOOL" record "$R/sess" del "=$R/proj/x" 0 x
rm "$R/want/x"
mkdir -p "$R/sess/upper/x" "$R/want/x"
"$STAGE_TOOL" record "$R/sess" mod "=$R/proj/x" 040755 x
st_add x/child "child
"
rm -rf "$R/want/y"
echo now-a-file >"$R/want/y"
echo now-a-file >"$R/sess/upper/y"
"$STAGE_TOOL" record "$R/sess" mod "=$R/proj/y" 0100644 y
cp -a "$R/proj" "$T/tcopy"
"$AIRLOCK" diff --session "$R/sess" --project "$R/proj" >"$T/t.diff"
check "type changes: git apply round trip" bash -c "cd '$T/tcopy' && git apply '$T/t.diff'"
check "type changes: applied tree" trees_equal "$T/tcopy" "$R/want"
rc=0
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" >/dev/null || rc=$?
check_eq "type changes: commit exit 0" 0 "$rc"
check "type changes: committed tree" trees_equal "$R/proj" "$R/want"

# A new file in a new directory: the filter brings the directory along.
review_init "$T/d"
review_snapshot
st_mkdir a
st_mkdir a/b
st_add a/b/c.txt "deep
"
st_add other.txt "other
"
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" a/b/c.txt >/dev/null
check_eq "filtered commit creates parents" "deep" "$(cat "$R/proj/a/b/c.txt")"
check "the other file is still staged" test ! -e "$R/proj/other.txt"

finish
