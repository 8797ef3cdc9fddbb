#!/usr/bin/env bash
# The OTLP export: audit records reach a real OTLP/HTTP receiver that
# decodes them with OpenTelemetry's own OTLP definitions (the protobuf
# types of the npm package @opentelemetry/otlp-transformer, see
# tests/otlp-receiver/), with their semantic-convention attributes, the
# resource attributes and the caller's trace context; a 503 is retried; a
# refused export is dropped, counted and recorded as "otlp.dropped" in the
# audit log; header values never reach stderr; https verifies the
# collector's certificate (chain and name) and refuses one that fails.
. "$(dirname "$0")/lib.sh"

EMIT=$AIRLOCK_BUILD/tests/helpers/otlp_emit
[ -x "$EMIT" ] || die "$EMIT is not built (make)"
command -v python3 >/dev/null || die "python3 is missing"

. "$(dirname "$0")/otlp_lib.sh"
otlp_receiver_install

SECRET="k-$$-do-not-print"
TP_ENV=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
TP_HDR=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

# 1. The export, with one 503 first.
start_receiver ok --fail-first 1 --expect-header "Authorization: Bearer $SECRET"
# The header comes from the environment: a secret on the command line
# would be exported as process.command_line.
export OTLP_AUTH="Authorization: Bearer $SECRET"
rc=0
out=$(cd "$T" && TRACEPARENT=$TP_ENV timeout 60 "$EMIT" -E OTLP_AUTH \
	-t "$TP_HDR" "http://127.0.0.1:$PORT" "$T/ok-audit.jsonl" \
	2>"$T/emit-ok.err") || rc=$?
check_eq "otlp_emit exits 0 (nothing dropped)" 0 "$rc"
check_eq "3 exported after one retry" "exported 3 dropped 0 requests 2 retries 1" "$out"
check_not "no header value on stderr, in the log or the export" \
	grep -q "$SECRET" "$T/emit-ok.err" "$T/ok-audit.jsonl" "$T/ok.jsonl"
check_contains "the 503 was reported once" "the collector answered 503; retrying" "$(cat "$T/emit-ok.err")"

# The decoded records against what the audit log holds.
check "decoded records match the audit log" python3 - "$T/ok.jsonl" "$T/ok-audit.jsonl" <<'EOF'
import calendar, json, sys

out = [json.loads(l) for l in open(sys.argv[1])]
audit = [json.loads(l) for l in open(sys.argv[2])]
errors = [o for o in out if o["kind"] == "error"]
assert not errors, errors
reqs = [o for o in out if o["kind"] == "request"]
assert [r["status"] for r in reqs] == [503, 200], reqs
assert reqs[1]["records"] == 3, reqs
recs = [o for o in out if o["kind"] == "record"]
assert len(recs) == 3 and len(audit) == 3, (recs, audit)

def ns(ts):  # "2026-11-25T20:24:25.123456789Z"
    sec, frac = ts[:-1].split(".")
    t = calendar.timegm(tuple(int(x) for x in sec.replace("T", "-").replace(":", "-").split("-")) + (0, 0, 0))
    return str(t * 10**9 + int(frac.ljust(9, "0")))

for r, a in zip(recs, audit):
    assert r["resource"] == {"service.name": "airlock", "service.version": r["resource"]["service.version"],
                             "airlock.session.id": "emit-session",
                             "airlock.project": "/srv/sample-project"}, r["resource"]
    assert r["scope"]["name"] == "airlock", r["scope"]
    at = r["attributes"]
    assert at["airlock.seq"] == a["seq"], (at, a)
    assert at["airlock.hash"] == a["hash"], (at, a)
    assert r["timeUnixNano"] == ns(a["ts"]), (r["timeUnixNano"], a["ts"])
    assert at["process.pid"] == a["pid"], at
    assert at["process.executable.path"] == a["exe"], at
    assert at["process.command_line"] == a["cmdline"], at
    assert at["airlock.op"] == a["op"] and at["airlock.decision"] == a["decision"], at
    assert at["airlock.decided_by"] == a["decided_by"], at
    assert at["airlock.rule"] == a["rule"], at

