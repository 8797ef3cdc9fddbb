#!/usr/bin/env bash
# test_review_hook: the policy's reviewer decides held actions before a
# person does, in both daemons.  A reviewer's allow or deny resolves the
# action and the audit record says decided_by reviewer and which; its
# escalate, a timeout, garbage output or a non-zero exit leave the action
# pending for a person (`airlock approve|deny`) or its hold timeout, and
# are audited.  The reviewer sees a held write's staged diff and a held
# request's head with credentials redacted.  Then the shipped reviewers:
# review-rules (the fixture below answers through it), review-llm against
# a fake chat-completions server, and a URL reviewer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
REVIEWERS=$AIRLOCK_SRC/conf/reviewers

# The fixture reviewer: keeps each request, then misbehaves as the target
# asks, or lets review-rules decide.
cat >"$T/rules.conf" <<'EOF'
# kind op            target          decision reason
fs     write,create  **/allow*       allow    the rules allow it
fs     write,create  **/deny*        deny     the rules deny it
net    *             **allow.test**  allow    the rules allow it
net    *             **deny.test**   deny     the rules deny it
*      *             **              escalate a person should look
EOF
cat >"$T/rv.sh" <<EOF
#!/bin/sh
req=\$(cat)
printf '%s\n' "\$req" >>"$T/requests.jsonl"
target=\$(printf '%s' "\$req" | sed -n 's/.*"target":"\([^"]*\)".*/\1/p')
case \$target in
*slow*) sleep 30; echo '{"decision":"allow"}' ;;
*garbage*) echo 'I think this one is fine' ;;
*crash*) echo '{"decision":"allow"}'; exit 3 ;;
*) printf '%s' "\$req" | exec "$REVIEWERS/review-rules" "$T/rules.conf" ;;
esac
EOF
chmod 755 "$T/rv.sh"

write_hosts
printf '127.0.0.1 allow.test deny.test escalate.test slow.test garbage.test crash.test\n' >>"$T/hosts"
start_origin ORIGIN

cat >"$T/policy.yaml" <<EOF
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 12s}
fs:
  - paths: ["held/**"]
    ops: [write, create]
    action: hold
    reason: the reviewer decides
net:
  - hosts: [allow.test, deny.test, escalate.test, slow.test, garbage.test, crash.test]
    action: hold
    reason: the reviewer decides
  - cidrs: [127.0.0.1/32]
    action: allow
review: {command: ["$T/rv.sh"], timeout: 5s}
EOF

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/held" "$M"
printf 'old line\n' >"$P/held/allow-edit.txt"
seq 1 12 >"$P/held/allow-twelve.txt"
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
FS_PID=$(cat "$S/fs.pid")
at_exit "unmount_fuse $M"
at_exit "kill -9 $FS_PID"
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --session "$S" --threads 1

# pending_id SESSION TARGET-REGEX: the id of the held action (bounded wait).
pending_id() { session_held_id "$1" "[^\"]*$2"; }
# audit_has SESSION WORDS...: some audit line holds every word.
audit_has() { session_audit_has "$@"; }
# request_for TARGET-SUBSTRING [N]: the Nth (default last) request the
# fixture reviewer got for a target, pretty-printed.
request_for() {
	python3 -c '
import json, sys
hits = [r for r in map(json.loads, open(sys.argv[1])) if sys.argv[2] in r["target"]]
print(json.dumps(hits[int(sys.argv[3])], indent=1))' "$T/requests.jsonl" "$1" "${2:--1}"
}
# fswrite NAME TEXT: write TEXT to the view's held/NAME; prints the status.
fswrite() { bash -c "printf '%s\n' '$2' >'$M/held/$1'" 2>/dev/null && echo 0 || echo 1; }

echo "# airlock-fs: the reviewer allows"
check_eq "a write the reviewer allows succeeds" 0 "$(fswrite allow.txt hello)"
check_eq "it is staged" "hello" "$(cat "$S/upper/held/allow.txt")"
wait_for 5 audit_has "$S" '"target":"held/allow.txt"' '"outcome":"approved"' \
	'"decided_by":"reviewer"' '"reviewer":"rv.sh"' '"reason":"the rules allow it"' &&
	pass "audited: approved by reviewer rv.sh, with its reason" || fail "no reviewer approval record"
check_contains "the timeline names the reviewer" "reviewer (rv.sh)" \
	"$("$AIRLOCK" audit --session "$S" 2>/dev/null | grep held/allow.txt)"
