#!/usr/bin/env bash
# test_fs_basic: airlock-fs's file system semantics on a real mount:
# copy-up, whiteouts, opaque directories, renames (a non-empty project
# directory too), hard links, symlinks, chmod/chown, utimens, truncate,
# fallocate, user.* xattrs, locks, O_APPEND, O_EXCL, fsync, statfs, stable
# inode numbers, an editor-style save, an unlinked open file, the staging
# manifest, a clean unmount on SIGTERM, and the project left untouched.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"

fs_allow_all

# The project: files, a nested non-empty directory, a symlink, a hard link.
mkdir -p "$P/src/lib/deep" "$P/docs" "$P/gone/sub"
printf 'int main(void) { return 0; }\n' >"$P/src/main.c"
printf 'lib\n' >"$P/src/lib/lib.c"
printf 'deep\n' >"$P/src/lib/deep/d.txt"
printf 'readme\n' >"$P/README"
printf 'doc\n' >"$P/docs/a.md"
printf 'x\n' >"$P/gone/sub/x"
head -c 300000 /dev/urandom >"$P/big.bin"
ln -s README "$P/readme.link"
ln "$P/docs/a.md" "$P/docs/a-hard.md"
printf 'keep\n' >"$P/editme.txt"
mkdir -p "$P/ren/a/b" "$P/churn"
for i in $(seq 1 30); do echo "$i" >"$P/churn/f$i"; done
printf 'rf\n' >"$P/ren/a/b/f"

