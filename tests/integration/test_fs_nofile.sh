#!/usr/bin/env bash
# test_fs_nofile: airlock-fs holds no file descriptor per inode.  The
# daemon runs with RLIMIT_NOFILE far below the number of files in the
# tree, and every file is still read (and some written) through the mount,
# with the kernel keeping all their inodes looked up.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"

LIMIT=20000
N_DIRS=100 N_FILES=300 # 30,000 files, half as many again as the limit
fs_allow_all
for d in $(seq 1 $N_DIRS); do
	mkdir "$P/d$d"
	for f in $(seq 1 $N_FILES); do echo "$d.$f" >"$P/d$d/f$f"; done
done
# the kernel keeps every inode it looked up; the test fails if the daemon
# held an fd for each of them (it would run out past LIMIT)
expected=$(cd "$P" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum)

(ulimit -n $LIMIT && exec "$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon) 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
PID=$(cat "$S/fs.pid")
at_exit "unmount_fuse $M"
at_exit "kill -9 $PID"
check_eq "the daemon runs with the low limit" $LIMIT \
	"$(awk '/Max open files/ {print $4}' "/proc/$PID/limits")"

n=$(find "$M" -type f | wc -l)
check_eq "every file is listed" $((N_DIRS * N_FILES)) "$n"
got=$(cd "$M" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum)
check_eq "every file reads back" "$expected" "$got"
# write a tenth of them (copy-up), then read everything again
(cd "$M" && find . -name 'f*0' -type f | xargs -n 50 sh -c 'for f; do echo w >>"$f"; done' sh) &&
	pass "copy-up of $((N_DIRS * N_FILES / 10)) files" || fail "copy-up"
check_eq "the written files" $((N_DIRS * N_FILES / 10)) "$(grep -rlx w "$M" | wc -l)"
check "every file still reads" bash -c "cd '$M' && find . -type f | xargs cat >/dev/null"
# its fds: the two roots, the session's files, and one /dev/fuse clone
# per worker thread (their number follows the requests in flight, up to
# the kernel's 64 background ones plus the callers: about 64 here), never
# the tree's 30,000 files
n_fds=$(ls "/proc/$PID/fd" | wc -l)
check "the daemon's open fds stay small ($n_fds)" test "$n_fds" -lt 256
finish
