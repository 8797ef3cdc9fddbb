#!/usr/bin/env bash
# test_fs_detour: a rule on a path governs every operation that changes
# what the path names (issue 7).  With .git/hooks/** and ci/workflows/**
# held and drop/box/** and vault/inner/** denied, each detour is held (and
# proceeds only when approved) or refused: renaming an ancestor away and
# back (mv .git .g; ...; mv .g .git), moving a governed directory, a
# directory moved into a governed place, a symlink at a governed name or
# at an ancestor, hard links to and from a governed file, file renames
# onto and away from one, deleting an ancestor.  The audit reason names
# the governed path.  Ordinary creates, renames, links and directory
# renames elsewhere go through without a hold.
. "$(dirname "$0")/lib.sh"
need_root
[ -x "$AIRLOCK_FS" ] || die "missing $AIRLOCK_FS"
[ -x "$AIRLOCK" ] || die "missing $AIRLOCK"

P=$T/proj M=$T/mnt S=$T/sess
mkdir -p "$P/.git/hooks" "$P/evil" "$P/vault/inner/sub" "$P/plain" "$M"
printf 'ref: refs/heads/main\n' >"$P/.git/HEAD"
printf 'orig\n' >"$P/.git/hooks/pre-commit"
printf 'evil\n' >"$P/evil/pre-commit"
printf 'key\n' >"$P/vault/inner/key"
printf 'x\n' >"$P/plain/x"
cat >"$T/policy.yaml" <<'EOF'
version: 1
defaults: {fs: allow, net: deny, hold_timeout: 15s}
fs:
  - paths: [".git/hooks/**", "ci/workflows/**"]
    ops: [write, create, delete, rename, chmod, link, xattr]
    action: hold
    reason: runs later
  - paths: ["drop/box/**", "vault/inner/**"]
    ops: [write, create, delete, rename, chmod, link, xattr]
    action: deny
    reason: denied for the test
EOF

"$AIRLOCK_FS" --project "$P" --mount "$M" --session "$S" \
	--policy "$T/policy.yaml" --daemon 2>"$T/fs.err" || die "mount: $(cat "$T/fs.err")"
PID=$(cat "$S/fs.pid")
at_exit "unmount_fuse $M"
at_exit "kill -9 $PID"

# pending_id TARGET: the id of the action held on TARGET (waits 10 s).
pending_id() { session_held_id "$S" "$1"; }
n_pending() {
	"$AIRLOCK" pending --session "$S" --json 2>/dev/null | grep -o '"kind":"fs"' | wc -l
}
# held TARGET approve|deny CMD...: run CMD (in $M) in the background,
# wait until it is held on TARGET, answer, and print CMD's exit status
# ("none" when nothing was held).
held() {
	local target=$1 answer=$2 id
	shift 2
	rm -f "$T/held.rc"
	(cd "$M" && { rc=0; "$@" >/dev/null 2>&1 || rc=$?; echo $rc >"$T/held.rc"; }) &
	if ! id=$(pending_id "$target"); then
		wait
		echo none
		return 0
	fi
	"$AIRLOCK" "$answer" "$id" --session "$S" >/dev/null || echo "answer failed" >&2
	wait_for 10 test -s "$T/held.rc" || echo "never finished" >&2
	wait
	cat "$T/held.rc"
}
# in_mnt CMD...: run CMD in $M, right away (it must not be held).
in_mnt() { (cd "$M" && timeout 10 "$@"); }
# audit_has WORDS...: some audit line holds every word.
audit_has() { session_audit_has "$S" "$@"; }
# audit_count FIELD=VALUE...: how many audit records have every field.
audit_count() {
	"$AIRLOCK" audit --session "$S" --json 2>/dev/null | python3 -c '
import json, sys
want = [a.split("=", 1) for a in sys.argv[1:]]
n = 0
for line in sys.stdin:
    r = json.loads(line)
    if all(str(r.get(k, "")).startswith(v) for k, v in want):
        n += 1
print(n)' "$@"
}

echo "# ordinary work goes through without a hold"
before=$(audit_count component=fs decision=hold)$(audit_count component=fs decision=deny)
check "creates" in_mnt bash -c 'for i in 1 2 3 4 5; do : >plain/f$i; done'
check "renames" in_mnt bash -c 'for i in 1 2 3 4 5; do mv plain/f$i plain/g$i; done'
check "a directory with files, renamed" in_mnt bash -c \
	'mkdir plain/d && : >plain/d/a && mkdir plain/d/e && mv plain/d plain/d2'
check "a symlink" in_mnt ln -s ../evil plain/l
check "a hard link" in_mnt ln plain/x plain/hl
check "a symlink removed" in_mnt rm plain/l
check "a symlink at an ungoverned name" in_mnt ln -s evil cj
check_eq "nothing held or denied" "00" \
	"$(audit_count component=fs decision=hold)$(audit_count component=fs decision=deny)"
check_eq "(and nothing before)" "00" "$before"
# 5 creates, 5 renames x 2 ends, mkdir, create, mkdir, rename x 2,
# symlink, link, unlink, symlink: each audited once, allowed.
check_eq "every change audited as allowed, once" 24 \
	"$(($(audit_count component=fs decision=allow target=plain/) + \
	$(audit_count component=fs decision=allow target=cj)))"
check_eq "no hold pending" 0 "$(n_pending)"

echo "# a governed directory moved"
check_eq "mv .git/hooks x: held, denied" 1 "$(held .git/hooks deny mv .git/hooks x)"
check "the hooks stay" test -f "$M/.git/hooks/pre-commit"
check_not "nothing at x" test -e "$M/x"

