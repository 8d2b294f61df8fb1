#!/usr/bin/env bash
# Boots the appliance image under plain QEMU (TCG, no Xen) and checks what
# it prints: that it reached C, read the command line (-append) and the
# memory size (-m) from hvm_start_info, passed its allocator and core
# self-tests, and powered off cleanly through isa-debug-exit (QEMU exits
# with (value << 1) | 1: 1 = clean, 3 = crash). Without Xen the appliance
# prints on the debug port 0xe9 and COM1.
#
# Env: TVMI_BUILD_DIR (the CMake build directory). Prints "N passed, M
# failed" last; exits non-zero on any failure. Skips (exit 0) when the build
# has no appliance (unikernel/ not added, or skipped by its CMakeLists.txt).
set -uo pipefail
build=${TVMI_BUILD_DIR:?TVMI_BUILD_DIR must name the build directory}
dir=$build/unikernel
img=$dir/tinyvmi-appliance-stripped
pass=0 fail=0

# The appliance is a core part of tinyvmi: not building it is a failure
# unless the caller says it is expected (TVMI_ALLOW_NO_UNIKERNEL=1).
skip() {
    if [ "${TVMI_ALLOW_NO_UNIKERNEL:-0}" = 1 ]; then
        echo "skipped: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0
    fi
    echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1
}
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

[ -d "$dir" ] || skip "the build has no unikernel/ (add_subdirectory(unikernel) missing)"
[ -f "$dir/SKIPPED" ] && skip "appliance not built: $(cat "$dir/SKIPPED")"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -f "$img" ] || { bad "no image at $img"; echo "$pass passed, $fail failed"; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# boot NAME MEM_MIB APPEND: runs QEMU, leaves NAME.log (debugcon), NAME.com1,
# NAME.rc and NAME.ms (host wall time of the whole run).
boot() {
    local name=$1 mem=$2 append=$3 t0 t1 rc
    t0=$(date +%s%N)
    timeout 60 qemu-system-x86_64 -accel tcg -m "$mem" -smp 1 \
        -kernel "$img" -append "$append" \
        -debugcon "file:$out/$name.log" -serial "file:$out/$name.com1" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -display none -vga none -monitor none -nic none -no-reboot \
        </dev/null >"$out/$name.qemu" 2>&1
    rc=$?
    t1=$(date +%s%N)
    echo "$rc" >"$out/$name.rc"
    echo $(((t1 - t0) / 1000000)) >"$out/$name.ms"
}

has() { grep -qF -- "$2" "$out/$1.log"; }
expect() { # expect NAME TEXT WHAT
    if has "$1" "$2"; then ok "$3"; else bad "$3 (no line with: $2)"; fi
}

size=$(stat -c %s "$img")
if [ "$size" -le $((512 * 1024)) ]; then
    ok "image is $size bytes (<= 512 KiB)"
else
    bad "image is $size bytes (> 512 KiB)"
fi

append="tvmi-boot-test alpha=1 beta"
boot big 64 "$append"
echo "--- 64 MiB boot ($(cat "$out/big.ms") ms, QEMU exit $(cat "$out/big.rc")):"
cat "$out/big.log"
echo "---"
rc=$(cat "$out/big.rc")
if [ "$rc" = 1 ]; then ok "64 MiB: clean poweroff (isa-debug-exit 0)"
else bad "64 MiB: QEMU exit $rc (1 = clean poweroff, 3 = crash, 124 = timeout)"; fi
expect big "tinyvmi appliance: C entry reached" "64 MiB: reached C"
expect big "cmdline: \"$append\"" "64 MiB: command line from hvm_start_info"
expect big "argv[3] = beta" "64 MiB: command line split into argv"
expect big "top of RAM 64 MiB (map from hvm_start_info)" "64 MiB: memory size from the memory map"
expect big "xen: not present" "64 MiB: no Xen detected under plain QEMU"
expect big "allocator self-test: passed" "64 MiB: allocator self-test"
expect big "ok: core: vmi_read_va reads our own string" "64 MiB: the core runs in the appliance"
expect big "tinyvmi appliance: 0 failures" "64 MiB: no failures"
if grep -qF "allocator self-test: passed" "$out/big.com1"; then ok "64 MiB: COM1 has the same output"
else bad "64 MiB: nothing on COM1"; fi

boot small 16 ""
echo "--- 16 MiB boot ($(cat "$out/small.ms") ms, QEMU exit $(cat "$out/small.rc")):"
grep -E 'memory:|pages:|heap:|self-test|failures' "$out/small.log"
echo "---"
rc=$(cat "$out/small.rc")
if [ "$rc" = 1 ]; then ok "16 MiB: clean poweroff"
else bad "16 MiB: QEMU exit $rc"; fi
expect small 'cmdline: ""' "16 MiB: empty command line"
expect small "top of RAM 16 MiB" "16 MiB: memory size"
expect small "allocator self-test: passed" "16 MiB: allocator self-test"
expect small "tinyvmi appliance: 0 failures" "16 MiB: no failures"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
