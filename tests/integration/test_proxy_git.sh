#!/usr/bin/env bash
# git clone through airlock-proxy from a local git HTTP server (git
# http-backend behind the test origin): over https (a CONNECT tunnel) and
# over plain http (forwarded, with git's chunked POSTs).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"

make_certs
write_hosts
G=$T/git
mkdir -p "$G/work"
git -C "$G/work" init -q -b main
for i in $(seq 1 50); do head -c 20000 /dev/urandom | base64 >"$G/work/file$i.txt"; done
git -C "$G/work" add .
git -C "$G/work" -c user.name=t -c user.email=t@t commit -q -m "test content"
git clone -q --bare "$G/work" "$G/repo.git"
want=$(git -C "$G/work" rev-parse HEAD)

start_origin TLS --cert "$T/origin.pem" --key "$T/origin.key" --git-root "$G"
start_origin PLAIN --git-root "$G"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {net: deny}
net:
  - hosts: [git.test]
    action: allow
    reason: the test's git server
  - cidrs: [127.0.0.1/32]
    action: allow
YAML
start_proxy --policy "$T/policy.yaml" --hosts "$T/hosts" --audit "$T/audit.jsonl"

export GIT_TERMINAL_PROMPT=0
GIT_SSL_CAINFO="$T/ca.pem" git -c http.proxy="$PROXY" \
	clone -q "https://git.test:$TLS_PORT/git/repo.git" "$T/c1" 2>"$T/c1.err" ||
	fail "git clone over https: $(cat "$T/c1.err")"
check_eq "https clone has the commit" "$want" "$(git -C "$T/c1" rev-parse HEAD 2>/dev/null)"
check_eq "https clone has the files" "50" "$(ls "$T/c1" | wc -l)"

git -c http.proxy="$PROXY" -c http.postBuffer=65536 \
	clone -q "http://git.test:$PLAIN_PORT/git/repo.git" "$T/c2" 2>"$T/c2.err" ||
	fail "git clone over http: $(cat "$T/c2.err")"
check_eq "http clone has the commit" "$want" "$(git -C "$T/c2" rev-parse HEAD 2>/dev/null)"

# A host the policy does not allow: git fails, and says the proxy refused.
if GIT_SSL_CAINFO="$T/ca.pem" git -c http.proxy="$PROXY" \
	clone -q "https://other.test:$TLS_PORT/git/repo.git" "$T/c3" 2>"$T/c3.err"; then
	fail "clone from a denied host succeeded"
else
	pass "clone from a denied host fails"
fi
check_contains "git shows the proxy's 403" "403" "$(cat "$T/c3.err")"
check "audit: the git POST was forwarded" grep -q \
	"\"op\":\"POST\",\"target\":\"http://git.test:$PLAIN_PORT/git/repo.git/git-upload-pack\",\"decision\":\"allow\"" "$T/audit.jsonl"
stop_proxy
finish
