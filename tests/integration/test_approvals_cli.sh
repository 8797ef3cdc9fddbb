#!/usr/bin/env bash
# test_approvals_cli: `airlock pending`, `approve` and `deny` against a real
# control socket.  tests/helpers/hold_server stands in for airlock-fs: the
# real approvals and ctl code behind S/fs.sock, holding writes of
# .git/hooks/pre-commit and printing how each one was resolved.
. "$(dirname "$0")/lib.sh"

HOLD=$AIRLOCK_BUILD/tests/helpers/hold_server
[ -x "$HOLD" ] || die "missing $HOLD (built by make)"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"

SID=s1
S=$AIRLOCK_STATE_DIR/sessions/$SID
mkdir -p "$S"
chmod 0700 "$S"
HOLD_PID=

# start_hold TIMEOUT_MS COUNT [REFUSE_UID]: serve S/fs.sock and wait until
# the first action is held (or resolved, for a remembered one).
start_hold() {
	: >"$T/hold.out"
	"$HOLD" "$S" "$@" >"$T/hold.out" 2>"$T/hold.err" &
	HOLD_PID=$!
	at_exit "kill $HOLD_PID"
	wait_for 5 grep -q '^held f' "$T/hold.out" ||
		die "hold_server did not hold anything: $(cat "$T/hold.err")"
}

# stop_hold: the helper exits by itself after its last action; bounded.
stop_hold() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" 2>/dev/null || true
}

# run_cli OUTVAR RCVAR ARGS...: run airlock, stdout+stderr into OUTVAR.
run_cli() {
	local __out __rc=0
	__out=$("$AIRLOCK" "${@:3}" 2>&1) || __rc=$?
	printf -v "$1" '%s' "$__out"
	printf -v "$2" '%s' "$__rc"
}

held_line() { wait_for 5 grep -q "^held $1\$" "$T/hold.out"; }
resolved_line() { wait_for 5 grep -q "^resolved $1\$" "$T/hold.out"; }

echo "# approve, a late approve, deny"
AIRLOCK_INTENT="install the hook" start_hold 60000 2
check "the socket is 0600" test "$(stat -c %a "$S/fs.sock")" = 600

run_cli out rc pending --session "$SID" --json
check_eq "pending --json exits 0" 0 "$rc"
check_contains "pending --json lists f1" '"id":"f1","kind":"fs","op":"write","target":".git/hooks/pre-commit"' "$out"
check_contains "pending --json has the caller" '"exe":"/usr/bin/git","cmdline":"git commit -m wip"' "$out"
check_contains "pending --json has the time left" '"left_ms":' "$out"
check_contains "pending notes the missing proxy.sock" 'proxy.sock: no socket' "$out"
# The merged array must be valid JSON as a whole.
json=$("$AIRLOCK" pending --session "$SID" --json 2>/dev/null)
check "pending --json is one JSON array" python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert isinstance(a, list) and len(a) == 1 and a[0]["id"] == "f1", a
assert a[0]["detail"].startswith("+#!/bin/sh"), a
' "$json"

run_cli out rc pending --session "$S"
check_eq "pending (by directory) exits 0" 0 "$rc"
check_contains "the table has a header" 'ID     KIND OP' "$out"
check_contains "the table lists f1" 'f1     fs   write    .git/hooks/pre-commit' "$out"
check_contains "the table names the process" "$HOLD_PID/git" "$out"
check_contains "the table shows the intent" "install the hook" "$out"

run_cli out rc approve f1 --session "$SID"
check_eq "approve f1 exits 0" 0 "$rc"
check_eq "approve f1 confirms" "approved f1 (write .git/hooks/pre-commit)" "$out"
check "the held write saw the approval" resolved_line "f1 approved human approved by uid 0 through the control socket"
held_line f2 || die "f2 never held"

run_cli out rc approve f1 --session "$SID"
check_eq "a second approve of f1 exits 1" 1 "$rc"
check_contains "and says it was already approved" "f1 is not pending: it was already approved (decided by human)" "$out"
run_cli out rc deny f1 --session "$SID"
check_eq "a deny after the approval exits 1" 1 "$rc"

