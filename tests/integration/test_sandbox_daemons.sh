#!/usr/bin/env bash
# The daemons lock themselves down once set up (common/sandbox.h): every
# thread has no_new_privs, a seccomp filter and only the capabilities it
# keeps (airlock-fs as root: six; airlock-proxy: none); airlock-fs's
# unmount at exit goes through its helper, for root and for a user (whose
# fusermount3 would not be setuid under no_new_privs); --no-seccomp and
# AIRLOCK_SECCOMP do what airlock-fs(8) says.  The kernel's own account
# (/proc/PID/status) is what is checked.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK_PROXY" ] || die "missing $AIRLOCK_PROXY"

# CAP_CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, SYS_PTRACE
FS_CAPS=000000000008001f
SYS_ADMIN=0000000000200000

# status PID FIELD: a field of /proc/PID/status
status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# threads PID FIELD: the distinct values of FIELD over PID's threads
threads() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v f="$2:" '$1 == f { print $2 }' "$t/status"
	done | sort -u | tr '\n' ' '
}
helper_of() { pgrep -P "$1" -x airlock-umount || true; }
gone() { ! kill -0 "$1" 2>/dev/null; }
unmounted() { ! mountpoint -q "$1"; }

P=$T/proj
mkdir -p "$P"
printf 'hello\n' >"$P/a"

echo "# airlock-fs as root"
M=$T/m1 S=$T/s1
mkdir -p "$M"
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" --daemon 2>"$T/fs1.err" ||
	die "mount: $(cat "$T/fs1.err")"
at_exit "unmount_fuse $M"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"
check_eq "serves" hello "$(cat "$M/a")"
check_eq "no_new_privs" 1 "$(status "$PID" NoNewPrivs)"
check_eq "seccomp filter" 2 "$(status "$PID" Seccomp)"
check_eq "keeps six capabilities" $FS_CAPS "$(status "$PID" CapEff)"
check_eq "permitted too" $FS_CAPS "$(status "$PID" CapPrm)"
check_eq "bounding set cleared" $FS_CAPS "$(status "$PID" CapBnd)"
echo x >"$M/b"
check_eq "every thread alike" "$FS_CAPS 2 " "$(threads "$PID" CapEff)$(threads "$PID" Seccomp)"
H=$(helper_of "$PID")
check "the unmount helper runs" test -n "$H"
if [ -n "$H" ]; then
	check_eq "helper keeps CAP_SYS_ADMIN only" $SYS_ADMIN "$(status "$H" CapEff)"
	check_eq "helper is not filtered" 0 "$(status "$H" Seccomp)"
	check_eq "helper holds no /dev/fuse" 0 \
		"$(ls -l /proc/"$H"/fd 2>/dev/null | grep -c /dev/fuse)"
fi
# to the whole process group (--daemon made it one): the helper must
# outlive the signal to do the daemon's unmount
kill -TERM -- -"$PID"
check "unmounted on SIGTERM to the group (through the helper)" wait_for 10 unmounted "$M"
check "daemon gone" wait_for 10 gone "$PID"
[ -n "$H" ] && check "helper gone" wait_for 10 gone "$H"

echo "# a dead airlock-fs is not unmounted behind its back"
M=$T/m2 S=$T/s2
mkdir -p "$M"
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" --daemon 2>"$T/fs2.err" ||
	die "mount: $(cat "$T/fs2.err")"
at_exit "unmount_fuse $M"
PID=$(cat "$S/fs.pid")
H=$(helper_of "$PID")
kill -KILL "$PID"
wait_for 10 gone "$PID" || true
[ -n "$H" ] && check "helper leaves with the daemon" wait_for 10 gone "$H"
check "the view stays mounted (never uncovers what is below)" mountpoint -q "$M"
answers() { cat "$1" >/dev/null 2>&1; }
check_not "and answers no more" answers "$M/a"
unmount_fuse "$M"

