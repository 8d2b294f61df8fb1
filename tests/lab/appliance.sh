#!/bin/sh
# Live checks of the appliance, run as root in the lab's dom0 by
# tests/lab/run-all after checks.sh. The image is /lab/tvmi/appliance;
# answers are compared with the target's own ground truth ($TINYVMI_TRUTH).
# Prints "ok:"/"FAIL:"/"bench:" lines like checks.sh. The target is
# destroyed by the last check (the appliance must survive it), so this
# runs last.
T=tinyvmi
DOM=${TINYVMI_TARGET:-target}
TR=${TINYVMI_TRUTH:?no truth directory}
export TINYVMI_APPLIANCE=${TINYVMI_APPLIANCE:-/lab/tvmi/appliance}
W=/tmp/tvmi-appliance
rm -rf "$W"
mkdir -p "$W"

TAG="appliance: "
. "$(dirname "$0")/lib.sh"
# console_tail NAME: the last lines an appliance printed, after a failure
console_tail() {
	for f in /var/log/xen/console/guest-$1*.log; do
		[ -f "$f" ] && tail -n 25 "$f" | sed "s|^|console $(basename "$f" .log): |"
	done
}

# Xen older than 4.19: the launcher must refuse plainly, and that is all.
ver=$(xl info 2>/dev/null | awk -F': *' '/^xen_version/ { print $2 }')
case "$ver" in
4.1[0-8]* | 4.[0-9].*)
	run old $T appliance start --target "$DOM" --task ps
	is "Xen $ver: start refuses" "$RC" 1
	if grep -q "needs Xen 4.19" "$W/old.err"; then ok "Xen $ver: says it needs 4.19"; else bad "Xen $ver: message: $(why old)"; fi
	echo "end: appliance.sh"
	exit 0
	;;
esac

# ---------------------------------------------------------------- self-test
# The image without a target: its own checks (allocators, xenstore, the
# core on its own memory, its clock against Xen's), each an ok/FAIL line.
APPLIANCE=$TINYVMI_APPLIANCE sh "$(dirname "$0")/lab-appliance.sh" >"$W/self.out" 2>&1
RC=$?
is "self-test powers off after 0 failures" "$RC" 0
[ "$RC" = 0 ] || tr -d '\r' <"$W/self.out" | tail -n 40 | sed 's/^/self-test: /'
tr -d '\r' <"$W/self.out" | sed -n -e 's/^ok: /ok: appliance: self-test: /p' -e 's/^FAIL: /FAIL: appliance: self-test: /p'
grep '^clock' "$W/self.out" | tr -d '\r' | sed 's/^/info: appliance: /'

# ---------------------------------------------------------------- ps, once
target_lost "the appliance's ps check" && { echo "end: appliance.sh"; exit 0; }
t0=$(up)
run ps $T appliance start --target "$DOM" --task ps --timeout 240
echo "bench: appliance_start_to_exit_s=$(secs_since "$t0")"
is "start --task ps exits 0" "$RC" 0
if [ "$RC" != 0 ]; then
	echo "appliance ps stderr: $(why ps)"
	console_tail tinyvmi-appliance-
	xl dmesg | grep -v 'save:\|restore' | tail -n 10 | sed 's/^/xl dmesg: /'
fi
sed 's/^/info: start ps: /' "$W/ps.err"
first=$(sed -n 's/.*first result \([0-9.]*\) s after.*/\1/p' "$W/ps.err")
[ -n "$first" ] && echo "bench: appliance_start_to_first_ps_s=$first"
init=$(sed -n 's/.*(found in \([0-9]*\) ms.*/\1/p' "$W/ps.err")
[ -n "$init" ] && echo "bench: appliance_linux_init_ms=$init"
# Finding kallsyms, BTF and the page tables takes tens of ms at least: a
# clock that says 0 stood still (it once did, and the appliance hung).
if [ "${init:-0}" -gt 0 ]; then ok "the appliance's clock moved during Linux init ($init ms)"; else bad "Linux init took '${init}' ms by the appliance's clock"; fi
pms=$(sed -n 's/.*ps: [0-9]* entries.* in \([0-9]*\) ms.*/\1/p' "$W/ps.err")
[ -n "$pms" ] && echo "bench: appliance_ps_ms=$pms"
ps_vs_truth "$W/ps.out"
for name in lab-init target-alpha target-beta target-gamma-t1; do
	want=$(grep " $name\$" "$W/truth.tasks" | head -n 1)
	if [ -n "$want" ] && grep -qx "$want" "$W/ps.tasks"; then
		ok "ps has $want"
	else
		bad "ps lacks '$want' ($name)"
	fi
