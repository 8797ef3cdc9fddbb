#!/usr/bin/env bash
# airlock-proxy relays a plain http:// response body with a Content-Length
# exactly (a spliced body is 64 KiB or more, from socket to socket):
# several kept-alive responses of known sha256 on one client connection,
# a body larger than the pipe followed by another response, a slow
# reader, a head that arrives in one segment with the first body bytes,
# an upstream that sends more than its Content-Length, and audit records
# whose bytes_in is the head as received plus the body, to the byte.
# Once spliced (--relay splice) and once copied (--relay copy, as auto
# does toward a client on loopback), each shown to have been used.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

# An origin whose bodies are known: /blob/N/SEED is N bytes of
# random.Random(SEED); /seg/... sends the head with the first 1,000 body
# bytes in one segment, then the rest after a pause; /over/... does the
# same and sends 33 bytes beyond its Content-Length with the rest.  Every head is exactly
# "HTTP/1.1 200 OK\r\nContent-Length: N\r\n\r\n".
cat >"$T/origin.py" <<'PY'
import random, socketserver, sys, time
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            kind, n, seed = line.split()[1].decode().split("/")[-3:]
            body = random.Random(int(seed)).randbytes(int(n))
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
            extra = b"EXTRA-BYTES-NOT-PART-OF-THE-BODY!" if kind == "over" else b""
            if kind in ("seg", "over"):
                self.wfile.write(head + body[:1000])
                self.wfile.flush()
                time.sleep(0.3)
                self.wfile.write(body[1000:] + extra)
            else:
                self.wfile.write(head + body)
            self.wfile.flush()
class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
s = S(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
start_script_origin origin "$T/origin.py"
U=http://127.0.0.1:$origin_PORT
loopback_policy "$T/policy.yaml"

# expected N SEED: the sha256 of /blob/N/SEED's body.
expected() {
	python3 -c 'import hashlib, random, sys
print(hashlib.sha256(random.Random(int(sys.argv[2])).randbytes(int(sys.argv[1]))).hexdigest())' "$1" "$2"
}
got() { sha256sum "$1" | cut -d' ' -f1; }

# fetch NAME... : one curl, one client connection, each path to $T/NAME.
# Prints each transfer's status and new connections.
fetch() {
	local args=() first=1 p
	for p in "$@"; do
		[ $first = 1 ] || args+=(--next --max-time 60 --noproxy '' -x "$PROXY")
		first=0
		args+=(-o "$T/out.${p//\//_}" -w '%{http_code} %{num_connects}\n' "$U/$p")
	done
	curl -sS --max-time 60 --noproxy '' -x "$PROXY" "${args[@]}"
}

# relay_round MODE PIPES: every check through `--relay MODE`; PIPES is
# "none" when no pipe may be made, "some" when bodies must be spliced.
relay_round() {
	local mode=$1 pipes=$2 before out p n seed head_len bin
	start_proxy --policy "$T/policy.yaml" --threads 1 \
		--audit "$T/audit-$mode.jsonl" --relay "$mode"
	before=$(proxy_pipe_fds)

	# Kept-alive responses on one connection: small (buffered), large
	# (spliced, or copied), a head with its first body bytes in one segment, a body
	# 8x the 1 MiB pipe, and one more after it.
	paths=(blob/200000/1 blob/100/2 seg/300000/3 blob/8388608/4 blob/70000/5)
	out=$(fetch "${paths[@]}") || true
	check_eq "$mode: five responses on one client connection" \
		"$(printf '200 1\n200 0\n200 0\n200 0\n200 0')" "$out"
	for p in "${paths[@]}"; do
		IFS=/ read -r _ n seed <<<"$p"
		check_eq "$mode: sha256 of $p" "$(expected "$n" "$seed")" "$(got "$T/out.${p//\//_}")"
	done

	# A slow reader of a body larger than the pipe, then another response.
	out=$(curl -sS --max-time 60 --noproxy '' -x "$PROXY" --limit-rate 4M \
		-o "$T/slow" -w '%{http_code} %{num_connects}\n' "$U/blob/8388608/6" \
		--next --max-time 60 --noproxy '' -x "$PROXY" \
		-o "$T/after" -w '%{http_code} %{num_connects}\n' "$U/blob/1000/7") || true
	check_eq "$mode: slow reader: both answered on one connection" "$(printf '200 1\n200 0')" "$out"
	check_eq "$mode: slow reader: sha256 of the 8 MiB body" "$(expected 8388608 6)" "$(got "$T/slow")"
	check_eq "$mode: slow reader: sha256 of the next body" "$(expected 1000 7)" "$(got "$T/after")"

	# Not a byte more than Content-Length: what the upstream sends beyond it
	# never reaches the client, neither in this body nor as the next
	# response (which the proxy then refuses as malformed, 502, or gets from
	# the origin intact).
	out=$(fetch over/300000/8 blob/100000/9) || true
	check_eq "$mode: over-long upstream: the body is Content-Length bytes" \
		"$(expected 300000 8)" "$(got "$T/out.over_300000_8")"
	case $out in
	"$(printf '200 1\n200 0')")
		check_eq "$mode: over-long upstream: the next response is intact" \
			"$(expected 100000 9)" "$(got "$T/out.blob_100000_9")" ;;
	"$(printf '200 1\n502 0')")
		check_contains "$mode: over-long upstream: the extra bytes are refused" \
			"malformed response" "$(cat "$T/out.blob_100000_9")" ;;
	*) fail "$mode: over-long upstream: unexpected answers: $out" ;;
	esac

	check_relay_used "$mode" "$pipes" "$before"

	# The audit counts the head as received plus the body, exactly.
	stop_proxy
	for p in blob/8388608/4 seg/300000/3 blob/8388608/6 over/300000/8; do
		IFS=/ read -r _ n _ <<<"$p"
		head_len=$(printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' "$n" | wc -c)
		bin=$(grep "\"target\":\"$U/$p\"" "$T/audit-$mode.jsonl" |
			sed -n 's/.*"bytes_in":\([0-9]*\).*/\1/p')
		check_eq "$mode: audit: bytes_in of $p" "$((head_len + n))" "$bin"
	done
}

relay_round splice some
relay_round copy none
finish
