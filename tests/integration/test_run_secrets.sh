#!/usr/bin/env bash
# airlock run and the policy's secrets: the agent never holds a real
# credential.  An env secret's variable holds a sentinel; a file secret
# shows a masked copy (the sentinel in place of the value, the rest of the
# file intact, read-only); a missing source is skipped, a file whose
# pattern finds nothing is hidden; `airlock resume` keeps the sentinels;
# the real values are in no file of the session, not in the audit, not in
# --show-env, not in the proxy's arguments or environment.  Through the
# proxy (with a local HTTPS origin that echoes the request head), the
# declared host receives the real value and an undeclared one gets 403,
# audited as an exfiltration attempt, and the OTLP export holds no value.
# The same in an ordinary user's room (a user namespace).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

ENV_REAL=real-value-123
NETRC_REAL=netrc-real-456
YAML_REAL=yaml-real-789
SENT_RE='airlock-sentinel-[0-9a-f]{32}'

export HOME=$T/home
mkdir -p "$HOME/.config/tool"
printf 'machine api.test login me password %s\nmachine other.test login you password %s\n' \
	"$NETRC_REAL" "$NETRC_REAL" >"$HOME/.netrc"
chmod 0600 "$HOME/.netrc"
printf 'user: me\ntoken: %s\nregion: north\n' "$YAML_REAL" >"$HOME/.config/tool/auth.yaml"
printf 'nothing: here\n' >"$HOME/.config/tool/other.yaml"
P=$T/proj
mkdir -p "$P"
echo "one" >"$P/a.txt"

make_certs
write_hosts
start_origin TLS --cert "$T/origin.pem" --key "$T/origin.key"
# airlock-proxy resolves the test names from a hosts file and trusts the
# test CA upstream; everything else is as airlock run starts it.
cat >"$T/proxy-wrap" <<WRAP
#!/bin/sh
exec "$AIRLOCK_PROXY" --hosts "$T/hosts" "\$@"
WRAP
chmod 0755 "$T/proxy-wrap"
export AIRLOCK_PROXY=$T/proxy-wrap SSL_CERT_FILE=$T/ca.pem

# An OTLP/HTTP receiver that keeps every export's body as it came (JSON).
python3 -u - "$T/otlp.port" "$T/otlp.bodies" >"$T/otlp.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
PY
at_exit "kill $!"
wait_for 10 test -s "$T/otlp.port" || die "no OTLP receiver: $(cat "$T/otlp.log")"
OTLP_PORT=$(cat "$T/otlp.port")

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
net:
  - hosts: [api.test, other.test]
    action: allow
  - cidrs: [127.0.0.1/32]
    action: allow
tls: {intercept: [other.test]}
telemetry: {otlp: {endpoint: "http://127.0.0.1:$OTLP_PORT"}}
secrets:
  - name: example
    env: EXAMPLE_TOKEN
    hosts: [api.test]
  - name: netrc
    file: ~/.netrc
    match: "machine api.test login me password ([^[:space:]]+)"
    hosts: [api.test]
  - name: tool
    file: ~/.config/tool/auth.yaml
    match: "token: ([A-Za-z0-9-]+)"
    hosts: [api.test]
  - name: absent
    env: ABSENT_TOKEN
    hosts: [api.test]
  - name: nomatch
    file: ~/.config/tool/other.yaml
    match: "secret: ([a-z]+)"
    hosts: [api.test]
YAML

cat >"$T/agent.sh" <<AGENT
echo "env=[\$EXAMPLE_TOKEN]"
echo "absent=[\${ABSENT_TOKEN-unset}]"
echo "netrc-mode=\$(stat -c %a "\$HOME/.netrc")"
sed 's/^/netrc: /' "\$HOME/.netrc"
sed 's/^/yaml: /' "\$HOME/.config/tool/auth.yaml"
echo "nomatch-bytes=\$(wc -c <"\$HOME/.config/tool/other.yaml")"
echo x >>"\$HOME/.netrc" 2>/dev/null || echo "netrc-readonly"
echo "pid1-real=\$(tr '\0' '\n' </proc/1/environ 2>/dev/null | grep -c "$ENV_REAL")"
curl -sS --max-time 20 -H "Authorization: Bearer \$EXAMPLE_TOKEN" \
	"https://api.test:$TLS_PORT/headers" >/tmp/declared 2>/tmp/declared.err ||
	echo "declared-failed: \$(cat /tmp/declared.err)"
