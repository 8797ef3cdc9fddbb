#!/usr/bin/env bash
# airlock run (isolated): the rest of the machine.  Outside the project
# everything is read-only; /tmp, /var/tmp and /dev/shm are the session's
# own; the home is copy-on-write (the changes show in `airlock diff
# --home`, never in the real home, and commit leaves them out); default
# secrets (~/.ssh, ~/.aws, /etc/shadow, other homes) are hidden; an
# `allow write` rule on an outside path makes the real path writable; a
# mask that cannot be made stops the session before the agent runs.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

# A test home: the real one (root's) is never touched.
export HOME=$T/home
mkdir -p "$HOME/.ssh" "$HOME/.aws"
echo "PRIVATE-KEY-MATERIAL" >"$HOME/.ssh/id_ed25519"
printf '[default]\naws_secret_access_key = AWS-SECRET-VALUE\n' >"$HOME/.aws/credentials"
echo "orig" >"$HOME/.profile"
# A file system mounted beneath the home (a data disk, a share).
mkdir -p "$HOME/data"
mount -t tmpfs -o size=1m airlock-test-data "$HOME/data"
at_exit "umount -l '$HOME/data' 2>/dev/null || true"
echo "on-the-disk" >"$HOME/data/f"
P=$T/proj
mkdir -p "$P"
echo "one" >"$P/a.txt"
# A file in the host's /tmp (outside $T), and names the agent will use.
HT=$(mktemp /tmp/airlock-host-file.XXXXXX)
at_exit "rm -f '$HT' /tmp/airlock-agent-tmp.$$ /var/tmp/airlock-agent-tmp.$$ /dev/shm/airlock-agent-tmp.$$"
echo "host" >"$HT"

# A unix socket in the host's /run (a daemon's, say systemd's or a
# container runtime's): a read-only mount would not stop connect().
RUNSOCK=/run/airlock-test-$$.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
s.settimeout(120)
try:
    while True:
        c, _ = s.accept(); c.sendall(b"host-daemon\n"); c.close()
except Exception:
    pass' "$RUNSOCK" &
at_exit "kill $! 2>/dev/null; rm -f $RUNSOCK"
wait_for 10 test -S "$RUNSOCK" || die "no host socket"
check_eq "the host's socket answers on the host" host-daemon \
	"$(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(64).decode().strip())' "$RUNSOCK")"

cat >"$T/agent.sh" <<AGENT
try_write() { # try_write LABEL PATH: "LABEL-wrote" or "LABEL-refused: why"
	if ( echo probe >"\$2" ) 2>/tmp/err; then echo "\$1-wrote"; else echo "\$1-refused: \$(cat /tmp/err)"; fi
}
try_write usr /usr/airlock-probe
try_write etc /etc/airlock-probe
try_write roothome /root/airlock-probe
try_write ssh "\$HOME/.ssh/new"
try_write sysctl /proc/sys/kernel/domainname
echo "agent" >>"\$HOME/.profile" && echo "profile-appended"
mkdir -p "\$HOME/.cache/tool" && echo "cached" >"\$HOME/.cache/tool/c" && echo "cache-written"
echo "seen-profile=\$(tr '\n' ' ' <"\$HOME/.profile")"
echo "ssh-dir=[\$(ls -A "\$HOME/.ssh")]"
cat "\$HOME/.ssh/id_ed25519" 2>/dev/null || echo "no-ssh-key"
cat "\$HOME/.aws/credentials" 2>/dev/null || echo "no-aws-credentials"
echo "shadow-bytes=\$(wc -c </etc/shadow)"
test -e "$HT" || echo "host-tmp-invisible"
for d in /tmp /var/tmp /dev/shm; do
	echo in-room >"\$d/airlock-agent-tmp.$$" && echo "wrote-\$d"
