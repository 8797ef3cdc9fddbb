#!/usr/bin/env bash
# airlock run builds the agent's environment: variables that look like
# credentials are left out (isolated or not), the rest passes, and
# `airlock run --show-env` prints what the agent would see and why each
# variable was dropped, without its value and without running anything.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /dev/fuse ] || die "/dev/fuse is missing"

export HOME=$T/home
mkdir -p "$HOME"
P=$T/proj
mkdir -p "$P"
export FOO_TOKEN=foo-token-value
export AWS_SECRET_ACCESS_KEY=aws-secret-value
export SSH_AUTH_SOCK=$T/ssh-agent.sock
export OPENAI_API_KEY=model-key-value
export LANG=C.UTF-8
export AIRLOCK_TEST_PLAIN=plain-value

no_secret_values() { # no_secret_values TEXT: none of the values appear
	case $1 in
	*foo-token-value* | *aws-secret-value* | *model-key-value* | *ssh-agent.sock*) return 1 ;;
	esac
	return 0
}

for mode in isolated no-isolate; do
	flag=()
	[ "$mode" = no-isolate ] && flag=(--no-isolate)
	set +e
	out=$("$AIRLOCK" run "${flag[@]}" --project "$P" --session-name "env-$mode" -- env 2>"$T/$mode.err")
	rc=$?
	set -e
	at_exit "$AIRLOCK end env-$mode"
	check_eq "$mode: env runs" 0 "$rc"
	check_not "$mode: FOO_TOKEN dropped" grep -q '^FOO_TOKEN=' <<<"$out"
	check_not "$mode: AWS_SECRET_ACCESS_KEY dropped" grep -q '^AWS_SECRET_ACCESS_KEY=' <<<"$out"
	check_not "$mode: SSH_AUTH_SOCK dropped" grep -q '^SSH_AUTH_SOCK=' <<<"$out"
	check_not "$mode: OPENAI_API_KEY dropped" grep -q '^OPENAI_API_KEY=' <<<"$out"
	check "$mode: no secret value anywhere" no_secret_values "$out"
	check "$mode: PATH kept" grep -qx "PATH=$PATH" <<<"$out"
	check "$mode: HOME kept" grep -qx "HOME=$HOME" <<<"$out"
	check "$mode: LANG kept" grep -qx "LANG=C.UTF-8" <<<"$out"
	check "$mode: a plain variable kept" grep -qx "AIRLOCK_TEST_PLAIN=plain-value" <<<"$out"
	check "$mode: the proxy variables set" grep -q "^HTTPS_PROXY=http://127.0.0.1:" <<<"$out"
done
check_contains "--no-isolate says the variables are still filtered" \
	"credential-looking variables are still left out" "$(cat "$T/no-isolate.err")"

n_before=$(ls "$AIRLOCK_STATE_DIR/sessions" | wc -l)
set +e
out=$("$AIRLOCK" run --show-env --project "$P" -- sh -c "touch '$T/ran'" 2>"$T/show.err")
rc=$?
set -e
echo "$out" | grep -v '^[A-Za-z_]*=' || true
check_eq "--show-env exits 0" 0 "$rc"
check_not "--show-env runs nothing" test -e "$T/ran"
check_eq "--show-env creates no session" "$n_before" "$(ls "$AIRLOCK_STATE_DIR/sessions" | wc -l)"
check_contains "--show-env: FOO_TOKEN and why" "# dropped FOO_TOKEN: name ends in _TOKEN" "$out"
check_contains "--show-env: AWS_SECRET_ACCESS_KEY and why" "# dropped AWS_SECRET_ACCESS_KEY: AWS_*" "$out"
check_contains "--show-env: SSH_AUTH_SOCK and why" "# dropped SSH_AUTH_SOCK: SSH_AUTH_SOCK (the ssh agent" "$out"
check_contains "--show-env: OPENAI_API_KEY and why" "# dropped OPENAI_API_KEY: OPENAI_API_KEY (a model provider key)" "$out"
check "--show-env prints no secret value" no_secret_values "$out"
check "--show-env: PATH" grep -qx "PATH=$PATH" <<<"$out"
check "--show-env: HOME" grep -qx "HOME=$HOME" <<<"$out"
check "--show-env: LANG" grep -qx "LANG=C.UTF-8" <<<"$out"
check "--show-env: the room's proxy" grep -qx "HTTPS_PROXY=http://127.0.0.1:3128" <<<"$out"
check_not "--show-env: the dropped ones are not in the list" grep -q '^FOO_TOKEN=' <<<"$out"
out=$("$AIRLOCK" run --show-env --user nobody)
check "--show-env --user: the user's HOME" grep -qx "HOME=$(getent passwd nobody | cut -d: -f6)" <<<"$out"
check "--show-env --user: USER" grep -qx "USER=nobody" <<<"$out"
finish