sed 's/^/declared: /' /tmp/declared
code=\$(curl -s --max-time 20 -o /tmp/undeclared -w '%{http_code}' \
	-H "Authorization: Bearer \$EXAMPLE_TOKEN" "https://other.test:$TLS_PORT/headers")
echo "undeclared-code=\$code"
sed 's/^/undeclared: /' /tmp/undeclared
echo "agent-done"
AGENT

has_real() { grep -qsaF -e "$ENV_REAL" -e "$NETRC_REAL" -e "$YAML_REAL" "$@"; }

set +e
out=$(EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--session-name sec1 -- bash "$T/agent.sh" 2>"$T/run1.err")
rc=$?
set -e
at_exit "$AIRLOCK end sec1"
err=$(cat "$T/run1.err")
echo "$out"
echo "$err"
S=$AIRLOCK_STATE_DIR/sessions/sec1
check_eq "the agent ran to the end" 0 "$rc"
sent=$(sed -n 's/^env=\[\(.*\)\]$/\1/p' <<<"$out")
check "the env secret's variable holds a sentinel" grep -Eqx "$SENT_RE" <<<"$sent"
check_contains "a secret whose variable is unset is not given" "absent=[unset]" "$out"
check_contains "the masked .netrc keeps its mode" "netrc-mode=600" "$out"
nsent=$(grep -Eo "^netrc: machine api.test login me password $SENT_RE" <<<"$out" | awk '{print $NF}')
check "the .netrc shows a sentinel in place of the password" grep -Eqx "$SENT_RE" <<<"$nsent"
check_contains "every occurrence of the value is masked" \
	"netrc: machine other.test login you password $nsent" "$out"
ysent=$(grep -Eo "^yaml: token: $SENT_RE" <<<"$out" | awk '{print $NF}')
check "the YAML token shows a sentinel" grep -Eqx "$SENT_RE" <<<"$ysent"
check_contains "the rest of the YAML file is intact (before)" "yaml: user: me" "$out"
check_contains "the rest of the YAML file is intact (after)" "yaml: region: north" "$out"
check_eq "three different sentinels" 3 "$(printf '%s\n' "$sent" "$nsent" "$ysent" | sort -u | grep -c .)"
check_contains "a file whose pattern finds nothing is hidden" "nomatch-bytes=0" "$out"
check_contains "the masked copy is read-only" "netrc-readonly" "$out"
# (but for the declared origin's echo of what it received)
check_not "no real value reached the agent" has_real <<<"$(grep -v '^declared: ' <<<"$out")"
check_contains "the room's pid 1 (a fork of airlock) holds no value in its environment" \
	"pid1-real=0" "$out"
check_eq "the real .netrc is untouched" "machine api.test login me password $NETRC_REAL" \
	"$(head -1 "$HOME/.netrc")"
check_contains "summary: the env secret, by name, with its hosts" \
	"example: \$EXAMPLE_TOKEN holds a sentinel; the real value goes only to api.test" "$err"