done
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("run-socket=" + s.recv(64).decode().strip())' "$RUNSOCK" 2>/dev/null || echo "run-socket-unreachable"
echo "runtime=\$(stat -c '%a %u' /run/user/\$(id -u))" && echo x >/run/user/\$(id -u)/probe && echo "runtime-writable"
echo "home-mount=\$(cat "\$HOME/data/f" 2>&1)"
try_write homemount "\$HOME/data/new"
echo "b" >"$P/b.txt"
echo "agent-done"
AGENT

set +e
out=$("$AIRLOCK" run --project "$P" --session-name host1 -- bash -s <"$T/agent.sh" 2>"$T/run1.err")
rc=$?
set -e
at_exit "$AIRLOCK end host1"
err=$(cat "$T/run1.err")
echo "$out"
check_eq "the agent ran to the end" 0 "$rc"
check_contains "/usr is read-only" "usr-refused: " "$out"
check_contains "... with EROFS" "/usr/airlock-probe: Read-only file system" "$out"
check_contains "/etc is read-only (EROFS)" "/etc/airlock-probe: Read-only file system" "$out"
check_contains "root's real home is hidden and read-only (EROFS)" \
	"/root/airlock-probe: Read-only file system" "$out"
check_contains "~/.ssh cannot be written" "ssh-refused: " "$out"
check_contains "/proc/sys is read-only" "sysctl-refused: " "$out"
check_not "nothing landed in /usr" test -e /usr/airlock-probe
check_not "nothing landed in /etc" test -e /etc/airlock-probe
check_contains "the home is writable inside" "profile-appended" "$out"
check_contains "the agent sees its own change" "seen-profile=orig agent" "$out"
check_contains "caches can be written" "cache-written" "$out"
check_contains "a mount beneath the home is seen inside" "home-mount=on-the-disk" "$out"
check_contains "... read-only" "homemount-refused: " "$out"
check_not "... nothing landed on it" test -e "$HOME/data/new"
check_contains "the host's /run sockets are out of reach" "run-socket-unreachable" "$out"
check_contains "the agent's runtime dir is its own, 0700" "runtime=700 0" "$out"
check_contains "and writable" "runtime-writable" "$out"
check_not "and private: nothing of it on the host" test -e /run/user/0/probe
check_eq "the real home file is unchanged" "orig" "$(cat "$HOME/.profile")"
check_not "the cache is not in the real home" test -e "$HOME/.cache"
S=$AIRLOCK_STATE_DIR/sessions/host1
check_eq "the write landed in the session's home upper" "cached" \
	"$(cat "$S/home/upper/.cache/tool/c")"
check_contains "~/.ssh is empty inside" "ssh-dir=[]" "$out"
check_contains "the ssh key is unreadable" "no-ssh-key" "$out"
check_contains "the aws credentials are unreadable" "no-aws-credentials" "$out"
case $out in
*PRIVATE-KEY-MATERIAL* | *AWS-SECRET-VALUE*) fail "a secret reached the agent" ;;
*) pass "no secret reached the agent" ;;
esac
check_contains "/etc/shadow reads empty" "shadow-bytes=0" "$out"
check_contains "a host /tmp file is not visible" "host-tmp-invisible" "$out"
for d in /tmp /var/tmp /dev/shm; do
	check_contains "$d is writable inside" "wrote-$d" "$out"
	check_not "what the agent wrote in $d is not on the host" test -e "$d/airlock-agent-tmp.$$"
done
check_contains "summary: the home" "home:           $HOME, copy-on-write: 4 changes" "$err"
check_contains "summary: ~/.ssh hidden" "hidden:         $HOME/.ssh (conf/airlock.yaml:" "$err"
check_contains "summary: /etc/shadow hidden" "hidden:         /etc/shadow (" "$err"
check_contains "summary: the state dir hidden" "hidden:         $AIRLOCK_STATE_DIR (builtin:state-dir)" "$err"

