#!/usr/bin/env bash
# airlock-proxy SIGHUP: a reload changes the decisions of new requests
# while an open tunnel keeps working; a broken policy is refused and the
# old one stays.  Then --daemon: the parent prints the port and exits,
# the pid file names the daemon, SIGTERM stops it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

write_hosts
start_origin ORIGIN
allow_policy() {
	cat <<YAML
version: 1
defaults: {net: deny}
net:
  - hosts: [origin.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
}
allow_policy >"$T/policy.yaml"
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts"
O=origin.test:$ORIGIN_PORT

python3 "$PROXY_TESTS/proxy_clients.py" tunnel "$PROXY_PORT" "$O" \
	"$T/ready" "$T/go" >"$T/tunnel.out" 2>&1 &
tun=$!
wait_for 15 test -s "$T/ready" || die "tunnel did not open: $(cat "$T/tunnel.out")"
check_contains "tunnel open" "connect: 200" "$(cat "$T/tunnel.out")"
check_contains "request inside the tunnel" "first: 200 hello from origin" "$(cat "$T/tunnel.out")"

# Reload with a policy that denies the origin.
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - hosts: [origin.test]
    action: deny
    reason: reloaded to deny
YAML
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "policy reloaded" "$T/proxy.err" || fail "no reload message"
code=$(pcurl -o "$T/after" -w '%{http_code}' "http://$O/hello")
check_eq "new request sees the new policy" "403" "$code"
check_contains "named by the new rule" "reloaded to deny" "$(cat "$T/after")"
touch "$T/go"
wait $tun || true
check_contains "the open tunnel keeps working" "second: 200 hello from origin" "$(cat "$T/tunnel.out")"

# A broken policy is refused with its position; the last good one stays.
printf 'version: 1\nnet:\n  - hosts: [x]\n    action: maybe\n' >"$T/policy.yaml"
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "reload failed" "$T/proxy.err" || fail "no refusal message"
check "the refusal names file:line:column" grep -q "policy.yaml:4:" "$T/proxy.err"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://$O/hello")
check_eq "the previous policy still decides" "403" "$code"
allow_policy >"$T/policy.yaml"
kill -HUP "$PROXY_PID"
wait_for 10 bash -c "[ \$(grep -c 'policy reloaded' '$T/proxy.err') -ge 2 ]" || fail "second reload"
check_eq "allowed again after a good reload" "hello from origin" "$(pcurl "http://$O/hello")"

# A reload applies the new policy's hold timeout to new holds: the first
# policy had the default (120 s), so a held request that is denied by
# timeout well within curl's 30 s took the reloaded 1 s.
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny, hold_timeout: 1s}
net:
  - hosts: [origin.test]
    action: hold
YAML
kill -HUP "$PROXY_PID"
wait_for 10 bash -c "[ \$(grep -c 'policy reloaded' '$T/proxy.err') -ge 3 ]" || fail "hold reload"
code=$(pcurl --max-time 30 -o "$T/held" -w '%{http_code}' "http://$O/hello")
check_eq "held by the reloaded policy, then denied" "403" "$code"
check_contains "by the reloaded hold timeout" "hold timed out" "$(cat "$T/held")"
allow_policy >"$T/policy.yaml"
kill -HUP "$PROXY_PID"
wait_for 10 bash -c "[ \$(grep -c 'policy reloaded' '$T/proxy.err') -ge 4 ]" || fail "third reload"

# SIGTERM drains: a download in flight completes, new clients are refused.
pcurl --limit-rate 10M -o "$T/drain.out" "http://$O/big?mb=20" 2>/dev/null &
dl=$!
sleep 0.5
kill -TERM "$PROXY_PID"
sleep 0.3
check_not "stopped accepting" curl -sS --max-time 3 --noproxy '' -x "$PROXY" -o /dev/null "http://$O/hello"
wait $dl || true
check_eq "the request in flight completed" "$((20 << 20))" "$(stat -c %s "$T/drain.out")"
wait_for 15 bash -c "! kill -0 $PROXY_PID 2>/dev/null" || fail "did not exit after draining"
stop_proxy

# --daemon: the parent prints the real port and exits 0.
S=$T/session
mkdir -m 700 "$S"
"$AIRLOCK_PROXY" --daemon --listen 127.0.0.1:0 --policy "$T/policy.yaml" \
	--hosts "$T/hosts" --session "$S" >"$T/daemon.out" 2>"$T/daemon.err"
check_eq "--daemon parent exits 0" "0" "$?"
port=$(sed -n 's/^airlock-proxy: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/daemon.out")
check "--daemon prints the port" test -n "$port"
wait_for 5 test -s "$S/proxy.pid" || fail "no proxy.pid"
dpid=$(cat "$S/proxy.pid")
at_exit "kill $dpid"
check "the pid file names a live daemon" kill -0 "$dpid"
out=$(curl -sS --max-time 10 -x "http://127.0.0.1:$port" "http://$O/hello")
check_eq "the daemon serves" "hello from origin" "$out"
kill -TERM "$dpid"
wait_for 15 bash -c "! kill -0 $dpid 2>/dev/null" || fail "daemon did not stop"
check_not "pid file removed" test -e "$S/proxy.pid"
finish