check_contains "summary: the masked file" "netrc: $HOME/.netrc shows a masked copy" "$err"
check_contains "summary: the skipped secret" "secret skipped: absent: \$ABSENT_TOKEN is not set" "$err"
check_contains "summary: the hidden file" "secret hidden:  nomatch: $HOME/.config/tool/other.yaml" "$err"
check_contains "a warning names the skipped secret" "secret 'absent' (" "$err"
check_not "no real value in airlock run's messages" has_real <<<"$err"
check_eq "the session's sentinels file is 0600" 600 "$(stat -c %a "$S/secrets")"
check_contains "it maps names to sentinels" "example $sent" "$(cat "$S/secrets")"
sj=$("$AIRLOCK" sessions --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["id"] == "sec1":
        print(",".join(s["secrets"]))')
check_eq "airlock sessions --json names the secrets the session declares" "example,netrc,tool,absent,nomatch" "$sj"
sl=$("$AIRLOCK" sessions)
check_contains "airlock sessions lists them under the session" "  secrets: example, netrc, tool, absent, nomatch" "$sl"
check_not "airlock sessions shows no sentinel" grep -qF "$sent" <<<"$sl"
check_not "airlock sessions shows no value" has_real <<<"$sl"
check_not "no real value anywhere in the session directory" has_real -r "$S"
check_not "no real value in airlock audit" has_real <<<"$("$AIRLOCK" audit --session sec1 2>&1)"

# Through the proxy: the declared host got the real value, the other one a 403.
check "the declared host receives the real value" \
	grep -qF "Authorization: Bearer $ENV_REAL" "$T/TLS.log"
check_contains "what it echoes back reaches the agent redacted (same length)" \
	"declared: Authorization: Bearer [airlock:" "$out"
check_not "the agent never sees the real value" has_real <<<"$out"
check_not "the declared host sees no sentinel" grep -Eq "^declared: .*$SENT_RE" <<<"$out"
check_contains "an undeclared host: 403" "undeclared-code=403" "$out"
check_not "the undeclared host's reply is not the origin's" grep -q "^undeclared: Authorization" <<<"$out"
check_not "the undeclared host never got the real value" grep -q "^undeclared: .*$ENV_REAL" <<<"$out"
check "the refusal is audited as an exfiltration attempt" grep -q \
	'"decision":"deny".*exfiltration attempt: a credential sentinel for secret example' "$S/audit.jsonl"
check_not "still no real value in the session directory" has_real -r "$S"
check "the OTLP export carries the exfiltration record" grep -q "exfiltration attempt" "$T/otlp.bodies"
check_not "the OTLP export holds no real value" has_real "$T/otlp.bodies"

# --show-env: the variable is marked as a sentinel, the value never shown.
show=$(EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" run --show-env --policy "$T/policy.yaml" 2>&1)
check_contains "--show-env: the variable holds a sentinel" "EXAMPLE_TOKEN=<the session's sentinel>" "$show"
check_contains "--show-env: says so" "# secret example: EXAMPLE_TOKEN holds a sentinel" "$show"
check_contains "--show-env: the masked file" "# secret netrc: $HOME/.netrc shows a masked copy" "$show"
check_not "--show-env: no real value" has_real <<<"$show"

# resume: the same sentinels; the proxy, started again, has no value in
# its arguments or environment.
cat >"$T/agent2.sh" <<AGENT
echo "env=[\$EXAMPLE_TOKEN]"
sed 's/^/netrc: /' "\$HOME/.netrc"
sleep 0.2
AGENT
set +e
out2=$(EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" resume sec1 -- bash "$T/agent2.sh" 2>"$T/run2.err")
rc=$?
set -e
check_eq "resume runs" 0 "$rc"
check_contains "resume keeps the env secret's sentinel" "env=[$sent]" "$out2"
check_contains "resume keeps the file secret's sentinel" \
	"netrc: machine api.test login me password $nsent" "$out2"
check_not "no real value in the session after resume" has_real -r "$S"
# a link in a masked copy's place (its dir may be the user's): refused,
# and the agent does not run
rm -f "$S/secrets.d/masked-netrc"
ln -s /etc/hostname "$S/secrets.d/masked-netrc"
set +e
EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" resume sec1 -- sh -c 'echo agent-ran' >"$T/run5.out" 2>"$T/run5.err"
rc=$?
set -e
check_eq "a link for a masked copy: the session refuses (125)" 125 "$rc"
check_not "... and the agent did not run" grep -q agent-ran "$T/run5.out"
check_contains "... and says which copy" "secret 'netrc': cannot write its masked copy" "$(cat "$T/run5.err")"

# The proxy's own view: run one that stays, read its /proc entries.
EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--session-name sec2 -- sh -c 'touch running; sleep 30' >/dev/null 2>"$T/run3.err" &
RUN_PID=$!
at_exit "$AIRLOCK end sec2"
at_exit "kill $RUN_PID"
S2=$AIRLOCK_STATE_DIR/sessions/sec2
# the agent runs (its write is staged): every daemon is up
wait_for 30 test -e "$S2/upper/running" || fail "the agent did not start: $(cat "$T/run3.err")"
pp=$(cat "$S2/proxy.pid")
check_not "the proxy's arguments hold no value" has_real "/proc/$pp/cmdline"
check "the proxy's arguments name the pipe" grep -qa -- "--secrets-fd" "/proc/$pp/cmdline"
check_not "the proxy's environment holds no value" has_real "/proc/$pp/environ"
fp=$(cat "$S2/fs.pid")
check_not "airlock-fs's environment holds no value" has_real "/proc/$fp/environ"
check_not "airlock run's own environment is wiped" has_real "/proc/$RUN_PID/environ"
kill "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true
# resume starts airlock-fs before the proxy: the values are out of the
# environment before it inherits it all the same
wait_for 30 sh -c "! $AIRLOCK sessions 2>/dev/null | grep -q 'sec2.*running'" || true
EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" resume sec2 -- sh -c 'touch running2; sleep 30' \
	>/dev/null 2>"$T/run6.err" &
RUN_PID=$!
at_exit "kill $RUN_PID"
wait_for 30 test -e "$S2/upper/running2" || fail "the resumed agent did not start: $(cat "$T/run6.err")"
fp=$(cat "$S2/fs.pid")
check "resume: airlock-fs runs" test -e "/proc/$fp/environ"
check_not "resume: airlock-fs's environment holds no value" has_real "/proc/$fp/environ"
check_not "resume: the proxy's environment holds no value" has_real "/proc/$(cat "$S2/proxy.pid")/environ"
kill "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true

# A file secret under --no-isolate cannot be masked: it is left out, and
# says why; the env secret still holds a sentinel.
set +e
out4=$(EXAMPLE_TOKEN=$ENV_REAL "$AIRLOCK" run --no-isolate --project "$P" --policy "$T/policy.yaml" \
	--session-name sec4 -- sh -c 'echo "env=[$EXAMPLE_TOKEN]"' 2>"$T/run4.err")
set -e
at_exit "$AIRLOCK end sec4"
check_contains "--no-isolate: the env secret holds the sentinel" "env=[airlock-sentinel-" "$out4"
check_contains "--no-isolate: a file secret is left out, with why" \
	"--no-isolate cannot mask $HOME/.netrc" "$(cat "$T/run4.err")"
check_not "--no-isolate: no real value for the agent" has_real <<<"$out4"

# An ordinary user's room (a user namespace): the same sentinels, the
# masked copy the user's own; /dev/fuse is 0666 for it, as in
# test_run_unpriv.sh, under the same lock.
new_test_user asec
open_dev_fuse
chmod 0711 "$T"
chmod 0644 "$T/policy.yaml"
UB=$T/bin
mkdir -m 0755 "$UB"
cp "$AIRLOCK" "$AIRLOCK_FS" "$AIRLOCK_BUILD/proxy/airlock-proxy" "$UB/"
runuser -u "$U" -- sh -c "mkdir -p '$H/proj' '$H/.config/tool' && printf 'machine api.test login me password %s\n' '$NETRC_REAL' >'$H/.netrc' && chmod 600 '$H/.netrc'"
set +e
out6=$(cd "$H/proj" && runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$H" \
	USER="$U" LOGNAME="$U" AIRLOCK_FS="$UB/airlock-fs" AIRLOCK_PROXY="$UB/airlock-proxy" \
	EXAMPLE_TOKEN=$ENV_REAL "$UB/airlock" run --project "$H/proj" --policy "$T/policy.yaml" \
	--session-name user1 -- sh -c 'echo "env=[$EXAMPLE_TOKEN]"; cat ~/.netrc; stat -c "mode=%a %U" ~/.netrc' \
	2>"$T/run6.err" 9>&-)
rc=$?
set -e
check_eq "as an ordinary user: the run exits 0" 0 "$rc"
check_contains "as a user: the env secret holds a sentinel" "env=[airlock-sentinel-" "$out6"
check "as a user: the .netrc shows a sentinel" grep -Eq "^machine api.test login me password $SENT_RE\$" <<<"$out6"
check_contains "as a user: the masked copy is the user's, 0600" "mode=600 $U" "$out6"
check_not "as a user: no real value for the agent" has_real <<<"$out6"
check_not "as a user: no real value in the user's session" has_real -r "$H/.local/state/airlock"

check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
