#!/usr/bin/env bash
# test_proxy_fd: airlock-proxy serves a listening socket it inherits
# (--listen fd:N), as airlock run hands it one made inside the room's
# network namespace; anything but a listening stream socket is refused.
. "$(dirname "$0")/lib.sh"
[ -x "$AIRLOCK_PROXY" ] || die "missing $AIRLOCK_PROXY"

out=$(python3 - "$AIRLOCK_PROXY" <<'PY'
import os, socket, subprocess, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
port = s.getsockname()[1]
os.set_inheritable(s.fileno(), True)
p = subprocess.Popen([sys.argv[1], "--listen", "fd:%d" % s.fileno(),
                      "--threads", "2"], pass_fds=[s.fileno()],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
try:
    print(p.stdout.readline().decode().strip())
    s.close()  # only the proxy holds it now
    codes = []
    for _ in range(3):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "--max-time", "10", "-x", "http://127.0.0.1:%d" % port,
                            "http://169.254.169.254/"], capture_output=True, text=True)
        codes.append(r.stdout)
    print(" ".join(codes))
finally:
    p.terminate()
    print("exit", p.wait(timeout=20))
PY
)
check_contains "it says which fd it serves" "listening on fd:" "$out"
check_contains "requests on the inherited socket are decided (403 for metadata)" "403 403 403" "$out"
check_contains "SIGTERM ends it cleanly" "exit 0" "$out"

rc=0
"$AIRLOCK_PROXY" --listen fd:1 >/dev/null 2>"$T/err" || rc=$?
check_eq "a non-socket fd is refused at start-up" 2 "$rc"
check_contains "with a message naming the forms" "fd:N" "$(cat "$T/err")"
exec 7>"$T/file"
rc=0
"$AIRLOCK_PROXY" --listen fd:7 >/dev/null 2>&1 || rc=$?
check_eq "a regular file's fd is refused" 2 "$rc"
finish
