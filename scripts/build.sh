#!/usr/bin/env bash
# Configure and build airlock out of tree in build/ (or $AIRLOCK_BUILD),
# passing any arguments to configure.  Prints the build directory.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${AIRLOCK_BUILD:-$src/build}
cd "$src"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$src/configure" -nt config.status ]; then
	"$src/configure" -q "$@"
fi
make -s -j"$(nproc)" >&2
echo "$build"
