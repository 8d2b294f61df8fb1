#!/usr/bin/env bash
# Installs the Debian packages tinyvmi's build and tests need (as root).
# Safe to run again: it only calls apt-get when something is missing.
set -euo pipefail
pkgs=(cmake gcc make pkg-config libcmocka-dev python3 valgrind clang
      libclang-rt-14-dev libxen-dev liblzma-dev qemu-system-x86 dwarves
      binutils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "scripts/deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
