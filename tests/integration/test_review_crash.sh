#!/usr/bin/env bash
# An interrupted commit (the process dies at any step: after a temporary
# file is written, after any operation) is completed by the next commit:
# the project ends up exactly the staged tree, no .airlock-tmp-* file is
# left, and at every point each file is either its old or its new version.
# Then a real kill -9 in the middle of a commit of large files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/review_lib.sh"

# old_or_new ORIG WANT DIR: every file of DIR is as in ORIG or as in WANT.
old_or_new() {
	local f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$3"/}
		case $rel in .airlock-tmp-* | */.airlock-tmp-*) continue ;; esac
		if [ -L "$f" ]; then
			[ "$(readlink "$f")" = "$(readlink "$1/$rel" 2>/dev/null)" ] ||
				[ "$(readlink "$f")" = "$(readlink "$2/$rel" 2>/dev/null)" ] || {
				echo "half link: $rel" >&2
				return 1
			}
		elif [ -f "$f" ]; then
			cmp -s "$f" "$1/$rel" || cmp -s "$f" "$2/$rel" || {
				echo "half file: $rel" >&2
				return 1
			}
		fi
	done < <(find "$3" -print0)
}

review_init "$T/base"
review_standard_fixture
for i in $(seq 1 3); do
	echo "extra $i" >"$R/proj/extra$i.txt"
	cp "$R/proj/extra$i.txt" "$R/want/extra$i.txt"
	st_mod "extra$i.txt" "extra $i, edited
"
done
base=$R

# Count the steps of a whole commit: crash at each one in turn.
n_crashed=0 n_completed=0
for n in $(seq 1 200); do
	rm -rf "$T/run"
	cp -a "$base" "$T/run"
	R=$T/run
	rc=0
	AIRLOCK_TEST_COMMIT_CRASH_AFTER=$n "$AIRLOCK" commit --session "$R/sess" \
		--project "$R/proj" >/dev/null 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		break # n is past the last step: the commit ran to the end
	fi
	[ "$rc" -eq 9 ] || { fail "crash at step $n: exit $rc, expected 9"; break; }
	n_crashed=$((n_crashed + 1))
	old_or_new "$base/proj" "$R/want" "$R/proj" ||
		fail "step $n: a file is neither old nor new"
	if [ -e "$R/sess/commit.journal" ]; then
		rc=0
		"$AIRLOCK" discard --session "$R/sess" >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq 1 ] || fail "step $n: discard did not refuse an unfinished commit ($rc)"
	fi
	rc=0
	"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" >"$T/replay.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "step $n: the next commit failed ($rc): $(cat "$T/replay.out")"
		continue
	fi
	if ! trees_equal "$R/proj" "$R/want"; then
		fail "step $n: the project is not the staged tree after the replay"
		diff -r --no-dereference "$R/proj" "$R/want" >&2 || true
		continue
	fi
	if [ -n "$(find "$R/proj" -name '.airlock-tmp-*')" ]; then
		fail "step $n: temporary files left"
		continue
	fi
	if [ -n "$("$STAGE_TOOL" list "$R/sess")" ] || [ -e "$R/sess/commit.journal" ]; then
		fail "step $n: stage or journal left"
		continue
	fi
	n_completed=$((n_completed + 1))
done
echo "  (crashed at $n_crashed distinct steps)"
check "crashed at more than 20 distinct steps" test "$n_crashed" -gt 20
check_eq "every crash was completed by the next commit" "$n_crashed" "$n_completed"
grep -q "completed an interrupted commit" "$T/replay.out" &&
	pass "the replay says so" || fail "the replay did not say it completed a commit"

# A real kill -9 in the middle of a commit of large files.
review_init "$T/big"
for i in $(seq 1 40); do
	head -c 500000 /dev/zero | tr '\0' "a" >"$R/proj/f$i"
done
review_snapshot
cp -a "$R/proj" "$T/big/orig"
for i in $(seq 1 40); do
	mkdir -p "$R/sess/upper"
	head -c 500000 /dev/zero | tr '\0' "b" >"$R/sess/upper/f$i"
	cp "$R/sess/upper/f$i" "$R/want/f$i"
	"$STAGE_TOOL" record "$R/sess" mod "=$R/proj/f$i" 0100644 "f$i"
done
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" >/dev/null 2>&1 &
pid=$!
# Kill it once it has started on the project (its journal exists).
wait_for 20 test -e "$R/sess/commit.journal" || true
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
check "after kill -9: each file old or new" old_or_new "$T/big/orig" "$R/want" "$R/proj"
n_old=0 n_new=0 n_bad=0
for i in $(seq 1 40); do
	case $(head -c 1 "$R/proj/f$i") in
	a) n_old=$((n_old + 1)) ;;
	b) n_new=$((n_new + 1)) ;;
	*) n_bad=$((n_bad + 1)) ;;
	esac
	[ "$(stat -c %s "$R/proj/f$i")" -eq 500000 ] || n_bad=$((n_bad + 1))
done
check_eq "after kill -9: no half-written file" 0 "$n_bad"
echo "  (kill -9 landed with $n_new of 40 files new)"
rc=0
"$AIRLOCK" commit --session "$R/sess" --project "$R/proj" >/dev/null || rc=$?
check_eq "the next commit completes it" 0 "$rc"
check "after kill -9 and replay: the staged tree" trees_equal "$R/proj" "$R/want"
check_eq "after kill -9 and replay: no temp files" "" "$(find "$R/proj" -name '.airlock-tmp-*')"

finish
