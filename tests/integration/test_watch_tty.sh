#!/usr/bin/env bash
# airlock watch on a terminal (a pseudo-terminal the test drives): single
# keys decide, an arrow key (ESC [ D) is not "D", and the terminal's mode
# is restored when watch quits and when SIGINT (^C) or SIGTERM kills it.
# tests/helpers/hold_server stands in for airlock-fs (as in
# test_approvals_cli.sh).
. "$(dirname "$0")/lib.sh"

HOLD=$AIRLOCK_BUILD/tests/helpers/hold_server
[ -x "$HOLD" ] || die "missing $HOLD (built by make)"
S=$AIRLOCK_STATE_DIR/sessions/tty
mkdir -p "$AIRLOCK_STATE_DIR/sessions"
mkdir -m 0700 "$S"

# start_hold COUNT: serve S/fs.sock, holding COUNT writes one by one.
start_hold() {
	"$HOLD" "$S" 120000 "$1" >"$T/hold.out" 2>"$T/hold.err" &
	HOLD_PID=$!
	at_exit "kill $HOLD_PID"
	wait_for 5 grep -q '^held f1' "$T/hold.out" || die "hold_server: $(cat "$T/hold.err")"
}

# drive.py SCRIPT: run `airlock watch --session tty` on a new pty and
# play SCRIPT: "expect TEXT", "send TEXT" (Python escapes), "sleep S",
# "signal N"; then print the exit and whether the pty's mode is back.
cat >"$T/drive.py" <<'PY'
import fcntl, os, pty, select, signal, sys, termios, time
airlock, script = sys.argv[1], sys.argv[2]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execv(airlock, [airlock, "watch", "--session", "tty"])
out = b""
def expect(text, limit=20.0):
    global out
    end = time.monotonic() + limit
    while text.encode() not in out:
        left = end - time.monotonic()
        if left <= 0:
            sys.stdout.write("TIMEOUT waiting for %r\n" % text)
            return
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                return
for line in open(script).read().splitlines():
    word, _, arg = line.partition(" ")
    if word == "expect":
        expect(arg)
    elif word == "send":
        os.write(master, arg.encode().decode("unicode_escape").encode("latin-1"))
    elif word == "sleep":
        time.sleep(float(arg))
    elif word == "signal":
        os.kill(pid, int(arg))
_, status = os.waitpid(pid, 0)
after = termios.tcgetattr(slave)
while select.select([master], [], [], 0.2)[0]:
    try:
        data = os.read(master, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
sys.stdout.write(out.decode("utf-8", "replace"))
if os.WIFSIGNALED(status):
    print("\nEXIT signal %d" % os.WTERMSIG(status))
else:
    print("\nEXIT status %d" % os.WEXITSTATUS(status))
print("MODE %s" % ("restored" if after[3] == before[3] else "changed"))
PY
drive() { timeout 60 python3 "$T/drive.py" "$AIRLOCK" "$1"; }

echo "# keys, an arrow key, then quit"
start_hold 2
cat >"$T/s1" <<'EOF'
expect [q]uit?
send \x1b[D
sleep 0.5
send a
expect approved f1
expect held f2
send q
EOF
out=$(drive "$T/s1")
check_contains "f1 shown" "held f1: fs write .git/hooks/pre-commit" "$out"
check_contains "the change is shown" "curl evil" "$out"
check_contains "'a' approved f1 (not the arrow key)" "approved f1 (write" "$out"
check "the daemon saw one approval of f1" grep -q '^resolved f1 approved human' "$T/hold.out"
check_contains "q quits" "EXIT status 0" "$out"
check_contains "the terminal mode is restored after q" "MODE restored" "$out"
check_not "f2 was left undecided" grep -q '^resolved f2' "$T/hold.out"
check_contains "and watch said so" "f2 stays held" "$out"

echo "# ^C while an action is shown"
cat >"$T/s2" <<'EOF'
expect held f2
expect [q]uit?
send \x03
EOF
out=$(drive "$T/s2")
check_contains "^C kills watch with SIGINT" "EXIT signal 2" "$out"
check_contains "the terminal mode is restored after ^C" "MODE restored" "$out"
check_not "f2 still undecided" grep -q '^resolved f2' "$T/hold.out"

echo "# SIGTERM"
cat >"$T/s3" <<'EOF'
expect [q]uit?
signal 15
EOF
out=$(drive "$T/s3")
check_contains "SIGTERM kills watch" "EXIT signal 15" "$out"
check_contains "the terminal mode is restored after SIGTERM" "MODE restored" "$out"

echo "# D denies for the session"
cat >"$T/s4" <<'EOF'
expect [q]uit?
send D
expect denied f2
sleep 0.5
send q
EOF
out=$(drive "$T/s4")
check_contains "D denied f2 for the session" "denied f2 (write .git/hooks/pre-commit); remembered" "$out"
check "the daemon saw a remembered denial" grep -q '^resolved f2 denied human .*remembered' "$T/hold.out"
check_contains "the terminal mode is restored" "MODE restored" "$out"
finish
