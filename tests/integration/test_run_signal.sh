#!/usr/bin/env bash
# SIGTERM or SIGINT to `airlock run` at any point of its start-up stops
# it cleanly: it exits 128+N, no daemon of the session is left running,
# nothing stays mounted, the session reads "ended", and the command never
# runs when the signal came first.  Once the agent runs, the signal is
# passed on to it (exit 143 from the agent's own death).
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

P=$T/proj
mkdir -p "$P"
echo "original" >"$P/a.txt"
cat >"$T/policy.yaml" <<YAML
version: 1
defaults: {fs: allow, net: deny}
YAML

# daemons_left: the pids of any process still holding the test's state dir.
daemons_left() { pgrep -f -- "$AIRLOCK_STATE_DIR" || true; }

session_state() {
	"$AIRLOCK" sessions --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["id"] == sys.argv[1]:
        print(s.get("state", ""))' "$1"
}

# wait_fs_up ID: until the session's airlock-fs runs (bounded, 20 s).
wait_fs_up() {
	local i
	for ((i = 0; i < 2000; i++)); do
		pgrep -f -- "airlock-fs.*$AIRLOCK_STATE_DIR/.*$1" >/dev/null && return 0
		sleep 0.01
	done
	return 1
}

stopped_early=0
# one_round NAME SIGNAL WHEN: WHEN is "fs-up", "agent-up" or a delay in
# seconds.
one_round() {
	local name=$1 sig=$2 when=$3 pid rc ran left
	"$AIRLOCK" run --project "$P" --policy "$T/policy.yaml" \
		--session-name "$name" -- \
		bash -c 'echo ran; exec sleep 30' \
		</dev/null >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	at_exit "kill -9 $pid; $AIRLOCK end $name"
	if [ "$when" = fs-up ]; then
		wait_fs_up "$name" || fail "$name: airlock-fs did not start"
	elif [ "$when" = agent-up ]; then
		wait_for 30 grep -q ran "$T/$name.out" || fail "$name: the agent did not start"
	else
		sleep "$when"
	fi
	kill -"$sig" "$pid"
	wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" ||
		die "$name: airlock run did not stop within 30 s"
	rc=0
	wait "$pid" || rc=$?
	local want=$((128 + $(kill -l "$sig")))
	check_eq "$name: airlock run exits $want on SIG$sig" "$want" "$rc"
	# the daemons are stopped before airlock run exits
	left=$(daemons_left)
	check_eq "$name: no daemon of the session is left" "" "$left"
	check_not "$name: nothing of the test stays mounted" grep -q -- "$T" /proc/mounts
	if [ -d "$AIRLOCK_STATE_DIR/sessions/$name" ] ||
		"$AIRLOCK" sessions --json | grep -q "\"$name\""; then
		check_eq "$name: the session reads ended" ended "$(session_state "$name")"
	fi
	# the agent's /tmp is its own: it says so on the stdout we hold
	if grep -q ran "$T/$name.out"; then
		ran=yes
	else
		ran=no
		# killed by the default action before anything was made, or
		# stopped by the start-up's own check, which says so
		if [ -s "$T/$name.err" ]; then
			check_contains "$name: says it stopped during start-up" \
				"stopped by signal $(kill -l "$sig") during start-up" \
				"$(cat "$T/$name.err")"
			stopped_early=$((stopped_early + 1))
		fi
	fi
	echo "  # $name: signal at $when, agent ran: $ran"
}

echo "# a signal once airlock-fs is up, before the agent runs"
one_round fsup-term TERM fs-up
one_round fsup-int INT fs-up
echo "# signals at fixed points of the start-up"
n=0
for d in 0 0.02 0.05 0.1 0.2 0.4 0.8 1.5 3; do
	n=$((n + 1))
	one_round "at$n" TERM "$d"
done

# With signals sent while airlock-fs was up and the agent not yet
# released, at least one round must have been stopped by the start-up.
check "some rounds were stopped during start-up ($stopped_early)" \
	test "$stopped_early" -ge 1

echo "# the signal reaches a running agent"
one_round running TERM agent-up
check "running: the agent ran" grep -q ran "$T/running.out"
check_contains "running: the run's summary names the session" "running" \
	"$(cat "$T/running.err")"
finish
