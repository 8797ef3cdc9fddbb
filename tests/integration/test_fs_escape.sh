#!/usr/bin/env bash
# test_fs_escape: symlinks never make airlock-fs itself read or write
# outside its two roots.  The kernel follows a symlink in the view as the
# caller (that is fine); what this checks is the daemon: operations on the
# links themselves, renames of trees holding them, and a project directory
# swapped for a symlink under a live mount (the daemon's path walks refuse
# every symlink: openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"

P=$T/proj M=$T/mnt S=$T/sess O=$T/outside
mkdir -p "$P/tree/sub" "$P/realdir" "$M" "$O"
cat >"$T/policy.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
EOF
printf 'outside secret\n' >"$O/secret"
printf 'inside\n' >"$P/realdir/secret"
printf 'inside other\n' >"$P/realdir/other"
printf 'outside other\n' >"$O/other"
ln -s /etc/passwd "$P/passwd"
ln -s ../../.. "$P/up"
ln -s "$O" "$P/outdir"
ln -s ../outside/secret "$P/tree/sub/rel"
ln -s "$O/secret" "$P/tree/abs"

outside_state() {
	stat -c '%n %a %u %g %s %Y' /etc/passwd "$O" "$O/secret"
	sha256sum /etc/passwd "$O/secret"
	ls -A "$O"
	python3 -c 'import os,sys; print(sorted(os.listxattr(sys.argv[1])), sorted(os.listxattr(sys.argv[2])))' \
		/etc/passwd "$O/secret"
}
outside_state >"$T/before"

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
PID=$(cat "$S/fs.pid")
at_exit "unmount_fuse $M"
at_exit "kill -9 $PID"

echo "# links are shown as links"
check_eq "absolute target" /etc/passwd "$(readlink "$M/passwd")"
check_eq "relative target" ../../.. "$(readlink "$M/up")"
# below the root a name is looked up with one openat2 of its whole path:
# a link there must still be the link, never what it points to
check "a nested link is a link" test -L "$M/tree/sub/rel"
check_eq "a nested link's target" ../outside/secret "$(readlink "$M/tree/sub/rel")"
check_eq "a nested link's own size" 17 "$(stat -c %s "$M/tree/sub/rel")"
check_not "a missing nested name is absent" test -e "$M/tree/sub/missing"

echo "# operations on the links themselves stay in upper/"
chown -h 4321:4321 "$M/passwd" && pass "lchown a link" || fail "lchown"
check "the staged link is a link" test -L "$S/upper/passwd"
check_eq "owned as asked" 4321 "$(stat -c %u "$S/upper/passwd")"
touch -h -d '2000-01-01' "$M/tree/abs" && pass "lutimes a link" || fail "lutimes"
python3 - "$M/passwd" <<'EOF' && pass "user xattr on a link refused" || fail "xattr on a link"
import errno, os, sys
try:
    os.setxattr(sys.argv[1], "user.x", b"1", follow_symlinks=False)
    sys.exit(1)
except OSError as e:
    sys.exit(0 if e.errno in (errno.EPERM, errno.ENOTSUP) else 1)
EOF
mv "$M/outdir" "$M/outdir2" && pass "rename a link" || fail "rename a link"
check_eq "renamed link unchanged" "$O" "$(readlink "$M/outdir2")"
ln "$M/up" "$M/up.hard" && pass "hard link to a link" || fail "hard link"
check_eq "the new name is the link" ../../.. "$(readlink "$M/up.hard")"
mv "$M/tree" "$M/tree2" && pass "rename a tree holding links" || fail "rename tree"
check "the moved links stay links" test -L "$S/upper/tree2/sub/rel" -a -L "$S/upper/tree2/abs"
check_eq "and read as links through the mount" ../outside/secret "$(readlink "$M/tree2/sub/rel")"
ln -s /etc "$M/etc"
check "a new link to /etc is staged as a link" test -L "$S/upper/etc"
rm "$M/passwd" "$M/up" && pass "unlink links" || fail "unlink links"

echo "# a project directory swapped for a symlink under the mount"
check_eq "the real directory is seen first" inside "$(cat "$M/realdir/secret")"
mv "$P/realdir" "$T/realdir.moved"
ln -s "$O" "$P/realdir"
check_not "the daemon does not read through it" grep -q outside "$M/realdir/secret" 2>/dev/null
check_not "nor look up through it" grep -q outside "$M/realdir/other" 2>/dev/null
check_not "nor list through it" bash -c "ls '$M/realdir' 2>/dev/null | grep -q secret"
check_not "nor write through it" bash -c "echo x 2>/dev/null >>'$M/realdir/secret'"
check_not "nor create through it" bash -c "echo x 2>/dev/null >'$M/realdir/new'"
rm "$P/realdir"
mv "$T/realdir.moved" "$P/realdir"

kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || fail "still mounted"
outside_state >"$T/after"
check "nothing outside changed" diff -u "$T/before" "$T/after"
check_eq "no stray file outside" "other secret" "$(ls -A "$O" | tr '\n' ' ' | sed 's/ $//')"
check_not "no outside content staged" grep -rq outside "$S/upper"
check_eq "the project's directory is intact" inside "$(cat "$P/realdir/secret")"
finish
