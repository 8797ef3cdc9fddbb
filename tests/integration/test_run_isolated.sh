#!/usr/bin/env bash
# airlock run (isolated): the agent sees the view at the project's own path
# (writes staged, the real project unchanged), cannot see the session
# directory or the control sockets, cannot approve itself, cannot reach
# the host's loopback except through the proxy (whose policy decides),
# cannot resolve names, and runs as --user.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P/pub"
chmod 0777 "$P/pub"
echo "original" >"$P/a.txt"
echo "served" >"$P/b.txt"

python3 -u -m http.server --bind 127.0.0.1 0 --directory "$P" >"$T/http.log" 2>&1 &
HTTP_PID=$!
at_exit "kill $HTTP_PID"
wait_for 10 grep -q "Serving HTTP" "$T/http.log" || die "http.server did not start"
HPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)
check "the host reaches its server directly" \
	curl -sS --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$HPORT/b.txt"

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
net:
  - cidrs: [127.0.0.1/32]
    action: allow
    reason: the test server
YAML

S=$AIRLOCK_STATE_DIR/sessions/iso
cat >"$T/agent.sh" <<AGENT
echo "cwd=\$(pwd)"
echo "a=\$(cat $P/a.txt)"
echo "changed" >$P/a.txt
echo "after=\$(cat $P/a.txt)"
echo "proxy=\$HTTPS_PROXY|\$http_proxy|\$ALL_PROXY|[\$NO_PROXY]"
[ -z "\$(ls -A "$AIRLOCK_STATE_DIR" 2>&1)" ] && echo "state-empty"
test -e "$S" || echo "no-session-dir"
test -e "$S/fs.sock" || echo "no-fs-sock"
touch "$AIRLOCK_STATE_DIR/x" 2>/dev/null || echo "state-readonly"
"$AIRLOCK" pending --session iso >/dev/null 2>&1 || echo "pending-fails"
"$AIRLOCK" approve f1 >/dev/null 2>&1 || echo "approve-fails"
curl -sS --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$HPORT/b.txt" 2>/dev/null || echo "direct-fails"
echo "via-proxy=\$(curl -sS --max-time 10 "http://127.0.0.1:$HPORT/b.txt")"
echo "denied=\$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.2:$HPORT/b.txt")"
getent hosts localhost.example >/dev/null 2>&1 || echo "getent-fails"
python3 -c 'import socket; socket.getaddrinfo("example.com", 80)' >/dev/null 2>&1 || echo "resolve-fails"
umount "$AIRLOCK_STATE_DIR" 2>/dev/null || echo "umount-fails"
umount -l "$P" 2>/dev/null || echo "umount-view-fails"
nsenter --net=/proc/1/ns/net true 2>/dev/null || echo "setns-fails"
echo "pid=\$\$"
pgrep -f airlock-fs >/dev/null || echo "no-daemons-seen"
(exec -a airlock-leftover-$$ sleep 300) &
echo "uid=\$(id -u)"
exit 4
AGENT

