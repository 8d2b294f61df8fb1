#!/usr/bin/env bash
# The main job on a real default: build tinyvmi, make a real Linux snapshot
# (Debian 12's kernel booted in QEMU, dumped over QMP) unless one is cached,
# and look inside it: zero configuration, everything from its memory.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
snap=$(tests/corpus/make-corpus --kernels 6.1 --variants l4-kaslr | tail -n 1)
tv() { echo "\$ tinyvmi --file $snap/mem.elf $*"; build/tinyvmi --file "$snap/mem.elf" "$@"; echo; }

tv info
tv linux-info
tv ps
tv modules