echo "# --no-seccomp and AIRLOCK_SECCOMP"
M=$T/m3 S=$T/s3
mkdir -p "$M"
set +e
AIRLOCK_SECCOMP=sometimes "$AIRLOCK_FS" --project "$P" --mount "$M" \
	--session "$S" --daemon 2>"$T/fs3.err"
rc=$?
set -e
check_eq "a bad AIRLOCK_SECCOMP refuses to start" 2 "$rc"
check_contains "and says why" "AIRLOCK_SECCOMP" "$(cat "$T/fs3.err")"
check_not "nothing left mounted" mountpoint -q "$M"

"$AIRLOCK_PROXY" --listen 127.0.0.1:0 --no-seccomp >"$T/p1.out" 2>&1 &
PP=$!
at_exit "kill -9 $PP"
wait_for 10 grep -q listening "$T/p1.out" || die "proxy: $(cat "$T/p1.out")"
check_eq "proxy --no-seccomp: no filter" 0 "$(status "$PP" Seccomp)"
check_eq "proxy --no-seccomp: still no_new_privs" 1 "$(status "$PP" NoNewPrivs)"
check_eq "proxy --no-seccomp: only CAP_SYS_PTRACE" 0000000000080000 "$(status "$PP" CapEff)"
kill -TERM "$PP"
wait_for 15 gone "$PP" || true

echo "# airlock-proxy as root"
"$AIRLOCK_PROXY" --listen 127.0.0.1:0 >"$T/p2.out" 2>&1 &
PP=$!
at_exit "kill -9 $PP"
wait_for 10 grep -q listening "$T/p2.out" || die "proxy: $(cat "$T/p2.out")"
check_eq "no_new_privs" 1 "$(status "$PP" NoNewPrivs)"
check_eq "seccomp filter, on every thread" "2 " "$(threads "$PP" Seccomp)"
# CAP_SYS_PTRACE only: to name the process behind a held request
check_eq "only CAP_SYS_PTRACE, on every thread" "0000000000080000 " "$(threads "$PP" CapEff)"
check_eq "bounding set: that one" 0000000000080000 "$(status "$PP" CapBnd)"
kill -TERM "$PP"
set +e
wait "$PP"
rc=$?
set -e
check_eq "stops cleanly under the filter (exit 0)" 0 "$rc"

echo "# airlock-fs as a user: the helper unmounts through fusermount3"
user=airlocksbx$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
at_exit "userdel $user"
uid=$(id -u "$user")
# Debian's udev rule gives /dev/fuse 0666 on a workstation; CI's
# containers leave it 0600: open it up for this test and restore it.
fuse_mode=$(stat -c %a /dev/fuse)
at_exit "chmod $fuse_mode /dev/fuse"
chmod 0666 /dev/fuse
chmod 0755 "$T"
mkdir -m 0755 "$T/bin"
cp "$AIRLOCK_FS" "$T/bin/"
U=$T/user
mkdir -p "$U/p" "$U/m"
printf 'mine\n' >"$U/p/f"
chown -R "$user" "$U"
setpriv --reuid="$uid" --regid="$uid" --clear-groups \
	"$T/bin/airlock-fs" --project "$U/p" --mount "$U/m" --session "$U/s" \
	--daemon 2>"$T/ufs.err" || fail "user mount: $(cat "$T/ufs.err")"
at_exit "unmount_fuse $U/m"
if [ -f "$U/s/fs.pid" ]; then
	PID=$(cat "$U/s/fs.pid")
	at_exit "kill -9 $PID"
	check_eq "user: serves" mine "$(setpriv --reuid="$uid" --regid="$uid" --clear-groups cat "$U/m/f")"
	check_eq "user: no_new_privs" 1 "$(status "$PID" NoNewPrivs)"
	check_eq "user: seccomp filter" 2 "$(status "$PID" Seccomp)"
	check_eq "user: no capability" 0000000000000000 "$(status "$PID" CapEff)"
	kill -TERM "$PID"
	check "user: unmounted on SIGTERM (fusermount3 via the helper)" \
		wait_for 10 unmounted "$U/m"
	check "user: daemon gone" wait_for 10 gone "$PID"
fi

finish
