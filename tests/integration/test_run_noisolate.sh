#!/usr/bin/env bash
# airlock run --no-isolate: the agent edits the project through the view
# (staged, the real project unchanged), its proxy variables reach
# airlock-proxy, its exit status comes back, the daemons stop when it
# exits, and `airlock diff` / `commit` work on the session right away.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P/src"
echo "original" >"$P/src/a.txt"
echo "keep" >"$P/b.txt"

python3 -u -m http.server --bind 127.0.0.1 0 --directory "$P" >"$T/http.log" 2>&1 &
HTTP_PID=$!
at_exit "kill $HTTP_PID"
wait_for 10 grep -q "Serving HTTP" "$T/http.log" || die "http.server did not start"
HPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
net:
  - cidrs: [127.0.0.1/32]
    action: allow
    reason: the test server
YAML

cat >"$T/agent.sh" <<AGENT
set -u
echo "cwd=\$(pwd)"
echo "changed" > src/a.txt
echo "new" > new.txt
echo "proxy=\$HTTPS_PROXY no_proxy=[\$NO_PROXY] session=\$AIRLOCK_SESSION"
curl -sS --max-time 10 -o /dev/null -w 'via-proxy=%{http_code}\n' http://127.0.0.1:$HPORT/b.txt
exit 3
AGENT

set +e
out=$("$AIRLOCK" run --no-isolate --project "$P" --policy "$T/policy.yaml" \
	--session-name s1 -- bash "$T/agent.sh" 2>"$T/run.err")
rc=$?
set -e
err=$(cat "$T/run.err")
S=$AIRLOCK_STATE_DIR/sessions/s1
at_exit "$AIRLOCK end s1"

check_eq "the command's exit status comes back" 3 "$rc"
check_contains "says it is not isolated" "--no-isolate: the agent can reach the network directly" "$err"
check_contains "the agent ran in the view" "cwd=$S/view" "$out"
check_contains "proxy variables set" "proxy=http://127.0.0.1:" "$out"
check_contains "NO_PROXY empty" "no_proxy=[]" "$out"
check_contains "AIRLOCK_SESSION set" "session=s1" "$out"
check_contains "an allowed request through the proxy" "via-proxy=200" "$out"
check_eq "the real project is unchanged" "original" "$(cat "$P/src/a.txt")"
check_not "the new file is not in the real project" test -e "$P/new.txt"
check_contains "summary: files staged" "files staged:   2" "$err"
check_contains "summary: next commands" "airlock commit --session s1" "$err"
check_not "the view is unmounted after the run" mountpoint -q "$S/view"
check_not "no airlock-fs pid left" test -e "$S/fs.pid"
check_not "no airlock-proxy pid left" test -e "$S/proxy.pid"
check "session.json says ended" grep -q '"state": "ended"' "$S/session.json"
check "session.json names the project" grep -q "\"project\": \"$P\"" "$S/session.json"
check "session.json has the policy hash" grep -Eq '"policy_hash": "[0-9a-f]{64}"' "$S/session.json"
check_eq "session dir is 0700" 700 "$(stat -c %a "$S")"
check "the proxy audited the request" grep -q '"decision":"allow"' "$S/audit.jsonl"
check_contains "summary: airlock audit" "airlock audit --session s1" "$err"
check "airlock audit --session s1 verifies" "$AIRLOCK" audit verify --session s1

d=$("$AIRLOCK" diff --session s1)
check_contains "airlock diff shows the edit" "+changed" "$d"
check_contains "airlock diff shows the new file" "new.txt" "$d"
check "airlock commit applies it" "$AIRLOCK" commit --session s1
check_eq "committed edit" "changed" "$(cat "$P/src/a.txt")"
check_eq "committed new file" "new" "$(cat "$P/new.txt")"

# a command that is not there: 127, and the session still ends cleanly
set +e
"$AIRLOCK" run --no-isolate --project "$P" --session-name s2 -- \
	/nonexistent/agent 2>"$T/run2.err"
rc=$?
set -e
check_eq "missing command: 127" 127 "$rc"
check_not "s2 unmounted" mountpoint -q "$AIRLOCK_STATE_DIR/sessions/s2/view"

# --no-isolate --user: the view at the project's path (the user cannot
# pass the 0700 session dir), as that user
mkdir -p "$P/pub"
chmod 0777 "$P/pub"
set +e
out=$("$AIRLOCK" run --no-isolate --project "$P" --user nobody --session-name s4 -- \
	sh -c 'id -u; pwd; echo n > pub/n.txt && echo wrote' 2>"$T/run4.err")
rc=$?
set -e
check_eq "--no-isolate --user nobody exits 0" 0 "$rc"
check_contains "runs as nobody" "65534" "$out"
check_contains "in the project's path" "$P" "$out"
check_contains "writes" "wrote" "$out"
check_not "staged, not in the project" test -e "$P/pub/n.txt"
check_contains "diff shows it" "pub/n.txt" "$("$AIRLOCK" diff --session s4 --stat)"

# the summary counts a held write that timed out and a denied request
cat >"$T/hold.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 1s}
fs:
  - paths: ["held/**"]
    ops: [write, create]
    action: hold
    reason: the test holds it
YAML
mkdir -p "$P/held"
set +e
"$AIRLOCK" run --no-isolate --project "$P" --policy "$T/hold.yaml" \
	--session-name s3 -- sh -c "echo x > held/f.txt; echo y > ok.txt;
	curl -s --max-time 10 -o /dev/null http://127.0.0.1:$HPORT/; exit 0" \
	2>"$T/run3.err"
rc=$?
set -e
err=$(cat "$T/run3.err")
check_eq "s3 exits 0" 0 "$rc"
check_contains "summary: the held write timed out" "actions held:   1 (approved 0, denied 0, timed out 1)" "$err"
check_contains "summary: the denied request" "actions denied: 1 by the policy" "$err"
check_contains "summary: one file staged" "files staged:   1" "$err"
finish
