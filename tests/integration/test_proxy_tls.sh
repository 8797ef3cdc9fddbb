#!/usr/bin/env bash
# airlock-proxy and TLS: the SNI of a tunnel's ClientHello must name the
# CONNECT host (domain fronting is refused), and interception with the
# session's CA makes method and path rules apply to HTTPS, with the
# upstream verified against SSL_CERT_FILE (the test CA).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

make_certs
write_hosts
start_origin TLS --cert "$T/origin.pem" --key "$T/origin.key"
S=$T/session
mkdir -m 700 "$S"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny, hold_timeout: 5s}
tls:
  intercept: [api.test, bad.test]
net:
  - hosts: [api.test]
    methods: [GET]
    paths: [/hello]
    action: allow
    reason: reading the greeting is fine
  - hosts: [api.test]
    action: deny
    reason: only GET /hello on the API
  - hosts: [origin.test, other.test, bad.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
SSL_CERT_FILE=$T/ca.pem start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --session "$S"

# s_client through the proxy; prints what it saw.
sclient() {
	timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
		-connect "$1:$TLS_PORT" -servername "$2" -CAfile "$T/ca.pem" \
		-verify_return_error </dev/null 2>&1 || true
}

# SNI matches the CONNECT host: the handshake completes end to end.
out=$(sclient origin.test origin.test)
check_contains "matching SNI: handshake with the origin" "BEGIN CERTIFICATE" "$out"
check_contains "matching SNI: the origin's certificate verifies" "Verification: OK" "$out"
# SNI names another host than CONNECT: refused before any byte went up.
out=$(sclient origin.test other.test)
check_not "mismatching SNI: no handshake" grep -q "BEGIN CERTIFICATE" <<<"$out"
wait_for 10 grep -q '"rule":"builtin:tls-sni"' "$S/audit.jsonl"
check "mismatch audited as denied by builtin:tls-sni" grep -q \
	"\"target\":\"origin.test:$TLS_PORT\",\"decision\":\"deny\",\"decided_by\":\"[a-z]*\",\"rule\":\"builtin:tls-sni\"" \
	"$S/audit.jsonl"
out=$(curl -sS --max-time 10 --cacert "$T/ca.pem" -x "$PROXY" "https://origin.test:$TLS_PORT/hello")
check_eq "curl: matching SNI works" "hello from origin" "$out"

# Interception: the leaf comes from the session CA, made on the fly.
check "session CA created" test -s "$S/ca/ca.pem"
check_eq "CA key is 0600" "600" "$(stat -c %a "$S/ca/ca.key")"
out=$(timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
	-connect "api.test:$TLS_PORT" -servername api.test -CAfile "$S/ca/ca.pem" \
	-verify_return_error </dev/null 2>&1 || true)
check_contains "intercepted leaf verifies against the session CA" "Verification: OK" "$out"
check_contains "leaf issued by airlock" "airlock session CA" "$out"

I="curl -sS --max-time 10 --cacert $S/ca/ca.pem -x $PROXY"
out=$($I "https://api.test:$TLS_PORT/hello")
check_eq "intercepted GET on an allowed path" "hello from origin" "$out"
code=$($I -o "$T/post" -w '%{http_code}' --data-binary x "https://api.test:$TLS_PORT/echo")
check_eq "intercepted POST on a denied path: 403" "403" "$code"
check_contains "403 names the rule" "only GET /hello on the API" "$(cat "$T/post")"
code=$($I -o /dev/null -w '%{http_code}' "https://api.test:$TLS_PORT/headers")
check_eq "intercepted GET on another path: 403" "403" "$code"
# Keep-alive inside the intercepted tunnel.
out=$($I -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"https://api.test:$TLS_PORT/hello" "https://api.test:$TLS_PORT/hello" | tr '\n' ' ')
check_eq "two intercepted requests, one tunnel" "1 0 " "$out"
# The upstream's certificate must verify for the host: bad.test is not in
# the origin's certificate.
code=$($I -o "$T/bad" -w '%{http_code}' "https://bad.test:$TLS_PORT/hello")
check_eq "upstream that does not verify: 502" "502" "$code"
check "audit: intercepted request recorded by URL" grep -q \
	"\"op\":\"POST\",\"target\":\"https://api.test:$TLS_PORT/echo\",\"decision\":\"deny\"" "$S/audit.jsonl"
check "audit: intercepted GET allowed" grep -q \
	"\"op\":\"GET\",\"target\":\"https://api.test:$TLS_PORT/hello\",\"decision\":\"allow\"" "$S/audit.jsonl"

# tls.sni_check: false (reloaded) lets a mismatching SNI through.
sed -i 's/^defaults:/tls: {sni_check: false}\ndefaults:/; /^tls:$/,/^  intercept:/d' "$T/policy.yaml"
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "policy reloaded" "$T/proxy.err" || fail "no reload"
out=$(sclient origin.test other.test)
check_contains "sni_check off: a mismatching SNI passes" "BEGIN CERTIFICATE" "$out"
stop_proxy
finish
