# Helpers for the airlock-proxy integration tests (test_proxy_*.sh).
# Source after lib.sh.  Everything listens on 127.0.0.1 only.

PROXY_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# make_certs: a test CA ($T/ca.pem) and a server certificate
# ($T/origin.pem, $T/origin.key) for origin.test, other.test, 127.0.0.1.
make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
		-subj "/CN=airlock test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
		die "openssl req (CA)"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/origin.key" -out "$T/origin.csr" \
		-subj "/CN=origin.test" 2>/dev/null || die "openssl req (origin)"
	printf '%s\n' "subjectAltName=DNS:origin.test,DNS:other.test,DNS:git.test,DNS:api.test,IP:127.0.0.1" \
		"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$T/origin.ext"
	openssl x509 -req -in "$T/origin.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
		-CAcreateserial -out "$T/origin.pem" -days 2 \
		-extfile "$T/origin.ext" 2>/dev/null || die "openssl x509 (origin)"
}

# start_origin NAME [proxy_origin.py args]: start an origin; sets NAME_PORT.
start_origin() {
	local name=$1 pid
	shift
	python3 "$PROXY_TESTS/proxy_origin.py" --port-file "$T/$name.port" "$@" \
		>"$T/$name.log" 2>&1 &
	pid=$!
	at_exit "kill $pid"
	wait_for 10 test -s "$T/$name.port" || die "origin $name did not start: $(cat "$T/$name.log")"
	printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}

# start_script_origin NAME SCRIPT [ARGS]: run a test's own origin,
# `python3 SCRIPT PORTFILE [ARGS]`, which writes the port it listens on
# to PORTFILE; sets NAME_PORT.
start_script_origin() {
	local name=$1 script=$2 pid
	shift 2
	python3 "$script" "$T/$name.port" "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	at_exit "kill $pid"
	wait_for 10 test -s "$T/$name.port" || die "origin $name did not start: $(cat "$T/$name.log")"
	printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}

# loopback_policy FILE: a policy that allows 127.0.0.1 and denies the rest.
loopback_policy() {
	cat >"$1" <<YAML
version: 1
defaults: {net: deny}
net:
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
}

# start_proxy [airlock-proxy args]: start airlock-proxy on 127.0.0.1:0;
# sets PROXY_PID, PROXY_PORT and PROXY (the URL for curl -x).
start_proxy() {
	"$AIRLOCK_PROXY" --listen 127.0.0.1:0 "$@" >"$T/proxy.out" 2>"$T/proxy.err" &
	PROXY_PID=$!
	at_exit "kill $PROXY_PID; wait $PROXY_PID"
	wait_for 10 grep -q "listening on" "$T/proxy.out" ||
		die "airlock-proxy did not start: $(cat "$T/proxy.err")"
	PROXY_PORT=$(sed -n 's/^airlock-proxy: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/proxy.out" | head -1)
	[ -n "$PROXY_PORT" ] || die "no port in: $(cat "$T/proxy.out")"
	PROXY=http://127.0.0.1:$PROXY_PORT
}

# proxy_pipe_fds: how many pipe ends airlock-proxy holds.  A spliced
# tunnel or body keeps its pipes in a pool after it ends; copying makes
# none, so the count before and after a transfer tells which ran.
proxy_pipe_fds() {
	find "/proc/$PROXY_PID/fd" -mindepth 1 -lname 'pipe:*' 2>/dev/null | wc -l
}

# check_relay_used LABEL none|some BEFORE: the transfers since BEFORE
# (proxy_pipe_fds then) were copied (no pipe was made) or spliced.
check_relay_used() {
	local label=$1 want=$2 before=$3 after
	after=$(proxy_pipe_fds)
	if [ "$want" = none ]; then
		check_eq "$label: no pipe was made (the bytes were copied)" "$before" "$after"
	elif [ "$after" -gt "$before" ]; then
		pass "$label: the bytes were spliced (pipes $before -> $after)"
	else
		fail "$label: nothing was spliced (pipes $before -> $after)"
	fi
}

# stop_proxy: SIGTERM and wait (bounded); the proxy must exit 0 (a
# sanitizer report at shutdown fails the test).
stop_proxy() {
	local rc=0
	kill -TERM "$PROXY_PID" 2>/dev/null || true
	wait_for 15 bash -c "! kill -0 $PROXY_PID 2>/dev/null" || kill -KILL "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 127 ]; then
		fail "airlock-proxy exited $rc: $(tail -n 20 "$T/proxy.err")"
	fi
}

# A hosts(5) file for the proxy's resolver (--hosts): the test names all
# point at the loopback origin.
write_hosts() {
	printf '127.0.0.1 origin.test other.test held.test denied.test git.test api.test bad.test\n' >"$T/hosts"
}

# curl through the proxy with a bound time; extra args follow.
pcurl() {
	curl -sS --max-time 20 --noproxy '' -x "$PROXY" "$@"
}
