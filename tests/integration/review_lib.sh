# Helpers for the review tests (test_review_*.sh): build a project, a
# staging area for it (through stage_tool, without a mount) and the tree
# the agent's view would show, so that diff, commit and discard can be
# checked against an independent expectation.
#   R/proj  the project      R/sess  the session (manifest, upper/)
#   R/want  what the view shows: the project with the staged changes
# Source after lib.sh; call review_init R first.

STAGE_TOOL=$AIRLOCK_BUILD/tests/helpers/stage_tool

review_init() {
	R=$1
	mkdir -p "$R/proj" "$R/sess/upper" "$R/want"
	chmod 700 "$R/sess"
}

# Make R/want a copy of the project (after the project is populated).
review_snapshot() {
	rm -rf "$R/want"
	cp -a "$R/proj" "$R/want"
}

_upper_parent() { mkdir -p "$(dirname "$R/sess/upper/$1")"; }

# st_mod PATH CONTENT: the agent rewrote a project file.
st_mod() {
	local mode
	mode=$(stat -c '0%f' "$R/proj/$1")
	_upper_parent "$1"
	printf '%s' "$2" >"$R/sess/upper/$1"
	chmod --reference="$R/proj/$1" "$R/sess/upper/$1"
	printf '%s' "$2" >"$R/want/$1"
	"$STAGE_TOOL" record "$R/sess" mod "=$R/proj/$1" "$(printf '0%o' $((16#${mode#0})))" "$1"
}

# st_add PATH CONTENT [MODE]: a new file.
st_add() {
	local mode=${3:-644}
	_upper_parent "$1"
	printf '%s' "$2" >"$R/sess/upper/$1"
	chmod "$mode" "$R/sess/upper/$1"
	mkdir -p "$(dirname "$R/want/$1")"
	printf '%s' "$2" >"$R/want/$1"
	chmod "$mode" "$R/want/$1"
	"$STAGE_TOOL" record "$R/sess" add - "0100$mode" "$1"
}

# st_mkdir PATH: a new directory.
st_mkdir() {
	mkdir -p "$R/sess/upper/$1" "$R/want/$1"
	chmod 755 "$R/sess/upper/$1" "$R/want/$1"
	"$STAGE_TOOL" record "$R/sess" add - 040755 "$1"
}

# st_del PATH: a deleted project file (or directory tree).
st_del() {
	"$STAGE_TOOL" record "$R/sess" del "=$R/proj/$1" 0 "$1"
	rm -rf "${R:?}/want/$1"
}

# st_chmod PATH MODE: only the mode changed (the file is copied up).
st_chmod() {
	_upper_parent "$1"
	cp -p "$R/proj/$1" "$R/sess/upper/$1"
	chmod "$2" "$R/sess/upper/$1" "$R/want/$1"
	"$STAGE_TOOL" record "$R/sess" mode "=$R/proj/$1" "0100$2" "$1"
}

# st_symlink PATH TARGET: a new or retargeted symlink.
st_symlink() {
	_upper_parent "$1"
	ln -sfn "$2" "$R/sess/upper/$1"
	ln -sfn "$2" "$R/want/$1"
	if [ -L "$R/proj/$1" ] || [ -e "$R/proj/$1" ]; then
		"$STAGE_TOOL" record "$R/sess" mod "=$R/proj/$1" 0120777 "$1"
	else
		"$STAGE_TOOL" record "$R/sess" add - 0120777 "$1"
	fi
}

# st_ren FROM TO [APPEND]: a project file renamed (and maybe edited).
st_ren() {
	_upper_parent "$2"
	cp -p "$R/proj/$1" "$R/sess/upper/$2"
	if [ $# -ge 3 ]; then printf '%s' "$3" >>"$R/sess/upper/$2"; fi
	mkdir -p "$(dirname "$R/want/$2")"
	cp -p "$R/sess/upper/$2" "$R/want/$2"
	rm -f "$R/want/$1"
	"$STAGE_TOOL" record "$R/sess" ren "=$R/proj/$1" 0100644 "$2" "$1"
	"$STAGE_TOOL" record "$R/sess" del "=$R/proj/$1" 0 "$1"
}

# A project of a few kinds of files, and a stage that changes each kind.
review_standard_fixture() {
	local p=$R/proj
	mkdir -p "$p/src" "$p/docs/old dir" "$p/with space"
	printf 'int\nmain(void)\n{\n\treturn 0;\n}\n' >"$p/src/main.c"
	seq 1 200 >"$p/src/list.txt"
	echo "to be deleted" >"$p/delete me.txt"
	echo '#!/bin/sh' >"$p/run.sh"
	ln -s main.c "$p/src/current"
	head -c 3000 /dev/urandom >"$p/blob.bin"
	echo "index" >"$p/docs/index.md"
	echo "inside" >"$p/docs/old dir/a.md"
	echo "also inside" >"$p/docs/old dir/b.md"
	echo "keep" >"$p/with space/keep me.txt"
	echo "untouched" >"$p/README"
	review_snapshot

	st_mod src/main.c "$(printf 'int\nmain(void)\n{\n\treturn 1;\n}\n')
"
	st_add "with space/new file.txt" "$(printf 'hello\nworld')
"
	st_add tool.sh "$(printf '#!/bin/sh\necho hi')
" 755
	st_del "delete me.txt"
	st_chmod run.sh 755
	st_symlink src/current list.txt
	st_symlink link-to-readme README
	st_ren src/list.txt src/numbers.txt "201
"
	_upper_parent blob.bin
	head -c 1000 "$p/blob.bin" >"$R/sess/upper/blob.bin"
	printf '\0\1\2\3' >>"$R/sess/upper/blob.bin"
	cp "$R/sess/upper/blob.bin" "$R/want/blob.bin"
	"$STAGE_TOOL" record "$R/sess" mod "=$p/blob.bin" 0100644 blob.bin
	st_mkdir "new dir"
	st_add "new dir/inner.txt" "$(printf 'x\n')
"
	st_del "docs/old dir"
}

# trees_equal A B: same names, types, modes, contents and link targets.
trees_equal() {
	diff -r --no-dereference "$1" "$2" >/dev/null &&
		[ "$(cd "$1" && find . -printf '%p %y %m %l\n' | sort)" = \
		  "$(cd "$2" && find . -printf '%p %y %m %l\n' | sort)" ]
}
