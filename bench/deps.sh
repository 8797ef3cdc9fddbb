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
# bench/session: the peer srt (npm package @anthropic-ai/sandbox-runtime,
# pinned below) and what it runs on.
pkgs_session="bubblewrap socat ripgrep"
srt_version=0.0.83

want="${*:-fs proxy session}"
pkgs=""
for w in $want; do
	case "$w" in
	fs) pkgs="$pkgs $pkgs_fs" ;;
	proxy) pkgs="$pkgs $pkgs_proxy" ;;
	session) pkgs="$pkgs $pkgs_session" ;;
	*)
		echo "usage: bench/deps.sh [fs] [proxy] [session]" >&2
		exit 2
		;;
	esac
done

missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
# srt goes into the benchmarks' work directory (bench/session looks
# there), from the npm registry the machine's npm is configured for.
install_srt() {
	case " $want " in *" session "*) ;; *) return 0 ;; esac
	local dir=${AIRLOCK_BENCH_DIR:-/var/tmp/airlock-bench}/srt
	[ -x "$dir/node_modules/.bin/srt" ] && return 0
	if ! command -v npm >/dev/null; then
		echo "bench: npm is missing: srt will be left out" >&2
		return 0
	fi
	mkdir -p "$dir" &&
		(cd "$dir" && npm install --no-audit --no-fund --silent \
			"@anthropic-ai/sandbox-runtime@$srt_version" >/dev/null) ||
		echo "bench: could not install srt: it will be left out" >&2
}

[ ${#missing[@]} -eq 0 ] && { install_srt; exit 0; }
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
install_srt
exit 0
