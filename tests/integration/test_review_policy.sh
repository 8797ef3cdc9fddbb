#!/usr/bin/env bash
# airlock commit decides every final path again by the session's policy,
# whatever staged it (issue 7): stage through a real airlock-fs mount
# under a policy that allows everything, then commit under one that holds
# and denies.  A denied path (and a rename from a denied name) refuses
# the whole commit with exit 4, naming rule and reason; so does a held
# one without a terminal; a detour (a directory renamed onto a held
# path) is refused like a direct write; PATHs leave refused paths out;
# a policy file edited since the session started is refused unless
# --policy names one; --approve-held and a "y" on a terminal commit held
# paths and are audited (component cli, decided_by human) in the
# session's hash chain; one "n" refuses the commit.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
command -v python3 >/dev/null || die "python3 is required (the pty driver)"
. "$(dirname "$0")/review_lib.sh"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/src" "$M"
printf 'version: 1\ndefaults: {fs: allow, net: deny}\n' >"$T/allow.yaml"
cat >"$T/held.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny}
fs:
  - paths: ["secret/**"]
    action: hold
    reason: keys need a person
  - paths: ["forbidden.txt", "old-name.txt"]
    action: deny
    reason: never from an agent
EOF
printf 'int a;\n' >"$P/src/a.c"
printf 'keep my name\n' >"$P/old-name.txt"
cp -a "$P" "$T/orig"

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/allow.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
at_exit "unmount_fuse $M"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"

# Staged under a policy that allows all of it.
printf 'int ok;\n' >"$M/src/ok.c"
printf 'x\n' >"$M/forbidden.txt"
mv "$M/old-name.txt" "$M/new-name.txt"
# The detour: a directory made where nothing is held, then renamed onto
# the held name.
mkdir "$M/staging"
printf 'KEY\n' >"$M/staging/key.pem"
mv "$M/staging" "$M/secret"
sync
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || die "airlock-fs did not unmount"
wait_for 10 bash -c "! kill -0 $PID" || die "airlock-fs did not exit"

# The session ran under held.yaml, as session.json records it.
write_session_json() {
	printf '{"id": "sess", "project": "%s", "policy": "%s", "policy_hash": "%s"}\n' \
		"$P" "$T/held.yaml" "$1" >"$S/session.json"
}
HASH=$(sha256sum "$T/held.yaml" | cut -d' ' -f1)
write_session_json "$HASH"
C=("$AIRLOCK" commit --session "$S")

rc=0
err=$("${C[@]}" </dev/null 2>&1) || rc=$?
check_eq "a denied and a held path: exit 4" 4 "$rc"
check_contains "the denied path is named with rule and reason" \
	"denied: forbidden.txt: by $T/held.yaml:7: never from an agent" "$err"
check_contains "a rename from a denied name is refused by that name" \
	"denied: new-name.txt (renamed from old-name.txt): by $T/held.yaml:7" "$err"
check_contains "the detour's final path is held" \
	"held: secret/key.pem: by $T/held.yaml:4: keys need a person; answer y on a terminal, or pass --approve-held" "$err"
check_contains "the source of a rename is decided too" "denied: old-name.txt" "$err"
check_not "an allowed path is not refused" grep -q "src/ok.c" <<<"$err"
check_contains "the whole commit is refused" "nothing was committed" "$err"
check "nothing written" trees_equal "$P" "$T/orig"
check_contains "the stage keeps everything" "secret" "$("$STAGE_TOOL" list "$S")"

# A dry run says the same and asks nothing.
rc=0
err=$("${C[@]}" --dry-run </dev/null 2>&1) || rc=$?
check_eq "dry run: exit 4 too" 4 "$rc"
check_contains "dry run names the held path" "held: secret/key.pem" "$err"