fs, conn, get = recs
# The fs write: file.path, and the trace of the process's TRACEPARENT.
assert fs["attributes"]["file.path"] == "src/main.c", fs
assert fs["attributes"]["airlock.component"] == "fs", fs
assert fs["attributes"]["airlock.bytes_out"] == 42, fs
assert fs["traceId"] == "0af7651916cd43dd8448eb211c80319c", fs
assert fs["spanId"] == "b7ad6b7169203331", fs
assert fs["severityText"] == "INFO" and fs["severityNumber"] == 9, fs
assert "server.address" not in fs["attributes"], fs
# The CONNECT: server.address/port, method, no trace context.
c = conn["attributes"]
assert c["server.address"] == "blocked.example" and c["server.port"] == 443, c
assert c["http.request.method"] == "CONNECT", c
assert c["airlock.decision"] == "deny" and c["airlock.reason"] == "not an allowed host", c
assert c["airlock.identity"] == "agent-1", c
assert "traceId" not in conn and "spanId" not in conn, conn
assert conn["severityText"] == "WARN", conn
assert "file.path" not in c and "url.full" not in c, c
# The GET of a URL: url.full, its server, the traceparent header's ids.
g = get["attributes"]
assert g["url.full"] == "http://127.0.0.1:8080/pkg/a-1.0.tgz", g
assert g["server.address"] == "127.0.0.1" and g["server.port"] == 8080, g
assert g["http.request.method"] == "GET", g
assert g["airlock.decision"] == "hold" and g["airlock.outcome"] == "approved", g
assert g["airlock.decided_by"] == "human", g
assert g["airlock.reason"] == 'held: "unknown" origin', g
assert g["airlock.bytes_in"] == 1234 and g["airlock.duration_ms"] == 57, g
assert get["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736", get
assert get["spanId"] == "00f067aa0ba902b7", get
assert get["body"].startswith("proxy GET http://127.0.0.1:8080/pkg/a-1.0.tgz: hold, approved by human"), get
EOF

# 2. A collector that refuses (401: wrong key) is not retried; the batch
# is dropped, counted, and recorded in the audit log as otlp.dropped.
start_receiver refuse --expect-header "Authorization: Bearer other"
rc=0
out=$(cd "$T" && timeout 60 "$EMIT" -E OTLP_AUTH "http://127.0.0.1:$PORT" \
	"$T/refuse-audit.jsonl" 2>"$T/emit-refuse.err") || rc=$?
check_eq "otlp_emit exits 1 when records were dropped" 1 "$rc"
check_contains "the drop is counted" "exported 0 dropped" "$out"
check_contains "a 401 is not retried" "requests 2 retries 0" "$out"
check_contains "the failure names the endpoint and status" \
	"http://127.0.0.1:$PORT: the collector answered 401; dropping the batch" "$(cat "$T/emit-refuse.err")"
check_not "no header value on stderr or in the log" \
	grep -q "$SECRET" "$T/emit-refuse.err" "$T/refuse-audit.jsonl"
check "the audit log records otlp.dropped" python3 - "$T/refuse-audit.jsonl" "$PORT" <<'EOF'
import json, sys

audit = [json.loads(l) for l in open(sys.argv[1])]
drops = [a for a in audit if a["op"] == "otlp.dropped"]
assert len(drops) == 1, audit
assert drops[0]["reason"] == "3 records not exported to http://127.0.0.1:%s: the collector answered 401" % sys.argv[2], drops
EOF
check "the receiver saw only refusals" python3 -c '
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
assert out and all(o["kind"] == "request" and o["status"] == 401 for o in out), out
' "$T/refuse.jsonl"

# 3. https: a CA made here, a certificate for localhost and 127.0.0.1,
# and one for another name.
command -v openssl >/dev/null || die "openssl is missing"
mkcert() { # mkcert NAME SAN: a key and certificate signed by the test CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
			-CAcreateserial -days 2 -extfile <(printf 'subjectAltName=%s\n' "$2") \
			-out "$T/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=airlock test CA" -days 2 -keyout "$T/ca.key" -out "$T/ca.pem" \
	2>/dev/null || die "cannot make a test CA"
mkcert collector "DNS:localhost,IP:127.0.0.1" || die "cannot make a certificate"
mkcert other "DNS:other.example" || die "cannot make a certificate"

start_receiver tls --tls-cert "$T/collector.pem" --tls-key "$T/collector.key"
TLS_PORT=$PORT
for host in 127.0.0.1 localhost; do
	rc=0
	out=$(cd "$T" && TRACEPARENT=$TP_ENV timeout 60 "$EMIT" -C "$T/ca.pem" \
		"https://$host:$TLS_PORT" "$T/tls-$host-audit.jsonl" 2>"$T/emit-tls.err") || rc=$?
	check_eq "https to $host with the CA: exported" \
		"0 exported 3 dropped 0 requests 1 retries 0" "$rc $out"
done
check "https: the receiver decoded 6 records, no errors" python3 -c '
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
assert not [o for o in out if o["kind"] == "error"], out
recs = [o for o in out if o["kind"] == "record"]
assert len(recs) == 6, out
assert recs[0]["traceId"] == "0af7651916cd43dd8448eb211c80319c", recs[0]
' "$T/tls.jsonl"

# Without our CA (the system's trust store does not know it): nothing is
# sent, and the message says why.
rc=0
out=$(cd "$T" && timeout 60 "$EMIT" "https://127.0.0.1:$TLS_PORT" \
	"$T/tls-untrusted-audit.jsonl" 2>"$T/emit-untrusted.err") || rc=$?
check_eq "https, unknown CA: dropped" "1" "$rc"
check_contains "https, unknown CA: the reason" \
	"certificate does not verify: unable to get local issuer certificate" \
	"$(cat "$T/emit-untrusted.err")"

# A certificate for another name, from a trusted CA: refused too.
start_receiver wrongname --tls-cert "$T/other.pem" --tls-key "$T/other.key"
rc=0
out=$(cd "$T" && timeout 60 "$EMIT" -C "$T/ca.pem" "https://127.0.0.1:$PORT" \
	"$T/tls-wrongname-audit.jsonl" 2>"$T/emit-wrongname.err") || rc=$?
check_eq "https, wrong name: dropped" "1" "$rc"
check_contains "https, wrong name: the reason" "IP address mismatch" \
	"$(cat "$T/emit-wrongname.err")"
check_eq "https, refused certificates: no record decoded" "0 0" \
	"$(grep -c '"kind":"record"' "$T/wrongname.jsonl") $(grep -c '"kind":"record"' "$T/tls.jsonl" | awk '{print $1 - 6}')"

# A CA file that cannot be read is a start-up error.
rc=0
err=$("$EMIT" -C "$T/nonexistent.pem" "https://127.0.0.1:$TLS_PORT" \
	"$T/tls-noca-audit.jsonl" 2>&1 >/dev/null) || rc=$?
check_eq "https, missing CA file: start-up refused (exit 2)" 2 "$rc"
check_contains "https, missing CA file: the message says so" "cannot load the CA file" "$err"

finish
