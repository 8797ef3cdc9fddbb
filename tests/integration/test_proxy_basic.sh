#!/usr/bin/env bash
# airlock-proxy: allowed and denied requests, plain HTTP forwarding
# (keep-alive, bodies both ways, chunked, hop-by-hop headers, Via), CONNECT
# to a local HTTPS origin with real curl, and the audit records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

make_certs
write_hosts
start_origin ORIGIN
start_origin TLS --cert "$T/origin.pem" --key "$T/origin.key"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny, hold_timeout: 5s}
net:
  - hosts: [denied.test]
    action: deny
    reason: the test denies it
  - hosts: [origin.test, 127.0.0.1]
    action: allow
    reason: the test origin
  - cidrs: [127.0.0.1/32]
    action: allow
    reason: the test origin's address
YAML
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --audit "$T/audit.jsonl" --threads 2

O=http://origin.test:$ORIGIN_PORT

# Allowed, plain HTTP.
out=$(pcurl "$O/hello")
check_eq "GET through the proxy" "hello from origin" "$out"

# Hop-by-hop headers go, Via comes, end-to-end headers stay.
out=$(pcurl -H "Connection: X-Hop" -H "X-Hop: secret" -H "Keep-Alive: 5" \
	-H "X-Keep: yes" -U agent7:pw "$O/headers")
check_contains "Via added" "Via: 1.1 airlock" "$out"
check_contains "end-to-end header kept" "X-Keep: yes" "$out"
check_not "Connection-named header removed" grep -qi "x-hop" <<<"$out"
check_not "Proxy-Authorization removed" grep -qi "proxy-authorization" <<<"$out"
check_not "Keep-Alive removed" grep -qi "keep-alive: 5" <<<"$out"
check_contains "origin-form request line upstream" "GET /headers HTTP/1.1" "$out"

# Keep-alive: two requests, one connection to the proxy.
out=$(pcurl -o /dev/null -o /dev/null -w '%{num_connects}\n' "$O/hello" "$O/hello" | tr '\n' ' ')
check_eq "keep-alive reuses the client connection" "1 0 " "$out"

# A traceparent header is recorded with the request.
pcurl -o /dev/null -H "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" "$O/hello?traced"

# Request bodies: Content-Length and chunked; response: chunked and large.
head -c 3000000 /dev/urandom >"$T/body"
want="$(stat -c %s "$T/body") $(sha256sum "$T/body" | cut -d' ' -f1)"
out=$(pcurl --data-binary @"$T/body" "$O/echo")
check_eq "POST body with Content-Length arrives intact" "$want" "$out"
out=$(pcurl -H "Transfer-Encoding: chunked" --data-binary @"$T/body" "$O/echo")
check_eq "chunked POST body arrives intact" "$want" "$out"
out=$(pcurl "$O/chunked?n=2000" | wc -l)
check_eq "chunked response streamed" "2000" "$out"
out=$(pcurl "$O/big?mb=64" | wc -c)
check_eq "64 MiB response" "$((64 << 20))" "$out"
out=$(pcurl -I "$O/hello" | tr -d '\r' | grep -i '^content-length')
check_eq "HEAD answered without a body" "Content-Length: 18" "$out"
out=$(pcurl -0 "$O/hello")
check_eq "HTTP/1.0 client" "hello from origin" "$out"

# Denied: 403 naming the rule, its reason and how to ask.
code=$(pcurl -o "$T/denied" -w '%{http_code}' "http://denied.test/x")
check_eq "denied host gets 403" "403" "$code"
check_contains "403 names the rule" "policy.yaml:4" "$(cat "$T/denied")"
check_contains "403 gives the reason" "the test denies it" "$(cat "$T/denied")"
check_contains "403 says how to ask" "airlock approve" "$(cat "$T/denied")"
# A refused request whose body the proxy never reads still gets its 403
# (a lingering close, not a reset).
code=$(pcurl -H 'Expect:' -o /dev/null -w '%{http_code}' --data-binary @"$T/body" \
	"http://denied.test/upload")