hd=$("$AIRLOCK" diff --home --session host1 2>"$T/hd.err")
check_contains "diff --home: the modified file" "M .profile" "$hd"
check_contains "diff --home: the added file" "A .cache/tool/c" "$hd"
check_contains "diff --home: the text diff" "+agent" "$hd"
check_contains "diff --home: says it is never committed" "never applies" "$(cat "$T/hd.err")"
check_eq "diff --home --name-status: lines only" \
	"$(printf 'A .cache/\nA .cache/tool/\nA .cache/tool/c\nM .profile')" \
	"$("$AIRLOCK" diff --home --name-status --session host1 2>/dev/null)"
check "commit applies the project's change" "$AIRLOCK" commit --session host1
check_eq "the project got b.txt" "b" "$(cat "$P/b.txt")"
check_eq "the real home is still unchanged after commit" "orig" "$(cat "$HOME/.profile")"
check_not "nor has the cache" test -e "$HOME/.cache"

# allow write on a path outside the project: the real path, writable
# (here under /tmp, so it also keeps its place in the private /tmp)
mkdir -p "$T/shared"
echo "before" >"$T/shared/old.txt"
echo "elsewhere" >"$T/other.txt"
{
	sed '/^fs:/q' "$AIRLOCK_SRC/conf/airlock.yaml"
	printf '  - paths: ["%s"]\n    ops: [write]\n    action: allow\n    reason: a shared cache\n' "$T/shared"
	sed '1,/^fs:/d' "$AIRLOCK_SRC/conf/airlock.yaml"
} >"$T/allow.yaml"
set +e
out=$("$AIRLOCK" run --project "$P" --policy "$T/allow.yaml" --session-name host2 -- sh -c "
	cat '$T/shared/old.txt'; echo from-agent >'$T/shared/new.txt' && echo shared-written
	test -e '$T/other.txt' || echo other-invisible
	echo x >'$T/other.txt' 2>/dev/null || echo other-refused" 2>"$T/run2.err")
rc=$?
set -e
at_exit "$AIRLOCK end host2"
check_eq "the allow-write run exits 0" 0 "$rc"
check_contains "the real path shows inside" "before" "$out"
check_contains "the agent writes it" "shared-written" "$out"
check_eq "the write landed on the host" "from-agent" "$(cat "$T/shared/new.txt" 2>/dev/null)"
check_contains "the rest of the private /tmp stays private" "other-invisible" "$out"
check_eq "and the host's file there is untouched" "elsewhere" "$(cat "$T/other.txt")"
check_contains "summary: the writable path" "writable:       $T/shared (" "$(cat "$T/run2.err")"

# a script in the host's /tmp named on the command line keeps its place,
# read-only; its neighbours stay out
echo "neighbour" >"$T/neighbour.txt"
cat >"$T/script.sh" <<SCRIPT
echo script-ran
echo x >>"\$0" 2>/dev/null || echo script-readonly
test -e "$T/neighbour.txt" || echo neighbour-invisible
SCRIPT
set +e
out=$("$AIRLOCK" run --project "$P" --session-name host4 -- sh "$T/script.sh" 2>"$T/run4.err")
rc=$?
set -e
at_exit "$AIRLOCK end host4"
check_eq "the script run exits 0" 0 "$rc"
check_contains "the script named on the command line runs" "script-ran" "$out"
check_contains "... read-only" "script-readonly" "$out"
check_contains "its neighbours in /tmp stay out" "neighbour-invisible" "$out"
check_contains "summary: the script read-only" "read-only:      $T/script.sh (the command line)" "$(cat "$T/run4.err")"

# interception: the CA bundle in the host's /tmp shows inside, read-only
cat >"$T/tls.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
tls: {intercept: [api.test]}
YAML
set +e
out=$("$AIRLOCK" run --project "$P" --policy "$T/tls.yaml" --session-name host5 -- sh -c '
	grep -q "BEGIN CERTIFICATE" "$SSL_CERT_FILE" && echo bundle-readable
	echo x >>"$SSL_CERT_FILE" 2>/dev/null || echo bundle-readonly' 2>"$T/run5.err")
rc=$?
set -e
at_exit "$AIRLOCK end host5"
check_eq "the interception run exits 0" 0 "$rc"
check_contains "the CA bundle is readable inside" "bundle-readable" "$out"
check_contains "... and read-only" "bundle-readonly" "$out"

# a mask that cannot be made: ~/.aws is a symlink loop, so nobody can
# tell what it would show; the session refuses, the agent never runs
export HOME=$T/home2
mkdir -p "$HOME"
ln -s .aws "$HOME/.aws"
set +e
out=$("$AIRLOCK" run --project "$P" --session-name host3 -- sh -c 'echo agent-ran' 2>"$T/run3.err")
rc=$?
set -e
at_exit "$AIRLOCK end host3"
err=$(cat "$T/run3.err")
check_eq "the session refuses to start: 125" 125 "$rc"
check_not "the agent did not run" grep -q agent-ran <<<"$out"
check_contains "the message names the path" "$HOME/.aws" "$err"
check_contains "... and the errno" "Too many levels of symbolic links" "$err"
check_contains "... and says the agent did not run" "the agent does not run" "$err"

umount "$T/home/data"

echo "# every default secret path of a home (credentials, histories), and other users' homes, unreadable"
export HOME=$T/home3
secrets=(.ssh/id_rsa .gnupg/private-keys-v1.d/k.key .aws/credentials
	.azure/accessTokens.json .config/gcloud/credentials.db .config/gh/hosts.yml
	.config/hub .kube/config .docker/config.json .netrc .git-credentials
	.config/git/credentials .npmrc .pypirc .cargo/credentials.toml
	.cargo/credentials .gem/credentials .m2/settings-security.xml
	.terraform.d/credentials.tfrc.json .vault-token .password-store/site.gpg
	.local/share/keyrings/login.keyring .mozilla/firefox/p/logins.json
	".config/google-chrome/Default/Login Data" .config/chromium/Default/Cookies
	.config/BraveSoftware/b .config/microsoft-edge/e .config/vivaldi/v
	.config/opera/o .thunderbird/t snap/firefox/f snap/chromium/c
	.config/op/config .oci/config .bash_history .zsh_history .python_history
	.psql_history .local/share/fish/fish_history)
i=0
for s in "${secrets[@]}"; do
	mkdir -p "$HOME/$(dirname "$s")"
	echo "SECRET-VALUE-$i" >"$HOME/$s"
	i=$((i + 1))
done
echo "not a secret" >"$HOME/.gitconfig"
OTHER=/home/airlocktest$$
mkdir -p "$OTHER"
at_exit "rm -rf '$OTHER'"
echo "SECRET-VALUE-other" >"$OTHER/notes"
check_eq "the host home holds them all" "$i" "$(grep -rl SECRET-VALUE "$HOME" | wc -l)"
set +e
out=$("$AIRLOCK" run --project "$P" --session-name hostscan -- bash -c \
	'grep -rs SECRET-VALUE "$HOME" /home; echo "gitconfig=$(cat "$HOME/.gitconfig")"; echo scan-done' 2>"$T/run5.err")
rc=$?
set -e
at_exit "$AIRLOCK end hostscan"
check_eq "the scan run exits 0" 0 "$rc"
[ "$rc" = 0 ] || echo "run5: $(cat "$T/run5.err")"
check_contains "the scan ran" "scan-done" "$out"
check_contains "the rest of the home is there" "gitconfig=not a secret" "$out"
check_not "no default secret path of the home is readable" grep -q SECRET-VALUE <<<"$out"
grep SECRET-VALUE <<<"$out" || true
check_not "no other user's home is readable" grep -q SECRET-VALUE-other <<<"$out"
check_not "no mount of this test left" grep -q "$T" /proc/mounts
finish
