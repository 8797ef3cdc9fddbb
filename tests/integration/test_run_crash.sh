#!/usr/bin/env bash
# kill -9 of airlock-fs, then of airlock-proxy, in the middle of an
# isolated `airlock run`: `airlock sessions` names the dead daemon, the
# agent is cut off (never let through), `airlock resume ID` brings the
# session back with the work the agent saw fsynced before the kill, and a
# new agent run in the resumed session works.  (test_run_sessions.sh
# kills the daemons of a session resumed without an agent.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P"
echo "original" >"$P/a.txt"
start_origin ORIGIN
U=http://127.0.0.1:$ORIGIN_PORT
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 60s}
net:
  - cidrs: [127.0.0.1/32]
    action: allow
YAML

# session_field ID KEY: a field of `airlock sessions --json` for ID.
session_field() {
	"$AIRLOCK" sessions --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["id"] == sys.argv[1]:
        print(s.get(sys.argv[2], ""))' "$1" "$2"
}
is_state() { [ "$(session_field "$1" state)" = "$2" ]; }

# start_agent ID SCRIPT: airlock run in the background, its stdin a FIFO
# (fd 3 here) so that the test says when the agent goes on.
start_agent() {
	rm -f "$T/$1.in"
	mkfifo "$T/$1.in"
	"$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" --session-name "$1" \
		-- bash "$2" <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
	RUN_PID=$!
	at_exit "kill $RUN_PID; $AIRLOCK end $1"
	exec 3>"$T/$1.in"
}

# finish_agent: let it go on, wait for the run (bounded), set RUN_RC.
finish_agent() {
	echo go >&3
	exec 3>&-
	wait_for 60 bash -c "! kill -0 $RUN_PID 2>/dev/null" || fail "the run did not end"
	RUN_RC=0
	wait "$RUN_PID" || RUN_RC=$?
}

echo "# kill -9 of airlock-fs"
cat >"$T/agent1.sh" <<AGENT
printf 'acknowledged\n' >a.txt
python3 -c 'import os; fd = os.open("a.txt", os.O_RDONLY); os.fsync(fd)' && echo "synced"
printf 'new file\n' >n.txt && sync n.txt && echo "synced-n"
read -r go
cat a.txt >/dev/null 2>&1 && echo "view-still-works" || echo "view-gone"
echo "net=\$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' '$U/hello')"
exit 0
AGENT
start_agent c1 "$T/agent1.sh"
S1=$AIRLOCK_STATE_DIR/sessions/c1
wait_for 30 grep -q synced-n "$T/c1.out" || die "the agent did not sync: $(cat "$T/c1.out" "$T/c1.err")"
check "running before the kill" is_state c1 running
check_eq "both daemons alive" "alive alive" "$(session_field c1 fs) $(session_field c1 proxy)"
kill -9 "$(cat "$S1/fs.pid")"
check "sessions calls it stale" wait_for 10 is_state c1 stale
check_eq "and names airlock-fs as dead" "dead alive" "$(session_field c1 fs) $(session_field c1 proxy)"
check "the table says fs is dead" bash -c "'$AIRLOCK' sessions | grep -Eq '^c1 +stale +fs dead'"
out=$("$AIRLOCK" pending --session c1 2>&1 || true)
check_contains "pending notes airlock-fs is not there" "fs.sock: nothing answers" "$out"
rc=0
"$AIRLOCK" resume c1 >"$T/c1-resume.out" 2>&1 || rc=$?
check_eq "resume refuses while the agent still runs" 2 "$rc"
check_contains "and says why" "still runs" "$(cat "$T/c1-resume.out")"
finish_agent
check_eq "the agent's run exits 0" 0 "$RUN_RC"
out=$(cat "$T/c1.out")
check_contains "the agent lost its view (no fallback to the project)" "view-gone" "$out"
check_contains "its proxy still answered" "net=200" "$out"
check_eq "the project is untouched" "original" "$(cat "$P/a.txt")"
check "ended after the run" is_state c1 ended
check_not "no dead mount left" mountpoint -q "$S1/view"
check "resume brings it back" "$AIRLOCK" resume c1
check "running again" is_state c1 running
check_eq "both daemons alive again" "alive alive" "$(session_field c1 fs) $(session_field c1 proxy)"
check_eq "the fsynced edit survived" "acknowledged" "$(cat "$S1/view/a.txt")"
check_eq "the fsynced new file survived" "new file" "$(cat "$S1/view/n.txt")"
diff=$("$AIRLOCK" diff --session c1)
check_contains "airlock diff shows the edit" "+acknowledged" "$diff"
check_contains "and the new file" "+new file" "$diff"
check "end" "$AIRLOCK" end c1
rc=0
"$AIRLOCK" resume c1 -- sh -c 'test "$(cat a.txt)" = acknowledged && echo more >>n.txt &&
	curl -sS --max-time 10 '"$U/hello"'' >"$T/c1-2.out" 2>"$T/c1-2.err" || rc=$?
check_eq "a new agent run in the resumed session exits 0" 0 "$rc"
check_contains "its request went through the new proxy" "hello from origin" "$(cat "$T/c1-2.out")"
check_contains "its write is staged" "+more" "$("$AIRLOCK" diff --session c1)"

echo "# kill -9 of airlock-proxy"
cat >"$T/agent2.sh" <<AGENT
printf 'before the proxy died\n' >p.txt && sync p.txt && echo "synced"
read -r go
echo "net=\$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' '$U/hello')"
echo "direct=\$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' '$U/hello')"
printf 'after\n' >q.txt && echo "view-still-works"
exit 0
AGENT
start_agent c2 "$T/agent2.sh"
S2=$AIRLOCK_STATE_DIR/sessions/c2
wait_for 30 grep -q synced "$T/c2.out" || die "the agent did not sync: $(cat "$T/c2.out" "$T/c2.err")"
kill -9 "$(cat "$S2/proxy.pid")"
check "sessions calls it stale" wait_for 10 is_state c2 stale
check_eq "and names airlock-proxy as dead" "alive dead" "$(session_field c2 fs) $(session_field c2 proxy)"
check "the table says the proxy is dead" bash -c "'$AIRLOCK' sessions | grep -Eq '^c2 +stale +proxy dead'"
finish_agent
check_eq "the agent's run exits 0" 0 "$RUN_RC"
out=$(cat "$T/c2.out")
check_contains "no way out through the dead proxy" "net=000" "$out"
check_contains "nor around it" "direct=000" "$out"
check_contains "the view kept working" "view-still-works" "$out"
check "ended after the run" is_state c2 ended
check "resume brings it back" "$AIRLOCK" resume c2
check "running again" is_state c2 running
check "the new proxy answers" curl -sS --max-time 5 -o /dev/null \
	-x "http://$(sed -n 's/.*"proxy_listen": "\(.*\)",/\1/p' "$S2/session.json")" "$U/hello"
diff=$("$AIRLOCK" diff --session c2)
check_contains "the work before the kill is staged" "+before the proxy died" "$diff"
check_contains "and the work after it" "+after" "$diff"
check "end" "$AIRLOCK" end c2
rc=0
"$AIRLOCK" resume c2 -- curl -sS --max-time 10 "$U/hello" >"$T/c2-2.out" 2>"$T/c2-2.err" || rc=$?
check_eq "a new agent run after the proxy crash exits 0" 0 "$rc"
check_contains "and reaches the origin through the proxy" "hello from origin" "$(cat "$T/c2-2.out")"
check "commit the session" "$AIRLOCK" commit --session c2
check_eq "committed" "before the proxy died" "$(cat "$P/p.txt")"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
