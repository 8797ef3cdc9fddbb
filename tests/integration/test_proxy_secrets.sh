#!/usr/bin/env bash
# airlock-proxy and credential sentinels (--secrets-fd): a secret's host
# gets the real value in place of the sentinel (headers, Basic auth, the
# URL; the body only with body: true), and a sentinel on its way anywhere
# else is refused with 403, reaches nothing, and is audited as an
# exfiltration attempt.  The real values appear in no audit record or log,
# and a response that echoes them has them overwritten, same length.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

make_certs
write_hosts
# echo_origin NAME [--cert C --key K]: an echoing origin; sets NAME_PORT,
# logs each request received whole in $T/NAME.req.
echo_origin() {
	local name=$1 pid
	shift
	python3 "$PROXY_TESTS/proxy_echo.py" --port-file "$T/$name.port" \
		--log "$T/$name.req" "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	at_exit "kill $pid"
	wait_for 10 test -s "$T/$name.port" || die "origin $name did not start: $(cat "$T/$name.log")"
	printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}
# last_req NAME: the last request origin NAME received whole (what the
# client's answer no longer shows: the values in it are redacted).
last_req() {
	awk 'BEGIN { RS = "\n----\n" } { r = $0 } END { printf "%s", r }' "$T/$1.req"
}
echo_origin TA --cert "$T/origin.pem" --key "$T/origin.key" # api.test, origin.test
echo_origin TB --cert "$T/origin.pem" --key "$T/origin.key" # other.test
echo_origin PA                                              # plain origin.test
echo_origin PB                                              # plain other.test

# An OTLP/HTTP sink that keeps the raw bodies: the export must carry the
# refusals and none of the values.
python3 - "$T/otlp.port" "$T/otlp.raw" >"$T/otlp.log" 2>&1 <<'PY' &
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
PY
at_exit "kill $!"
wait_for 10 test -s "$T/otlp.port" || die "otlp sink did not start: $(cat "$T/otlp.log")"
OTLP_PORT=$(cat "$T/otlp.port")

S=$T/session
mkdir -m 700 "$S"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny, hold_timeout: 5s}
tls:
  intercept: [other.test]
secrets:
  - name: api_token
    env: API_TOKEN
    hosts: [api.test]
  - name: upload_token
    env: UPLOAD_TOKEN
    hosts: [origin.test]
    body: true
