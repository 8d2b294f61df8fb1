# Shared by the lab's dom0 scripts (checks.sh, faults.sh, appliance.sh),
# sourced from the same directory; busybox sh. TAG prefixes every result
# line ("appliance: "); W is the script's work directory.
ok() { echo "ok: ${TAG:-}$*"; }
bad() { echo "FAIL: ${TAG:-}$*"; }
# is WHAT GOT WANT
is() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }
# run NAME CMD...: $W/NAME.out, $W/NAME.err, status in RC
# (busybox sh has no locals: helpers use their own _names)
run() {
	_run=$1
	shift
	"$@" >"$W/$_run.out" 2>"$W/$_run.err"
	RC=$?
}
# the text of a failed command, for the FAIL line
why() { tr '\n' ' ' <"$W/$1.err" | cut -c1-400; }
up() { cut -d' ' -f1 /proc/uptime; }
secs_since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }
# xl's state column of domain NAME ("r-----", "--p---"...), empty when none
state() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
paused() { case "$(state "$1")" in *p*) return 0 ;; esac; return 1; }
running() { [ -n "$(state "$1")" ] && ! paused "$1"; }
gone() { ! xl domid "$1" >/dev/null 2>&1; }
# wait_for SECS CMD...: until CMD succeeds, polling 4 times a second
wait_for() {
	_wf_n=$(($1 * 4))
	shift
	_wf_i=0
	while [ $_wf_i -lt $_wf_n ]; do
		"$@" && return 0
		sleep 0.25
		_wf_i=$((_wf_i + 1))
	done
	return 1
}
wait_gone() { wait_for "$2" gone "$1"; }
