#!/usr/bin/env bash
# The main job on a real default: a real Xen 4.20 (nested in QEMU/TCG,
# assembled from Debian's packages) runs a Linux guest; tinyvmi's appliance,
# a 16 MiB domain holding nothing but the introspection code, is given
# rights over that guest alone and lists its processes and modules from
# memory, with zero configuration. The dom0 tool does the same for
# comparison. Everything is downloaded once and cached in ~/.cache/tinyvmi;
# the first run takes several minutes, later ones about five.
#
#   scripts/demo.sh              the appliance on a live Xen guest
#   scripts/demo.sh --snapshot   the dom0 tool on a real Linux snapshot instead
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { echo "demo: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

bash scripts/deps.sh
if [[ ${1:-} == --snapshot ]]; then
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc)" >/dev/null
	snap=$(tests/corpus/make-corpus --kernels 6.1 --variants l4-kaslr | tail -n 1)
	tv() { echo "\$ tinyvmi --file $snap/mem.elf $*"; build/tinyvmi --file "$snap/mem.elf" "$@"; echo; }
	tv info
	tv linux-info
	tv ps
	tv modules
	exit 0
fi

# shellcheck source=tests/lab/build-static
source tests/lab/build-static
work=$(mktemp -d /tmp/tinyvmi-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/dom0.sh" <<'DOM0'
#!/bin/sh
export TINYVMI_APPLIANCE=/lab/tvmi/appliance
show() { echo; echo "dom0# $*"; "$@"; }
show xl list
show tinyvmi appliance start --target target --task ps
show tinyvmi appliance start --target target --task modules
show tinyvmi --xen target linux-info
exit 0
DOM0
lab/run --xen 4.20 --timeout 1200 --put "$BUILD/tinyvmi" \
	--put "$BUILD/unikernel/tinyvmi-appliance-stripped:/lab/tvmi/appliance" "$work/dom0.sh"