net:
  - hosts: [api.test, origin.test, other.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
telemetry:
  otlp:
    endpoint: "http://127.0.0.1:$OTLP_PORT"
YAML
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
SA=airlock-sentinel-$(openssl rand -hex 16)
SB=airlock-sentinel-$(openssl rand -hex 16)
RA=realA-$(openssl rand -hex 12)
RB=realB-$(openssl rand -hex 12)
SET=$(printf '0 %s %s\n1 %s %s\n' "$SA" "$(hex "$RA")" "$SB" "$(hex "$RB")")

# Bad --secrets-fd data refuses to start (exit 2), naming no value.
# bad_start TEXT [END]: TEXT and then END (a newline unless given).
bad_start() {
	local rc=0
	timeout 10 "$AIRLOCK_PROXY" --listen 127.0.0.1:0 --policy "$T/policy.yaml" \
		--secrets-fd 3 3< <(printf '%s%s' "$1" "${2-$'\n'}") >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	echo "$rc"
}
check_eq "malformed secrets: exit 2" 2 "$(bad_start "0 $SA zz$(hex "$RA")")"
check_contains "malformed secrets: says why" "line 1 is malformed" "$(cat "$T/bad.err")"
check_eq "index beyond the policy: exit 2" 2 "$(bad_start "7 $SA $(hex "$RA")")"
check_contains "index beyond the policy: says why" "beyond the policy" "$(cat "$T/bad.err")"
check_eq "unterminated line: exit 2" 2 "$(bad_start "0 $SA $(hex "$RA")" "")"
check_not "no value in the start-up errors" grep -q "$RA" "$T/bad.err"
rc=0
timeout 10 "$AIRLOCK_PROXY" --listen 127.0.0.1:0 --policy "$T/policy.yaml" \
	--secrets-fd 9 >/dev/null 2>"$T/bad.err" || rc=$?
check_eq "a closed --secrets-fd: exit 2" 2 "$rc"

# No CA: a secret's host cannot be intercepted, so its CONNECT is refused
# (never tunnelled blind).
sed '/^tls:/,/intercept:/d' "$T/policy.yaml" >"$T/noca.yaml"
SSL_CERT_FILE=$T/ca.pem start_proxy --policy "$T/noca.yaml" --hosts "$T/hosts" \
	--secrets-fd 3 3< <(printf '%s\n' "$SET")
out=$(pcurl -o /dev/null -w '%{http_connect}' "https://api.test:$TA_PORT/x" 2>/dev/null || true)
check_eq "no CA: CONNECT to a secret's host refused" 403 "$out"
stop_proxy

SSL_CERT_FILE=$T/ca.pem start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" \
	--session "$S" --secrets-fd 3 3< <(printf '%s\n' "$SET")
I="pcurl --cacert $S/ca/ca.pem"

# A: the value in place of the sentinel, in every header and the URL; api.test
# is intercepted although tls.intercept does not name it.
$I -H "Authorization: Bearer $SA" -H "X-Api-Key: key=$SA;" \
	"https://api.test:$TA_PORT/v1/x?key=$SA&b=1" >/dev/null
out=$(last_req TA)
check_contains "A: Bearer gets the value" "Authorization: Bearer $RA" "$out"
check_contains "A: a custom header gets the value" "X-Api-Key: key=$RA;" "$out"
check_contains "A: the URL query gets the value" "GET /v1/x?key=$RA&b=1 HTTP/1.1" "$out"
check_not "A: no sentinel reached the origin" grep -q airlock-sentinel <<<"$out"
$I -u "me:$SA" "https://api.test:$TA_PORT/basic" >/dev/null
out=$(last_req TA)
check_contains "A: Basic credentials get the value" \
	"Authorization: Basic $(printf 'me:%s' "$RA" | base64 -w0)" "$out"
# A's body keeps its sentinel (api_token has no body: true).
out=$($I --data-binary "t=$SA" "https://api.test:$TA_PORT/post")
check_contains "A: a body keeps the sentinel of a secret without body: true" "t=$SA" "$out"
check_not "A: ... and does not get the value" grep -q "$RA" <<<"$out"
# body: true: the value in the body, Content-Length fixed up.
$I --data-binary "up=$SB&x=1" "https://origin.test:$TA_PORT/up" >/dev/null
out=$(last_req TA)
check_contains "body: true: the body gets the value" "up=$RB&x=1" "$out"
check_contains "body: true: Content-Length fixed up" "Content-Length: $((${#RB} + 7))" "$out"
# ... a chunked body too, over plain http://, across chunk boundaries.
printf 'up=%s' "$SB" | pcurl -H 'Transfer-Encoding: chunked' --data-binary @- \
	"http://origin.test:$PA_PORT/chunked" >/dev/null
out=$(last_req PA)
check_contains "body: true: a chunked body gets the value" "up=$RB" "$out"
$I -H "X-Up: $SB" "https://origin.test:$TA_PORT/h" >/dev/null
out=$(last_req TA)
check_contains "a header to the body secret's host gets its value" "X-Up: $RB" "$out"

# A client that waits for "100 Continue" before its body gets it from the
# proxy (the head waits for the body), and the origin sees no Expect.
$I --expect100-timeout 60 -H 'Expect: 100-continue' --data-binary "up=$SB" \
	"https://origin.test:$TA_PORT/expect" >/dev/null
out=$(last_req TA)
check_contains "Expect: 100-continue: the body gets the value" "up=$RB" "$out"
check_not "Expect: 100-continue: answered by the proxy, not passed on" \
	grep -qi '^Expect:' <<<"$out"
# Too long to be read whole for a body: true host: 413.
head -c $((9 << 20)) /dev/zero >"$T/nine"
code=$($I -o /dev/null -w '%{http_code}' --data-binary @"$T/nine" "https://origin.test:$TA_PORT/big")
check_eq "a body over 8 MiB to a body: true host: 413" 413 "$code"
# A streamed body (over 64 KiB) to A passes intact, its sentinel of a
# secret without body: true kept, across many reads.
{ head -c 300000 /dev/zero | tr '\0' 'a'; printf '%s' "$SA"; head -c 300000 /dev/zero | tr '\0' 'b'; } >"$T/long"
$I --data-binary @"$T/long" "https://api.test:$TA_PORT/long" >"$T/long.echo"
check_eq "the streamed body arrived whole, its sentinel kept" \
	"$(sha256sum <"$T/long")" "$(tail -c "$(wc -c <"$T/long")" "$T/long.echo" | sha256sum)"
check "the streamed body went with its own Content-Length" \
	grep -q "^Content-Length: $(wc -c <"$T/long")" "$T/long.echo"

# Echoes: an origin that repeats the request (headers back as headers,
# the body back as the body) hands the client no real value: each is
# overwritten in place with a same-length redaction, in the head, in a
# Content-Length body cut into 5-byte writes, in a chunked body cut into
# 1..13-byte chunks, and in a body that ends with the connection.  curl
# reads every answer to its end (a length gone wrong would fail it).
R=[airlock:redacted]
# redaction N: what a value of N bytes is overwritten with.
redaction() {
	local r=$R
	while [ ${#r} -lt "$1" ]; do r+=x; done
	printf '%s' "${r:0:$1}"
}
RDA=$(redaction ${#RA})
RDB=$(redaction ${#RB})
B64=$(printf 'me:%s' "$RA" | base64 -w0)
for mode in headers headers,split headers,chunked headers,close; do
	rc=0
	$I -D "$T/echo.h" -o "$T/echo.b" -H "X-Echo: $mode" -H "Authorization: Bearer $SA" \
		--compressed "https://api.test:$TA_PORT/echo?key=$SA" || rc=$?
	check_eq "echo ($mode): the answer reads whole" 0 "$rc"
	check_not "echo ($mode): no real value in the answer's headers" grep -q "$RA" "$T/echo.h"
	check_not "echo ($mode): no real value in the answer's body" grep -q "$RA" "$T/echo.b"
	check "echo ($mode): the echoed header is redacted" \
		grep -qF "X-Echo-Authorization: Bearer $RDA" "$T/echo.h"
	check "echo ($mode): the echoed body is redacted" \
		grep -qF "Authorization: Bearer $RDA" "$T/echo.b"
	check "echo ($mode): the echoed URL is redacted" grep -qF "GET /echo?key=$RDA HTTP/1.1" "$T/echo.b"
	check "echo ($mode): the origin was asked for no coding" \
		grep -qi '^Accept-Encoding: identity' <(last_req TA)
	check "echo ($mode): the origin got the value" grep -qF "Bearer $RA" <(last_req TA)
done
$I -D "$T/echo.h" -o "$T/echo.b" -H 'X-Echo: headers,split' -H "Authorization: Bearer $SA" \
	"https://api.test:$TA_PORT/len"
check_eq "echo: Content-Length is the body's length" \
	"$(wc -c <"$T/echo.b")" "$(tr -d '\r' <"$T/echo.h" | sed -n 's/^Content-Length: //Ip')"
# Basic credentials come back encoded: the token is redacted too.
$I -D "$T/echo.h" -o "$T/echo.b" -H 'X-Echo: headers,chunked' -u "me:$SA" \
	"https://api.test:$TA_PORT/basic-echo"
check_not "echo: no encoded Basic credential in the answer" grep -qF "$B64" "$T/echo.h" "$T/echo.b"
check "echo: the Basic credential is redacted" grep -qF "Basic $(redaction ${#B64})" "$T/echo.h"
# A body: true value echoed in the body (plain http:// too).
out=$($I -H 'X-Echo: chunked' --data-binary "up=$SB&x=1" "https://origin.test:$TA_PORT/up")
check_contains "echo: the body's value is redacted" "up=$RDB&x=1" "$out"
check_not "echo: the body's value is not in the answer" grep -qF "$RB" <<<"$out"
out=$(pcurl -H 'X-Echo: split' --data-binary "up=$SB" "http://origin.test:$PA_PORT/up")
check_contains "echo plain: the body's value is redacted" "up=$RDB" "$out"
check_not "echo plain: the body's value is not in the answer" grep -qF "$RB" <<<"$out"
for mode in headers,chunked headers,close; do
	rc=0
	pcurl -D "$T/echo.h" -o "$T/echo.b" -H "X-Echo: $mode" -H "X-Up: $SB" \
		"http://origin.test:$PA_PORT/h" || rc=$?
	check_eq "echo plain ($mode): the answer reads whole" 0 "$rc"
	check_not "echo plain ($mode): no real value in the answer" grep -qF "$RB" "$T/echo.h" "$T/echo.b"
	check "echo plain ($mode): the echoed header is redacted" grep -qF "X-Echo-X-Up: $RDB" "$T/echo.h"
	check "echo plain ($mode): the echoed body is redacted" grep -qF "X-Up: $RDB" "$T/echo.b"
done
# A request that carried no value is passed on as it came: no redaction,
# its own Accept-Encoding.
out=$($I -H 'X-Echo: headers' -H 'Accept-Encoding: br' "https://api.test:$TA_PORT/plain")
check_contains "no value sent: the answer is untouched" "Accept-Encoding: br" "$out"
check_not "no value sent: nothing redacted" grep -qF "$R" <<<"$out"
# A compressed answer cannot be checked: cut, never passed on.
rc=0
code=$($I -o "$T/echo.b" -w '%{http_code}' -H 'X-Echo: gzip' -H "Authorization: Bearer $SA" \
	"https://api.test:$TA_PORT/gz") || rc=$?
check_eq "echo gzip: a compressed answer is cut (502)" 502 "$code"
check "echo gzip: none of the compressed body passed, the proxy says why" \
	grep -q "^airlock: the upstream compressed a response" "$T/echo.b"

# B: every way out is refused, and B receives nothing.
code=$($I -o "$T/b1" -w '%{http_code}' -H "Authorization: Bearer $SA" "https://other.test:$TB_PORT/x")
check_eq "B: a header with A's sentinel: 403" 403 "$code"
check_contains "B: 403 names the secret and host" \
	"a credential sentinel for secret api_token may not go to other.test" "$(cat "$T/b1")"
code=$($I -o /dev/null -w '%{http_code}' "https://other.test:$TB_PORT/x?k=$SA")
check_eq "B: the sentinel in the URL: 403" 403 "$code"
code=$($I -o /dev/null -w '%{http_code}' --data-binary "k=$SB" "https://other.test:$TB_PORT/x")
check_eq "B: the sentinel in a body: 403" 403 "$code"
code=$($I -o /dev/null -w '%{http_code}' -u "u:$SA" "https://other.test:$TB_PORT/x")
check_eq "B: the sentinel in Basic credentials: 403" 403 "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' -H "X-K: $SA" "http://other.test:$PB_PORT/x")
check_eq "B plain: a header: 403" 403 "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' --data-binary "k=$SA" "http://other.test:$PB_PORT/x")
check_eq "B plain: a small body: 403" 403 "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' -H "X-K: $SB" "http://api.test:$PA_PORT/x")
check_eq "one secret's sentinel to another secret's host: 403" 403 "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://other.test:$PB_PORT/x?k=airlock-sentinel-00000000000000000000000000000000")
check_eq "a sentinel of no secret of this session: 403" 403 "$code"
code=$(pcurl -o /dev/null -w '%{http_code}' "http://$SA.other.test:$PB_PORT/x")
check_eq "a sentinel in a host name: 403" 403 "$code"
out=$(pcurl -o /dev/null -w '%{http_connect}' "https://$SA:443/" 2>/dev/null || true)
check_eq "CONNECT to the sentinel itself: 403" 403 "$out"

# Streamed bodies: the sentinel cut in two by the client's writes and by
# chunk framing (chunked), and a body too long to be read whole first.
split_post() { # split_post PORT chunked|length
	python3 - "$PROXY_PORT" "$1" "$2" "$SA" <<'PY'
import socket, sys, time
pport, port, mode, sent = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
s = socket.create_connection(("127.0.0.1", pport), timeout=10)
pad = b"x" * 70000
body = pad + sent + b"!"
cut = len(pad) + 20  # inside the sentinel
head = "POST http://other.test:%s/up HTTP/1.1\r\nHost: other.test\r\n" % port
if mode == "chunked":
    s.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
    for part in (body[:cut], body[cut:]):
        s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        time.sleep(0.2)
    s.sendall(b"0\r\n\r\n")
else:
    s.sendall(head.encode() + b"Content-Length: %d\r\n\r\n" % len(body))
    s.sendall(body[:cut])
    time.sleep(0.2)
    s.sendall(body[cut:])
data = b""
try:
    while not data.endswith(b"\n") or b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            break
        data += b
except OSError:
    pass
print(data.split(b"\r\n")[0].decode(errors="replace"))
PY
}
out=$(split_post "$PB_PORT" chunked)
check_contains "plain chunked body, sentinel across chunks: 403" "403" "$out"
out=$(split_post "$PB_PORT" length)
check_contains "plain streamed body, sentinel across reads: 403" "403" "$out"

check_not "B received no request at all" test -s "$T/TB.req"
check_not "plain B received no complete request" test -s "$T/PB.req"

# A reload keeps the set; a policy with fewer secrets is refused.
sed '/name: upload_token/,/body: true/d' "$T/policy.yaml" >"$T/fewer.yaml"
cp "$T/policy.yaml" "$T/orig.yaml"
cp "$T/fewer.yaml" "$T/policy.yaml"
kill -HUP "$PROXY_PID"
check "a reload with fewer secrets is refused" wait_for 10 grep -q "reload refused" "$T/proxy.err"
cp "$T/orig.yaml" "$T/policy.yaml"
$I --data-binary "up=$SB" "https://origin.test:$TA_PORT/up" >/dev/null
out=$(last_req TA)
check_contains "after the refused reload the old policy still replaces" "up=$RB" "$out"
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "policy reloaded" "$T/proxy.err" || fail "reload of the same policy"
$I -H "Authorization: Bearer $SA" "https://api.test:$TA_PORT/again" >/dev/null
out=$(last_req TA)
check_contains "after a reload the values are still put back" "Bearer $RA" "$out"

stop_proxy

# The audit: each refusal an exfiltration attempt; no value anywhere.
n=$(grep -c '"decision":"deny".*exfiltration attempt: a credential sentinel for secret' "$S/audit.jsonl" || true)
check "refusals audited as exfiltration attempts ($n)" test "$n" -ge 12
check "an exfiltration record names the secret's rule" grep -q \
	'"rule":"[^"]*policy.yaml:[0-9]*","reason":"exfiltration attempt' "$S/audit.jsonl"
check_eq "no real value in the session dir (audit included)" 0 \
	"$(grep -rl -e "$RA" -e "$RB" "$S" | wc -l)"
check_eq "no real value in the proxy's output" 0 \
	"$(cat "$T/proxy.err" "$T/proxy.out" | grep -c -e "$RA" -e "$RB" || true)"
n=$(grep -c '"op":"redact".*"decision":"deny".*"reason":"secret api_token echoed by api.test: redacted"' "$S/audit.jsonl" || true)
# One per response that repeated api_token's value, however often it
# did: A's first two, the four echo modes, the length and Basic echoes,
# and the one after the reload (the gzip one was cut before any).
check_eq "each echo audited once, as a redaction" 9 "$n"
check "a body's echo audited as a redaction" grep -q \
	'"op":"redact".*"reason":"secret upload_token echoed by origin.test: redacted"' "$S/audit.jsonl"
check "the compressed answer's cut is audited" grep -q \
	'"reason":"the response of api.test to a request that carried secret api_token is compressed and cannot be checked for it: cut"' "$S/audit.jsonl"
check "the OTLP export carries the refusals" grep -q "exfiltration attempt" "$T/otlp.raw"
check_eq "no real value in the OTLP export" 0 "$(grep -c -a -e "$RA" -e "$RB" "$T/otlp.raw" || true)"
check "the values did reach A" grep -q "$RA" "$T/TA.req"
finish
