#!/usr/bin/env bash
# The end-to-end session tests once more, as an ordinary user: a user this
# test creates (useradd) runs test_run_approve2, test_run_sessions, test_run_env,
# test_run_crash and test_run_watch unchanged (their root run is their
# own), from a copy of the scripts in which need_root lets it through and
# with a copy of the binaries it can run.  Each must pass as it does as
# root: the same holds, approvals, resume and kill -9 outcomes, from a
# room made in an unprivileged user namespace.  /dev/fuse is 0666 for the
# run (Debian's udev rule; CI's containers leave 0600) and gets its mode
# back.  test_run_unpriv.sh checks what is particular to the user's room.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"
command -v fusermount3 >/dev/null || die "fusermount3 is missing (package fuse3)"

new_test_user alw
open_dev_fuse

chmod 0711 "$T"
IT=$T/it
B=$T/build
mkdir -m 0755 "$IT" "$B" "$B/cli" "$B/fs" "$B/proxy"
cp "$(dirname "$0")"/*.sh "$(dirname "$0")"/*.py "$IT/"
echo 'need_root() { :; } # test_run_as_user.sh: the user runs it' >>"$IT/lib.sh"
cp "$AIRLOCK" "$B/cli/"
cp "$AIRLOCK_FS" "$B/fs/"
cp "$AIRLOCK_PROXY" "$B/proxy/"
chmod -R a+rX "$IT" "$B"

for t in test_run_approve2 test_run_sessions test_run_crash test_run_watch test_run_env; do
	set +e
	out=$(runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$H" USER="$U" LOGNAME="$U" AIRLOCK_BUILD="$B" \
		AIRLOCK_SRC="$AIRLOCK_SRC" timeout -k 10 300 bash "$IT/$t.sh" 2>&1 9>&-)
	rc=$?
	set -e
	verdict=$(printf '%s\n' "$out" | tail -1)
	if [ "$rc" -eq 0 ]; then
		pass "$t as $U: $verdict"
	else
		fail "$t as $U (exit $rc): $verdict"
		printf '%s\n' "$out" | grep -E "FAIL|skip" | head -20 >&2
	fi
	check_contains "$t as $U ran its checks" " passed, 0 failed" "$verdict"
done
check_not "no session mount of the user left" grep -q "/tmp/airlock-$UID_\|$H/" /proc/mounts

finish
