#!/usr/bin/env bash
# test_fs_exchange: renameat2(RENAME_EXCHANGE) on a real airlock-fs mount:
# two project files, a project file and a new one, two directories with
# content, a file and a directory, two symlinks, across directories, a
# renamed file and a renamed tree, a tree exchanged and back; each
# name keeps its inode number under its new name; a missing side is
# ENOENT, RENAME_WHITEOUT stays EINVAL; the policy decides it as two
# renames (a denied side, a rule beneath a directory, a held side approved
# and denied: EACCES and nothing changed when refused); the swap survives
# kill -9 and a remount, `airlock diff` is accepted by `git apply --check`
# and gives the view, and `airlock commit` writes the view to the project.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/review_lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$M" "$P/d1/sub" "$P/d2" "$P/dd" "$P/dirA" "$P/dirB" "$P/held" \
	"$P/denied" "$P/keys"
printf 'one\n' >"$P/f1"
printf 'two\n' >"$P/f2"
printf 'three\n' >"$P/p3"
printf 'd1x\n' >"$P/d1/x"
printf 'd1y\n' >"$P/d1/sub/y"
printf 'd2x\n' >"$P/d2/x"
printf 'd2z\n' >"$P/d2/z"
printf 'a file\n' >"$P/fd"
printf 'k\n' >"$P/dd/k"
ln -s f1 "$P/s1"
ln -s nowhere "$P/s2"
printf 'u\n' >"$P/dirA/u"
printf 'v\n' >"$P/dirB/v"
printf 'h\n' >"$P/held/h"
printf 'h2\n' >"$P/held/h2"
printf 'q\n' >"$P/denied/q"
printf 'secret\n' >"$P/keys/id.pem"
printf 'r1\n' >"$P/r1"
mkdir -p "$P/e1/b" "$P/e2"
printf 'e1a\n' >"$P/e1/a"
printf 'e1c\n' >"$P/e1/b/c"
printf 'e2a\n' >"$P/e2/a"
mkdir -p "$P/od" "$P/xd"
printf 'm\n' >"$P/od/m"
printf 'w\n' >"$P/xd/w"
cp -a "$P" "$T/orig"
cat >"$T/policy.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 20s}
fs:
  - paths: ["held/**"]
    ops: [rename]
    action: hold
    reason: held for the test
  - paths: ["denied/**", "**/*.pem"]
    ops: [rename, delete, write]
    action: deny
    reason: denied for the test
EOF

mount_fs() {
	"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
		--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
	PID=$(cat "$S/fs.pid")
	at_exit "kill -9 $PID"
}
at_exit "unmount_fuse $M"
mount_fs

# xchg A B: renameat2(AT_FDCWD, A, AT_FDCWD, B, flags) (RENAME_EXCHANGE
# unless XFLAGS says otherwise); prints ok or the errno's name.
xchg() {
	python3 - "$1" "$2" "${XFLAGS:-2}" <<'EOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, os.fsencode(sys.argv[1]), -100,
                   os.fsencode(sys.argv[2]), int(sys.argv[3]))