done
gone tinyvmi-appliance-$(xl domid "$DOM") && ok "the appliance powered off after ps" ||
	bad "the appliance is still there after ps"

# ---------------------------------------------------------------- modules, JSON
target_lost "the appliance's modules check" && { echo "end: appliance.sh"; exit 0; }
run mods $T appliance start --target "$DOM" --task modules --json --timeout 240
is "start --task modules --json exits 0" "$RC" 0
[ "$RC" = 0 ] || { echo "modules stderr: $(why mods)"; console_tail tinyvmi-appliance-; }
sed -n 's/.*"type":"module".*"name":"\([^"]*\)".*/\1/p' "$W/mods.out" | sort >"$W/mods.names"
awk '{ print $1 }' "$TR/modules.txt" | sort >"$W/truth.mods"
if [ -s "$W/truth.mods" ] && cmp -s "$W/mods.names" "$W/truth.mods"; then
	ok "modules = /proc/modules ($(wc -l <"$W/truth.mods") modules)"
else
	bad "modules differ from /proc/modules: $(diff "$W/mods.names" "$W/truth.mods" | tr '\n' ' ' | cut -c1-200)"
fi
if grep -q '"type":"done".*"task":"modules"' "$W/mods.out"; then ok "JSON lines end with a done line"; else bad "no done line in --json output"; fi
odd=$(grep -cv '^{"type":"[a-z_]*",.*}$' "$W/mods.out")
is "every --json line is one object that starts with its type" "$odd" 0

# ---------------------------------------------------------------- serve + exec
target_lost "the appliance's serve + exec check" && { echo "end: appliance.sh"; exit 0; }
run serve $T appliance start --target "$DOM" --task serve --detach --timeout 240
is "start --task serve --detach exits 0" "$RC" 0
APP=tinyvmi-appliance-$(xl domid "$DOM")
t0=$(up)
run exec_ps $T appliance exec "$APP" ps --timeout 120
echo "bench: appliance_exec_ps_s=$(secs_since "$t0")"
is "exec ps exits 0" "$RC" 0
grep "entries" "$W/exec_ps.err" | sed 's/^/info: exec ps: /'
ps_vs_truth "$W/exec_ps.out"
run stats $T appliance exec "$APP" stats --json --timeout 60
is "exec stats exits 0" "$RC" 0
run bench $T appliance exec "$APP" bench --json --timeout 300
is "exec bench exits 0" "$RC" 0
c=$(sed -n 's/.*"walkread_cached_ns":\([0-9]*\).*/\1/p' "$W/bench.out")
nw=$(sed -n 's/.*"walkread_new_ns":\([0-9]*\).*/\1/p' "$W/bench.out")
[ -n "$c" ] && [ -n "$nw" ] && awk -v c="$c" -v n="$nw" 'BEGIN { printf "bench: appliance_walkread_cached_us=%.1f appliance_walkread_new_us=%.1f\n", c / 1e3, n / 1e3 }'
xen-labtool walkread "$DOM" 200 | grep -E '^(bench|ok|FAIL)'
grep '"type":"stats"' "$W/stats.out" | tail -n 1 | sed 's/^/bench: appliance_stats /'
xl list "$APP" 2>/dev/null | awk 'NR == 2 { print "bench: appliance_memory_mib=" $3 }'

# ---------------------------------------------------------------- watch
target_lost "the appliance's watch check" && { echo "end: appliance.sh"; exit 0; }
# Patch one byte of a function nothing calls here (kexec_load) and point
# a syscall entry elsewhere, with tinyvmi's write; watch must name both,
# and see them put back.
sym() { $T --xen "$DOM" sym "$1" 2>/dev/null | awk 'NR == 1 { print $1 }'; }
le64() { printf '%016s' "$1" | sed 's/../& /g' | awk '{ for (i = 8; i >= 1; i--) printf "%s", $i }'; }
getpid=$(sym __x64_sys_getpid)
WAPP=tinyvmi-watch
$T appliance start --target "$DOM" --task watch --interval 1000 --json --timeout 600 \
	--name "$WAPP" >"$W/watch.out" 2>"$W/watch.err" &
