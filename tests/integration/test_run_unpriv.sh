#!/usr/bin/env bash
# airlock run as an ordinary user: a user the test creates (useradd), a
# project it owns, the session under its own state dir, the view mounted
# through fusermount3 and the room made in an unprivileged user namespace.
# The same outcomes as root's room: writes staged (the project unchanged,
# airlock diff shows them), a held write approved and a held request
# denied from a second process, the bypass refused (curl --noproxy '*' to
# a server on the host's loopback), no DNS, the control sockets out of
# reach, the host read-only, ~/.ssh hidden, the home copy-on-write.  And
# where the kernel forbids the user namespace, airlock run refuses, names
# the sysctl and offers --no-isolate.
# CI's containers leave /dev/fuse at 0600: it is 0666 for the test (as
# Debian's udev rule makes it on a workstation) and gets its mode back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"
command -v fusermount3 >/dev/null || die "fusermount3 is missing (package fuse3)"

new_test_user alu
open_dev_fuse

# The binaries where the user can run them, whatever the build dir's mode.
chmod 0711 "$T"
UB=$T/bin
mkdir -m 0755 "$UB"
cp "$AIRLOCK" "$AIRLOCK_FS" "$AIRLOCK_PROXY" "$UB/"
as_user() {
	runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$H" \
		USER="$U" LOGNAME="$U" AIRLOCK_FS="$UB/airlock-fs" \
		AIRLOCK_PROXY="$UB/airlock-proxy" "$@" 9>&-
}
A=$UB/airlock
STATE=$H/.local/state/airlock
S=$STATE/sessions/un

# the user's project, secret and a place of its own outside the home
P=$H/proj
as_user mkdir -p "$P/pub" "$H/.ssh"
as_user sh -c "echo original >'$P/a.txt'; echo key >'$H/.ssh/id_test'; chmod 600 '$H/.ssh/id_test'"
OUT=$T/outside
mkdir -m 0755 "$OUT"
chown "$U" "$OUT"

# the user's runtime dir with its session bus: a way out of any netns
if [ ! -d /run/user ]; then
	mkdir -m 0755 /run/user
	at_exit "rmdir /run/user"
fi
mkdir -m 0700 "/run/user/$UID_"
chown "$U:" "/run/user/$UID_"
at_exit "rm -rf /run/user/$UID_"
as_user python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('/run/user/$UID_/bus')"

start_origin ORIG
HPORT=$ORIG_PORT
check "the host reaches its origin directly" \
	curl -sS --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$HPORT/x"

cat >"$H/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 120s}
fs:
  - paths: ["pub/held.txt"]
    ops: [create, write]
    action: hold
    reason: the test decides
  - paths: ["~/.ssh", "/etc/shadow"]
    action: deny
    reason: credentials stay outside the room
net:
  - cidrs: [127.0.0.1/32]
    ports: [$HPORT]
    action: allow
    reason: the test origin
  - cidrs: [127.0.0.2/32]
    ports: [$HPORT]
    action: hold
    reason: a person decides
YAML
cat >"$H/agent.sh" <<AGENT
echo "uid=\$(id -u) pid=\$\$"
echo "cwd=\$(pwd)"
echo changed >a.txt
echo "after=\$(cat a.txt)"
if echo mine >pub/held.txt; then echo "held=written"; else echo "held=refused"; fi
echo "via-proxy=\$(curl -sS --max-time 20 'http://127.0.0.1:$HPORT/hello')"
echo "held-req=\$(curl -s --max-time 150 -o /dev/null -w '%{http_code}' 'http://127.0.0.2:$HPORT/hello')"
curl -sS --noproxy '*' --max-time 5 -o /dev/null "http://127.0.0.1:$HPORT/x" 2>/dev/null || echo "direct-fails"
python3 -c 'import socket; socket.getaddrinfo("example.com", 80)' >/dev/null 2>&1 || echo "resolve-fails"
[ -z "\$(ls -A "$STATE" 2>&1)" ] && echo "state-empty"
test -e "$S/fs.sock" || echo "no-fs-sock"
test -e "$S/proxy.sock" || echo "no-proxy-sock"
$A pending --session un >/dev/null 2>&1 || echo "pending-fails"
ls /tmp/airlock-$UID_ >/dev/null 2>&1 || echo "view-place-hidden"
test -S /run/user/$UID_/bus || echo "bus-hidden"
cat ~/.ssh/id_test >/dev/null 2>&1 || echo "ssh-hidden"
echo "ssh-dir=[\$(ls -A ~/.ssh 2>&1)]"
echo x >"$OUT/f" 2>/dev/null || echo "outside-readonly"
echo x >/etc/airlock-unpriv 2>/dev/null || echo "etc-readonly"
echo home >~/home-note && echo "home-written"
umount -l "$P" 2>/dev/null || echo "umount-view-fails"
umount "$STATE" 2>/dev/null || echo "umount-state-fails"
unshare -Urm sh -c 'umount -l $STATE' 2>/dev/null || echo "nested-umount-fails"
nsenter --net=/proc/1/ns/net true 2>/dev/null || echo "setns-fails"
pgrep -f airlock-proxy >/dev/null || echo "no-daemons-seen"
grep NoNewPrivs /proc/self/status
grep CapEff /proc/self/status
AGENT
chown "$U" "$H/policy.yaml" "$H/agent.sh"