req=$(request_for held/allow.txt)
check_contains "the request names the operation" '"op": "create"' "$req"
check_contains "the request names the rule" '"rule": "' "$req"
check_contains "the request names the process" '"cmdline": "bash -c' "$req"
check_contains "a new file's detail says nothing is written yet" "nothing is staged at this path yet" "$req"

echo "# airlock-fs: the detail of a second write is the staged diff"
check_eq "first edit allowed" 0 "$(fswrite allow-edit.txt 'new line')"
check_eq "second edit allowed" 0 "$(fswrite allow-edit.txt 'newer line')"
check_contains "the first edit's detail gives the project's size" "project's file has 9 bytes" \
	"$(request_for allow-edit.txt -2)"
check_contains "the second edit's detail is a diff of what is staged" \
	'--- a/held/allow-edit.txt\n+++ b/held/allow-edit.txt\n@@ -1,1 +1,1 @@\n-old line\n+new line\n' \
	"$(request_for allow-edit.txt -1)"

# a diff with context, which git apply turns the project's file into the
# staged one with
check_eq "an edit in the middle allowed" 0 "$(fswrite allow-twelve.txt "$(seq 1 12 | sed 's/^6$/six/')")"
check_eq "and another" 0 "$(fswrite allow-twelve.txt "$(seq 1 12)")"
python3 -c '
import json, sys
hits = [r for r in map(json.loads, open(sys.argv[1])) if r["target"] == "held/allow-twelve.txt"]
sys.stdout.write(hits[-1]["detail"])' "$T/requests.jsonl" >"$T/twelve.patch"
check_contains "the hunk has three lines of context" "@@ -3,7 +3,7 @@" "$(cat "$T/twelve.patch")"
mkdir -p "$T/apply/held"
seq 1 12 >"$T/apply/held/allow-twelve.txt"
(cd "$T/apply" && git apply "$T/twelve.patch") && pass "git apply takes the detail" || fail "git apply refused: $(cat "$T/twelve.patch")"
check_eq "and it gives the staged file" "$(seq 1 12 | sed 's/^6$/six/')" "$(cat "$T/apply/held/allow-twelve.txt")"

echo "# airlock-fs: the reviewer denies"
check_eq "a write the reviewer denies fails" 1 "$(fswrite deny.txt x)"
check_not "nothing staged" test -e "$S/upper/held/deny.txt"
wait_for 5 audit_has "$S" '"target":"held/deny.txt"' '"outcome":"denied"' \
	'"decided_by":"reviewer"' '"reviewer":"rv.sh"' '"reason":"the rules deny it"' &&
	pass "audited: denied by reviewer rv.sh" || fail "no reviewer denial record"

echo "# airlock-fs: escalate, then a person approves"
(fswrite escalate.txt x >"$T/esc.rc") &
w=$!
id=$(pending_id "$S" held/escalate.txt) || die "the escalated write is not pending"
wait_for 5 audit_has "$S" '"target":"held/escalate.txt"' '"decision":"hold"' \
	'"decided_by":"reviewer"' '"reviewer":"rv.sh"' 'escalated to a person: a person should look' &&
	pass "the escalation is audited" || fail "no escalation record"
check_contains "airlock pending says the reviewer escalated it" \
	'"review":"rv.sh escalated to a person: a person should look"' \
	"$("$AIRLOCK" pending --session "$S" --json 2>/dev/null)"
check_contains "and so does its table" \
	"review: rv.sh escalated to a person: a person should look" \
	"$("$AIRLOCK" pending --session "$S" 2>/dev/null)"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "airlock approve $id"
wait $w
check_eq "the person's approval lets the write through" 0 "$(cat "$T/esc.rc")"
wait_for 5 audit_has "$S" '"target":"held/escalate.txt"' '"outcome":"approved"' '"decided_by":"human"' &&
	pass "audited: approved by a human" || fail "no human approval record"

echo "# airlock-fs: garbage and a non-zero exit go to a person"
(fswrite garbage.txt x >"$T/garbage.rc") &
w=$!
id=$(pending_id "$S" held/garbage.txt) || die "the garbage-reviewed write is not pending"
wait_for 5 audit_has "$S" '"target":"held/garbage.txt"' '"decision":"hold"' \
	'review failed, left to a person: malformed answer' &&
	pass "garbage output is audited as a failed review" || fail "no garbage record"
