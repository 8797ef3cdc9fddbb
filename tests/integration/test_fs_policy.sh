#!/usr/bin/env bash
# test_fs_policy: airlock-fs asks the policy: a denied write is EACCES and
# audited; a held write waits (other operations go on) and is approved or
# denied with `airlock approve|deny`, or denied when the hold times out; a
# read of a named path is held too; audit records name the caller, its
# intent and trace context.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/held" "$P/denied" "$M"
printf 'readme\n' >"$P/README"
printf 'old\n' >"$P/held/a.txt"
printf 'TOKEN=1\n' >"$P/secret.env"
cat >"$T/policy.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 3s}
fs:
  - paths: ["held/**"]
    ops: [write, create, delete, rename, chmod]
    action: hold
    reason: held for the test
  - paths: ["denied/**"]
    ops: [write, create, delete, rename, chmod, link, xattr]
    action: deny
    reason: denied for the test
  - paths: ["*.env"]
    ops: [read]
    action: hold
    reason: a secret
EOF

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
PID=$(cat "$S/fs.pid")
at_exit "unmount_fuse $M"
at_exit "kill -9 $PID"

TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01

# pending_id TARGET: the id of the held action on TARGET (waits for it).
pending_id() { session_held_id "$S" "$1"; }
# audit_has WORDS...: some audit line holds every word.
audit_has() { session_audit_has "$S" "$@"; }

echo "# deny"
check_not "a denied create fails" bash -c "echo x 2>/dev/null >'$M/denied/x'"
check_eq "with EACCES" "Permission denied" \
	"$(bash -c "echo x >'$M/denied/x'" 2>&1 | sed 's/.*: //')"
check_not "nothing staged" test -e "$S/upper/denied/x"
wait_for 5 audit_has '"op":"create"' '"target":"denied/x"' '"decision":"deny"' &&
	pass "the denial is audited" || fail "no deny record"

echo "# hold, approved"
(rc=0; AIRLOCK_INTENT="update a" TRACEPARENT=$TP bash -c "echo new >'$M/held/a.txt'" \
	2>"$T/w1.err" || rc=$?; echo $rc >"$T/w1.rc") &
id=$(pending_id held/a.txt) && pass "the write is held ($id)" || fail "nothing held"
check_eq "other reads go on meanwhile" readme "$(timeout 2 cat "$M/README")"
check "other writes go on meanwhile" timeout 2 bash -c "echo y >'$M/free.txt'"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null && pass "approve" || fail "approve"
wait_for 5 test -s "$T/w1.rc" || fail "the held write never finished"
check_eq "the approved write succeeds" 0 "$(cat "$T/w1.rc")"
check_eq "and its content is there" new "$(cat "$M/held/a.txt")"
wait_for 5 audit_has '"target":"held/a.txt"' '"decision":"hold"' '"outcome":"approved"' \
	'"decided_by":"human"' '"intent":"update a"' '"trace_id":"0af7651916cd43dd8448eb211c80319c"' &&
	pass "audited: hold approved by a human, with intent and trace" || fail "approved record"
check "audit names the executable" audit_has '"target":"held/a.txt"' '"exe":"/usr/bin/bash"'

echo "# hold, denied"
(rc=0; bash -c "echo no >'$M/held/b.txt'" 2>/dev/null || rc=$?; echo $rc >"$T/w2.rc") &
id=$(pending_id held/b.txt) && pass "the create is held ($id)" || fail "nothing held"
"$AIRLOCK" deny "$id" --session "$S" >/dev/null && pass "deny" || fail "deny"
wait_for 5 test -s "$T/w2.rc" || fail "the held create never finished"
check_eq "the denied create fails" 1 "$(cat "$T/w2.rc")"
check_not "and nothing is there" test -e "$M/held/b.txt"
wait_for 5 audit_has '"target":"held/b.txt"' '"outcome":"denied"' &&
	pass "audited: hold denied" || fail "denied record"

echo "# hold, timed out"
start=$(date +%s)
check_not "an unanswered hold denies" bash -c "rm '$M/held/a.txt' 2>/dev/null"
secs=$(($(date +%s) - start))
check "after the hold timeout (${secs}s)" test "$secs" -ge 2 -a "$secs" -le 10
check "the file is still there" test -e "$M/held/a.txt"
wait_for 5 audit_has '"target":"held/a.txt"' '"op":"delete"' '"outcome":"timeout"' &&
	pass "audited: hold timed out" || fail "timeout record"

echo "# a held read"
(rc=0; cat "$M/secret.env" >"$T/r.out" 2>/dev/null || rc=$?; echo $rc >"$T/r.rc") &
id=$(pending_id secret.env) && pass "the read is held ($id)" || fail "read not held"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "approve read"
wait_for 5 test -s "$T/r.rc" || fail "the held read never finished"
check_eq "the approved read returns the content" "TOKEN=1" "$(cat "$T/r.out")"
check_not "plain reads are not audited" audit_has '"target":"README"'

kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || fail "still mounted"
check "audit log verifies" bash -c "\"\$0\" audit verify \"\$1\" >/dev/null" "$AIRLOCK" "$S/audit.jsonl"
check_eq "the project is untouched" old "$(cat "$P/held/a.txt")"
finish
