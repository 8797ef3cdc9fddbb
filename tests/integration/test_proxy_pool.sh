#!/usr/bin/env bash
# airlock-proxy's upstream connection pool: a plain http:// request on a
# new client connection reuses the idle upstream connection an earlier
# request left, a reused connection the server closed is retried once on
# a new one (a request without a body only), and the policy still decides
# every request first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

# An origin that names the connection and the request on it: "conn=N
# req=K".  /flaky closes a reused connection (its second request and
# later) without answering, as a server does whose keep-alive timeout
# fires just as the proxy reuses the connection.
cat >"$T/origin.py" <<'PY'
import socket, socketserver, sys, threading
lock = threading.Lock()
conns = [0]
class H(socketserver.StreamRequestHandler):
    def handle(self):
        with lock:
            conns[0] += 1
            n = conns[0]
        k = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return
            length = 0
            while True:
                h = self.rfile.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            if length:
                self.rfile.read(length)
            k += 1
            if b"/flaky" in line and k >= 2:
                return
            body = b"conn=%d req=%d\n" % (n, k)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
            self.wfile.flush()
class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
s = S(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
start_script_origin origin "$T/origin.py"
OPORT=$origin_PORT
loopback_policy "$T/policy.yaml"
# One worker: every client connection meets the same pool.
start_proxy --policy "$T/policy.yaml" --threads 1
U=http://127.0.0.1:$OPORT

check_eq "first request: a new upstream connection" "conn=1 req=1" "$(pcurl "$U/id")"
check_eq "a new client reuses the idle upstream" "conn=1 req=2" "$(pcurl "$U/id")"
check_eq "and again" "conn=1 req=3" "$(pcurl "$U/id")"

# The pooled connection is closed by the origin as it is reused: the
# request goes again on a new connection, and the client sees only 200.
check_eq "a closed reused connection is retried anew" "conn=2 req=1" "$(pcurl "$U/flaky")"
check_eq "the new connection is pooled in turn" "conn=2 req=2" "$(pcurl "$U/id")"

# A request with a body is not sent twice: the client gets 502.
code=$(pcurl -o /dev/null -w '%{http_code}' --data-binary 'once' "$U/flaky")
check_eq "a request with a body is not retried" "502" "$code"

# An idle pooled connection does not bypass the policy: reload to deny
# the origin, and a new request is refused before anything goes up.
check_eq "pooled again" "conn=3 req=1" "$(pcurl "$U/id")"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - cidrs: [127.0.0.1/32]
    action: deny
    reason: reloaded to deny
YAML
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "policy reloaded" "$T/proxy.err" || fail "no reload"
code=$(pcurl -o /dev/null -w '%{http_code}' "$U/id")
check_eq "the policy decides before a pooled connection is used" "403" "$code"
stop_proxy

# A kept-alive client's next request to the same host goes over its
# upstream connection only after that address was checked for the new
# request: a cidrs: rule with methods: may deny what the first allowed.
write_hosts
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - cidrs: [127.0.0.1/32]
    methods: [POST]
    action: deny
    reason: nothing is posted to this address
  - hosts: [origin.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
start_proxy --policy "$T/policy.yaml" --threads 1 --hosts "$T/hosts"
O=http://origin.test:$OPORT
out=$(pcurl -o /dev/null -w '%{http_code} %{num_connects}\n' "$O/id" \
	--next --max-time 20 --noproxy '' -x "$PROXY" -o /dev/null \
	-w '%{http_code} %{num_connects}\n' "$O/id" \
	--next --max-time 20 --noproxy '' -x "$PROXY" -o "$T/post" \
	-w '%{http_code} %{num_connects}\n' --data-binary x "$O/id")
check_eq "GET, GET again and POST on one client connection" \
	"$(printf '200 1\n200 0\n403 0')" "$out"
check_contains "the POST is refused by the address rule" \
	"nothing is posted to this address" "$(cat "$T/post")"
stop_proxy
finish
