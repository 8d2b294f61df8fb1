#!/bin/sh
# Live faults, run as root in the lab's dom0 by tests/lab/run-all:
#
#   faults.sh live     (after checks.sh) the target paused by someone else
#                      under a walk and under `tinyvmi --pause`; tinyvmi
#                      killed by SIGTERM/SIGINT while it holds the target
#                      paused. The target must run again and the next
#                      command work.
#   faults.sh reboot   (after appliance.sh, which destroys the target) the
#                      target created again, rebooted by force (sysrq b)
#                      under a walk and under `tinyvmi watch`, then
#                      destroyed under a walk. Each must end with a message
#                      within a bound, hold no frames of the dead domain
#                      (it leaves `xl list`), and the next command works
#                      on the new domain.
#
# Prints "ok: faults: ..." / "FAIL: faults: ..." lines like checks.sh.
T=tinyvmi
L=xen-labtool
DOM=${TINYVMI_TARGET:-target}
W=/tmp/tvmi-faults
mkdir -p "$W"
TAG="faults: "
. "$(dirname "$0")/lib.sh"

# ps_works: `tinyvmi ps` on the target answers with a process list that
# has pid 1; a failure must be an exit 1 with a message, never a crash.
ps_works() {
	run psw $T --xen "$DOM" ps
	case $RC in
	0) awk '$1 == 1 { f = 1 } END { exit !f }' "$W/psw.out" ;;
	1) [ -s "$W/psw.err" ] || echo "FAIL: ${TAG}ps failed without a message" ; return 1 ;;
	*) echo "FAIL: ${TAG}ps died with status $RC: $(why psw)"; return 1 ;;
	esac
}

# walkloop_bg SECS: xen-labtool walkloop in the background ($WL_PID),
# once it has started walking.
walkloop_bg() {
	$L walkloop "$DOM" "$1" >"$W/wl.out" 2>&1 &
	WL_PID=$!
	wait_for 60 grep -q '^walkloop: started' "$W/wl.out" ||
		bad "walkloop did not start: $(head -c 300 "$W/wl.out")"
}
# walkloop_end SECS: waits for it; FAIL when it is still running after SECS
walkloop_end() {
	if ! wait_for "$1" eval '! kill -0 $WL_PID 2>/dev/null'; then
		bad "walkloop still runs ${1}s after the fault"
		kill "$WL_PID"
	fi
	wait "$WL_PID"
	grep -E '^(ok|FAIL):' "$W/wl.out"
	WL=$(grep '^walkloop: walks' "$W/wl.out")
	echo "info: $WL"
}

live() {
	target_lost "faults.sh live" && return
	# Paused by someone else: a walk and tinyvmi's own pause/resume go on,
	# and leave that pause alone.
	xl pause "$DOM"
	run p1 $T --xen "$DOM" --pause ps
	is "ps --pause on a target paused by xl exits 0" "$RC" 0
	paused "$DOM" && ok "xl's pause outlives tinyvmi's pause and resume" ||
		bad "the target runs after tinyvmi --pause: xl's pause was undone"
	xl unpause "$DOM"
	running "$DOM" && ok "xl unpause: the target runs" || bad "target state '$(state "$DOM")' after xl unpause"

	walkloop_bg 12
	sleep 2
	xl pause "$DOM"
	sleep 3
	xl unpause "$DOM"
	walkloop_end 60
	case "$WL" in
	*"failed=0 "*"gone: no") ok "walks go on while someone else pauses and unpauses the target" ;;
	*) bad "walks under someone else's pause: $WL" ;;
	esac
	running "$DOM" && ok "the target runs after the walks" || bad "target state '$(state "$DOM")' after the walks"

	# Killed while holding the target paused (--pause dump): it runs again.
	for sig in TERM INT; do
		# (as from a terminal: a background job starts with SIGINT ignored)
		$L dfl $T --xen "$DOM" --pause dump "$W/d.elf" >"$W/dump.$sig.out" 2>&1 &
		pid=$!
		if wait_for 30 paused "$DOM"; then
			kill -"$sig" "$pid"
			wait "$pid"
			rc=$?
			case $sig in TERM) want=143 ;; INT) want=130 ;; esac
			is "dump --pause killed by SIG$sig: its status" "$rc" "$want"
			running "$DOM" && ok "SIG$sig during dump --pause: the target runs again" ||
				bad "SIG$sig during dump --pause: target state '$(state "$DOM")'"
		else
			wait "$pid"
			bad "dump --pause never paused the target: $(head -c 300 "$W/dump.$sig.out")"
		fi
		ps_works && ok "SIG$sig: the next command works" || bad "SIG$sig: the next ps: $(why psw)"
	done
	rm -f "$W/d.elf"
}

