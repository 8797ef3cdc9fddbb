#!/usr/bin/env bash
# Install the peers and tools bench/fs and bench/proxy measure against, on
# Debian 12, as root.  Kept apart from scripts/deps.sh so that building and
# testing airlock never pulls them in.  Installs only what is missing;
# whatever cannot be installed is named, and the benchmarks leave that peer
# out instead of failing.
set -uo pipefail

# bench/fs: the load (fio), the peer (fuse-overlayfs; kernel overlayfs is
# in the kernel), the workload's tools.
pkgs_fs="fio fuse-overlayfs fuse3 git make gcc tar grep findutils"
# bench/proxy: the origin (nginx), the peers, the clients.
pkgs_proxy="nginx tinyproxy squid curl openssl libssl-dev gcc"

want="${*:-fs proxy}"
pkgs=""
for w in $want; do
	case "$w" in
	fs) pkgs="$pkgs $pkgs_fs" ;;
	proxy) pkgs="$pkgs $pkgs_proxy" ;;
	*)
		echo "usage: bench/deps.sh [fs] [proxy]" >&2
		exit 2
		;;
	esac
done

missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: need root to install: apt-get install ${missing[*]}" >&2
	exit 2
fi

# Packaged servers (nginx, squid, tinyproxy) must not start as system
# services here: the benchmarks start their own, on loopback, with their
# own configuration.  policy-rc.d tells invoke-rc.d to leave them down.
rcd=/usr/sbin/policy-rc.d
made_rcd=0
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$rcd" && chmod 755 "$rcd" && made_rcd=1
fi
trap '[ "$made_rcd" = 1 ] && rm -f "$rcd"' EXIT

export DEBIAN_FRONTEND=noninteractive
echo "bench: installing ${missing[*]}" >&2
apt-get update -qq || true
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
	# One at a time, so that one missing peer does not stop the rest.
	for p in "${missing[@]}"; do
		apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
			echo "bench: could not install $p: its rows will be left out" >&2
	done
fi
exit 0
