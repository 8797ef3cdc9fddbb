#!/usr/bin/env bash
# Run every integration test (tests/integration/test_*.sh), or those named
# on the command line, and print one verdict line: "N passed, N failed".
# Each test runs with a time limit; its output goes to the log directory
# and is shown when it fails.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
export AIRLOCK_SRC=$src
export AIRLOCK_BUILD=${AIRLOCK_BUILD:-$src/build}
limit=${AIRLOCK_TEST_TIMEOUT:-600}
logs=${AIRLOCK_TEST_LOGS:-$AIRLOCK_BUILD/test-logs}
mkdir -p "$logs"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=("$src"/tests/integration/test_*.sh)
fi

n_pass=0 n_fail=0 n_skip=0 failed=()
for t in "${tests[@]}"; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	start=$(date +%s)
	timeout -k 10 "$limit" bash "$t" >"$logs/$name.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) n_pass=$((n_pass + 1)); echo "PASS $name (${secs}s)" ;;
	77) n_skip=$((n_skip + 1)); echo "SKIP $name: $(grep -m1 'skip' "$logs/$name.log")" ;;
	*)
		n_fail=$((n_fail + 1)); failed+=("$name")
		[ $rc -eq 124 ] && echo "FAIL $name (timed out after ${limit}s)" || echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/    | /' "$logs/$name.log" | tail -n 60
		;;
	esac
done
echo
echo "integration: $n_pass passed, $n_fail failed, $n_skip skipped"
[ $n_fail -eq 0 ]
