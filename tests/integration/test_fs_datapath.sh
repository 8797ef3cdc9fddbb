#!/usr/bin/env bash
# test_fs_datapath: what airlock-fs's data path asks of the daemon, counted
# from its --debug request log (no timing: bench/fs measures speed).  These
# are the properties bench/fs's fio rows rest on:
# - a warm read is answered from the kernel's page cache (keep_cache): the
#   daemon sees no READ, so warm sequential and random reads cost what the
#   kernel's FUSE page cache costs, nothing of ours;
# - a 1 MiB write is one WRITE request of 1 MiB (max_write and the
#   kernel's max_pages are honoured), and what was written is read back
#   from the cache;
# - a stat after closing a file asks nothing: no writeback cache, which
#   would mark i_blocks stale on every close (a GETATTR per stat in grep,
#   tar and make) for no gain in bench/fs's buffered write row.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"

fs_allow_all
head -c 4194304 /dev/urandom >"$P/data.bin"
printf 'small\n' >"$P/small.txt"

LOG=$T/debug.log
"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --foreground --debug 2>"$LOG" &
PID=$!
at_exit "kill -9 $PID 2>/dev/null || true"
at_exit "unmount_fuse $M"
wait_for 20 is_mounted "$M" || die "mount: $(tail -5 "$LOG")"

# mark: the log's length now; requests OPCODE MARK: how many OPCODE
# requests the daemon received since MARK.
mark() { wc -l <"$LOG"; }
requests() {
	tail -n +"$(($2 + 1))" "$LOG" | grep -c "opcode: $1 " || true
}
# quiet: let the kernel's requests for what just ran reach the log
# (RELEASE is sent after close returns): a GETATTR for the log's end.
quiet() { stat "$M" >/dev/null; stat -f "$M" >/dev/null; }

echo "# reads"
m=$(mark)
cat "$M/data.bin" >/dev/null
quiet
n=$(requests READ "$m")
check "a cold read reaches the daemon ($n READs)" test "$n" -gt 0
m=$(mark)
cat "$M/data.bin" >/dev/null
cmp -s "$P/data.bin" "$M/data.bin" || fail "data.bin reads back different"
quiet
check_eq "a warm read is answered from the page cache" 0 "$(requests READ "$m")"

echo "# writes"
m=$(mark)
dd if="$P/data.bin" of="$M/w.bin" bs=1M count=4 status=none
quiet
check_eq "4 writes of 1 MiB: 4 WRITE requests" 4 "$(requests WRITE "$m")"
sizes=$(tail -n +"$((m + 1))" "$LOG" | grep "opcode: WRITE " |
	sed -n 's/.*insize: \([0-9]*\).*/\1/p' | sort -u | tr '\n' ' ')
# insize: the 40-byte header and 40-byte fuse_write_in, then the data
check_eq "each WRITE carries 1 MiB" "1048656 " "$sizes"
check "staged content is what was written" cmp -s "$P/data.bin" "$S/upper/w.bin"
m=$(mark)
cmp -s "$P/data.bin" "$M/w.bin" || fail "w.bin reads back different"
quiet
check_eq "what was written is read back from the page cache" 0 \
	"$(requests READ "$m")"

echo "# no writeback cache"
# twice: the first READ marks atime stale, the next fstat refreshes it
cat "$M/small.txt" "$M/small.txt" >/dev/null
stat "$M/small.txt" >/dev/null
quiet
m=$(mark)
cat "$M/small.txt" >/dev/null
stat "$M/small.txt" >/dev/null
quiet
check_eq "a stat after a close asks nothing" 0 "$(requests GETATTR "$m")"

fusermount3 -u "$M"
check "airlock-fs exits after the unmount" wait_for 10 eval '! kill -0 $PID'
finish
