#!/usr/bin/env bash
# Proves that the appliance's code (src/core, src/arch, src/os) builds with
# -ffreestanding and no system headers, and that its objects need nothing
# from outside but the libc subset declared in src/core/libc.h, the
# link-time tables (tvmi_drivers, tvmi_os_layers) and the platform hooks
# declared in src/core/platform.h.
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cc=${2:-cc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

shopt -s nullglob
files=("$src"/src/core/*.c "$src"/src/arch/*/*.c "$src"/src/os/*/*.c)
[ ${#files[@]} -gt 0 ] || { echo "no core sources found under $src/src"; exit 1; }
inc=$("$cc" -print-file-name=include)
for f in "${files[@]}"; do
    o="$out/$(echo "${f#"$src"/}" | tr / _).o"
    "$cc" -std=c11 -O2 -ffreestanding -fno-stack-protector -nostdinc -isystem "$inc" \
        -Wall -Wextra -Werror -Wno-unused-parameter \
        -I"$src/include" -I"$src/src/core" -I"$src/src" -c "$f" -o "$o" \
        || { echo "FAIL: $f does not build freestanding"; exit 1; }
done

allowed=$(grep -oE '\b[a-z_0-9]+\(' "$src/src/core/libc.h" | tr -d '(' | sort -u)
allowed+=$'\ntvmi_drivers\ntvmi_os_layers'
# and the platform hooks (src/core/platform.h), which every platform links in
allowed+=$'\n'$(grep -oE '\btvmi_platform_[a-z_0-9]+\(' "$src/src/core/platform.h" | tr -d '(' | sort -u)
defined=$(nm --defined-only "$out"/*.o | awk 'NF==3 {print $3}' | sort -u)
needed=$(nm -u "$out"/*.o | awk '{print $NF}' | grep -v ':$' | sort -u)
bad=$(comm -23 <(echo "$needed") <(printf '%s\n%s\n' "$defined" "$allowed" | sort -u) | grep -v '^$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: the core needs symbols outside the declared libc subset:"
    echo "$bad"
    exit 1
fi
echo "freestanding core: ${#files[@]} files, needs only: $(comm -12 <(echo "$needed") <(echo "$allowed" | sort -u) | tr '\n' ' ')"
echo "1 passed, 0 failed"