print("ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
EOF
}
ino() { stat -c %i "$1"; }
view() {
	(cd "$M" && find . -printf '%p %y %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

echo "# two project files"
i1=$(ino "$M/f1") i2=$(ino "$M/f2")
check_eq "exchange succeeds" ok "$(xchg "$M/f1" "$M/f2")"
check_eq "f1 holds f2's content" two "$(cat "$M/f1")"
check_eq "f2 holds f1's content" one "$(cat "$M/f2")"
check_eq "f1's inode number moved to f2" "$i1" "$(ino "$M/f2")"
check_eq "f2's inode number moved to f1" "$i2" "$(ino "$M/f1")"
check_eq "the project is untouched" one "$(cat "$P/f1")"

echo "# a project file and a new file"
printf 'new\n' >"$M/n3"
i1=$(ino "$M/p3") i2=$(ino "$M/n3")
check_eq "exchange succeeds" ok "$(xchg "$M/p3" "$M/n3")"
check_eq "p3 holds the new content" new "$(cat "$M/p3")"
check_eq "n3 holds p3's" three "$(cat "$M/n3")"
check_eq "inode numbers follow (p3)" "$i1" "$(ino "$M/n3")"
check_eq "inode numbers follow (n3)" "$i2" "$(ino "$M/p3")"

echo "# two directories with content"
ls -R "$M/d1" "$M/d2" >/dev/null # the kernel caches both trees' entries
i1=$(ino "$M/d1") i2=$(ino "$M/d2") ix=$(ino "$M/d1/x")
check_eq "exchange succeeds" ok "$(xchg "$M/d1" "$M/d2")"
check_eq "d1 lists d2's names" "x z" "$(ls "$M/d1" | tr '\n' ' ' | sed 's/ $//')"
check_eq "d2 lists d1's names" "sub x" "$(ls "$M/d2" | tr '\n' ' ' | sed 's/ $//')"
check_eq "d1/x is d2's" d2x "$(cat "$M/d1/x")"
check_eq "d2/sub/y came along" d1y "$(cat "$M/d2/sub/y")"
check_not "d1/sub is gone" test -e "$M/d1/sub"
check_eq "d1's inode number moved to d2" "$i1" "$(ino "$M/d2")"
check_eq "d2's inode number moved to d1" "$i2" "$(ino "$M/d1")"
check_eq "a file beneath keeps its number" "$ix" "$(ino "$M/d2/x")"
printf 'more\n' >>"$M/d2/sub/y"
check_eq "a moved file is writable" "d1y more" "$(tr '\n' ' ' <"$M/d2/sub/y" | sed 's/ $//')"

echo "# a file and a directory"
stat "$M/fd" "$M/dd" "$M/dd/k" >/dev/null
i1=$(ino "$M/fd") i2=$(ino "$M/dd")
check_eq "exchange succeeds" ok "$(xchg "$M/fd" "$M/dd")"
check "fd is a directory now" test -d "$M/fd"
check "dd is a file now" test -f "$M/dd"
check_eq "fd/k is dd's" k "$(cat "$M/fd/k")"
check_eq "dd holds fd's content" "a file" "$(cat "$M/dd")"
check_not "dd/k is gone" test -e "$M/dd/k"
check_eq "inode numbers follow (fd)" "$i1" "$(ino "$M/dd")"
check_eq "inode numbers follow (dd)" "$i2" "$(ino "$M/fd")"

echo "# symlinks"
check_eq "exchange succeeds" ok "$(xchg "$M/s1" "$M/s2")"
check_eq "s1 points where s2 did" nowhere "$(readlink "$M/s1")"
check_eq "s2 points where s1 did" f1 "$(readlink "$M/s2")"

echo "# across directories"
stat "$M/dirA/u" "$M/dirB/v" >/dev/null
i1=$(ino "$M/dirA/u")
check_eq "exchange succeeds" ok "$(xchg "$M/dirA/u" "$M/dirB/v")"
check_eq "dirA/u holds v" v "$(cat "$M/dirA/u")"
check_eq "dirB/v holds u" u "$(cat "$M/dirB/v")"
check_eq "the inode number crossed" "$i1" "$(ino "$M/dirB/v")"
check_eq "listing of dirA" u "$(ls "$M/dirA")"

echo "# a renamed file, and an exchange undone"
mv "$M/r1" "$M/r2"
check_eq "exchange with a renamed file succeeds" ok "$(xchg "$M/r2" "$M/p3")"
check_eq "r2 holds p3's content" new "$(cat "$M/r2")"
check_eq "p3 holds r1's" r1 "$(cat "$M/p3")"
check_not "r1 stays gone" test -e "$M/r1"
check_eq "exchange two trees" ok "$(xchg "$M/e1" "$M/e2")"
check_eq "and back" ok "$(xchg "$M/e2" "$M/e1")"
check "e1 is as in the project" diff -r "$P/e1" "$M/e1"
check "e2 is as in the project" diff -r "$P/e2" "$M/e2"
mv "$M/od" "$M/nd"
check_eq "exchange a renamed tree with a project one" ok "$(xchg "$M/nd" "$M/xd")"
check_eq "xd/m came from od" m "$(cat "$M/xd/m")"
check_eq "nd/w came from xd" w "$(cat "$M/nd/w")"
check_not "xd/w is gone" test -e "$M/xd/w"
check_not "od stays gone" test -e "$M/od"

echo "# refused: nothing changes"
check_eq "a missing side is ENOENT" ENOENT "$(xchg "$M/f1" "$M/nope")"
check_eq "RENAME_WHITEOUT stays EINVAL" EINVAL "$(XFLAGS=4 xchg "$M/f1" "$M/f2")"
check_eq "EXCHANGE|NOREPLACE is EINVAL" EINVAL "$(XFLAGS=3 xchg "$M/f1" "$M/f2")"
check_eq "a denied side is EACCES" EACCES "$(xchg "$M/f1" "$M/denied/q")"
check_eq "f1 unchanged" two "$(cat "$M/f1")"
check_eq "denied/q unchanged" q "$(cat "$M/denied/q")"
check_not "denied/q not staged" test -e "$S/upper/denied/q"
check_eq "denied the other way round too" EACCES "$(xchg "$M/denied/q" "$M/f1")"
wait_for 5 session_audit_has "$S" '"op":"rename"' '"target":"denied/q"' '"decision":"deny"' &&
	pass "the denial is audited on denied/q" || fail "no deny record for denied/q"
check_eq "a rule beneath a directory denies" EACCES "$(xchg "$M/keys" "$M/dirA")"
check_eq "keys/id.pem unchanged" secret "$(cat "$M/keys/id.pem")"
check_eq "dirA unchanged" v "$(cat "$M/dirA/u")"
wait_for 5 session_audit_has "$S" '"op":"rename"' '"target":"keys"' '"decision":"deny"' 'id.pem' &&
	pass "the denial names the path beneath" || fail "no deny record for keys"

echo "# held, approved"
(xchg "$M/held/h" "$M/f2" >"$T/x1.out") &
id=$(session_held_id "$S" held/h) && pass "the exchange is held ($id)" || fail "nothing held"
check_eq "held/h unchanged while held" h "$(cat "$M/held/h")"
"$AIRLOCK" approve "$id" --session "$S" >/dev/null && pass "approve" || fail "approve"
wait_for 10 test -s "$T/x1.out" || fail "the held exchange never finished"
check_eq "the approved exchange succeeds" ok "$(cat "$T/x1.out")"
check_eq "held/h holds f2's content" one "$(cat "$M/held/h")"
check_eq "f2 holds held/h's" h "$(cat "$M/f2")"

echo "# held, denied"
(xchg "$M/f1" "$M/held/h2" >"$T/x2.out") &
id=$(session_held_id "$S" held/h2) && pass "the exchange is held ($id)" || fail "nothing held"
"$AIRLOCK" deny "$id" --session "$S" >/dev/null && pass "deny" || fail "deny"
wait_for 10 test -s "$T/x2.out" || fail "the held exchange never finished"
check_eq "the denied exchange is EACCES" EACCES "$(cat "$T/x2.out")"
check_eq "f1 unchanged" two "$(cat "$M/f1")"
check_eq "held/h2 unchanged" h2 "$(cat "$M/held/h2")"
check_not "held/h2 not staged" test -e "$S/upper/held/h2"
wait_for 5 session_audit_has "$S" '"target":"held/h2"' '"outcome":"denied"' &&
	pass "audited: hold denied" || fail "no denied record"

echo "# kill -9 and remount"
view >"$T/view.before"
rm -rf "$T/view"
cp -a "$M" "$T/view"
kill -9 "$PID"
wait_for 10 bash -c "! kill -0 $PID" || die "airlock-fs survived kill -9"
unmount_fuse "$M"
mount_fs
view >"$T/view.after"
check "the view is the same after a remount" cmp -s "$T/view.before" "$T/view.after"
check_eq "remount: d2/sub/y" "d1y more" "$(tr '\n' ' ' <"$M/d2/sub/y" | sed 's/ $//')"
check "remount: fd is a directory" test -d "$M/fd"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || die "airlock-fs did not unmount"
wait_for 10 bash -c "! kill -0 $PID" || die "airlock-fs did not exit"

echo "# diff and commit"
check "the project is untouched" trees_equal "$P" "$T/orig"
"$AIRLOCK" diff --session "$S" --project "$P" --binary >"$T/full.diff"
cp -a "$P" "$T/copy"
check "git apply --check accepts the diff" bash -c "cd '$T/copy' && git apply --check '$T/full.diff'"
check "git apply applies it" bash -c "cd '$T/copy' && git apply '$T/full.diff'"
check "git apply gives what the mount showed" diff -r --no-dereference "$T/copy" "$T/view"
"$AIRLOCK" diff --session "$S" --project "$P" --name-status >"$T/ns"
check_not "the tree exchanged back shows no change" grep -q 'e[12]/' "$T/ns"
rc=0
"$AIRLOCK" commit --session "$S" --project "$P" >"$T/commit.out" 2>&1 || rc=$?
check_eq "commit exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/    /' "$T/commit.out"
check "the project is what the mount showed" trees_equal "$P" "$T/view"
check_eq "nothing left to commit" "nothing to commit" \
	"$("$AIRLOCK" commit --session "$S" --project "$P")"

finish