# No --session: the newest session is this one.
run_cli out rc deny f2
check_eq "deny f2 exits 0" 0 "$rc"
check_eq "deny f2 confirms" "denied f2 (write .git/hooks/pre-commit)" "$out"
check "the held write saw the denial" resolved_line "f2 denied human denied by uid 0 through the control socket"
stop_hold

echo "# the hold timeout denies"
start_hold 1000 2
check "f1 times out" resolved_line "f1 timeout timeout hold timeout (1000 ms) passed with no decision"
held_line f2 || die "f2 never held"
run_cli out rc approve f1 --session "$SID"
check_eq "approving a timed-out action exits 1" 1 "$rc"
check_contains "and says it timed out" "f1 is not pending: it timed out and was denied" "$out"
check "f2 times out too" resolved_line "f2 timeout timeout hold timeout (1000 ms) passed with no decision"
stop_hold

echo "# --remember"
start_hold 60000 3
run_cli out rc approve f1 --remember --session "$SID"
check_eq "approve --remember exits 0" 0 "$rc"
check_contains "approve --remember says so" "approved f1 (write .git/hooks/pre-commit); remembered" "$out"
check "the next identical writes are approved at once" wait_for 5 test "$(grep -c '^resolved - approved human remembered$' "$T/hold.out")" -eq 2
stop_hold

echo "# the agent cannot decide"
# Make the session reachable to nobody, except for the socket's own mode.
chmod 0711 "$T" "$AIRLOCK_STATE_DIR" "$AIRLOCK_STATE_DIR/sessions" "$S"
mkdir -p "$T/bin"
cp "$AIRLOCK" "$T/bin/airlock"
chmod 0755 "$T/bin" "$T/bin/airlock"
start_hold 60000 1 65534
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$T/bin/airlock" "$@"; }
rc=0
out=$(as_nobody approve f1 --session "$S" 2>&1) || rc=$?
check_eq "nobody cannot reach a 0600 socket (exit 3)" 3 "$rc"
check_contains "and is told why" "permission denied" "$out"
# Even with the mode opened, the daemon refuses the agent's uid.
chmod 0666 "$S/fs.sock"
rc=0
out=$(as_nobody approve f1 --session "$S" 2>&1) || rc=$?
check_eq "the agent's uid is refused (exit 1)" 1 "$rc"
check_contains "with the reason" "refused: the agent may not decide its own requests" "$out"
check_not "and f1 was not resolved" grep -q '^resolved' "$T/hold.out"
run_cli out rc deny f1 --session "$S"
check_eq "root still decides" 0 "$rc"
check "f1 denied by the person" resolved_line "f1 denied human denied by uid 0 through the control socket"
stop_hold

echo "# what the agent names cannot drive the terminal"
HOLD_TARGET=$'evil\e[2J\e]0;x\a.txt' start_hold 60000 1
run_cli out rc pending --session "$SID"
check_eq "pending exits 0" 0 "$rc"
check_contains "the target is shown defanged" 'evil?[2J?]0;x?.txt' "$out"
check_not "no escape byte reaches the terminal" grep -q $'\e' <<<"$out"
run_cli out rc deny f1 --session "$SID"
check_contains "the confirmation is defanged too" 'denied f1 (write evil?[2J?]0;x?.txt)' "$out"
stop_hold

echo "# no daemons"
run_cli out rc pending --session "$SID"
check_eq "pending with no daemons exits 3" 3 "$rc"
check_contains "and says what to do" "the daemons of session $SID are not running" "$out"
run_cli out rc approve f9 --session "$SID"
check_eq "approve with no daemon exits 3" 3 "$rc"
run_cli out rc approve q9 --session "$SID"
check_eq "a malformed id exits 2" 2 "$rc"
run_cli out rc pending --session nosuch
check_eq "an unknown session exits 3" 3 "$rc"
run_cli out rc approve --help
check_eq "approve --help exits 0" 0 "$rc"
check_contains "approve --help shows usage" "usage: airlock approve ID" "$out"

finish
