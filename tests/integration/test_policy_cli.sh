#!/usr/bin/env bash
# airlock policy check|eval|show: exit statuses, file:line:column errors on
# stderr, decisions naming their rule, --json, the embedded default, and
# @registries expanded from a made-up machine configuration.
. "$(dirname "$0")/lib.sh"

export AIRLOCK_REGISTRY_ROOT=$T/root HOME=$T/root/home/u
unset NPM_CONFIG_REGISTRY npm_config_registry PIP_INDEX_URL PIP_EXTRA_INDEX_URL GOPROXY
mkdir -p "$HOME" "$T/root/etc"
echo "registry=https://mirror.example.test/npm/" >"$HOME/.npmrc"

# check: the shipped policies load; a bad one is refused with its position.
for f in "$AIRLOCK_SRC"/conf/airlock.yaml "$AIRLOCK_SRC"/conf/examples/*.yaml; do
	check "check $(basename "$f")" "$AIRLOCK" policy check "$f"
done
cat >"$T/bad.yaml" <<'EOF'
version: 1
fs:
  - paths: [".git/hooks/**"]
    ops: [write, exec]
    action: hold
EOF
rc=0
"$AIRLOCK" policy check "$T/bad.yaml" >"$T/out" 2>"$T/err" || rc=$?
check_eq "bad policy exits 2" 2 "$rc"
check_eq "error names file:line:column" \
	"$T/bad.yaml:4:18: unknown operation 'exec' (want read, write, create, delete, rename, chmod, link, xattr or all)" \
	"$(cat "$T/err")"
check_eq "nothing on stdout" "" "$(cat "$T/out")"
rc=0
"$AIRLOCK" policy check "$T/missing.yaml" 2>"$T/err" || rc=$?
check_eq "missing file exits 2" 2 "$rc"
check_contains "missing file says so" "$T/missing.yaml: cannot open: No such file or directory" "$(cat "$T/err")"
rc=0
"$AIRLOCK" policy eval --policy "$T/bad.yaml" --fs write a 2>/dev/null || rc=$?
check_eq "eval with a bad policy exits 2" 2 "$rc"

# eval against the embedded default: the decision is the output, exit 0.
out=$("$AIRLOCK" policy eval --fs write .git/hooks/pre-commit)
check_contains "hook write is held" "decision: hold" "$out"
check_contains "names the rule" "rule:     conf/airlock.yaml:" "$out"
out=$("$AIRLOCK" policy eval --fs read ./src//main.c)
check_contains "routine read allowed by default" "conf/airlock.yaml:defaults.fs" "$out"
out=$("$AIRLOCK" policy eval --net '[::1]:8080' --json)
check_contains "loopback denied (json)" '"decision":"deny"' "$out"
check_contains "json names the target" '"target":"[::1]:8080"' "$out"
out=$("$AIRLOCK" policy eval --net unknown.example.test:443)
check_contains "unknown host held" "decision: hold" "$out"
out=$("$AIRLOCK" policy eval --net mirror.example.test:443)
check_contains "@registries from ~/.npmrc allowed" "decision: allow" "$out"

# eval with --method/--url against a policy file.
cat >"$T/http.yaml" <<'EOF'
version: 1
net:
  - hosts: [api.example.test]
    methods: [GET]
    paths: ["/v1/"]
    action: allow
    reason: reads are routine
EOF
out=$("$AIRLOCK" policy eval --policy "$T/http.yaml" --net api.example.test:80 --method GET --url http://api.example.test/v1/x)
check_contains "GET /v1/ allowed by line 3" "rule:     $T/http.yaml:3" "$out"
check_contains "reason printed" "reason:   reads are routine" "$out"
out=$("$AIRLOCK" policy eval --policy "$T/http.yaml" --net api.example.test:443)
check_contains "CONNECT falls to the default" "$T/http.yaml:defaults.net" "$out"

# Usage errors exit 2; --help exits 0.
for args in "eval" "eval --fs write" "eval --fs exec a" "eval --fs write /etc/passwd" \
	"eval --fs write ../x" "eval --net example.test" "eval --net a:0" "bogus" "check"; do
	rc=0
	# shellcheck disable=SC2086
	"$AIRLOCK" policy $args >/dev/null 2>&1 || rc=$?
	check_eq "'policy $args' exits 2" 2 "$rc"
done
check "policy --help" "$AIRLOCK" policy --help
check "policy eval --help" "$AIRLOCK" policy eval --help

# show: the compiled rules and the expanded @registries.
out=$("$AIRLOCK" policy show)
check_contains "show lists @registries" "@registries: mirror.example.test" "$out"
check_contains "show lists a rule" "conf/airlock.yaml:" "$out"
out=$("$AIRLOCK" policy show --policy "$T/http.yaml")
check_contains "show says when @registries is unused" "@registries: (not used by this policy)" "$out"

finish
