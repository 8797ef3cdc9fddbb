#!/usr/bin/env bash
# airlock sessions / end / resume round trip, exit status pass-through and
# argument errors of airlock run (all --no-isolate: the namespaces have
# their own test, test_run_isolated.sh).
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P"
echo "one" >"$P/a.txt"
S=$AIRLOCK_STATE_DIR/sessions/rt
at_exit "$AIRLOCK end rt"
run() { "$AIRLOCK" run --no-isolate --project "$P" "$@" 2>>"$T/run.err"; }
status() { set +e; "$@"; echo $?; set -e; }

# exit statuses
check_eq "exit 42 passes through" 42 "$(status run --session-name e1 -- sh -c 'exit 42')"
check_eq "killed by SIGTERM: 143" 143 "$(status run --session-name e2 -- sh -c 'kill -TERM $$')"
check_eq "bad session name: 125" 125 "$(status run --session-name .hidden -- true)"
check_eq "session name with a slash: 125" 125 "$(status run --session-name a/b -- true)"
check_eq "taken session name: 125" 125 "$(status run --session-name e1 -- true)"
check_eq "no command: 125" 125 "$(status run --session-name e3)"
check_eq "bad policy: 125" 125 "$(status run --policy /nonexistent.yaml -- true)"
check "run --help" "$AIRLOCK" run --help
check_contains "help documents the exit status" "125 when airlock run" "$("$AIRLOCK" run --help)"

# a generated id
run -- true
check "generated id YYYYMMDD-HHMMSS-xxxx" bash -c \
	"ls '$AIRLOCK_STATE_DIR/sessions' | grep -Eq '^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}\$'"

# run, then resume without a command: mounted, with the staged content
check_eq "first run" 0 "$(status run --session-name rt -- sh -c 'echo two > a.txt')"
out=$("$AIRLOCK" sessions)
check "sessions lists rt as ended" grep -Eq '^rt +ended .* 1  '"$P"'$' <<<"$out"
check "resume mounts it" "$AIRLOCK" resume rt
check "the view is mounted" mountpoint -q "$S/view"
check_eq "the view shows the staged edit" "two" "$(cat "$S/view/a.txt")"
check_eq "the project does not" "one" "$(cat "$P/a.txt")"
check "state running" grep -q '"state": "running"' "$S/session.json"
j=$("$AIRLOCK" sessions --json)
check_eq "sessions --json: rt running, 1 staged" "running 1" "$(python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["id"] == "rt":
        print(s["state"], s["staged"])' <<<"$j")"
check_not "a second resume refuses" "$AIRLOCK" resume rt
check_not "commit refuses while mounted" "$AIRLOCK" commit --session rt

# kill -9 of airlock-fs: stale; end clears the dead mount and the proxy
kill -9 "$(cat "$S/fs.pid")"
wait_for 5 bash -c "'$AIRLOCK' sessions | grep -Eq '^rt +stale'"
check "sessions says stale" bash -c "'$AIRLOCK' sessions | grep -Eq '^rt +stale'"
check "end stops the rest" "$AIRLOCK" end rt
check_not "no mount left" mountpoint -q "$S/view"
check_not "no proxy left" test -e "$S/proxy.pid"
check "state ended" grep -q '"state": "ended"' "$S/session.json"

# kill -9 of airlock-proxy: stale; resume restarts both without an end
check "resume again" "$AIRLOCK" resume rt
kill -9 "$(cat "$S/proxy.pid")"
wait_for 5 bash -c "'$AIRLOCK' sessions | grep -Eq '^rt +stale'"
check "a dead proxy makes it stale" bash -c "'$AIRLOCK' sessions | grep -Eq '^rt +stale'"
check "resume of a stale session" "$AIRLOCK" resume rt
check "running again" bash -c "'$AIRLOCK' sessions | grep -Eq '^rt +running'"
check "the proxy answers" curl -s --max-time 5 -o /dev/null \
	-x "http://$(sed -n 's/.*"proxy_listen": "\(.*\)",/\1/p' "$S/session.json")" \
	http://127.0.0.1:1/
check_eq "the view still shows the staged edit" "two" "$(cat "$S/view/a.txt")"
check "end" "$AIRLOCK" end rt
check_not "no mount left after the second end" mountpoint -q "$S/view"

# resume with a command: the staged work is still there, and grows
check_eq "resume -- CMD" 5 "$(status "$AIRLOCK" resume rt --no-isolate -- \
	sh -c 'test "$(cat a.txt)" = two && echo three > c.txt && exit 5' 2>>"$T/run.err")"
check_not "unmounted after resume -- CMD" mountpoint -q "$S/view"
check "commit after the round trip" "$AIRLOCK" commit --session rt
check_eq "committed edit" "two" "$(cat "$P/a.txt")"
check_eq "committed new file" "three" "$(cat "$P/c.txt")"
check_not "end of a missing session fails" "$AIRLOCK" end nosuch
check_eq "resume of a missing session -- CMD: 125" 125 \
	"$(status "$AIRLOCK" resume nosuch -- true 2>/dev/null)"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