# The policy file changed since the session started: refused, unless
# --policy names the policy to decide with.
cp "$T/held.yaml" "$T/held.orig"
printf '# edited\n' >>"$T/held.yaml"
rc=0
err=$("${C[@]}" src/ok.c </dev/null 2>&1) || rc=$?
check_eq "changed policy: exit 4" 4 "$rc"
check_contains "changed policy: says so" "changed since the session started" "$err"
check "changed policy: nothing written" test ! -e "$P/src/ok.c"
write_session_json "0000"
rc=0
"${C[@]}" src/ok.c </dev/null >/dev/null 2>&1 || rc=$?
check_eq "a hash that does not match: exit 4" 4 "$rc"
rc=0
err=$("${C[@]}" --policy "$T/held.yaml" </dev/null 2>&1) || rc=$?
check_eq "--policy decides with the named file: still refused" 4 "$rc"
check_contains "--policy: held by the named file" "held: secret/key.pem" "$err"
cp "$T/held.orig" "$T/held.yaml"
write_session_json "$HASH"

# PATHs leave the refused paths out.
rc=0
"${C[@]}" src/ok.c </dev/null >/dev/null 2>&1 || rc=$?
check_eq "an allowed path alone: exit 0" 0 "$rc"
check_eq "it is committed" "int ok;" "$(cat "$P/src/ok.c")"
check "the rest is not" test ! -e "$P/forbidden.txt" -a ! -e "$P/secret"

# --approve-held does not approve a denied path.
rc=0
err=$("${C[@]}" --approve-held </dev/null 2>&1) || rc=$?
check_eq "--approve-held with a denied path: exit 4" 4 "$rc"
check_contains "denied stays denied" "denied: forbidden.txt" "$err"
check_not "the held path is not refused" grep -q "held: secret" <<<"$err"
check "still nothing of it written" test ! -e "$P/secret"

"$AIRLOCK" discard --session "$S" forbidden.txt new-name.txt old-name.txt >/dev/null
rc=0
err=$("${C[@]}" --approve-held </dev/null 2>&1) || rc=$?
check_eq "--approve-held: exit 0" 0 "$rc"
[ "$rc" = 0 ] || echo "$err"
check_eq "the held path is committed" "KEY" "$(cat "$P/secret/key.pem")"
line=$(grep '"component":"cli"' "$S/audit.jsonl" | grep '"target":"secret/key.pem"' | grep '"outcome":"approved"' || true)
check_contains "the approval is audited" '"decided_by":"human"' "$line"
check_contains "with the rule" "held.yaml:4" "$line"
check "the audit chain still verifies" "$AIRLOCK" audit verify "$S/audit.jsonl"

# On a terminal each held path is asked about: one "n" refuses the whole
# commit; "y" to each commits them, and each answer is audited.
review_init "$T/i"
mkdir -p "$R/proj/secret"
review_snapshot
st_add secret/one.pem "one
"
st_add secret/two.pem "two
"
printf '{"id": "i", "project": "%s", "policy": "%s", "policy_hash": "%s"}\n' \
	"$R/proj" "$T/held.yaml" "$HASH" >"$R/sess/session.json"
out=$(python3 "$AIRLOCK_SRC/tests/integration/pty_answer.py" yn "$AIRLOCK" commit --session "$R/sess")
check_contains "terminal: asks with rule and reason" "held by $T/held.yaml:4: keys need a person" "$out"
check_contains "terminal: one no refuses the commit" "exit 4" "$out"
check "terminal: nothing written after a no" test ! -e "$R/proj/secret/one.pem"
check_eq "terminal: the no is audited" 1 \
	"$(grep -c '"outcome":"denied","decided_by":"human"' "$R/sess/audit.jsonl" || true)"
out=$(python3 "$AIRLOCK_SRC/tests/integration/pty_answer.py" yy "$AIRLOCK" commit --session "$R/sess")
check_contains "terminal: yes to each commits" "exit 0" "$out"
check_eq "terminal: committed" "one two" "$(cat "$R/proj/secret/one.pem" "$R/proj/secret/two.pem" | tr '\n' ' ' | sed 's/ $//')"
# three yeses in all: one in the refused run, two in this one
check_eq "terminal: every yes audited" 3 \
	"$(grep '"outcome":"approved","decided_by":"human"' "$R/sess/audit.jsonl" | grep -c '"component":"cli"' || true)"
check "terminal: the chain verifies" "$AIRLOCK" audit verify "$R/sess/audit.jsonl"

finish
