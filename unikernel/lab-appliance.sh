#!/bin/sh
# Runs in the lab's dom0 (lab/run --put <image>:/root/appliance ...): boots
# the appliance as a PVH domU of 16 MiB, waits until it powers off, and
# prints its console (xenconsoled's log), Xen's log lines about it and the
# times seen from dom0. Exit 0 only when it powered off cleanly after
# "0 failures".
#   host: lab/run --no-target --put BUILD/unikernel/tinyvmi-appliance-stripped:/root/appliance \
#                 unikernel/lab-appliance.sh
img=${APPLIANCE:-/root/appliance}
name=appliance
log=/var/log/xen/console/guest-$name.log
cfg=/root/$name.cfg
# Milliseconds since dom0 booted (busybox date has no %N).
ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

cat >"$cfg" <<CFG
name = "$name"
type = "pvh"
kernel = "$img"
memory = 16
vcpus = 1
cmdline = "lab-run alpha=1 beta"
on_poweroff = "destroy"
on_crash = "preserve"
CFG

echo "appliance image: $(stat -c %s "$img") bytes"
t0=$(ms)
echo "dom0 wallclock at xl create: $(date +%s)"
xl create "$cfg" || { echo "xl create failed"; exit 1; }
t1=$(ms)
domid=$(xl domid $name 2>/dev/null)
echo "xl create returned after $((t1 - t0)) ms (domid $domid)"

# Wait for C, then for the domain to go away (poweroff) or crash.
tc= state=
i=0
while [ $i -lt 1200 ]; do
	[ -z "$tc" ] && grep -q "C entry reached" "$log" 2>/dev/null && tc=$(ms)
	state=$(xl list $name 2>/dev/null | awk 'NR == 2 { print $5 }')
	[ -z "$state" ] && break          # destroyed on poweroff
	case "$state" in *c*) break ;; esac # crashed: preserved
	sleep 0.1
	i=$((i + 1))
done
t2=$(ms)
[ -n "$tc" ] || { grep -q "C entry reached" "$log" 2>/dev/null && tc=$t2; }
echo "first console line (C entry) seen $(( ${tc:-$t2} - t0 )) ms after xl create started"
echo "domain gone/stopped $((t2 - t0)) ms after xl create started (state now: '${state:-destroyed}')"
echo "---- appliance console ($log) ----"
tr -d '\r' <"$log" 2>/dev/null
echo "---- xl dmesg (lines about d$domid and the last ones) ----"
xl dmesg 2>/dev/null | grep -E "d$domid|\(d$domid\)" | tail -n 20
xl dmesg 2>/dev/null | tail -n 8
echo "----"
if [ -n "$state" ]; then
	xl list
	xl destroy $name 2>/dev/null
	echo "FAIL: the appliance did not power off (state '$state')"
	exit 1
fi
grep -q "tinyvmi appliance: 0 failures" "$log" || { echo "FAIL: no '0 failures' line"; exit 1; }
echo "PASS"
