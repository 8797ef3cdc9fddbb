#!/usr/bin/env bash
# sudo airlock run: a root-started session runs airlock-proxy as the
# invoking user (SUDO_UID), which owns the session dir; the proxy still
# serves the room and audits.  Not when the agent runs as that user
# (--user): the agent's uid is never a daemon's.  airlock-fs stays root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

U=als$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || die "useradd $U failed"
at_exit "userdel -f $U"
UID_=$(id -u "$U")
GID_=$(id -g "$U")
chmod 0711 "$T"

P=$T/proj
mkdir -p "$P"
echo original >"$P/a.txt"
chown -R "$U" "$P"
start_origin ORIG
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
net:
  - cidrs: [127.0.0.1/32]
    ports: [$ORIG_PORT]
    action: allow
    reason: the test origin
YAML
chmod 0644 "$T/policy.yaml"

# user_of SESSION NAME: the user of the daemon whose pid is in NAME.pid
user_of() { ps -o user= -p "$(cat "$AIRLOCK_STATE_DIR/sessions/$1/$2.pid")" | tr -d ' '; }
has_pid() { test -s "$AIRLOCK_STATE_DIR/sessions/$1/proxy.pid"; }

SUDO_UID=$UID_ SUDO_GID=$GID_ "$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--session-name sd -- sh -c "curl -sS --max-time 10 http://127.0.0.1:$ORIG_PORT/hello;
	echo; echo x >a.txt; sleep 4" >"$T/sd.out" 2>"$T/sd.err" &
RUN_PID=$!
at_exit "kill $RUN_PID; $AIRLOCK end sd"
wait_for 30 has_pid sd || fail "no proxy.pid: $(cat "$T/sd.err")"
check_eq "airlock-proxy runs as the invoking user" "$U" "$(user_of sd proxy)"
check_eq "airlock-fs stays root" "root" "$(user_of sd fs)"
check_eq "the session dir is the user's" "$U" "$(stat -c %U "$AIRLOCK_STATE_DIR/sessions/sd")"
rc=0
wait "$RUN_PID" || rc=$?
check_eq "the run exits 0" 0 "$rc"
check_contains "the agent reached the origin through the proxy" "hello" "$(cat "$T/sd.out")"
check "the proxy audited the request" grep -q '"decision":"allow"' "$AIRLOCK_STATE_DIR/sessions/sd/audit.jsonl"
check_contains "airlock diff (root) shows the agent's write" "+x" "$("$AIRLOCK" diff --session sd)"
check_eq "the project is unchanged" "original" "$(cat "$P/a.txt")"

# Interception: the user's proxy makes the session CA, root's airlock run
# puts it in the agent's bundle.
cat >"$T/tls.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
tls: {intercept: [api.test]}
YAML
chmod 0644 "$T/tls.yaml"
out=$(SUDO_UID=$UID_ SUDO_GID=$GID_ "$AIRLOCK" run --project "$P" --policy "$T/tls.yaml" \
	--session-name sdt -- sh -c 'cat "$SSL_CERT_FILE"' 2>"$T/sdt.err") ||
	fail "the interception run failed: $(cat "$T/sdt.err")"
at_exit "$AIRLOCK end sdt"
ca=$AIRLOCK_STATE_DIR/sessions/sdt/ca/ca.pem
check_eq "the user's proxy made the CA" "$U" "$(stat -c %U "$ca")"
printf '%s\n' "$out" >"$T/bundle-seen.pem"
check "the agent's bundle holds the session CA" python3 -c '
import sys
sys.exit(0 if open(sys.argv[1]).read().strip() in open(sys.argv[2]).read() else 1)' \
	"$ca" "$T/bundle-seen.pem"

# The agent as the invoking user: the proxy stays root.
SUDO_UID=$UID_ SUDO_GID=$GID_ "$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--user "$U" --session-name sd2 -- sleep 4 >"$T/sd2.out" 2>"$T/sd2.err" &
RUN_PID=$!
at_exit "kill $RUN_PID; $AIRLOCK end sd2"
wait_for 30 has_pid sd2 || fail "no proxy.pid: $(cat "$T/sd2.err")"
check_eq "with --user SUDO_USER the proxy stays root" "root" "$(user_of sd2 proxy)"
wait "$RUN_PID" || fail "the --user run failed: $(cat "$T/sd2.err")"

# Without SUDO_UID nothing changes.
env -u SUDO_UID "$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
	--session-name sd3 -- sleep 3 >"$T/sd3.out" 2>"$T/sd3.err" &
RUN_PID=$!
at_exit "kill $RUN_PID; $AIRLOCK end sd3"
wait_for 30 has_pid sd3 || fail "no proxy.pid: $(cat "$T/sd3.err")"
check_eq "without SUDO_UID the proxy is root" "root" "$(user_of sd3 proxy)"
wait "$RUN_PID" || fail "the run without SUDO_UID failed: $(cat "$T/sd3.err")"

finish