set +e
out=$("$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--session-name iso -- bash "$T/agent.sh" 2>"$T/run.err")
rc=$?
set -e
at_exit "$AIRLOCK end iso"
echo "$out"
err=$(cat "$T/run.err")
check_eq "exit status passes through" 4 "$rc"
check_contains "cwd is the project's own path" "cwd=$P" "$out"
check_contains "the project path shows the project" "a=original" "$out"
check_contains "the agent's write is visible to it" "after=changed" "$out"
check_eq "the real project is unchanged" "original" "$(cat "$P/a.txt")"
check_contains "proxy variables point inside" \
	"proxy=http://127.0.0.1:3128|http://127.0.0.1:3128|http://127.0.0.1:3128|[]" "$out"
check_contains "the state dir is empty inside" "state-empty" "$out"
check_contains "the session dir is not there" "no-session-dir" "$out"
check_contains "the control socket is not there" "no-fs-sock" "$out"
check_contains "the state dir is read-only inside" "state-readonly" "$out"
check_contains "airlock pending fails inside" "pending-fails" "$out"
check_contains "airlock approve fails inside" "approve-fails" "$out"
check_contains "a direct connection to the host's loopback fails" "direct-fails" "$out"
check_contains "through the proxy the allowed server answers" "via-proxy=served" "$out"
check_contains "the policy denies another address" "denied=403" "$out"
check_contains "getent cannot resolve" "getent-fails" "$out"
check_contains "getaddrinfo cannot resolve" "resolve-fails" "$out"
check_contains "runs as root without --user" "uid=0" "$out"
check_contains "its own pid namespace" "pid=2" "$out"
check_contains "the daemons' processes are not visible" "no-daemons-seen" "$out"
check_not "what the agent left running is gone" pgrep -f "airlock-leftover-$$"
check_contains "root inside cannot uncover the state dir" "umount-fails" "$out"
check_contains "root inside cannot unmount the view" "umount-view-fails" "$out"
check_contains "root inside cannot join the host's network" "setns-fails" "$out"
check_contains "summary: one file staged" "files staged:   1" "$err"
check "the proxy audited the allowed request" grep -q '"decision":"allow"' "$S/audit.jsonl"
check "the proxy audited the denied request" grep -q '"decision":"deny"' "$S/audit.jsonl"
check_contains "summary: the denial" "actions denied: 1 by the policy" "$err"
check_not "unmounted after the run" mountpoint -q "$S/view"
check_contains "airlock diff shows the agent's write" "+changed" "$("$AIRLOCK" diff --session iso)"

# --user nobody: uid 65534, no new privileges, writes where nobody may
set +e
out=$("$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" --user nobody \
	--session-name iso2 -- sh -c 'id -u; grep NoNewPrivs /proc/self/status;
	echo mine > pub/n.txt && echo wrote; echo x > a.txt 2>/dev/null || echo refused' \
	2>"$T/run2.err")
rc=$?
set -e
at_exit "$AIRLOCK end iso2"
check_eq "--user nobody exits 0" 0 "$rc"
check_contains "--user nobody runs as 65534" "65534" "$out"
check_contains "no new privileges" "NoNewPrivs:	1" "$out"
check_contains "nobody writes a world-writable dir" "wrote" "$out"
check_contains "nobody cannot write root's file" "refused" "$out"
check_not "staged, not in the project" test -e "$P/pub/n.txt"
check_contains "airlock diff shows nobody's file" "pub/n.txt" \
	"$("$AIRLOCK" diff --session iso2 --stat)"
set +e
"$AIRLOCK" run --project "$P" --session-name iso3 -- sh -c 'kill -TERM $$' 2>/dev/null
rc=$?
set -e
at_exit "$AIRLOCK end iso3"
check_eq "killed by SIGTERM inside: 143" 143 "$rc"
# interception on: the agent trusts the session CA through the usual
# variables, from a bundle outside the hidden session dir
cat >"$T/tls.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
tls: {intercept: [api.test]}
YAML
set +e
out=$("$AIRLOCK" run --project "$P" --policy "$T/tls.yaml" --user nobody \
	--session-name iso4 -- sh -c 'for v in SSL_CERT_FILE NODE_EXTRA_CA_CERTS \
	REQUESTS_CA_BUNDLE GIT_SSL_CAINFO CURL_CA_BUNDLE; do eval "echo \$v=\\$$v"; done;
	cat "$SSL_CERT_FILE"' 2>"$T/run4.err")
rc=$?
set -e
at_exit "$AIRLOCK end iso4"
check_eq "interception run exits 0" 0 "$rc"
b=$(sed -n 's/^SSL_CERT_FILE=//p' <<<"$out")
check "SSL_CERT_FILE names a bundle" test -n "$b"
for v in NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE GIT_SSL_CAINFO CURL_CA_BUNDLE; do
	check_contains "$v names the bundle" "$v=$b" "$out"
done
ca=$AIRLOCK_STATE_DIR/sessions/iso4/ca/ca.pem
check "the session CA exists" test -s "$ca"
printf '%s\n' "$out" >"$T/bundle-seen.pem"
check "the bundle (read as nobody) holds the session CA" python3 -c '
import sys
sys.exit(0 if open(sys.argv[1]).read().strip() in open(sys.argv[2]).read() else 1)' \
	"$ca" "$T/bundle-seen.pem"
check_not "the bundle is removed after the run" test -e "$b"
out=$(SSL_CERT_FILE=/etc/some-roots.pem "$AIRLOCK" run --no-isolate --project "$P" \
	--session-name iso5 -- env 2>/dev/null)
at_exit "$AIRLOCK end iso5"
check_contains "without interception SSL_CERT_FILE is left alone" \
	"SSL_CERT_FILE=/etc/some-roots.pem" "$out"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
# --user: the daemons refuse the agent's uid on their control sockets
# (SO_PEERCRED), even when a socket is reachable: the agent can never
# approve its own request.  The agent holds a write; a process of the
# agent's uid on the host, given a way to the sockets, is refused, and
# root's approve lets the write through.
cat >"$T/held.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 60s}
fs:
  - paths: ["pub/held.txt"]
    ops: [create, write]
    action: hold
    reason: held for the test
YAML
"$AIRLOCK" run --project "$P" --policy "$T/held.yaml" --user nobody \
	--session-name iso-uid -- sh -c "echo mine >pub/held.txt && echo held-write-ok" \
	>"$T/uid.out" 2>"$T/uid.err" &
RUN_PID=$!
SU=$AIRLOCK_STATE_DIR/sessions/iso-uid
pending_f() { "$AIRLOCK" pending --session "$SU" --json 2>/dev/null | grep -o '"id":"f[0-9]*"' | head -1 | cut -d'"' -f4; }
has_pending() { [ -n "$(pending_f)" ]; }
wait_for 30 has_pending || fail "no held write appeared"
id=$(pending_f)
check_contains "session.json records the agent's uid" '"agent_uid": 65534' "$(cat "$SU/session.json")"
# Open the way to the sockets for uid 65534, as a misconfiguration would.
chmod o+x "$T" "$AIRLOCK_STATE_DIR" "$AIRLOCK_STATE_DIR/sessions" "$SU"
chmod 0666 "$SU/fs.sock" "$SU/proxy.sock"
as_agent=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$AIRLOCK" approve "$id" --session "$SU" 2>&1) && fail "the agent's uid approved its own write"
check_contains "the agent's uid is refused by airlock-fs" "refused" "$as_agent"
as_agent=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$AIRLOCK" pending --session "$SU" 2>&1 || true)
check_contains "and by airlock-proxy" "refused" "$as_agent"
check "root approves it" "$AIRLOCK" approve "$id" --session "$SU"
wait "$RUN_PID" || fail "the run with a held write failed: $(cat "$T/uid.err")"
check_contains "the held write went through after approval" "held-write-ok" "$(cat "$T/uid.out")"
chmod o-x "$T"

finish