as_user "$A" run --project "$P" --policy "$H/policy.yaml" --session-name un \
	-- bash "$H/agent.sh" >"$T/agent.out" 2>"$T/run.err" &
RUN_PID=$!
at_exit "kill $RUN_PID"
at_exit "as_user $A end un"

# held_id TEXT: the id of the held action whose target ends with TEXT,
# asked from a second process of the user, outside the room.
held_id() {
	as_user "$A" pending --session un --json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["target"].endswith(sys.argv[1]):
        print(a["id"])
        break' "$1"
}
is_held() { [ -n "$(held_id "$1")" ]; }
# held, or the run is over (then waiting longer is no use)
held_or_gone() { is_held "$1" || ! kill -0 "$RUN_PID" 2>/dev/null; }
wait_for 60 held_or_gone pub/held.txt
is_held pub/held.txt || fail "the write was not held: $(cat "$T/run.err")"
# While the agent waits: the proxy (outside) listens in the room's network
# namespace only, on the socket the room handed it; no bridge copies bytes.
proxy_pid=$(cat "$S/proxy.pid")
room_pid=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["agent_pid"])' "$S/session.json")
check_eq "the proxy runs as the user" "$U" "$(ps -o user= -p "$proxy_pid" | tr -d ' ')"
check_not "the proxy listens on nothing in the host's network" \
	sh -c "ss -Hltnp | grep -q 'pid=$proxy_pid,'"
check "its listener is 127.0.0.1:3128 in the room's network" \
	sh -c "nsenter --net=/proc/$room_pid/ns/net ss -Hltnp | grep '127.0.0.1:3128' | grep -q 'pid=$proxy_pid,'"
check_eq "and the room's network has no other listener" 1 \
	"$(nsenter --net=/proc/$room_pid/ns/net ss -Hltn | wc -l)"
