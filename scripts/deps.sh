#!/usr/bin/env bash
# Install what airlock needs to build and test, on Debian 12, as root.
# Installs only what is missing, so a second run costs a dpkg query.
set -euo pipefail

# Build.
pkgs_build="build-essential autoconf automake libtool pkg-config
  libfuse3-dev fuse3 libevent-dev libssl-dev libyaml-dev libxxhash-dev
  libcmocka-dev clang libclang-rt-14-dev git libseccomp-dev"
# Tests: real clients and servers on loopback.
pkgs_test="curl openssl iproute2 procps psmisc util-linux sqlite3 python3
  socat strace"
# Added by rooms as their tests need (keep one package per word).
pkgs_extra="nodejs"

missing=()
for p in $pkgs_build $pkgs_test $pkgs_extra; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "airlock: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "airlock: need root to install packages (run as root, or install them: apt-get install ${missing[*]})" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