"$AIRLOCK" deny "$id" --session "$S" >/dev/null || fail "airlock deny $id"
wait $w
check_eq "the person's denial holds" 1 "$(cat "$T/garbage.rc")"
(fswrite crash.txt x >"$T/crash.rc") &
w=$!
id=$(pending_id "$S" held/crash.txt) || die "the crash-reviewed write is not pending"
wait_for 5 audit_has "$S" '"target":"held/crash.txt"' 'the reviewer exited with status 3' &&
	pass "a non-zero exit is audited (its allow ignored)" || fail "no exit-status record"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "airlock approve $id"
wait $w
check_eq "and a person decided" 0 "$(cat "$T/crash.rc")"

echo "# airlock-fs: the reviewer times out, then the hold does"
t0=$(date +%s)
check_eq "a write whose reviewer hangs is denied in the end" 1 "$(fswrite slow.txt x)"
t=$(($(date +%s) - t0))
check "after the hold timeout, not the reviewer's (${t}s)" test "$t" -ge 11 -a "$t" -le 30
check "the review timeout is audited" audit_has "$S" '"target":"held/slow.txt"' \
	'"decision":"hold"' 'no answer within 5000 ms'
wait_for 5 audit_has "$S" '"target":"held/slow.txt"' '"outcome":"timeout"' '"decided_by":"timeout"' &&
	pass "audited: denied by timeout" || fail "no timeout record"

echo "# airlock-proxy: the same, for held requests"
code=$(pcurl -U agent:s3cret-pw -o "$T/allow.out" -w '%{http_code}' "http://allow.test:$ORIGIN_PORT/hello")
check_eq "a request the reviewer allows goes through" 200 "$code"
wait_for 5 audit_has "$S" '"component":"proxy"' '"target":"http://allow.test:' \
	'"outcome":"approved"' '"decided_by":"reviewer"' '"reviewer":"rv.sh"' '"reason":"the rules allow it"' &&
	pass "audited: approved by reviewer rv.sh" || fail "no proxy reviewer approval record"
req=$(request_for allow.test)
check_contains "the request's detail is its head" "GET http://allow.test:$ORIGIN_PORT/hello HTTP/1.1" "$req"
check_contains "Proxy-Authorization is redacted" 'Proxy-Authorization: [redacted]' "$req"
check_not "the credentials never reach the reviewer" grep -q "$(printf 'agent:s3cret-pw' | base64)" "$T/requests.jsonl"
code=$(pcurl -o "$T/deny.out" -w '%{http_code}' "http://deny.test:$ORIGIN_PORT/hello")
check_eq "a request the reviewer denies gets 403" 403 "$code"
check_contains "saying the reviewer denied it" "denied (reviewer): the rules deny it" "$(cat "$T/deny.out")"
code=$(pcurl -p -o /dev/null -w '%{http_connect}' "http://deny.test:$ORIGIN_PORT/hello" 2>/dev/null || true)
check_eq "a CONNECT the reviewer denies is refused" 403 "$code"
wait_for 5 audit_has "$S" '"op":"connect"' '"target":"deny.test:' '"outcome":"denied"' \
	'"decided_by":"reviewer"' '"reviewer":"rv.sh"' &&
	pass "audited: CONNECT denied by reviewer rv.sh" || fail "no CONNECT denial record"

pcurl -o "$T/esc.out" -w '%{http_code}' "http://escalate.test:$ORIGIN_PORT/hello" >"$T/esc.code" 2>&1 &
c=$!
id=$(pending_id "$S" escalate.test) || die "the escalated request is not pending"
wait_for 5 audit_has "$S" '"target":"http://escalate.test:' '"decision":"hold"' 'escalated to a person' &&
	pass "the escalation is audited" || fail "no proxy escalation record"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null || fail "airlock approve $id"
wait $c
check_eq "escalated, then approved by a person: 200" 200 "$(cat "$T/esc.code")"

for bad in garbage crash; do
	pcurl -o /dev/null -w '%{http_code}' "http://$bad.test:$ORIGIN_PORT/hello" >"$T/$bad.code" 2>&1 &
	c=$!
	id=$(pending_id "$S" "$bad.test") || die "the $bad-reviewed request is not pending"
	wait_for 5 audit_has "$S" "\"target\":\"http://$bad.test:" '"decision":"hold"' 'review failed, left to a person' &&
		pass "$bad: a failed review, audited" || fail "$bad: no failed-review record"
	"$AIRLOCK" deny "$id" --session "$S" >/dev/null || fail "airlock deny $id"
	wait $c
	check_eq "$bad: then a person denied it" 403 "$(cat "$T/$bad.code")"
done

