#!/usr/bin/env bash
# airlock-proxy limits: a corpus of malformed requests (4xx, never a
# crash), a head over 64 KiB (431), 1,000 slowloris connections cut by the
# header timeout while a normal client is served, the connection cap
# (503), an upstream that never answers the connect (504), and the proxy
# refusing to connect to itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

write_hosts
start_origin ORIGIN
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - hosts: [origin.test, 127.0.0.1]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --threads 2 \
	--header-timeout 3 --connect-timeout 1 --max-conns 1500
C="python3 $PROXY_TESTS/proxy_clients.py"

# The corpus: the well-formed seeds are decided (403 by policy here, as
# host "a" is not allowed) or answered; every malformed one gets a 4xx.
$C corpus "$PROXY_PORT" "$AIRLOCK_SRC/tests/fuzz/corpus/http" >"$T/corpus.out"
while read -r name status; do
	case $name in
	bad-*) case $status in 4??) pass "malformed $name: $status" ;;
		*) fail "malformed $name: got '$status'" ;; esac ;;
	esac
done <"$T/corpus.out"
check_eq "origin-form request: 400" "400" "$(grep '^bad-origin-form ' "$T/corpus.out" | cut -d' ' -f2)"
check_eq "Content-Length with Transfer-Encoding: 400" "400" "$(grep '^bad-cl-te ' "$T/corpus.out" | cut -d' ' -f2)"
check_eq "HTTP/2 preface: 400" "400" "$(grep '^bad-h2-preface ' "$T/corpus.out" | cut -d' ' -f2)"
check "alive after the corpus" kill -0 "$PROXY_PID"

# Over 64 KiB of headers: 431.
{ printf 'GET http://origin.test/ HTTP/1.1\r\nX: '; head -c 70000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$T/big"
check_eq "head over 64 KiB: 431" "431" "$($C send "$PROXY_PORT" "$T/big")"
{ printf 'GET http://origin.test/ HTTP/1.1\r\n'; for i in $(seq 200); do printf 'X: y\r\n'; done; printf '\r\n'; } >"$T/many"
check_eq "too many header lines: 431" "431" "$($C send "$PROXY_PORT" "$T/many")"

# Slowloris: 1,000 connections trickle headers; a normal client is served
# meanwhile, and the header timeout (3 s) cuts every slow one.
$C slowloris "$PROXY_PORT" 1000 12 "http://origin.test:$ORIGIN_PORT/hello" >"$T/slow.out" &
slow=$!
sleep 1.5
ok=0
for i in 1 2 3 4 5; do
	out=$(pcurl --max-time 5 "http://origin.test:$ORIGIN_PORT/hello" 2>/dev/null || true)
	[ "$out" = "hello from origin" ] && ok=$((ok + 1))
	sleep 0.2
done
check_eq "normal client served during slowloris" "5" "$ok"
wait $slow || true
check_eq "every slowloris connection was cut" "1000" "$(cat "$T/slow.out")"

# The connection cap: --max-conns 1500; 1,600 idle clients, 100 refused.
busy=$($C idle "$PROXY_PORT" 1600)
check "connection cap answers 503 beyond --max-conns" test "$busy" -ge 100 -a "$busy" -le 110
out=$(pcurl "http://origin.test:$ORIGIN_PORT/hello")
check_eq "served again once the idle clients left" "hello from origin" "$out"

# An upstream whose backlog is full never completes the connect: 504.
$C backlog "$T/backlog.port" &
at_exit "kill $!"
wait_for 10 test -s "$T/backlog.port" || die "backlog listener"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(cat "$T/backlog.port")/")
check_eq "upstream connect timeout: 504" "504" "$code"

# The proxy never connects to itself, even where the policy allows it.
code=$(pcurl -o "$T/self" -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/")
check_eq "connecting to the proxy itself: 403" "403" "$code"
check_contains "named as builtin:self" "builtin:self" "$(cat "$T/self")"
check "alive at the end" kill -0 "$PROXY_PID"
stop_proxy
finish