wpid=$!
i=0
while [ $i -lt 240 ] && ! grep -q '"type":"baseline"' "$W/watch.out"; do sleep 0.5; i=$((i + 1)); done
if grep -q '"type":"baseline"' "$W/watch.out"; then
	ok "watch: baseline $(grep -o '"text_blocks":[0-9]*' "$W/watch.out" | head -n 1), $(grep -o '"syscalls":[0-9]*' "$W/watch.out" | head -n 1)"
else
	bad "watch: no baseline: $(why watch)"
	console_tail "$WAPP"
	xl list | sed 's/^/xl list: /'
fi
run wtext $T --xen "$DOM" --write write __x64_sys_kexec_load+5 cc
old_text=$(sed -n 's/^before: //p' "$W/wtext.out")
# sys_call_table[246] is kexec_load on x86-64
run wsys $T --xen "$DOM" --write write sys_call_table+$((246 * 8)) "$(le64 "$getpid")"
old_sys=$(sed -n 's/^before: //p' "$W/wsys.out")
if [ -n "$old_text" ] && [ -n "$old_sys" ] && [ -n "$getpid" ]; then ok "watch: patched kernel text and sys_call_table[246]"; else bad "watch: the writes failed: $(why wtext) $(why wsys)"; fi
# Two whole checks after each change (a loaded host makes them slow).
checks() { grep -c '"type":"check"' "$W/watch.out"; }
two_more_checks() {
	_want=$(($(checks) + 2))
	wait_for 240 eval '[ "$(checks)" -ge "$_want" ]' ||
		bad "watch: fewer than 2 checks in 240 s: $(grep '"type":"error"' "$W/watch.out" | head -n 1 | cut -c1-300)"
}
two_more_checks
[ -n "$old_text" ] && $T --xen "$DOM" --write write __x64_sys_kexec_load+5 "$old_text" >/dev/null 2>&1
[ -n "$old_sys" ] && $T --xen "$DOM" --write write sys_call_table+$((246 * 8)) "$old_sys" >/dev/null 2>&1
two_more_checks
$T appliance stop "$WAPP" >/dev/null 2>&1
wait $wpid 2>/dev/null
if grep '"event":"text_changed"' "$W/watch.out" | grep -q '"symbol":"__x64_sys_kexec_load","offset":"0x5"'; then
	ok "watch: text change reported at __x64_sys_kexec_load+0x5"
else
	bad "watch: no text_changed naming kexec_load: $(grep '"type":"event"' "$W/watch.out" | head -n 3 | tr '\n' ' ' | cut -c1-300)"
fi
if grep '"event":"syscall_changed"' "$W/watch.out" | grep '"index":246' | grep -q '"new_symbol":"[^"]*getpid'; then
	ok "watch: sys_call_table[246] change reported with its new target (getpid)"
else
	bad "watch: no syscall_changed for 246 -> getpid"
fi
if grep -q '"event":"text_restored"' "$W/watch.out" && grep -q '"event":"syscall_restored"' "$W/watch.out"; then
	ok "watch: both restorations reported"
else
	bad "watch: restorations not reported"
fi
grep -o '"type":"check"[^}]*' "$W/watch.out" | tail -n 1 | sed 's/^/info: last watch check: /'
wait_gone "$WAPP" 30 || bad "the watch appliance did not stop"

# ---------------------------------------------------------------- isolation
target_lost "the appliance's isolation check" && { echo "end: appliance.sh"; exit 0; }
# Rights over the target, asked for dom0, for a second Linux guest (the
# target's kernel in 128 MiB, created paused: it only has to exist) or for
# the serving appliance's own domain: Xen says no.
sed -e 's/^name *=.*/name = "second"/' -e 's/^memory *=.*/memory = 128/' \
	-e 's/^maxmem *=.*/maxmem = 128/' /run/lab/target.cfg >"$W/second.cfg"
SECOND=
if xl create -p "$W/second.cfg" >"$W/second.log" 2>&1; then
	SECOND=$(xl domid second)
else
	bad "isolation: could not create a second guest: $(grep -v '^Parsing' "$W/second.log" | head -n 6 | tr '\n' ' ')"
