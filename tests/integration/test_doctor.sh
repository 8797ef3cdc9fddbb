#!/usr/bin/env bash
# airlock doctor, as root and as an unprivileged user this test creates:
# every check is named, --json parses, the exit status follows the
# failures, and each verdict agrees with what real tools (unshare(1),
# mount(8), test(1)) find for the same user.  A broken state directory
# and a missing daemon are reported as failures.
. "$(dirname "$0")/lib.sh"
need_root

CHECKS="fuse fusermount3 userns mount-net-ns overlayfs seccomp state-dir airlock-fs airlock-proxy"

# field JSON NAME KEY: one check's field from doctor --json output.
field() {
	python3 -c 'import json,sys
d = json.loads(sys.argv[1])
print([c for c in d["checks"] if c["name"] == sys.argv[2]][0][sys.argv[3]])' "$1" "$2" "$3"
}
# any_fail JSON: "yes" when a check failed.
any_fail() {
	python3 -c 'import json,sys
d = json.loads(sys.argv[1])
print("yes" if any(c["status"] == "fail" for c in d["checks"]) else "no")' "$1"
}
parses() { python3 -m json.tool >/dev/null <<<"$1"; }
# expect STATUS_IF_TRUE STATUS_IF_FALSE CMD...: the status CMD implies.
expect() {
	local yes=$1 no=$2
	shift 2
	if "$@" >/dev/null 2>&1; then echo "$yes"; else echo "$no"; fi
}

echo "# as root"
set +e
out=$("$AIRLOCK" doctor 2>&1)
rc=$?
json=$("$AIRLOCK" doctor --json)
jrc=$?
set -e
for c in $CHECKS; do
	check_contains "text names $c" " $c " "$out"
done
check "--json parses" parses "$json"
check_eq "text and json agree on the exit status" "$rc" "$jrc"
check_eq "exit 1 exactly when a check fails" \
	"$([ "$(any_fail "$json")" = yes ] && echo 1 || echo 0)" "$rc"
check_eq "root: seccomp filter loads" ok "$(field "$json" seccomp status)"
check_eq "root: userns agrees with unshare(1)" \
	"$(expect ok fail unshare --user true)" "$(field "$json" userns status)"
check_eq "root: daemons found" "ok ok" \
	"$(field "$json" airlock-fs status) $(field "$json" airlock-proxy status)"
check_contains "root: the state dir is the one asked for" "$AIRLOCK_STATE_DIR" \
	"$(field "$json" state-dir detail)"

echo "# failures are named, with a fix, and fail the run"
mkdir -p "$T/loose"
chmod 0755 "$T/loose"
set +e
bad=$(AIRLOCK_STATE_DIR=$T/loose AIRLOCK_FS=$T/nowhere/airlock-fs \
	"$AIRLOCK" doctor --json)
brc=$?
set -e
check_eq "a failing check exits 1" 1 "$brc"
check_eq "state dir 0755 fails" fail "$(field "$bad" state-dir status)"
check_contains "state dir fix says chmod 0700" "chmod 0700" \
	"$(field "$bad" state-dir fix)"
check_eq "missing airlock-fs fails" fail "$(field "$bad" airlock-fs status)"
check_eq "airlock-proxy still found" ok "$(field "$bad" airlock-proxy status)"
set +e
seq=$(AIRLOCK_SECCOMP=bogus "$AIRLOCK" doctor --json)
set -e
check_eq "a bad AIRLOCK_SECCOMP fails" fail "$(field "$seq" seccomp status)"
set +e
"$AIRLOCK" doctor --bogus >/dev/null 2>&1
urc=$?
set -e
check_eq "usage error exits 2" 2 "$urc"

echo "# as an unprivileged user"
user=airlockdoc$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
at_exit "userdel $user"
uid=$(id -u "$user")
# the user must reach the binaries: copy them where it can
chmod 0755 "$T"
mkdir -m 0755 "$T/bin"
cp "$AIRLOCK" "$AIRLOCK_FS" "$AIRLOCK_PROXY" "$T/bin/"
mkdir -m 0700 "$T/ustate"
chown "$user" "$T/ustate"
as_user() {
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent \
		AIRLOCK_STATE_DIR="$T/ustate" "$@"
}
set +e
uout=$(as_user "$T/bin/airlock" doctor 2>&1)
urc=$?
ujson=$(as_user "$T/bin/airlock" doctor --json)
set -e
for c in $CHECKS; do
	check_contains "user text names $c" " $c " "$uout"
done
check "user --json parses" parses "$ujson"
check_eq "user: the json is about this uid" "$uid" \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["uid"])' "$ujson")"
check_eq "user: exit 1 exactly when a check fails" \
	"$([ "$(any_fail "$ujson")" = yes ] && echo 1 || echo 0)" "$urc"
check_eq "user: /dev/fuse verdict agrees with test -r -w" \
	"$(expect ok fail as_user test -r /dev/fuse -a -w /dev/fuse)" \
	"$(field "$ujson" fuse status)"
check_eq "user: userns agrees with unshare(1)" \
	"$(expect ok fail as_user unshare --user true)" \
	"$(field "$ujson" userns status)"
check_eq "user: mount+net ns agree with unshare(1)" \
	"$(expect ok fail as_user unshare --user --map-root-user --mount --net true)" \
	"$(field "$ujson" mount-net-ns status)"
mkdir -m 0777 "$T/ov"
check_eq "user: overlayfs agrees with mount(8) in a user namespace" \
	"$(expect ok warn as_user unshare --user --map-root-user --mount sh -c \
		"mount -t tmpfs tmpfs $T/ov && mkdir $T/ov/l $T/ov/u $T/ov/w $T/ov/m &&
		 mount -t overlay overlay -o lowerdir=$T/ov/l,upperdir=$T/ov/u,workdir=$T/ov/w,userxattr $T/ov/m")" \
	"$(field "$ujson" overlayfs status)"
check_eq "user: seccomp filter loads without privilege" ok \
	"$(field "$ujson" seccomp status)"
check_eq "user: its own 0700 state dir is fine" ok \
	"$(field "$ujson" state-dir status)"
check_eq "user: daemons found beside airlock" "ok ok" \
	"$(field "$ujson" airlock-fs status) $(field "$ujson" airlock-proxy status)"
set +e
rjson=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups \
	env -i PATH=/usr/bin:/bin HOME=/nonexistent AIRLOCK_STATE_DIR="$T/loose" \
	"$T/bin/airlock" doctor --json)
set -e
check_eq "user: a state dir owned by root fails" fail \
	"$(field "$rjson" state-dir status)"
check_contains "user: the fix says chown" "chown $uid" \
	"$(field "$rjson" state-dir fix)"

finish