code=$(pcurl -o "$T/slow.out" -w '%{http_code}' "http://slow.test:$ORIGIN_PORT/hello" || true)
check_eq "a request whose reviewer hangs times out" 403 "$code"
check_contains "with the hold timeout's words" "timed out" "$(cat "$T/slow.out")"
wait_for 5 audit_has "$S" '"target":"http://slow.test:' '"outcome":"timeout"' '"decided_by":"timeout"' &&
	pass "audited: denied by timeout" || fail "no proxy timeout record"
check "the audit chain verifies" "$AIRLOCK" audit verify --session "$S"
stop_proxy

echo "# review-llm against a fake chat-completions server"
python3 "$AIRLOCK_SRC/tests/integration/review_server.py" --port-file "$T/srv.port" \
	--log "$T/srv.log" 2>"$T/srv.err" &
srv=$!
at_exit "kill $srv"
wait_for 10 test -s "$T/srv.port" || die "review_server did not start: $(cat "$T/srv.err")"
SRV=http://127.0.0.1:$(cat "$T/srv.port")
llm() { # llm TARGET: review-llm's answer for a held write of TARGET
	printf '{"kind":"fs","op":"write","target":"%s","detail":null}' "$1" |
		AIRLOCK_REVIEW_URL=$SRV/v1/chat/completions AIRLOCK_REVIEW_MODEL=tiny \
			AIRLOCK_REVIEW_KEY=k-123 "$REVIEWERS/review-llm" --timeout 5
}
check_eq "low risk allows" '{"decision": "allow", "reason": "model tiny: low risk"}' "$(llm src/low-risk.c)"
check_contains "high risk escalates" '"decision": "escalate", "reason": "model tiny: high risk' "$(llm .git/hooks/x)"
check_contains "a reply that is not one word escalates" '"decision": "escalate", "reason": "review-llm: the model did not answer' "$(llm chatter)"
check_contains "a reply that is not JSON escalates" '"decision": "escalate", "reason": "review-llm: the endpoint' "$(llm garbage)"
check_contains "the key is sent as a bearer token" '"authorization": "Bearer k-123"' "$(cat "$T/srv.log")"
out=$(printf '{}' | AIRLOCK_REVIEW_URL=http://127.0.0.1:9/v1 AIRLOCK_REVIEW_MODEL=m "$REVIEWERS/review-llm" --timeout 2)
check_contains "no endpoint escalates" '"decision": "escalate"' "$out"
out=$(printf '{}' | env -u AIRLOCK_REVIEW_URL "$REVIEWERS/review-llm")
check_contains "no URL configured escalates" '"decision": "escalate"' "$out"

# a session whose reviewer is review-llm, configured from the daemon's
# environment
S2=$T/sess2 M2=$T/mnt2
mkdir -p "$M2"
sed "s|^review:.*|review: {command: [\"$REVIEWERS/review-llm\"], timeout: 5s}|" \
	"$T/policy.yaml" >"$T/policy-llm.yaml"
AIRLOCK_REVIEW_URL=$SRV/v1/chat/completions AIRLOCK_REVIEW_MODEL=tiny \
	"$AIRLOCK_FS" --project "$P" --mount "$M2" --session "$S2" \
	--policy "$T/policy-llm.yaml" --daemon 2>"$T/fs2.err" || die "mount 2: $(cat "$T/fs2.err")"
at_exit "unmount_fuse $M2"
at_exit "kill -9 $(cat "$S2/fs.pid")"
check_eq "review-llm in a daemon allows a low-risk write" 0 \
	"$(bash -c "echo x >'$M2/held/low-risk.txt'" 2>/dev/null && echo 0 || echo 1)"
wait_for 5 audit_has "$S2" '"target":"held/low-risk.txt"' '"decided_by":"reviewer"' \
	'"reviewer":"review-llm"' '"reason":"model tiny: low risk"' &&
	pass "audited: approved by reviewer review-llm" || fail "no review-llm record"
(bash -c "echo x >'$M2/held/hook.txt'" 2>/dev/null && echo 0 || echo 1) >"$T/hook.rc" &
w=$!
id=$(pending_id "$S2" held/hook.txt) || die "high risk did not stay pending"
pass "high risk stays pending for a person"
"$AIRLOCK" deny "$id" --session "$S2" >/dev/null || fail "airlock deny $id"
wait $w
check_eq "and the person denied it" 1 "$(cat "$T/hook.rc")"

echo "# a URL reviewer"
S3=$T/sess3 M3=$T/mnt3
mkdir -p "$M3"
sed "s|^review:.*|review: {url: \"$SRV/review\", timeout: 3s}|" \
	"$T/policy.yaml" >"$T/policy-url.yaml"
"$AIRLOCK_FS" --project "$P" --mount "$M3" --session "$S3" \
	--policy "$T/policy-url.yaml" --daemon 2>"$T/fs3.err" || die "mount 3: $(cat "$T/fs3.err")"
at_exit "unmount_fuse $M3"
at_exit "kill -9 $(cat "$S3/fs.pid")"
w3() { bash -c "echo x >'$M3/held/$1'" 2>/dev/null && echo 0 || echo 1; }
check_eq "the endpoint allows" 0 "$(w3 allow.txt)"
check_eq "the endpoint denies" 1 "$(w3 deny.txt)"
check_eq "a chunked answer is read" 0 "$(w3 chunked.txt)"
wait_for 5 audit_has "$S3" '"target":"held/allow.txt"' '"decided_by":"reviewer"' \
	'"reviewer":"127.0.0.1"' '"reason":"the endpoint said allow"' &&
	pass "audited: approved by reviewer 127.0.0.1" || fail "no URL reviewer record"
check_contains "the endpoint got the request JSON" '\"kind\":\"fs\",\"op\":\"create\",\"target\":\"held/deny.txt\"' \
	"$(grep '"path": "/review"' "$T/srv.log")"
(w3 garbage.txt >"$T/g3.rc") &
w=$!
id=$(pending_id "$S3" held/garbage.txt) || die "an HTML answer did not stay pending"
wait_for 5 audit_has "$S3" '"target":"held/garbage.txt"' 'review failed, left to a person: malformed answer' &&
	pass "an HTML answer is a failed review" || fail "no failed URL review record"
"$AIRLOCK" approve "$id" --session "$S3" >/dev/null || fail "airlock approve $id"
wait $w
check_eq "and a person approved it" 0 "$(cat "$T/g3.rc")"

echo "# an https URL reviewer: its certificate must verify"
make_certs
python3 "$AIRLOCK_SRC/tests/integration/review_server.py" --port-file "$T/tls.port" \
	--log "$T/tls.log" --cert "$T/origin.pem" --key "$T/origin.key" 2>"$T/tls.err" &
tls=$!
at_exit "kill $tls"
wait_for 10 test -s "$T/tls.port" || die "review_server (https) did not start: $(cat "$T/tls.err")"
sed "s|^review:.*|review: {url: \"https://127.0.0.1:$(cat "$T/tls.port")/review\", timeout: 3s}|" \
	"$T/policy.yaml" >"$T/policy-tls.yaml"
# mount_tls N [ENV...]: a mount whose reviewer is the https endpoint
mount_tls() {
	local n=$1
	shift
	mkdir -p "$T/mnt$n"
	env "$@" "$AIRLOCK_FS" --project "$P" --mount "$T/mnt$n" --session "$T/sess$n" \
		--policy "$T/policy-tls.yaml" --daemon 2>"$T/fs$n.err" || die "mount $n: $(cat "$T/fs$n.err")"
	at_exit "unmount_fuse $T/mnt$n"
	at_exit "kill -9 $(cat "$T/sess$n/fs.pid")"
}
# trusted through SSL_CERT_FILE (OpenSSL's default verify paths)
mount_tls 4 SSL_CERT_FILE="$T/ca.pem"
check_eq "a verified https endpoint allows" 0 \
	"$(bash -c "echo x >'$T/mnt4/held/allow.txt'" 2>/dev/null && echo 0 || echo 1)"
wait_for 5 audit_has "$T/sess4" '"target":"held/allow.txt"' '"decided_by":"reviewer"' \
	'"reviewer":"127.0.0.1"' &&
	pass "audited: approved by the https reviewer" || fail "no https reviewer record"
# the system store does not know the test CA: the review fails closed
mount_tls 5
(bash -c "echo x >'$T/mnt5/held/allow.txt'" 2>/dev/null && echo 0 || echo 1) >"$T/t5.rc" &
w=$!
id=$(pending_id "$T/sess5" held/allow.txt) || die "an unverified endpoint's allow was not held"
wait_for 10 audit_has "$T/sess5" '"target":"held/allow.txt"' 'review failed, left to a person' \
	'certificate does not verify' &&
	pass "an endpoint whose certificate does not verify is a failed review" || fail "no TLS failure record"
"$AIRLOCK" deny "$id" --session "$T/sess5" >/dev/null || fail "airlock deny $id"
wait $w
check_eq "and its allow was never taken" 1 "$(cat "$T/t5.rc")"

finish
