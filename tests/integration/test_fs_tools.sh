#!/usr/bin/env bash
# test_fs_tools: real tools inside an airlock-fs mount: git (init, add,
# commit, checkout, status, rebase), a C project built with make and gcc,
# sqlite3 in WAL mode, extracting a 10,000-file tarball, kill -9 of the
# daemon and a remount of the same session; the project is unchanged.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
for t in git gcc make sqlite3 tar; do
	command -v "$t" >/dev/null || die "missing $t"
done

fs_allow_all

# A small C project, already a git repository in the project.
mkdir -p "$P/app/src"
cat >"$P/app/src/add.c" <<'EOF'
int add(int a, int b) { return a + b; }
EOF
cat >"$P/app/src/main.c" <<'EOF'
#include <stdio.h>
int add(int a, int b);
int main(void) { printf("%d\n", add(2, 3)); return 0; }
EOF
cat >"$P/app/Makefile" <<'EOF'
OBJS = src/main.o src/add.o
app: $(OBJS)
	$(CC) -o $@ $(OBJS)
clean:
	rm -f app $(OBJS)
EOF
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
git -C "$P/app" init -q -b main
git -C "$P/app" add -A
git -C "$P/app" commit -q -m base

# A 10,000-file tarball, made outside the project.
mkdir -p "$T/tarsrc"
(cd "$T/tarsrc" && for d in $(seq 1 100); do
	mkdir "d$d"
	for f in $(seq 1 100); do echo "$d/$f" >"d$d/f$f"; done
done)
tar -C "$T/tarsrc" -cf "$T/many.tar" .

snapshot() {
	(cd "$P" && find . -printf '%p %y %m %s %T@ %C@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
snapshot >"$T/before"

mount_fs() {
	"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
		--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" ||
		die "mount: $(cat "$T/fs.err")"
	PID=$(cat "$S/fs.pid")
	at_exit "kill -9 $PID"
}
mount_fs
at_exit "unmount_fuse $M"

echo "# git"
G="git -C $M/app"
check_eq "git status clean on the project's repo" "" "$($G status --porcelain)"
echo 'int sub(int a, int b) { return a - b; }' >"$M/app/src/sub.c"
$G add src/sub.c && $G commit -q -m "add sub" && pass "git add + commit" || fail "git commit"
$G checkout -q -b feature && pass "git checkout -b" || fail "git checkout -b"
echo '/* feature */' >>"$M/app/src/add.c"
$G commit -q -am "feature change" && pass "commit on feature" || fail "commit on feature"
$G checkout -q main && pass "checkout main" || fail "checkout main"
check_not "main has no feature change" grep -q feature "$M/app/src/add.c"
echo '/* main */' >>"$M/app/src/main.c"
$G commit -q -am "main change" || fail "commit on main"
$G checkout -q feature && $G rebase -q main && pass "git rebase" || fail "git rebase"
check "rebased tree has both changes" grep -q main "$M/app/src/main.c"
check_eq "git status clean after rebase" "" "$($G status --porcelain)"
check_eq "four commits" 4 "$($G rev-list --count HEAD)"
check "git fsck" $G fsck --no-progress

echo "# make and gcc"
make -s -C "$M/app" >/dev/null && pass "make builds" || fail "make"
check_eq "the program runs" 5 "$("$M/app/app")"
touch "$M/app/src/add.c"
check_contains "make rebuilds what changed" "add.o" "$(make -C "$M/app" 2>&1)"
check_eq "make is then up to date" "make: 'app' is up to date." \
	"$(make -C "$M/app" --no-print-directory 2>&1)"

echo "# sqlite3 in WAL mode"
DB=$M/data.db
check_eq "WAL mode" wal "$(sqlite3 "$DB" 'PRAGMA journal_mode=WAL;')"
sqlite3 "$DB" 'CREATE TABLE t(x INTEGER); BEGIN;' \
	"$(for i in $(seq 1 2000); do printf 'INSERT INTO t VALUES(%d);' "$i"; done)" \
	'COMMIT;' && pass "WAL inserts" || fail "WAL inserts"
# a second connection reads while the first one holds the WAL
check_eq "concurrent reader sees the rows" 2001000 "$(sqlite3 "$DB" 'SELECT sum(x) FROM t;')"
python3 - "$DB" <<'EOF' && pass "an open WAL connection and a second reader (shared mmap of -shm)" || fail "WAL with two connections"
import sqlite3, subprocess, sys, os
db = sys.argv[1]
c = sqlite3.connect(db)
c.execute("INSERT INTO t VALUES(-1)")
c.commit()
assert os.path.exists(db + "-wal") and os.path.exists(db + "-shm")
out = subprocess.run(["sqlite3", db, "SELECT count(*) FROM t;"], capture_output=True, text=True, check=True).stdout
assert out.strip() == "2001", out
c.execute("DELETE FROM t WHERE x = -1")
c.commit()
c.close()
EOF
check_eq "integrity" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check;')"
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
check_eq "rows after checkpoint" 2000 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;')"

echo "# a 10,000-file tarball"
mkdir "$M/x"
tar -C "$M/x" -xf "$T/many.tar" && pass "tar extracts" || fail "tar"
check_eq "10,000 files" 10000 "$(find "$M/x" -type f | wc -l)"
check "content identical" diff -r "$T/tarsrc" "$M/x"
rm -rf "$M/x" && pass "rm -rf of 10,000 files" || fail "rm -rf"

echo "# kill -9 and remount"
printf 'durable\n' >"$M/app/durable.txt"
python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY|os.O_APPEND); os.write(fd, b'synced\n'); os.fsync(fd)" "$M/app/durable.txt"
head_before=$($G rev-parse HEAD)
kill -9 "$PID"
wait_for 5 bash -c "! kill -0 $PID 2>/dev/null" || fail "daemon survived kill -9"
rc=0
out=$("$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" 2>&1) || rc=$?
check_eq "a stale mount is refused with exit 2" 2 "$rc"
check_contains "and the command that clears it" "fusermount3 -u -z $M" "$out"
fusermount3 -u -z "$M"
mount_fs
check_eq "fsync'd data survived" "durable synced" "$(tr '\n' ' ' <"$M/app/durable.txt" | sed 's/ $//')"
check_eq "git HEAD survived" "$head_before" "$($G rev-parse HEAD)"
check "git fsck after remount" $G fsck --no-progress
check_eq "sqlite rows survived" 2000 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;')"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || fail "still mounted"

snapshot >"$T/after"
check "project byte-for-byte unchanged" diff -u "$T/before" "$T/after"
finish