fi
for other in 0 $SECOND "$(xl domid "$APP")"; do
	run iso $T appliance start --target "$DOM" --ask-domid "$other" --task ps \
		--name tinyvmi-iso --timeout 120
	if [ "$RC" = 1 ] && grep -q "not permitted (EPERM)" "$W/iso.err" &&
		! grep -q "MAPPED" "$W/iso.err"; then
		ok "isolation: domain $other refused by Xen ($(grep -o 'mapping its frame 0: [^:]*' "$W/iso.err" | head -n 1))"
	else
		bad "isolation: domain $other: rc $RC: $(why iso)"
	fi
	wait_gone tinyvmi-iso 30 || { bad "isolation appliance did not go"; xl destroy tinyvmi-iso 2>/dev/null; }
done
[ -n "$SECOND" ] && xl destroy second

# ---------------------------------------------------------------- the target vanishing
target_lost "the appliance's vanishing check" && { echo "end: appliance.sh"; exit 0; }
# Destroy the target under the serving appliance: it must report and go,
# and give back the mappings so the target really disappears.
# The dom0 tool is in the middle of a whole-guest dump at the same time:
# it must end with a clear error, not hang. A watching appliance, busy
# re-listing every 200 ms, must say the target ended and stop.
VAPP=tinyvmi-vanish
$T appliance start --target "$DOM" --task watch --interval 200 --json --timeout 300 \
	--name "$VAPP" >"$W/vwatch.out" 2>"$W/vwatch.err" &
vpid=$!
wait_for 240 grep -q '"type":"check"' "$W/vwatch.out" ||
	bad "the vanish watcher made no check: $(why vwatch)"
$T --xen "$DOM" dump "$W/vanish.elf" >"$W/vanish.out" 2>"$W/vanish.err" &
dpid=$!
sleep 1
xl destroy "$DOM"
i=0
while [ $i -lt 120 ] && kill -0 $dpid 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
if kill -0 $dpid 2>/dev/null; then
	bad "dom0 dump still runs 60 s after its target was destroyed"
	kill $dpid
else
	wait $dpid
	drc=$?
	if [ "$drc" != 0 ] && [ -s "$W/vanish.err" ]; then
		ok "dom0 dump of a destroyed target: exit $drc, $(head -c 160 "$W/vanish.err" | tr '\n' ' ')"
	elif [ "$drc" = 0 ]; then
		echo "info: dom0 dump finished before the target was destroyed (not tested this run)"
	else
		bad "dom0 dump of a destroyed target: exit $drc without a message"
	fi
fi
i=0
while [ $i -lt 120 ] && kill -0 $vpid 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
if kill -0 $vpid 2>/dev/null; then
	bad "the watching appliance's launcher still runs 60 s after its target was destroyed"
	$T appliance stop "$VAPP" >/dev/null 2>&1
	kill $vpid 2>/dev/null
else
	wait $vpid
	vrc=$?
	said=$(cat "$W/vwatch.out" "$W/vwatch.err" | grep -m1 -E 'dying|is gone|shut down|no such domain')
	if [ "$vrc" != 0 ] && [ -n "$said" ]; then
		ok "the watching appliance reported its target's end (exit $vrc): $(echo "$said" | cut -c1-200)"
	else
		bad "the watching appliance: exit $vrc, no report of the target's end: $(tail -n 3 "$W/vwatch.out" "$W/vwatch.err" | tr '\n' ' ' | cut -c1-300)"
	fi
fi
wait_gone "$VAPP" 30 || { bad "the watching appliance did not go"; xl destroy "$VAPP" 2>/dev/null; }
if wait_gone "$APP" 60; then
	ok "the serving appliance noticed the target vanish and powered off"
else
	bad "the appliance still runs 60 s after its target was destroyed"
	$T appliance stop "$APP" >/dev/null 2>&1
fi
if wait_gone "$DOM" 30 && ! xl list 2>/dev/null | grep -q '(null)'; then
	ok "the destroyed target is gone for good (no zombie held by mappings)"
else
	bad "the destroyed target lingers: $(xl list 2>&1 | tr '\n' ' ')"
fi
grep -h "target\|gone\|dying" /var/log/xen/console/guest-"$APP".log 2>/dev/null | tail -n 3 | sed 's/^/appliance console: /'
echo "end: appliance.sh"
exit 0
