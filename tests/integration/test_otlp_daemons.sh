#!/usr/bin/env bash
# test_otlp_daemons: a policy's telemetry.otlp makes airlock-fs and
# airlock-proxy export their decisions to a real OTLP/HTTP receiver
# (decoding with OpenTelemetry's own definitions): a file write in the
# mount arrives with file.path, the caller's process attributes and the
# trace and span ids of the writer's TRACEPARENT; a denial arrives with its
# rule; a proxied request arrives with url.full, server.address and the
# trace context of its traceparent header.  A telemetry section the
# exporter cannot use refuses the start (exit 2).
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK_PROXY" ] || die "missing $AIRLOCK_PROXY"
. "$(dirname "$0")/otlp_lib.sh"
otlp_receiver_install
start_receiver fs

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/src" "$P/locked" "$M"
printf 'int x;\n' >"$P/src/main.c"
cat >"$T/policy.yaml" <<EOF2
version: 1
defaults: {fs: allow, net: deny}
fs:
  - paths: ["locked/**"]
    action: deny
    reason: closed for the test
telemetry:
  otlp:
    endpoint: "http://127.0.0.1:$PORT"
EOF2

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
at_exit "unmount_fuse $M"
at_exit "kill -9 $(cat "$S/fs.pid") 2>/dev/null"

TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
TRACEPARENT=$TP AIRLOCK_INTENT="fix the build" sh -c "printf 'int y;\n' >'$M/src/main.c'"
sh -c "echo x >'$M/locked/a'" 2>/dev/null && fail "the denied create went through"

"$AIRLOCK_PROXY" --listen 127.0.0.1:0 --session "$S" --policy "$T/policy.yaml" \
	--threads 1 >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY_PID=$!
at_exit "kill $PROXY_PID 2>/dev/null"
wait_for 20 grep -q 'listening on' "$T/proxy.out" || die "proxy: $(cat "$T/proxy.err")"
PROXY=$(sed -n 's/.*listening on //p' "$T/proxy.out" | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://$PROXY" \
	-H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" \
	http://127.0.0.1:9/pkg/a.tgz)
check_eq "the proxy denies the request" 403 "$code"
kill -TERM $PROXY_PID
wait $PROXY_PID || fail "the proxy did not stop cleanly"
# Unmounting flushes the audit log and the exporter.
fusermount3 -u "$M"
wait_for 20 test ! -e "$S/fs.pid" || fail "airlock-fs did not stop"

check "the receiver decoded the fs and proxy records" python3 - "$T/fs.jsonl" "$P" <<'EOF2'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
assert not [o for o in out if o["kind"] == "error"], out
recs = [o for o in out if o["kind"] == "record"]
assert recs, out
for r in recs:
    assert r["resource"]["service.name"] == "airlock", r
    if r["attributes"]["airlock.component"] == "fs":
        assert r["resource"]["airlock.project"] == sys.argv[2], r
w = [r for r in recs if r["attributes"].get("file.path") == "src/main.c"
     and r["attributes"].get("airlock.intent") == "fix the build"]
assert w, recs
w = w[0]
assert w["traceId"] == "0af7651916cd43dd8448eb211c80319c", w
assert w["spanId"] == "b7ad6b7169203331", w
assert w["attributes"]["process.executable.path"].endswith("sh"), w
assert w["attributes"]["airlock.decision"] == "allow", w
d = [r for r in recs if r["attributes"].get("file.path") == "locked/a"]
assert d and d[0]["attributes"]["airlock.decision"] == "deny", recs
assert d[0]["attributes"]["airlock.reason"] == "closed for the test", d
p = [o for o in out if o["kind"] == "record"
     and o["attributes"]["airlock.component"] == "proxy"]
assert p, out
a = p[0]["attributes"]
assert a["url.full"] == "http://127.0.0.1:9/pkg/a.tgz", a
assert a["server.address"] == "127.0.0.1" and a["server.port"] == 9, a
assert a["http.request.method"] == "GET" and a["airlock.decision"] == "deny", a
assert p[0]["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736", p[0]
assert p[0]["resource"]["airlock.session.id"] == "sess", p[0]
EOF2

# A telemetry section the exporter cannot use: refuse to start.
sed -i 's|endpoint: .*|endpoint: "ftp://127.0.0.1:1"|' "$T/policy.yaml"
rc=0
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$T/sess2" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs2.err" || rc=$?
check_eq "an unusable endpoint refuses the start" 2 "$rc"
check_not "and nothing is mounted" is_mounted "$M"
finish
