#!/usr/bin/env bash
# Held actions of an isolated `airlock run`, decided from a second process
# with `airlock approve` / `airlock deny`: a held file write denied (the
# agent's write fails), a held request approved (the agent gets the
# origin's answer) and another denied (403), and `approve --remember`: the
# identical request that follows is allowed without a new hold.
# (test_run_isolated.sh approves a held write of a --user agent;
# test_run_watch.sh decides through `airlock watch`, with deny --remember.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P/held"
echo "original" >"$P/held/d.txt"
start_origin HELD
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
YAML

cat >"$T/agent.sh" <<AGENT
if echo "changed" >held/d.txt; then echo "d=written"; else echo "d=refused"; fi
echo "one=\$(curl -sS --max-time 150 '$H/hello?one')"
echo "two=\$(curl -s --max-time 150 -o /dev/null -w '%{http_code}' '$H/hello?two')"
echo "again1=\$(curl -sS --max-time 150 '$H/hello?again')"
echo "again2=\$(curl -sS --max-time 150 '$H/hello?again')"
AGENT

S=$AIRLOCK_STATE_DIR/sessions/ap
"$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" --session-name ap \
	-- bash "$T/agent.sh" >"$T/agent.out" 2>"$T/run.err" &
RUN_PID=$!
at_exit "kill $RUN_PID; $AIRLOCK end ap"

# held_id TEXT: the id of the held action whose target ends with TEXT.
held_id() {
	"$AIRLOCK" pending --session ap --json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["target"].endswith(sys.argv[1]):
        print(a["id"])
        break' "$1"
}
is_held() { [ -n "$(held_id "$1")" ]; }
# decide TEXT VERB [--remember]: wait for it to be held, then decide it.
decide() {
	local id
	wait_for 60 is_held "$1" || { fail "$1 was never held: $(cat "$T/run.err")"; return 1; }
	id=$(held_id "$1")
	"$AIRLOCK" "$2" "$id" "${@:3}" --session ap
}

out=$(decide held/d.txt deny)
check_contains "a second process denies the held write" "denied f1 (write held/d.txt)" "$out"
# Who asked, across the room's own network namespace: the agent's curl.
held_exe() {
	"$AIRLOCK" pending --session ap --json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["target"].endswith(sys.argv[1]):
        print(a["exe"].rsplit("/", 1)[-1], a["cmdline"])
        break' "$1"
}
wait_for 60 is_held "hello?one" || fail "hello?one was never held"
check_contains "a held request from the room names its process" "curl " "$(held_exe "hello?one")"
check_contains "and its command line" "hello?one" "$(held_exe "hello?one")"
out=$(decide "hello?one" approve)
check_contains "it approves the first held request" "approved p1 (GET $H/hello?one)" "$out"
out=$(decide "hello?two" deny)
check_contains "it denies the second" "denied p2 (GET $H/hello?two)" "$out"
out=$(decide "hello?again" approve --remember)
check_contains "approve --remember" "approved p3 (GET $H/hello?again); remembered" "$out"

wait_for 60 bash -c "! kill -0 $RUN_PID 2>/dev/null" || die "the agent did not finish: $(cat "$T/agent.out")"
rc=0
wait "$RUN_PID" || rc=$?
check_eq "the run exits 0" 0 "$rc"
agent=$(cat "$T/agent.out")
check_contains "the denied write failed in the agent" "d=refused" "$agent"
check_contains "the approved request reached the origin" "one=hello from origin" "$agent"
check_contains "the denied request got 403" "two=403" "$agent"
check_contains "the request approved with --remember went through" "again1=hello from origin" "$agent"
check_contains "so did the identical one after it" "again2=hello from origin" "$agent"
A=$S/audit.jsonl
check_eq "both identical requests are audited as approved" 2 \
	"$(grep -F '"target":"'"$H"'/hello?again"' "$A" | grep -c '"outcome":"approved"')"
check_eq "but only the first was held" 1 "$(grep -c 'held GET .*/hello?again as p' "$S/proxy.log")"
check_not "no fourth request was ever held" grep -q 'as p4$' "$S/proxy.log"
check_eq "and the second says it was remembered" 1 \
	"$(grep -F '"target":"'"$H"'/hello?again"' "$A" | grep -c '"reason":"remembered: ')"
check "the audit names the human who denied the write" grep -q \
	'"target":"held/d.txt","decision":"hold","outcome":"denied","decided_by":"human"' "$A"
check_contains "the summary counts the holds" "actions held:   5 (approved 3, denied 2, timed out 0)" \
	"$(cat "$T/run.err")"
check_eq "the project is unchanged" "original" "$(cat "$P/held/d.txt")"
check_eq "nothing is staged" "" "$("$AIRLOCK" diff --session ap --name-status)"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