echo "# hard links to and from a governed file"
check_eq "ln .git/hooks/pre-commit x2: held, denied" 1 \
	"$(held x2 deny ln .git/hooks/pre-commit x2)"
check_not "no x2" test -e "$M/x2"
wait_for 5 audit_has '"op":"link"' '"target":"x2"' '"outcome":"denied"' \
	'linking x2 changes .git/hooks/pre-commit' &&
	pass "audited: the reason names the governed file" || fail "link reason"
check_eq "ln evil/pre-commit .git/hooks/p2: held, denied" 1 \
	"$(held .git/hooks/p2 deny ln evil/pre-commit .git/hooks/p2)"
check_not "no .git/hooks/p2" test -e "$M/.git/hooks/p2"

echo "# file renames onto and away from a governed name"
check_eq "mv evil/pre-commit .git/hooks/pre-commit: held, denied" 1 \
	"$(held .git/hooks/pre-commit deny mv evil/pre-commit .git/hooks/pre-commit)"
check_eq "the hook is unchanged" orig "$(cat "$M/.git/hooks/pre-commit")"
check_eq "mv .git/hooks/pre-commit y: held, denied" 1 \
	"$(held .git/hooks/pre-commit deny mv .git/hooks/pre-commit y)"
check_not "no y" test -e "$M/y"

echo "# symlinks at a governed name's ancestor"
check_eq "ln -s evil ci: held, denied" 1 "$(held ci deny ln -s evil ci)"
check_not "no ci" test -L "$M/ci"
wait_for 5 audit_has '"target":"ci"' '"outcome":"denied"' \
	'creating ci changes ci/workflows/**' &&
	pass "audited: the reason names the rule's pattern" || fail "symlink reason"
check_not "ln -s evil drop: denied" in_mnt ln -s evil drop
check_not "no drop" test -L "$M/drop"

echo "# directories moved into a governed place"
in_mnt bash -c 'mkdir -p w/workflows && echo x >w/workflows/ci.yml' || fail "setup w"
check_eq "mv w ci: held, denied" 1 "$(held ci deny mv w ci)"
check_not "no ci" test -e "$M/ci"
check "w stays" test -f "$M/w/workflows/ci.yml"
in_mnt bash -c 'mkdir -p w2/box && echo k >w2/box/f' || fail "setup w2"
check_not "mv w2 drop: denied" in_mnt mv w2 drop
check_not "no drop" test -e "$M/drop"
wait_for 5 audit_has '"target":"drop"' '"decision":"deny"' \
	'renaming drop changes drop/box' &&
	pass "audited: the reason names what lands there" || fail "tree reason"

echo "# an ancestor of a denied path renamed or deleted"
check_not "mv vault v2: denied" in_mnt mv vault v2
check "vault stays" test -f "$M/vault/inner/key"
wait_for 5 audit_has '"target":"vault"' '"decision":"deny"' \
	'renaming vault changes vault/inner' &&
	pass "audited: the reason names the denied path" || fail "vault reason"
check_not "rmdir vault/inner/sub: denied" in_mnt rmdir vault/inner/sub
check_not "rm -rf vault: refused" in_mnt rm -rf vault
check "the key stays" test -f "$M/vault/inner/key"

echo "# .git renamed away and back"
check_eq "mv .git .g: held, approved, done" 0 "$(held .git approve mv .git .g)"
check "moved" test -f "$M/.g/hooks/pre-commit"
wait_for 5 audit_has '"target":".git"' '"outcome":"approved"' \
	'renaming .git changes .git/hooks' &&
	pass "audited: approved, the reason names the hooks" || fail ".git reason"
check "a hook edited under the new name, unheld" in_mnt bash -c 'echo evil >.g/hooks/pre-commit'
check_eq "mv .g .git: held, denied" 1 "$(held .git deny mv .g .git)"
check_not "no .git" test -e "$M/.git"
check_not "nothing staged there" test -e "$S/upper/.git/hooks/pre-commit"
wait_for 5 audit_has '"target":".git"' '"outcome":"denied"' \
	'renaming .git changes .git/hooks' &&
	pass "audited: the detour's reason" || fail "detour reason"
check_eq "mv .g .git again: held, approved, done" 0 "$(held .git approve mv .g .git)"
check_eq "and the hook is what was approved" evil "$(cat "$M/.git/hooks/pre-commit")"

echo "# a symlink where a governed directory was"
check_eq "rm the hook: held, approved" 0 "$(held .git/hooks/pre-commit approve rm .git/hooks/pre-commit)"
check_eq "rmdir .git/hooks: held, approved" 0 "$(held .git/hooks approve rmdir .git/hooks)"
check_eq "ln -s ../evil .git/hooks: held, denied" 1 \
	"$(held .git/hooks deny ln -s ../evil .git/hooks)"
check_not "no .git/hooks" test -L "$M/.git/hooks"
check "ln -s ../evil .git/hookz: not governed" in_mnt ln -s ../evil .git/hookz

check_eq "no hold left pending" 0 "$(n_pending)"
kill -TERM "$PID"
wait_for 10 bash -c "! mountpoint -q '$M'" || fail "still mounted"
check "audit log verifies" bash -c "\"\$0\" audit verify \"\$1\" >/dev/null" "$AIRLOCK" "$S/audit.jsonl"
check_eq "the project is untouched" orig "$(cat "$P/.git/hooks/pre-commit")"
finish
