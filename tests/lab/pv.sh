#!/bin/sh
# A PV guest (the target's kernel, booted PV as "pvt"), run as root in the
# lab's dom0 by tests/lab/run-all: registers from Xen's vCPU context, and
# memory read through the guest's own page tables, which hold machine
# frames. Zero-config Linux needs the guest's frame list, which Xen does
# not give for PV: it must say so, not guess.
T=tinyvmi
L=xen-labtool
PV=pvt
TR=${TINYVMI_TRUTH:?no truth directory}
W=/tmp/tvmi-pv
mkdir -p "$W"
TAG="pv: "
. "$(dirname "$0")/lib.sh"

sed -e 's/^type *=.*/type = "pv"/' -e "s/^name *=.*/name = \"$PV\"/" \
	-e 's/^memory *=.*/memory = 128/' /run/lab/target.cfg >"$W/pv.cfg"
run create xl create "$W/pv.cfg"
is "xl create of a PV guest" "$RC" 0
if [ "$RC" != 0 ]; then echo "end: pv.sh"; exit 0; fi

BANNER=$(awk '$3 == "linux_banner" { print "0x" $1; exit }' "$TR/kallsyms.txt")
head -n 1 "$TR/version.txt" >"$W/version.line"
banner_ok() {
	run banner $T --xen "$PV" read --va "$BANNER" 512 --raw
	[ "$RC" = 0 ] && head -n 1 "$W/banner.out" | cmp -s - "$W/version.line"
}
t0=$(up)
if wait_for 120 banner_ok; then
	ok "linux_banner read through the PV guest's page tables (machine frames) is its /proc/version, $(secs_since "$t0") s after xl create"
else
	bad "PV linux_banner: $(why banner)"
fi
# Paused by xl around it: the root found at open and the CR3 read later
# are the same only while the (booting) guest switches no process.
xl pause "$PV"
run info $T --xen "$PV" info
xl unpause "$PV"
is "info of the PV guest: driver" "$(sed -n 's/^driver: *//p' "$W/info.out")" xen-pv
CR3=$(sed -n 's/^ *CR3: *//p' "$W/info.out" | head -n 1)
is "PV kernel page-table root is vCPU 0's CR3" "$(sed -n 's/^kernel page-table root: *//p' "$W/info.out")" "$CR3"
run tr $T --xen "$PV" --json translate "$BANNER"
grep -q '"pa":"0x' "$W/tr.out" && ok "translate linux_banner in the PV guest: $(grep -o '"pa":"0x[0-9a-f]*"' "$W/tr.out")" ||
	bad "PV translate: $(why tr)"
$L regs "$PV"
run ps $T --xen "$PV" ps
if [ "$RC" = 1 ] && [ -s "$W/ps.err" ]; then
	ok "PV zero-config ps says why it cannot: $(why ps | cut -c1-160)"
else
	bad "PV ps: exit $RC: $(why ps)"
fi
xl destroy "$PV"
wait_gone "$PV" 30 && ok "the PV guest is gone" || bad "the PV guest lingers"
target_lost "the end of pv.sh" || ok "the PVH target is still there"
echo "end: pv.sh"
exit 0