snapshot() {
	(cd "$P" && find . -printf '%p %y %m %U %G %s %T@ %C@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
snapshot >"$T/before"

echo "# start-up errors"
# start_err DESC NEEDLE ARGS...: airlock-fs exits 2 saying NEEDLE.
start_err() {
	local rc=0 out
	out=$("$AIRLOCK_FS" "${@:3}" 2>&1) || rc=$?
	check_eq "$1: exit 2" 2 "$rc"
	check_contains "$1: says why" "$2" "$out"
}
printf 'version: 1\ndefaults: {fs: maybe}\n' >"$T/bad.yaml"
start_err "bad policy" "bad.yaml:2:" --project "$P" --mount "$M" --session "$S" --policy "$T/bad.yaml"
start_err "missing project" "$T/nope" --project "$T/nope" --mount "$M" --session "$S"
start_err "mount inside the project" "outside the project" --project "$P" --mount "$P/docs" --session "$S"
start_err "no --mount" "usage:" --project "$P" --session "$S"
check_not "nothing mounted by the failures" is_mounted "$M"
check_contains "--help" "--project DIR" "$("$AIRLOCK_FS" --help)"

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
at_exit "unmount_fuse $M"
check "mounted after --daemon returns" is_mounted "$M"
check "fs.pid written" test -s "$S/fs.pid"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"

echo "# reads"
check_eq "read a project file" "readme" "$(cat "$M/README")"
check "big file reads back identical" cmp -s "$P/big.bin" "$M/big.bin"
check_eq "symlink target" "README" "$(readlink "$M/readme.link")"
check_eq "listing merges" "README big.bin churn docs editme.txt gone readme.link ren src" \
	"$(ls "$M" | tr '\n' ' ' | sed 's/ $//')"

echo "# copy-up keeps the inode number"
ino1=$(stat -c %i "$M/src/main.c")
printf '// more\n' >>"$M/src/main.c"
ino2=$(stat -c %i "$M/src/main.c")
check_eq "st_ino unchanged by copy-up" "$ino1" "$ino2"
check "content appended" grep -q '// more' "$M/src/main.c"
check "staged in upper/" grep -q '// more' "$S/upper/src/main.c"
check_contains "manifest: mod with a base hash" "mod " "$(grep ' src/main.c$' "$S/manifest")"
python3 - "$M/src" <<'EOF' && pass "listings' d_ino agree with stat" || fail "d_ino differs from st_ino"
import os, sys
for _ in range(2):
    for e in os.scandir(sys.argv[1]):
        if e.inode() != os.lstat(e.path).st_ino:
            sys.exit(1)
EOF

echo "# O_APPEND, O_EXCL, truncate, fallocate, fsync"
printf 'a' >"$M/app.txt"
for i in 1 2 3; do printf 'b' >>"$M/app.txt"; done
check_eq "O_APPEND appends" "abbb" "$(cat "$M/app.txt")"
python3 - "$M" <<'EOF' && pass "O_EXCL refuses an existing file (lower and upper)" || fail "O_EXCL"
import os, sys, errno
m = sys.argv[1]
for name in ("README", "app.txt"):
    try:
        os.open(os.path.join(m, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        sys.exit(1)
    except OSError as e:
        if e.errno != errno.EEXIST:
            sys.exit(1)
fd = os.open(os.path.join(m, "excl.txt"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
os.write(fd, b"x"); os.fsync(fd); os.fdatasync(fd); os.close(fd)
EOF
truncate -s 3 "$M/big.bin"
check_eq "truncate a project file" 3 "$(stat -c %s "$M/big.bin")"
check_eq "project file still full size" 300000 "$(stat -c %s "$P/big.bin")"
fallocate -l 1M "$M/falloc.bin"
check_eq "fallocate" 1048576 "$(stat -c %s "$M/falloc.bin")"
check "statfs works" test "$(stat -f -c %b "$M")" -gt 0

echo "# chmod, chown, utimens, xattrs"
chmod 0600 "$M/README"
check_eq "chmod" 600 "$(stat -c %a "$M/README")"
check_contains "manifest: mode" "mode " "$(grep ' README$' "$S/manifest" | tail -1)"
chown 1234:1234 "$M/docs/a.md"
check_eq "chown" "1234:1234" "$(stat -c %u:%g "$M/docs/a.md")"
touch -d '2001-02-03 04:05:06' "$M/editme.txt"
check_eq "utimens" "2001-02-03" "$(date -d @"$(stat -c %Y "$M/editme.txt")" +%F)"
python3 - "$M/src/lib/lib.c" <<'EOF' && pass "user.* xattrs set, read, listed, removed; other namespaces refused" || fail "xattrs"
import errno, os, sys
p = sys.argv[1]
os.setxattr(p, "user.note", b"hello")
assert os.getxattr(p, "user.note") == b"hello"
assert "user.note" in os.listxattr(p)
for name in ("trusted.x", "security.x"):
    try:
        os.setxattr(p, name, b"1")
        sys.exit(1)
    except OSError as e:
        assert e.errno in (errno.EPERM, errno.ENOTSUP), e
os.removexattr(p, "user.note")
assert "user.note" not in os.listxattr(p)
EOF
check "xattr staged in upper/" test -f "$S/upper/src/lib/lib.c"

echo "# locks"
check "flock" flock -n "$M/README" true
python3 - "$M/app.txt" <<'EOF' && pass "POSIX locks conflict between processes" || fail "POSIX locks"
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
pid = os.fork()
if pid == 0:
    fd2 = os.open(sys.argv[1], os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os._exit(1)
    except OSError:
        os._exit(0)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
EOF

echo "# deletes are whiteouts"
rm "$M/docs/a-hard.md"
check_not "deleted file gone" test -e "$M/docs/a-hard.md"
check_not "deleted file not listed" grep -qx a-hard.md <(ls "$M/docs")
check_contains "manifest: del" "del " "$(grep ' docs/a-hard.md$' "$S/manifest")"
rm -r "$M/gone"
check_not "deleted tree gone" test -e "$M/gone"
mkdir "$M/gone"
check_eq "recreated directory is opaque (empty)" "" "$(ls -A "$M/gone")"
printf 'new\n' >"$M/gone/x"
check_eq "new file in opaque dir" "new" "$(cat "$M/gone/x")"

echo "# renames"
mv "$M/src/lib" "$M/lib2"
check_not "renamed dir gone from old place" test -e "$M/src/lib"
check_eq "renamed non-empty project dir: content" "deep" "$(cat "$M/lib2/deep/d.txt")"
check "renamed dir keeps its xattr-free file" test -f "$M/lib2/lib.c"
check_contains "manifest: ren" "ren " "$(grep ' lib2/deep/d.txt ' "$S/manifest")"
mv "$M/excl.txt" "$M/docs/moved.txt"
check_eq "rename a staged file" "x" "$(cat "$M/docs/moved.txt")"
check "rename over an existing file" mv "$M/app.txt" "$M/docs/a.md"
check_eq "the target is replaced" "abbb" "$(cat "$M/docs/a.md")"

cd "$M/ren/a" # the kernel keeps these nodes while they move
mv "$M/ren" "$M/ren2" && mv "$M/ren2" "$M/ren" && pass "rename a tree away and back" || fail "rename back"
mv "$M/ren/a/b" "$M/b2" && pass "rename a subdirectory out of a renamed tree" || fail "rename out"
check_eq "its file" rf "$(cat "$M/b2/f")"
printf 'more\n' >>"$M/b2/f"
check_eq "written after the moves" "rf more" "$(tr '\n' ' ' <"$M/b2/f" | sed 's/ $//')"
check_eq "the moved cwd still works" "" "$(ls -A .)"
cd "$T"

echo "# staged inode numbers are reused safely"
for i in $(seq 1 30); do
	echo w >>"$M/churn/f$i" && rm "$M/churn/f$i" && mkdir "$M/churn/d$i" &&
		touch "$M/churn/d$i/in" && echo "n$i" >"$M/churn/n$i" || break
done
check_eq "30 new directories, each with its file" 30 "$(ls "$M"/churn/d*/in | wc -l)"
check_eq "30 new files" 30 "$(cat "$M"/churn/n* | wc -l)"
check_eq "no deleted file shows" "" "$(ls "$M/churn" | grep '^f' || true)"

echo "# editor-style save"
ino1=$(stat -c %i "$M/editme.txt")
printf 'saved\n' >"$M/.editme.txt.swp"
mv "$M/.editme.txt.swp" "$M/editme.txt"
check_eq "saved content" "saved" "$(cat "$M/editme.txt")"
check_eq "no temp left" "" "$(ls -A "$M" | grep swp || true)"

echo "# hard links and symlinks"
ln "$M/README" "$M/README.hard"
printf 'via link\n' >>"$M/README.hard"
check "hard link shares content" grep -q 'via link' "$M/README"
check_eq "hard link count" 2 "$(stat -c %h "$M/README")"
ln -s docs/moved.txt "$M/new.link"
check_eq "new symlink" "x" "$(cat "$M/new.link")"

echo "# an unlinked open file is still readable"
printf 'still here\n' >"$M/open.txt"
exec 7<"$M/open.txt"
rm "$M/open.txt"
check_not "unlinked" test -e "$M/open.txt"
check_eq "read after unlink" "still here" "$(cat <&7)"
exec 7<&-
exec 7<"$M/src/main.c"
rm "$M/src/main.c"
check_eq "project file read after unlink" "int main(void) { return 0; }" "$(head -1 <&7)"
exec 7<&-

echo "# shared writable mmap"
python3 - "$M/mm.bin" <<'EOF' && pass "shared mmap writes reach the file" || fail "mmap"
import mmap, os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.write(b"\0" * 8192)
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192)
    m[100:105] = b"hello"
    m.flush()
    m.close()
with open(p, "rb") as f:
    d = f.read()
sys.exit(0 if d[100:105] == b"hello" else 1)
EOF

echo "# a clean unmount on SIGTERM"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" && pass "unmounted on SIGTERM" || fail "still mounted after SIGTERM"
wait_for 5 bash -c "! kill -0 $PID 2>/dev/null" && pass "daemon exited" || fail "daemon still running"
check_not "fs.sock removed" test -e "$S/fs.sock"
check_not "fs.pid removed" test -e "$S/fs.pid"
check "audit log verifies" bash -c "\"\$0\" audit verify \"\$1\" >/dev/null" "$AIRLOCK" "$S/audit.jsonl"

echo "# the staged state survives a remount"
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "remount: $(cat "$T/fs.err")"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"
check_eq "remount: appended file" "abbb" "$(cat "$M/docs/a.md")"
check_not "remount: whiteout" test -e "$M/docs/a-hard.md"
check_eq "remount: opaque dir" "x" "$(ls -A "$M/gone")"
check_eq "remount: renamed tree" "deep" "$(cat "$M/lib2/deep/d.txt")"
check_not "remount: old tree gone" test -e "$M/src/lib"
check_eq "remount: chmod" 600 "$(stat -c %a "$M/README")"
check_eq "remount: moved twice" "rf more" "$(tr '\n' ' ' <"$M/b2/f" | sed 's/ $//')"
check_not "remount: the old place is empty" test -e "$M/ren/a/b"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || fail "still mounted"

snapshot >"$T/after"
check "project byte-for-byte unchanged" diff -u "$T/before" "$T/after"
finish
