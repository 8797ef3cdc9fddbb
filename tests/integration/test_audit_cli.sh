#!/usr/bin/env bash
# test_audit_cli: `airlock audit` and `airlock audit verify` on logs written
# through the real audit writer (tests/helpers/audit_writer stands in for
# the daemons): the chain across reopen and across two concurrent writer
# processes, what verify catches (edit, deletion, reordering, a partial
# line), the timeline (sanitised, --json verbatim, --session, garbage),
# and --follow stopping cleanly on SIGINT.
. "$(dirname "$0")/lib.sh"

W=$AIRLOCK_BUILD/tests/helpers/audit_writer
[ -x "$W" ] || die "missing $W (built by make)"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"

S=$AIRLOCK_STATE_DIR/sessions/s1
mkdir -p "$S"
chmod 0700 "$S"
LOG=$S/audit.jsonl

# run OUTVAR RCVAR ARGS...: run airlock; stdout into OUTVAR, stderr to $T/err.
run() {
	local __out=$1 __rc=$2 __o __r=0
	shift 2
	__o=$("$AIRLOCK" "$@" 2>"$T/err") || __r=$?
	printf -v "$__out" '%s' "$__o"
	printf -v "$__rc" '%s' "$__r"
}

echo "chain across reopen and two processes"
"$W" "$LOG" 20 fs || die "writer failed: $(cat "$T/err" 2>/dev/null)"
"$W" "$LOG" 10 proxy || die "second writer failed"
"$W" "$LOG" 300 fs &
p1=$!
"$W" "$LOG" 300 proxy &
p2=$!
at_exit "kill $p1 $p2"
check "first concurrent writer" wait $p1
check "second concurrent writer" wait $p2
run out rc audit verify "$LOG"
check_eq "verify exit" 0 "$rc"
check_eq "verify says" "ok: 630 records, chain intact" "$out"
check_eq "seq runs 1..630" "$(seq 1 630 | tr '\n' ' ')" \
	"$(grep -o '"seq":[0-9]*' "$LOG" | cut -d: -f2 | tr '\n' ' ')"

echo "the timeline"
run out rc audit "$LOG"
check_eq "timeline exit" 0 "$rc"
check_eq "header and one line per record" 631 "$(printf '%s\n' "$out" | wc -l)"
check_contains "header" "TIME (UTC)" "$(printf '%s\n' "$out" | head -1)"
check_contains "a held and approved write" "hold/approved  human" "$out"
check_contains "rule shown" "conf/airlock.yaml:12" "$out"
check_contains "control sequences shown as ?" "evil?]0;owned??[2J-6" "$out"
check_not "no ESC byte reaches the terminal" grep -q $'\033' <<<"$out"
"$AIRLOCK" audit --json "$LOG" >"$T/json"
check "--json passes the lines through" cmp -s "$LOG" "$T/json"
run out rc audit verify --session s1
check_eq "verify --session" "ok: 630 records, chain intact" "$out"
run out rc audit
check_eq "no FILE: the newest session" 631 "$(printf '%s\n' "$out" | wc -l)"

echo "tampering"
cp "$LOG" "$T/good"
sed -i '5s/"src\/file4.c"/"src\/fileX.c"/' "$LOG"
run out rc audit verify "$LOG"
check_eq "edit: exit 1" 1 "$rc"
check_contains "edit: names line 5" "$LOG:5: \"hash\" does not match" "$out"
cp "$T/good" "$LOG"
sed -i '3d' "$LOG"
run out rc audit verify "$LOG"
check_eq "delete: exit 1" 1 "$rc"
check_contains "delete: names line 3" "$LOG:3: \"prev\" is not the hash" "$out"
cp "$T/good" "$LOG"
awk 'NR == 2 { held = $0; next } { print } NR == 3 { print held }' \
	"$T/good" >"$LOG"
run out rc audit verify "$LOG"
check_eq "reorder: exit 1" 1 "$rc"
check_contains "reorder: names line 2" "$LOG:2:" "$out"
cp "$T/good" "$LOG"
sed -i '100,200d' "$LOG"
run out rc audit verify "$LOG"
check_contains "cut in the middle: names line 100" "$LOG:100:" "$out"
cp "$T/good" "$LOG"
truncate -s -20 "$LOG"
run out rc audit verify "$LOG"
check_eq "partial: exit 1" 1 "$rc"
check_contains "partial: names the last line" "$LOG:630: partial record" "$out"
check_not "a writer refuses a partial last line" "$W" "$LOG" 1 fs 2>"$T/werr"
check_contains "and says why" "airlock audit verify" "$(cat "$T/werr")"
run out rc audit "$LOG"
check_contains "timeline warns about the partial line" "partial last line" \
	"$(cat "$T/err")"

echo "garbage and errors"
cp "$T/good" "$LOG"
printf 'not json \033[2J at all\n' >>"$LOG"
run out rc audit "$LOG"
check_eq "garbage: timeline still exits 0" 0 "$rc"
check_contains "garbage shown raw, sanitised" "not json ?[2J at all" "$out"
check_contains "with a warning" "$LOG:631: not an audit record" "$(cat "$T/err")"
run out rc audit verify "$LOG"
check_contains "verify names the garbage line" "$LOG:631: not an audit record" "$out"
run out rc audit verify "$T/missing"
check_eq "missing file: exit 3" 3 "$rc"
run out rc audit --bogus
check_eq "bad option: exit 2" 2 "$rc"
check_eq "verify --help" 0 "$("$AIRLOCK" audit verify --help >/dev/null; echo $?)"

echo "--follow"
cp "$T/good" "$LOG"
"$AIRLOCK" audit --follow "$LOG" >"$T/follow" 2>&1 &
fp=$!
at_exit "kill $fp"
check "follow prints what is there" wait_for 5 \
	bash -c "[ \$(wc -l <'$T/follow') -ge 631 ]"
"$W" "$LOG" 5 proxy
check "follow prints what is appended" wait_for 5 \
	bash -c "[ \$(wc -l <'$T/follow') -ge 636 ]"
kill -INT $fp
frc=0
wait $fp || frc=$?
check_eq "follow exits 0 on SIGINT" 0 "$frc"
run out rc audit verify "$LOG"
check_eq "still intact" "ok: 635 records, chain intact" "$out"

finish
