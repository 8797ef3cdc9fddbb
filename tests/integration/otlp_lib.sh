# Helpers for tests that export to an OTLP/HTTP receiver decoding with
# OpenTelemetry's own definitions (tests/otlp-receiver).  Source after
# lib.sh; call otlp_receiver_install once, then start_receiver.
command -v node >/dev/null || die "node is missing (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || die "npm is missing (it comes with nodejs)"

otlp_receiver_install() {
	# The receiver and its pinned dependency, installed with the ordinary
	# client from its configured registry, in our temporary directory.
	R=$T/receiver
	mkdir -p "$R"
	cp "$AIRLOCK_SRC"/tests/otlp-receiver/package.json \
		"$AIRLOCK_SRC"/tests/otlp-receiver/receiver.js "$R"/
	if [ -f "$AIRLOCK_SRC"/tests/otlp-receiver/package-lock.json ]; then
		cp "$AIRLOCK_SRC"/tests/otlp-receiver/package-lock.json "$R"/
	fi
	# A node_modules already installed next to the receiver (npm install in
	# tests/otlp-receiver: it is gitignored) is used when it holds the pinned
	# version, so that a rerun needs no registry.
	pinned=$(node -p 'require(process.argv[1]).dependencies["@opentelemetry/otlp-transformer"]' \
		"$R/package.json")
	local_mods=$AIRLOCK_SRC/tests/otlp-receiver/node_modules
	if [ "$(node -p 'require(process.argv[1]).version' \
		"$local_mods/@opentelemetry/otlp-transformer/package.json" 2>/dev/null)" = "$pinned" ]; then
		ln -s "$local_mods" "$R/node_modules"
	else
		(cd "$R" && timeout 300 npm install --no-audit --no-fund --loglevel=error) ||
			die "npm install of the receiver's dependency failed"
	fi
}

# start_receiver NAME ARGS...: start one on a free port; sets PORT.
start_receiver() {
	local name=$1
	shift
	node "$R"/receiver.js --out "$T/$name.jsonl" --port-file "$T/$name.port" \
		"$@" 2>"$T/$name.log" &
	at_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_for 30 test -s "$T/$name.port" || die "receiver $name did not start: $(cat "$T/$name.log")"
	PORT=$(cat "$T/$name.port")
	touch "$T/$name.jsonl"
}