check "the user approves the held write" as_user "$A" approve "$(held_id pub/held.txt)" --session un
wait_for 60 held_or_gone "127.0.0.2:$HPORT/hello"
is_held "127.0.0.2:$HPORT/hello" || fail "the request was not held"
# Who asked: the agent's curl, in the room's user and network namespaces.
exe=$(as_user "$A" pending --session un --json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["target"].endswith(sys.argv[1]):
        print(a["exe"].rsplit("/", 1)[-1])' "127.0.0.2:$HPORT/hello")
check_eq "the held request names its process" curl "$exe"
check "the user denies the held request" \
	as_user "$A" deny "$(held_id "127.0.0.2:$HPORT/hello")" --session un
rc=0
wait "$RUN_PID" || rc=$?
out=$(cat "$T/agent.out")
err=$(cat "$T/run.err")
echo "$out"
check_eq "the run exits 0" 0 "$rc"
check_contains "the agent runs as the user" "uid=$UID_ pid=2" "$out"
check_contains "cwd is the project's own path" "cwd=$P" "$out"
check_contains "the agent sees its write" "after=changed" "$out"
check_eq "the real project is unchanged" "original" "$(cat "$P/a.txt")"
check_contains "the held write went through once approved" "held=written" "$out"
check_contains "through the proxy the allowed origin answers" "via-proxy=" "$out"
check_not "and it answered something" grep -q "^via-proxy=$" "$T/agent.out"
check_contains "the denied held request gets 403" "held-req=403" "$out"
check_contains "a direct connection to the host's loopback fails" "direct-fails" "$out"
check_contains "no DNS inside" "resolve-fails" "$out"
check_contains "the state dir is empty inside" "state-empty" "$out"
check_contains "airlock-fs's control socket is not there" "no-fs-sock" "$out"
check_contains "airlock-proxy's control socket is not there" "no-proxy-sock" "$out"
check_contains "airlock pending fails inside" "pending-fails" "$out"
check_contains "the view's place in /tmp is not there" "view-place-hidden" "$out"
check "the session bus is there outside" test -S "/run/user/$UID_/bus"
check_contains "the user's runtime dir (session bus) is hidden" "bus-hidden" "$out"
check_contains "~/.ssh is hidden" "ssh-hidden" "$out"
check_contains "an empty dir in its place" "ssh-dir=[]" "$out"
check_contains "the user's own dir outside is read-only" "outside-readonly" "$out"
check_contains "/etc is read-only" "etc-readonly" "$out"
check_contains "the home takes writes" "home-written" "$out"
check_not "which do not reach the real home" test -e "$H/home-note"
check_contains "the agent cannot unmount the view" "umount-view-fails" "$out"
check_contains "the agent cannot uncover the state dir" "umount-state-fails" "$out"
check_contains "nor from a user namespace of its own" "nested-umount-fails" "$out"
check_contains "the agent cannot join the host's network" "setns-fails" "$out"
check_contains "the daemons' processes are not visible" "no-daemons-seen" "$out"
check_contains "no new privileges" "NoNewPrivs:	1" "$out"
check_contains "no capabilities" "CapEff:	0000000000000000" "$out"
check "the session lies in the user's state dir" test -f "$S/session.json"
check_eq "owned by the user" "$U" "$(stat -c %U "$S")"
check_contains "summary: two files staged" "files staged:   2" "$err"
check_contains "summary: one approved, one denied" "approved 1, denied 1" "$err"
check_contains "airlock diff shows the edit" "+changed" "$(as_user "$A" diff --session un)"
check_contains "airlock diff --home shows the home's change" "home-note" \
	"$(as_user "$A" diff --home --session un 2>&1)"
check_contains "the audit log holds the denial" '"outcome":"denied"' "$(cat "$S/audit.jsonl")"
check_not "no mount of the session left" grep -q "airlock-$UID_\|$S" /proc/mounts
# resume: a room again, its view mounted again in its place in /tmp
set +e
out=$(as_user "$A" resume un -- sh -c 'cat a.txt; cat pub/held.txt; id -u' 2>"$T/resume.err")
rc=$?
set -e
check_eq "airlock resume -- CMD exits 0" 0 "$rc"
check_contains "the resumed room shows the staged edit" "changed" "$out"
check_contains "and the approved write" "mine" "$out"
check_not "no mount of the session left after resume" grep -q "airlock-$UID_\|$S" /proc/mounts
# resume to review, kill -9 of airlock-fs: `airlock end` takes the dead
# view down (fusermount3: the user cannot umount)
check "airlock resume (no command) mounts the view again" as_user "$A" resume un
V=/tmp/airlock-$UID_/un
check "the view is mounted in its place" grep -q " $V " /proc/mounts
kill -9 "$(cat "$S/fs.pid")"
check "airlock end after airlock-fs died" as_user "$A" end un
check_not "the dead view is unmounted" grep -q " $V " /proc/mounts
# pub/held.txt was approved in the session; commit decides it again and
# the person says yes once more (without a terminal: --approve-held)
check "airlock commit applies the edit" as_user "$A" commit --session un --approve-held
check_eq "the project has it now" "changed" "$(cat "$P/a.txt")"

# --user is root's: another user is refused before any session exists
set +e
no=$(as_user "$A" run --project "$P" --user nobody --session-name un-u -- true 2>&1)
rc=$?
set -e
check_eq "--user another user: 125" 125 "$rc"
check_contains "and says why" "only root can run CMD as another user" "$no"
check_not "no session made" test -e "$STATE/sessions/un-u"

# A kernel that forbids user namespaces: the user's limit is 0 in a user
# namespace the test makes (user.max_user_namespaces is per namespace),
# so the host's stays as it is.
set +e
no=$(python3 "$(dirname "$0")/userns_deny.py" "$UID_" "$(id -g "$U")" \
	env -i PATH=/usr/bin:/bin HOME="$H" AIRLOCK_FS="$UB/airlock-fs" \
	AIRLOCK_PROXY="$UB/airlock-proxy" "$A" run --project "$P" \
	--session-name un-no -- true 2>&1 9>&-)
rc=$?
set -e
check_eq "refused where user namespaces are forbidden: 125" 125 "$rc"
check_contains "it names the sysctl" "user.max_user_namespaces is 0" "$no"
check_contains "it offers --no-isolate" "--no-isolate" "$no"
check_not "it ran nothing" test -e "$STATE/sessions/un-no"

finish
