# Helpers for integration tests.  Source it from a test_*.sh script:
#   . "$(dirname "$0")/lib.sh"
# The runner sets AIRLOCK_BUILD (the build directory) and AIRLOCK_SRC.
set -euo pipefail

AIRLOCK_SRC=${AIRLOCK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AIRLOCK_BUILD=${AIRLOCK_BUILD:-$AIRLOCK_SRC/build}
AIRLOCK=$AIRLOCK_BUILD/cli/airlock
AIRLOCK_FS=$AIRLOCK_BUILD/fs/airlock-fs
AIRLOCK_PROXY=$AIRLOCK_BUILD/proxy/airlock-proxy

# A private temporary directory, removed at exit (after the cleanup hooks).
T=$(mktemp -d /tmp/airlock-test.XXXXXX)
export AIRLOCK_STATE_DIR=$T/state
mkdir -p "$AIRLOCK_STATE_DIR"

_cleanup_hooks=()
# at_exit CMD...: run CMD at exit, last registered first.
at_exit() { _cleanup_hooks+=("$*"); }
_run_cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#_cleanup_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_hooks[$i]}" >/dev/null 2>&1
	done
	rm -rf "$T"
	exit $rc
}
trap _run_cleanup EXIT
trap 'exit 130' INT TERM

_test_name=$(basename "$0" .sh)
_n_pass=0
_n_fail=0

pass() { _n_pass=$((_n_pass + 1)); echo "  ok   $*"; }
fail() { _n_fail=$((_n_fail + 1)); echo "  FAIL $*" >&2; }
die() { echo "  FAIL $*" >&2; exit 1; }
skip() { echo "  skip $*"; exit 77; }

# check DESC CMD...: run CMD; pass when it succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# check_not DESC CMD...: pass when CMD fails.
check_not() {
	local desc=$1
	shift
	if "$@"; then fail "$desc"; else pass "$desc"; fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
# check_contains DESC NEEDLE HAYSTACK
check_contains() {
	case "$3" in
	*"$2"*) pass "$1" ;;
	*) fail "$1: '$2' not in: $(printf '%s' "$3" | head -c 400)" ;;
	esac
}

# Call at the end of every test: exits with the verdict.
finish() {
	echo "$_test_name: $_n_pass passed, $_n_fail failed"
	[ "$_n_fail" -eq 0 ]
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds; bounded.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 20; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	return 1
}

is_mounted() { mountpoint -q "$1"; }

# session_held_id SESSION TARGET-RE: the id of the action held in SESSION
# whose target matches TARGET-RE from its start (waits up to 10 s).
session_held_id() {
	local i out
	for ((i = 0; i < 200; i++)); do
		out=$("$AIRLOCK" pending --session "$1" --json 2>/dev/null || true)
		if [[ $out =~ \"id\":\"([fp][0-9]+)\",\"kind\":\"[a-z]+\",\"op\":\"[a-zA-Z]+\",\"target\":\"$2 ]]; then
			echo "${BASH_REMATCH[1]}"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# session_audit_has SESSION WORDS...: some audit line of SESSION holds
# every word.
session_audit_has() {
	local s=$1
	shift
	"$AIRLOCK" audit --session "$s" --json 2>/dev/null | python3 -c '
import sys
want = sys.argv[1:]
sys.exit(0 if any(all(w in l for w in want) for l in sys.stdin) else 1)' "$@"
}

# unmount_all MNT: best-effort lazy unmount of a FUSE mount.
unmount_fuse() {
	fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
}

# fs_allow_all: the places of a mount test, P (project), M (mount point)
# and S (session), P and M made, and $T/policy.yaml allowing every file
# operation.
fs_allow_all() {
	P=$T/proj M=$T/mnt S=$T/sess
	mkdir -p "$P" "$M"
	cat >"$T/policy.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
EOF
}

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# new_test_user PREFIX: an ordinary user with a home, removed (with its
# /tmp/airlock-UID views) at exit; sets U, H and UID_.
new_test_user() {
	U=$1$$
	H=/home/$U
	useradd -m -d "$H" -s /bin/bash "$U" || die "useradd $U failed"
	at_exit "userdel -r -f $U"
	UID_=$(id -u "$U")
	at_exit "rm -rf /tmp/airlock-$UID_"
}

# open_dev_fuse: give /dev/fuse mode 0666 (as Debian's udev rule does on
# a workstation; CI's containers leave it 0600) until exit.  The mode is
# the machine's: one test (or bench/session) at a time changes it, under
# a lock held on fd 9 (close it, 9>&-, for long-lived children).
open_dev_fuse() {
	exec 9>/run/airlock-devfuse.lock
	flock -w 900 9 || die "/dev/fuse stayed locked by another test for 15 minutes"
	at_exit "chmod $(stat -c %a /dev/fuse) /dev/fuse"
	chmod 0666 /dev/fuse
}
