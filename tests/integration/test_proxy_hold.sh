#!/usr/bin/env bash
# airlock-proxy holds: a held request waits (no thread blocked: other
# requests keep flowing meanwhile) until `airlock approve`, `airlock deny`
# or the hold timeout decides it; a client that leaves while held is safe.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

write_hosts
start_origin ORIGIN
S=$T/session
mkdir -m 700 "$S"
# A long hold timeout for approve/deny (a loaded machine must not turn
# them into timeouts); the timeout case runs a second proxy.
write_policy() {
	cat >"$T/policy-$1.yaml" <<YAML
version: 1
defaults: {net: deny, hold_timeout: $1}
net:
  - hosts: [held.test]
    action: hold
    reason: a person decides
  - hosts: [origin.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
}
write_policy 60s
write_policy 2s
start_proxy --policy "$T/policy-60s.yaml" --hosts "$T/hosts" --session "$S" --threads 1
check "control socket is 0600" test "$(stat -c %a "$S/proxy.sock")" = 600
H=http://held.test:$ORIGIN_PORT/hello

# pending_id: the id of the one held request (bounded wait).
pending_id() {
	local id i
	for ((i = 0; i < 100; i++)); do
		id=$("$AIRLOCK" pending --session "$S" --json 2>/dev/null |
			sed -n 's/^\[{"id":"\(p[0-9]*\)".*/\1/p' || true)
		if [ -n "$id" ]; then echo "$id"; return 0; fi
		sleep 0.05
	done
	return 1
}

# pending_caller ID: "PID EXE CMDLINE" of held request ID once its caller
# is named.  The lookup runs beside the hold, in a thread of its own, so
# the name may come a little after the request shows (bounded wait).
pending_caller() {
	local i who
	for ((i = 0; i < 400; i++)); do
		who=$("$AIRLOCK" pending --session "$S" --json 2>/dev/null |
			python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["id"] == sys.argv[1] and a.get("pid"):
        print(a["pid"], a["exe"].rsplit("/", 1)[-1], a["cmdline"])' "$1" ||
			true)
		if [ -n "$who" ]; then echo "$who"; return 0; fi
		sleep 0.05
	done
	return 1
}

# Held, then approved.
pcurl -o "$T/a.out" -w '%{http_code}' "$H" >"$T/a.code" 2>&1 &
c=$!
id=$(pending_id) || die "no pending request"
check_contains "pending id is the proxy's" "p" "${id:0:1}"
# Who asked: the curl process at the other end of the client socket.
who=$(pending_caller "$id") || fail "the held request's caller is never named"
read -r who_pid who_exe who_cmd <<<"$who"
check_eq "a held request names its process" "curl" "$who_exe"
check_contains "and its command line" "$H" "$who_cmd"
check_eq "and its pid" "curl" "$(ps -o comm= -p "$who_pid" 2>/dev/null)"
check_contains "airlock pending shows it" "curl" \
	"$("$AIRLOCK" pending --session "$S")"
# One worker thread, and it is not blocked: another request is served now.
out=$(pcurl "http://origin.test:$ORIGIN_PORT/hello")
check_eq "other requests flow while one is held" "hello from origin" "$out"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "airlock approve"
wait $c
check_eq "held then approved: 200" "200" "$(cat "$T/a.code")"
check_eq "held then approved: body" "hello from origin" "$(cat "$T/a.out")"

# A crowd: 500 sleeping processes holding 20 descriptors each, so that
# the caller lookup (every process's /proc/PID/fd) runs for a while.  It
# runs in the lookup thread: the one worker serves another client
# meanwhile, and the held request is named when the lookup ends.  (The
# descriptors are opened once and inherited: 500 opens, not 8,500.)
(
	exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null \
		8</dev/null 9</dev/null 10</dev/null 11</dev/null 12</dev/null \
		13</dev/null 14</dev/null 15</dev/null 16</dev/null 17</dev/null \
		18</dev/null 19</dev/null
	for ((i = 0; i < 500; i++)); do
		sleep 120 &
		echo $!
	done
) >"$T/crowd.pids"
mapfile -t crowd <"$T/crowd.pids"
at_exit "kill ${crowd[*]}"
pcurl -o "$T/b.out" -w '%{http_code}' "$H" >"$T/b.code" 2>&1 &
c=$!
id=$(pending_id) || die "no pending request with a crowd"
out=$(pcurl "http://origin.test:$ORIGIN_PORT/hello")
check_eq "served while a held request's caller is looked up" \
	"hello from origin" "$out"
who=$("$AIRLOCK" pending --session "$S" --json | grep -c '"pid":[1-9]' || true)
echo "  info: held caller already named when the other request ended: $who"
who=$(pending_caller "$id") || fail "caller never named with a crowd"
check_contains "with a crowd, the held request still names curl" "curl" "$who"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "airlock approve"
wait $c
check_eq "held with a crowd then approved: body" "hello from origin" \
	"$(cat "$T/b.out")"
kill "${crowd[@]}" 2>/dev/null

# Held, then denied.
pcurl -o "$T/d.out" -w '%{http_code}' "$H" >"$T/d.code" 2>&1 &
c=$!
id=$(pending_id) || die "no pending request"
"$AIRLOCK" deny "$id" --session "$S" >/dev/null || fail "airlock deny"
wait $c
check_eq "held then denied: 403" "403" "$(cat "$T/d.code")"
check_contains "denial says it was held" "held for approval and denied" "$(cat "$T/d.out")"

# CONNECT held, then approved: the tunnel works after approval.
pcurl -p -o "$T/c.out" -w '%{http_code}' "$H" >"$T/c.code" 2>&1 &
c=$!
id=$(pending_id) || die "no pending CONNECT"
"$AIRLOCK" approve "$id" --remember --session "$S" >/dev/null ||
	fail "airlock approve --remember CONNECT"
wait $c
check_eq "held CONNECT then approved" "hello from origin" "$(cat "$T/c.out")"

# The same CONNECT again: approved at once (remembered), and its audit
# record still names the process, looked up beside the tunnel (which this
# client keeps open for 2 s after its first answer, so that the lookup is
# done when the tunnel's record is written at its end).
timeout 60 python3 "$PROXY_TESTS/proxy_clients.py" tunnel "$PROXY_PORT" \
	"held.test:$ORIGIN_PORT" "$T/tun.ready" "$T/tun.go" >"$T/tun.out" 2>&1 &
c=$!
wait_for 20 test -e "$T/tun.ready" || fail "remembered CONNECT: $(cat "$T/tun.out")"
sleep 2
touch "$T/tun.go"
wait $c
check_eq "remembered CONNECT: answered at once, tunnel works" \
	"$(printf 'connect: 200\nfirst: 200 hello from origin\nsecond: 200 hello from origin')" \
	"$(cat "$T/tun.out")"

# A client that leaves while held: the later approval finds no one, and
# the proxy keeps serving.
pcurl "$H" >/dev/null 2>&1 &
c=$!
id=$(pending_id) || die "no pending request"
kill $c 2>/dev/null; wait $c 2>/dev/null || true
sleep 0.2
"$AIRLOCK" approve "$id" --session "$S" >/dev/null 2>&1 || true
out=$(pcurl "http://origin.test:$ORIGIN_PORT/hello")
check_eq "proxy serves after a held client left" "hello from origin" "$out"
# Held, then timed out: a second proxy whose hold timeout is 2s.
stop_proxy
start_proxy --policy "$T/policy-2s.yaml" --hosts "$T/hosts" --session "$S" --threads 1
start=$(date +%s)
code=$(pcurl -o "$T/t.out" -w '%{http_code}' "$H")
took=$(($(date +%s) - start))
check_eq "held then timed out: 403" "403" "$code"
check_contains "timeout named in the answer" "timed out" "$(cat "$T/t.out")"
check "timed out after the hold timeout" test "$took" -ge 1 -a "$took" -le 15
# A client that leaves while held, and its hold times out later.
pcurl "$H" >/dev/null 2>&1 &
c=$!
pending_id >/dev/null || die "no pending request"
kill $c 2>/dev/null; wait $c 2>/dev/null || true
sleep 3
check "proxy alive after a late timeout" kill -0 "$PROXY_PID"
out=$(pcurl "http://origin.test:$ORIGIN_PORT/hello")
check_eq "and still serving" "hello from origin" "$out"

# The audit trail: held requests with their outcome.
A=$S/audit.jsonl
check "audit: approved hold" grep -q '"decision":"hold","outcome":"approved","decided_by":"human"' "$A"
check "audit: denied hold" grep -q '"decision":"hold","outcome":"denied","decided_by":"human"' "$A"
check "audit: timed-out hold" grep -q '"decision":"hold","outcome":"timeout","decided_by":"timeout"' "$A"
check "audit chain verifies" "$AIRLOCK" audit verify --session "$S"
check "audit: a held request's record names its process" \
	grep -q '"decision":"hold","outcome":"approved".*"exe":"[^"]*curl"' "$A"
check_contains "audit: a remembered tunnel's record names its process" \
	'python3' "$(grep 'remembered: a person decided' "$A" | grep '"op":"connect"')"
stop_proxy

# The caller lookup is not the worker's: under strace, the thread that
# reads the processes' /proc/PID/fd is another than the one that accepts
# the clients (with one worker), so a long search stalls no connection.
S2=$T/session-traced
mkdir -m 700 "$S2"
strace -f -qq -o "$T/strace.out" -e trace=accept4,openat \
	"$AIRLOCK_PROXY" --listen 127.0.0.1:0 --policy "$T/policy-60s.yaml" \
	--hosts "$T/hosts" --session "$S2" --threads 1 \
	>"$T/traced.out" 2>"$T/traced.err" &
tpid=$!
at_exit "kill $tpid"
wait_for 20 grep -q "listening on" "$T/traced.out" ||
	die "traced airlock-proxy did not start: $(cat "$T/traced.err")"
tport=$(sed -n 's/^airlock-proxy: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/traced.out")
curl -sS --max-time 60 -x "http://127.0.0.1:$tport" -o /dev/null "$H" 2>/dev/null &
c=$!
S_SAVED=$S
S=$S2
id=$(pending_id) || die "no pending request through the traced proxy"
who=$(pending_caller "$id") || fail "traced: the caller is never named"
check_contains "traced: the held request names curl" "curl" "$who"
"$AIRLOCK" deny "$id" --session "$S2" >/dev/null || fail "traced: airlock deny"
S=$S_SAVED
wait $c 2>/dev/null || true
kill -TERM "$(pgrep -P "$tpid" | head -1)" 2>/dev/null
wait_for 15 bash -c "! kill -0 $tpid 2>/dev/null" || kill "$tpid"
wait "$tpid" 2>/dev/null || true
accepting=$(awk '/ accept4\(/ && !/= -1/ {print $1}' "$T/strace.out" | sort -u)
searching=$(awk '/ openat\(.*"[0-9]+\/fd"/ {print $1}' "$T/strace.out" | sort -u)
check "traced: a worker accepted the client" test -n "$accepting"
check "traced: some thread searched /proc/PID/fd" test -n "$searching"
check_eq "traced: no accepting thread searched /proc" "" \
	"$(comm -12 <(echo "$accepting") <(echo "$searching") | tr -d '\n')"
finish
