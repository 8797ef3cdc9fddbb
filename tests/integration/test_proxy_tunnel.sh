#!/usr/bin/env bash
# airlock-proxy's CONNECT relay (tunnel.c) when a reader is slower than its
# writer: both directions stall on a full socket again and again (the relay
# then stops watching the source until the destination has room), and every
# byte still arrives, in order, with the audit record counting each way.
# Once for each way of moving bytes (--relay splice, copy, and auto, which
# copies toward loopback and splices toward other addresses), each shown
# to have been used: spliced tunnels leave pipes in the proxy's pool,
# copied ones make none.  In a network namespace of the test's own, where
# a non-loopback address sits on the namespace's lo: no traffic leaves it.
if [ -z "${AIRLOCK_IN_NETNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "  skip needs root"; exit 77; }
	exec unshare -n env AIRLOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

DOWN_MB=48 # origin -> client
UP_MB=24   # client -> origin
FAR=11.22.33.45 # not loopback, yet on this namespace's lo

ip link set lo up || die "lo up"
ip addr add "$FAR/32" dev lo || die "add $FAR to lo"

# An origin that speaks first (a tunnel that is not TLS, to a port other
# than 443, is allowed) and at once: it sends DOWN_MB of a seeded stream in
# bursts of 8 MiB (so that the relay also finds its source dry, after
# stalling on the reader) while it reads the client's upload slowly,
# through a small receive buffer, then writes "<bytes> <sha256>" of the
# upload to its result file.
cat >"$T/origin.py" <<'PY'
import hashlib, os, random, socket, sys, threading, time
port_file, result, down_mb, addr = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
srv.bind((addr, 0))
srv.listen(1)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
srv.settimeout(30)
c, _ = srv.accept()
c.settimeout(60)
def send():
    rnd = random.Random(7)
    for i in range(down_mb * 16):
        c.sendall(rnd.randbytes(65536))
        if i % 128 == 127:
            time.sleep(0.3)  # the reader catches up: the source runs dry
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(16384)
    if not b:
        break
    h.update(b)
    n += len(b)
    time.sleep(0.0005)
t.join()
with open(result + ".tmp", "w") as f:
    f.write("%d %s\n" % (n, h.hexdigest()))
os.rename(result + ".tmp", result)
PY

# A client that uploads UP_MB of another seeded stream (in bursts, too)
# while it reads the origin's stream slowly, then prints "<bytes> <sha256>" of what it read.
cat >"$T/client.py" <<'PY'
import hashlib, random, socket, sys, threading, time
port, target, up_mb = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
s.settimeout(60)
s.connect(("127.0.0.1", port))
s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
head = b""
while b"\r\n\r\n" not in head:
    b = s.recv(1)
    if not b:
        sys.exit("no answer to CONNECT")
    head += b
if b" 200 " not in head.split(b"\r\n")[0]:
    sys.exit("CONNECT: " + head.decode(errors="replace"))
def send():
    rnd = random.Random(11)
    for i in range(up_mb * 16):
        s.sendall(rnd.randbytes(65536))
        if i % 128 == 127:
            time.sleep(0.3)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(16384)
    if not b:
        break
    h.update(b)
    n += len(b)
    time.sleep(0.0005)
t.join()
print(n, h.hexdigest())
PY

stream_sum() { # SEED MB: "<bytes> <sha256>" of the seeded stream
	python3 -c 'import hashlib, random, sys
rnd, h = random.Random(int(sys.argv[1])), hashlib.sha256()
for _ in range(int(sys.argv[2]) * 16): h.update(rnd.randbytes(65536))
print(int(sys.argv[2]) << 20, h.hexdigest())' "$1" "$2"
}

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - cidrs: [127.0.0.1/32, $FAR/32]
    action: allow
    reason: the test origin
YAML
# relay_round MODE PIPES [ADDR]: one tunnel through `--relay MODE` to an
# origin on ADDR (127.0.0.1); PIPES is "none" when no pipe may be made,
# "some" when the tunnel must splice.
relay_round() {
	local relay=$1 pipes=$2 addr=${3:-127.0.0.1} mode before got line
	mode=$relay${3:+-far} # names its files and checks
	start_proxy --policy "$T/policy.yaml" --audit "$T/audit-$mode.jsonl" \
		--threads 1 --relay "$relay"
	before=$(proxy_pipe_fds)
	local oname="origin_${mode//-/_}"
	start_script_origin "$oname" "$T/origin.py" "$T/origin-$mode.result" "$DOWN_MB" "$addr"
	local port_var="${oname}_PORT"

	got=$(timeout 90 python3 "$T/client.py" "$PROXY_PORT" "$addr:${!port_var}" "$UP_MB") ||
		fail "$mode: tunnel client: $got"
	check_eq "$mode: $DOWN_MB MiB to a slow reader arrive whole and in order" \
		"$(stream_sum 7 "$DOWN_MB")" "$got"
	wait_for 10 test -s "$T/origin-$mode.result" ||
		fail "$mode: origin wrote no result: $(cat "$T/$oname.log")"
	check_eq "$mode: $UP_MB MiB uploaded at once to a slow reader arrive whole" \
		"$(stream_sum 11 "$UP_MB")" "$(cat "$T/origin-$mode.result" 2>/dev/null)"

	wait_for 10 grep -q '"op":"connect"' "$T/audit-$mode.jsonl"
	line=$(grep '"op":"connect"' "$T/audit-$mode.jsonl" | tail -1)
	check_contains "$mode: audit: bytes to the client" "\"bytes_in\":$((DOWN_MB << 20))" "$line"
	check_contains "$mode: audit: bytes to the origin" "\"bytes_out\":$((UP_MB << 20))" "$line"
	check_relay_used "$mode" "$pipes" "$before"
	stop_proxy
}

relay_round splice some
relay_round copy none
relay_round auto none # both ends are on loopback
# The client is on loopback (copied to), the origin is not: the upload
# is spliced.
relay_round auto some "$FAR"
finish