reboot() {
	# The target again, restarting when it reboots (appliance.sh destroyed
	# the first one; without an appliance image it is still there).
	gone "$DOM" || xl destroy "$DOM"
	sed 's/^on_reboot *=.*/on_reboot = "restart"/' /run/lab/target.cfg >"$W/target.cfg"
	grep -q '^on_reboot = "restart"' "$W/target.cfg" || echo 'on_reboot = "restart"' >>"$W/target.cfg"
	run create xl create "$W/target.cfg"
	is "xl create of a new target" "$RC" 0
	t0=$(up)
	if wait_for 240 ps_works; then
		ok "a new target: ps works $(secs_since "$t0") s after xl create"
	else
		bad "a new target: no process list within 240 s: $(why psw)"
		return
	fi
	old=$(xl domid "$DOM")

	# Rebooted by force under a walk and under watch.
	$T --xen "$DOM" watch --interval 0.5 >"$W/watch.out" 2>"$W/watch.err" &
	wpid=$!
	walkloop_bg 120
	sleep 2
	xl sysrq "$DOM" b
	t0=$(up)
	walkloop_end 60
	case "$WL" in
	*"gone: no") bad "walks did not notice the reboot: $WL" ;;
	*gone:*) ok "walks saw the reboot in $(secs_since "$t0") s: ${WL##*gone: }" ;;
	*) bad "no walkloop summary after the reboot: $(tail -n 3 "$W/wl.out" | tr '\n' ' ')" ;;
	esac
	if wait_for 30 eval '! kill -0 $wpid 2>/dev/null'; then
		wait "$wpid"
		rc=$?
		is "watch across a reboot exits 1" "$rc" 1
		if tail -n 1 "$W/watch.err" | grep -qE 'has shut down|is dying|no Xen domain'; then
			ok "watch says: $(tail -n 1 "$W/watch.err")"
		else
			bad "watch ended without saying the target went: $(tail -n 1 "$W/watch.err")"
		fi
	else
		bad "watch still runs 30 s after the reboot"
		kill "$wpid"
	fi
	t0=$(up)
	if wait_for 240 ps_works; then
		new=$(xl domid "$DOM")
		[ "$new" != "$old" ] && ok "rebooted target (domid $old -> $new): ps works $(secs_since "$t0") s later" ||
			bad "after the reboot the domid is still $old"
	else
		bad "rebooted target: no process list within 240 s: $(why psw)"
		return
	fi

	# Destroyed under a walk.
	walkloop_bg 120
	sleep 2
	t0=$(up)
	xl destroy "$DOM"
	walkloop_end 60
	case "$WL" in
	*"gone: no") bad "walks did not notice the destroy: $WL" ;;
	*gone:*) ok "walks saw the destroy in $(secs_since "$t0") s: ${WL##*gone: }" ;;
	*) bad "no walkloop summary after the destroy: $(tail -n 3 "$W/wl.out" | tr '\n' ' ')" ;;
	esac
	run gonecmd $T --xen "$DOM" ps
	is "ps of the destroyed target exits 1" "$RC" 1
	grep -q "no Xen domain named '$DOM'" "$W/gonecmd.err" && ok "it says: $(why gonecmd)" ||
		bad "ps of the destroyed target: $(why gonecmd)"
}

case "${1:-}" in
live) live ;;
reboot) reboot ;;
*) echo "usage: faults.sh live|reboot" >&2; exit 2 ;;
esac
echo "end: faults.sh $1"
exit 0
