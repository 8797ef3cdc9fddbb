#!/usr/bin/env bash
# airlock watch in a running `airlock run` session, driven through a pipe:
# it approves a held file write and denies a held proxy request (the
# agent's outcome proves both), notes an action approved elsewhere while
# it was shown, leaves a skipped one held, and a second `watch --once`
# denies that one for the session (--remember): the agent's next
# identical write is refused without a new hold.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P/held"
echo "original" >"$P/held/a.txt"
start_origin ORIGIN
start_origin HELD
U=http://127.0.0.1:$ORIGIN_PORT
H=http://127.0.0.1:$HELD_PORT

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 120s}
fs:
  - paths: ["held/**"]
    ops: [create, write]
    action: hold
    reason: the test decides
net:
  - cidrs: [127.0.0.1/32]
    ports: [$HELD_PORT]
    action: hold
    reason: a person decides
  - cidrs: [127.0.0.1/32]
    action: allow
YAML

# The agent: one action at a time, each waiting for its decision.
cat >"$T/agent.sh" <<AGENT
if echo "approved" >held/a.txt; then echo "a=written"; else echo "a=refused"; fi
echo "net=\$(curl -s --max-time 150 -o /dev/null -w '%{http_code}' '$H/hello?held=1')"
echo "free=\$(curl -sS --max-time 20 '$U/hello')"
if echo "b" >held/b.txt; then echo "b=written"; else echo "b=refused"; fi
if echo "c" >held/c.txt; then echo "c=written"; else echo "c=refused"; fi
if echo "c again" >held/c.txt; then echo "c2=written"; else echo "c2=refused"; fi
AGENT

S=$AIRLOCK_STATE_DIR/sessions/w
"$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" --session-name w \
	-- bash "$T/agent.sh" >"$T/agent.out" 2>"$T/run.err" &
RUN_PID=$!
at_exit "kill $RUN_PID; $AIRLOCK end w"
both_up() { "$AIRLOCK" pending --session w >/dev/null 2>&1 && test -S "$S/proxy.sock"; }
wait_for 30 both_up || die "the session did not come up: $(cat "$T/run.err")"

# watch reads its answers from a FIFO that the test writes as it goes.
mkfifo "$T/in"
"$AIRLOCK" watch --session w <"$T/in" >"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
at_exit "kill $WATCH_PID"
exec 3>"$T/in"
shown() { grep -q "$1" "$T/watch.out"; }

wait_for 30 shown "held f1: fs [a-z]* held/a.txt" || die "watch did not show the write: $(cat "$T/watch.out" "$T/watch.err")"
out=$(cat "$T/watch.out")
check_contains "watch shows the rule's reason" "the test decides" "$out"
check_contains "watch shows the process" "process:  " "$out"
check_contains "watch shows the time left" " left" "$out"
check_contains "watch shows what airlock-fs says of the change" "  change:" "$out"
echo a >&3
check "watch approved f1" wait_for 30 shown "approved f1"
wait_for 30 shown "held p1: net GET" || die "watch did not show the request: $(cat "$T/watch.out")"
check_contains "the request's target is shown" "hello?held=1" "$(cat "$T/watch.out")"
echo d >&3
check "watch denied p1" wait_for 30 shown "denied p1"

# b.txt is approved from elsewhere while watch shows it.
wait_for 30 shown "held f[0-9]*: fs [a-z]* held/b.txt" || die "watch did not show b.txt: $(cat "$T/watch.out")"
idb=$(sed -n 's/.*held \(f[0-9]*\): fs [a-z]* held\/b.txt.*/\1/p' "$T/watch.out" | head -1)
check "another process approves $idb" "$AIRLOCK" approve "$idb" --session w >/dev/null
check "watch notes $idb was approved elsewhere" \
	wait_for 10 shown "$idb (.*held/b.txt) was approved elsewhere (by human"

# c.txt: skipped here; the watch's input ends and it exits 0.
wait_for 30 shown "held f[0-9]*: fs [a-z]* held/c.txt" || die "watch did not show c.txt: $(cat "$T/watch.out")"
idc=$(sed -n 's/.*held \(f[0-9]*\): fs [a-z]* held\/c.txt.*/\1/p' "$T/watch.out" | head -1)
echo k >&3
check "watch skipped $idc" wait_for 10 shown "skipped $idc; it stays held"
exec 3>&-
wait_for 10 bash -c "! kill -0 $WATCH_PID 2>/dev/null" || fail "watch did not end with its input"
rc=0
wait "$WATCH_PID" || rc=$?
check_eq "watch exits 0 when its input ends" 0 "$rc"
sed 's/^/    | /' "$T/watch.out"
check_contains "the skipped action is still pending" "$idc" "$("$AIRLOCK" pending --session w)"

# A second watch denies it for the session and exits (--once).
rc=0
out=$(echo D | timeout 60 "$AIRLOCK" watch --session w --once 2>&1) || rc=$?
check_eq "watch --once exits 0 after a decision" 0 "$rc"
check_contains "watch --once showed $idc" "held $idc: fs" "$out"
check_contains "and denied it for the session" "denied $idc (" "$out"
check_contains "remembered" "remembered for identical requests" "$out"

wait_for 60 bash -c "! kill -0 $RUN_PID 2>/dev/null" || die "the agent did not finish: $(cat "$T/agent.out")"
rc=0
wait "$RUN_PID" || rc=$?
check_eq "the run exits 0" 0 "$rc"
agent=$(cat "$T/agent.out")
check_contains "the approved write went through" "a=written" "$agent"
check_contains "the denied request got 403" "net=403" "$agent"
check_contains "an allowed request is not held" "free=hello from origin" "$agent"
check_contains "the write approved elsewhere went through" "b=written" "$agent"
check_contains "the write denied for the session was refused" "c=refused" "$agent"
check_contains "the identical write is refused too" "c2=refused" "$agent"
A=$S/audit.jsonl
check_eq "the second c.txt write was decided from memory" 1 \
	"$(grep '"target":"held/c.txt"' "$A" | grep -c '"reason":"remembered"')"
check "the audit says a human approved a.txt" grep -q \
	'"target":"held/a.txt","decision":"hold","outcome":"approved","decided_by":"human"' "$A"
check_eq "the project is unchanged" "original" "$(cat "$P/held/a.txt")"
diff=$("$AIRLOCK" diff --session w)
check_contains "the approved write is staged" "+approved" "$diff"
check_contains "so is b.txt" "held/b.txt" "$diff"
case $diff in *held/c.txt*) fail "the denied c.txt is staged" ;; *) pass "the denied c.txt is not staged" ;; esac

# No daemons: watch says so and exits 3.
rc=0
"$AIRLOCK" watch --session w </dev/null >/dev/null 2>"$T/w3.err" || rc=$?
check_eq "watch on an ended session exits 3" 3 "$rc"
check_contains "and says how to resume" "airlock resume w" "$(cat "$T/w3.err")"
check_eq "watch --bogus exits 2" 2 "$(set +e; "$AIRLOCK" watch --bogus 2>/dev/null; echo $?)"
check_contains "watch --help documents the keys" "deny for the session" "$("$AIRLOCK" watch --help)"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
