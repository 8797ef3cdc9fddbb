#!/usr/bin/env bash
# @registries costs one `npm config get registry` per session, not one per
# policy load: airlock run asks npm once and both daemons inherit the
# answer (policy_registries_pin in common/policy_registries.c).  The npm
# here is a stand-in that counts its runs; it names a made-up registry.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P" "$T/bin" "$T/home"
echo "x" >"$P/a.txt"
cat >"$T/bin/npm" <<NPM
#!/bin/sh
echo "\$*" >>"$T/npm-runs"
echo https://npm-stand-in.example.test/
NPM
chmod 755 "$T/bin/npm"
if grep -qs '^ *registry *=' /etc/npmrc /usr/etc/npmrc; then
	want=0 # the machine's npmrc names the registry: npm is never asked
else
	want=1
fi

set +e
out=$(env -u npm_config_registry -u NPM_CONFIG_REGISTRY HOME="$T/home" \
	PATH="$T/bin:$PATH" "$AIRLOCK" run --project "$P" --session-name r1 \
	-- sh -c 'echo "agent sees: ${npm_config_registry:-unset}"' 2>"$T/run.err")
rc=$?
set -e
at_exit "$AIRLOCK end r1"
check_eq "the session ran" 0 "$rc"
runs=$(wc -l <"$T/npm-runs" 2>/dev/null || echo 0)
check_eq "npm asked $want time(s) for three policy loads" "$want" "$runs"
if [ "$want" = 1 ]; then
	check_eq "it was asked for the registry, leaving no log and sending nothing" \
		"config get registry --logs-max=0 --no-update-notifier" "$(head -1 "$T/npm-runs")"
	check_contains "the answer npm gave is the one in use" \
		"agent sees: https://npm-stand-in.example.test/" "$out"
fi
finish