check_eq "denied POST with a 3 MB body: 403" "403" "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://unlisted.test/")
check_eq "default net: deny" "403" "$code"

# CONNECT to the HTTPS origin, with curl's own proxy variables.
out=$(HTTPS_PROXY=$PROXY curl -sS --max-time 20 --cacert "$T/ca.pem" \
	"https://origin.test:$TLS_PORT/hello")
check_eq "HTTPS through a CONNECT tunnel" "hello from origin" "$out"
out=$(HTTPS_PROXY=$PROXY curl -sS --max-time 20 --cacert "$T/ca.pem" \
	"https://origin.test:$TLS_PORT/big?mb=32" | wc -c)
check_eq "32 MiB through the tunnel" "$((32 << 20))" "$out"
code=$(HTTPS_PROXY=$PROXY curl -sS --max-time 20 -o /dev/null -w '%{http_connect}' \
	--cacert "$T/ca.pem" "https://denied.test:$TLS_PORT/" 2>/dev/null || true)
check_eq "CONNECT to a denied host: 403" "403" "$code"
# NO_PROXY bypasses the proxy: nothing is recorded for it.
out=$(NO_PROXY=127.0.0.1 HTTP_PROXY=$PROXY http_proxy=$PROXY curl -sS --max-time 20 \
	"http://127.0.0.1:$ORIGIN_PORT/hello?bypass")
check_eq "NO_PROXY goes direct" "hello from origin" "$out"

# Upstream refused: 502.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
code=$(pcurl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$closed/")
check_eq "refused upstream: 502" "502" "$code"

# Audit: one record per request, with bytes and the deciding rule.
wait_for 5 grep -q '"op":"connect"' "$T/audit.jsonl"
check "audit: allowed GET with bytes" grep -q \
	"\"op\":\"GET\",\"target\":\"http://origin.test:$ORIGIN_PORT/hello\",\"decision\":\"allow\"" "$T/audit.jsonl"
check "audit: denied with its rule" grep -q \
	'"target":"http://denied.test/x","decision":"deny","decided_by":"policy","rule":"[^"]*policy.yaml:4"' "$T/audit.jsonl"
line=$(grep "\"op\":\"connect\",\"target\":\"origin.test:$TLS_PORT\"" "$T/audit.jsonl" | tail -1)
check_contains "audit: tunnel allowed" '"decision":"allow"' "$line"
bin=$(sed -n 's/.*"bytes_in":\([0-9]*\).*/\1/p' <<<"$line")
check "audit: tunnel bytes in counted" test "${bin:-0}" -gt $((32 << 20))
check "audit: identity from Proxy-Authorization" grep -q '"identity":"agent7"' "$T/audit.jsonl"
check_not "audit: NO_PROXY request not seen" grep -q bypass "$T/audit.jsonl"
check "audit: traceparent recorded" grep -q \
	'"target":"http://origin.test:[0-9]*/hello?traced".*"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331"' "$T/audit.jsonl"
stop_proxy

# proxy.auth: required -> 407 without Proxy-Authorization; a Unix socket
# listener next to the TCP one.
cat >>"$T/policy.yaml" <<YAML
proxy: {auth: required}
YAML
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --listen "unix:$T/proxy.sock"
out=$(pcurl -sS -o /dev/null -D - "$O/hello" | tr -d '\r')
check_contains "auth required: 407" "407 Proxy Authentication Required" "$out"
check_contains "auth required: Proxy-Authenticate" "Proxy-Authenticate: Basic" "$out"
check_eq "auth required: with credentials" "hello from origin" "$(pcurl -U agent7:pw "$O/hello")"
check_contains "listening on the Unix socket too" "listening on unix:$T/proxy.sock" "$(cat "$T/proxy.out")"
out=$(python3 "$PROXY_TESTS/proxy_clients.py" unix "$T/proxy.sock" "$O/hello")
check_eq "request through the Unix socket (407 without auth)" "407" "${out%% *}"
stop_proxy
check "SIGTERM: exits" bash -c "! kill -0 $PROXY_PID 2>/dev/null"
finish
