#!/usr/bin/env bash
# airlock-proxy address checks, in a network namespace of the test's own:
# names resolved by evdns (from a test DNS responder) to 127.0.0.1,
# 169.254.169.254 (added to the namespace's lo, with a server behind it
# that must never be reached) or both a public and a private address are
# denied; a public address (also only on the namespace's lo) is allowed;
# an IP literal is checked too.  No traffic leaves the namespace.
if [ -z "${AIRLOCK_IN_NETNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "  skip needs root"; exit 77; }
	exec unshare -n env AIRLOCK_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

ip link set lo up || die "lo up"
ip addr add 169.254.169.254/32 dev lo || die "add 169.254.169.254"
ip addr add 11.22.33.44/32 dev lo || die "add a public address to lo"

# Origins: a "metadata service" and a "public" server, both in here.
start_origin META --bind 169.254.169.254 --port 80
start_origin PUB --bind 11.22.33.44 --port 80
start_origin LOOP
python3 "$PROXY_TESTS/proxy_dns.py" "$T/dns.ready" 127.0.0.1 5353 \
	pub.test=11.22.33.44 meta.test=169.254.169.254 loop.test=127.0.0.1 \
	mixed.test=11.22.33.44,127.0.0.1 loop6.test=::1 >"$T/dns.log" 2>&1 &
at_exit "kill $!"
wait_for 10 test -s "$T/dns.ready" || die "DNS responder did not start"
check "the metadata stand-in answers directly" \
	curl -sS --max-time 5 --noproxy '*' -o /dev/null http://169.254.169.254/hello

cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - hosts: [pub.test, meta.test, loop.test, mixed.test, loop6.test, nx.test]
    action: allow
    reason: allowed by name; the address decides
YAML
start_proxy --policy "$T/policy.yaml" --nameserver 127.0.0.1:5353

out=$(pcurl http://pub.test/hello)
check_eq "a public address is allowed" "hello from origin" "$out"
for name in meta.test loop.test mixed.test loop6.test; do
	code=$(pcurl -o "$T/$name.out" -w '%{http_code}' "http://$name/hello")
	check_eq "$name is denied" "403" "$code"
	check_contains "$name: the address rule is named" "builtin:special-addresses" "$(cat "$T/$name.out")"
done
check_contains "the denial names the address" "169.254.169.254" "$(cat "$T/meta.test.out")"
code=$(pcurl -p -o /dev/null -w '%{http_connect}' "http://meta.test/hello" 2>/dev/null || true)
check_eq "CONNECT to a name for the metadata address: 403" "403" "$code"
code=$(pcurl -o "$T/nx.out" -w '%{http_code}' "http://nx.test/hello")
check_eq "a name that does not resolve: 502" "502" "$code"
stop_proxy

# The built-in default policy denies these addresses as well.
start_proxy --nameserver 127.0.0.1:5353
code=$(pcurl -o "$T/d.out" -w '%{http_code}' "http://169.254.169.254/latest/meta-data/")
check_eq "default policy: metadata address denied" "403" "$code"
code=$(pcurl -o "$T/d2.out" -w '%{http_code}' "http://127.0.0.1:$LOOP_PORT/hello")
check_eq "default policy: loopback denied" "403" "$code"
stop_proxy
finish
