#!/usr/bin/env bash
# The review commands on a stage built by a real airlock-fs mount: make
# every kind of change through the mount, copy what the mount shows, stop
# the daemon; then `airlock diff --binary | git apply` on an untouched
# copy of the project and `airlock commit` on the project must both give
# exactly what the mount showed.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
. "$(dirname "$0")/review_lib.sh"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/src/lib" "$P/docs/old" "$P/keep dir" "$M"
cat >"$T/policy.yaml" <<'EOF2'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 5s}
EOF2
printf 'int\nmain(void)\n{\n\treturn 0;\n}\n' >"$P/src/main.c"
seq 1 300 >"$P/src/lib/numbers.txt"
printf 'lib\n' >"$P/src/lib/lib.c"
printf 'a\n' >"$P/docs/old/a.md"
printf 'b\n' >"$P/docs/old/b.md"
printf 'index\n' >"$P/docs/index.md"
printf 'bye\n' >"$P/delete me.txt"
printf '#!/bin/sh\n' >"$P/run.sh"
ln -s src/main.c "$P/current"
head -c 5000 /dev/urandom >"$P/blob.bin"
printf 'keep\n' >"$P/keep dir/k.txt"
printf 'save me\n' >"$P/editor.txt"
cp -a "$P" "$T/orig"

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
at_exit "unmount_fuse $M"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"

# Every kind of change, as tools make them.
sed -i 's/return 0/return 1/' "$M/src/main.c"
printf 'new\n' >"$M/src/new.c"
mkdir -p "$M/new dir/sub"
printf 'deep\n' >"$M/new dir/sub/file with space.txt"
rm "$M/delete me.txt"
chmod 755 "$M/run.sh"
ln -sfn src/lib/lib.c "$M/current"
ln -s ../docs/index.md "$M/src/doclink"
mv "$M/src/lib/numbers.txt" "$M/src/lib/renamed.txt"
echo 301 >>"$M/src/lib/renamed.txt"
mv "$M/docs/old" "$M/docs/moved"
printf '\0\1\2' | dd of="$M/blob.bin" bs=1 seek=100 conv=notrunc status=none
chmod 700 "$M/keep dir"
printf 'saved\n' >"$M/.editor.txt.swp"
mv "$M/.editor.txt.swp" "$M/editor.txt"
sync

rm -rf "$T/view"
cp -a "$M" "$T/view"
check "the project is untouched while mounted" trees_equal "$P" "$T/orig"

# Review needs the daemon stopped (it holds the stage).
rc=0
err=$("$AIRLOCK" commit --session "$S" --project "$P" 2>&1) || rc=$?
check_eq "commit refused while mounted" 1 "$rc"
check_contains "and says why" "session is mounted" "$err"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || die "airlock-fs did not unmount"
wait_for 10 bash -c "! kill -0 $PID" || die "airlock-fs did not exit"

"$AIRLOCK" diff --session "$S" --project "$P" --binary >"$T/full.diff"
"$AIRLOCK" diff --session "$S" --project "$P" --name-status >"$T/ns"
check_contains "a rename is shown as one" "src/lib/numbers.txt	src/lib/renamed.txt" "$(cat "$T/ns")"
cp -a "$P" "$T/copy"
check "git apply --check accepts the diff" bash -c "cd '$T/copy' && git apply --check '$T/full.diff'"
check "git apply applies it" bash -c "cd '$T/copy' && git apply '$T/full.diff'"
# git does not track directory modes; compare the files and links.
check "git apply gives what the mount showed" diff -r --no-dereference "$T/copy" "$T/view"

rc=0
"$AIRLOCK" commit --session "$S" --project "$P" >"$T/commit.out" 2>&1 || rc=$?
check_eq "commit exits 0" 0 "$rc"
sed 's/^/    committed: /' "$T/commit.out"
check "the project is what the mount showed" trees_equal "$P" "$T/view"
check_eq "nothing left to commit" "nothing to commit" \
	"$("$AIRLOCK" commit --session "$S" --project "$P")"

finish
