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

# target_lost BEFORE: when the target ($DOM) is gone although no test ended
# it, one FAIL with the last words of its console and of Xen (a triple
# fault is a reboot, and on_reboot is "destroy"), and status 0; else 1.
# The caller stops: every later check would fail on the missing target.
target_lost() {
	xl domid "${DOM:-target}" >/dev/null 2>&1 && return 1
	bad "the target vanished before $1, and no test ended it"
	tail -n 20 /var/log/xen/console/guest-target.log 2>/dev/null | tr -d '\r' |
		sed 's/^/target console: /'
	xl dmesg 2>/dev/null | tail -n 20 | sed 's/^/xl dmesg: /'
	return 0
}

# ps_vs_truth PSOUT [json]: `tinyvmi ps` output (text, or --json) against
# the truth's tasks.tsv (tid tgid ppid comm), taken while the guest booted:
# at least 90 % of its tasks must be there the same (the rest may have
# ended since), and every task that is not in it must be pid 0 or newer
# than all of its (pids only grow here): an invented task fails. /proc
# shows a kworker's comm with its work queue appended ("kworker/0:1-events"):
# the task's comm is the part before. Leaves $W/truth.tasks, $W/ps.tasks
# and $W/same.tasks.
ps_vs_truth() {
	awk -F '\t' '{ print $1, $2, $3, $4 }' "$TR/tasks.tsv" | sort >"$W/truth.tasks"
	if [ "${2:-}" = json ]; then
		# one object a line: "pid":P,"tid":T,"ppid":Q,..."comm":"C"
		sed 's/},{/}\n{/g' "$1" | sed -n 's/.*"pid":\([0-9]*\),"tid":\([0-9]*\),"ppid":\([0-9]*\),.*"comm":"\([^"]*\)".*/\2 \1 \3 \4/p' |
			sort >"$W/ps.tasks"
	else
		awk 'NR > 1 { print $2, $1, $3, $6 }' "$1" | sort >"$W/ps.tasks"
	fi
	_max=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$W/truth.tasks")
	_new=$(awk -v m="$_max" 'NR == FNR { t[$1] = 1; next }
		!($1 in t) && $1 != 0 && $1 <= m { print }' "$W/truth.tasks" "$W/ps.tasks")
	if [ -z "$_new" ]; then
		ok "ps: every task not in the truth is newer than its pid $_max, or pid 0"
	else
		bad "ps: tasks the guest never had: $(echo "$_new" | head -n 5 | tr '\n' ';')"
	fi
	awk 'NR == FNR { ps[$1] = $2 " " $3 " " $4; next }
		{ split(ps[$1], p, " ") }
		($1 in ps) && p[1] == $2 && p[2] == $3 && index($4, p[3]) == 1 { print }' \
		"$W/ps.tasks" "$W/truth.tasks" >"$W/same.tasks"
	_total=$(wc -l <"$W/truth.tasks")
	_same=$(wc -l <"$W/same.tasks")
	if [ "$_total" -gt 0 ] && [ $((_same * 100)) -ge $((_total * 90)) ]; then
		ok "ps: $_same of the $_total tasks of the truth, same tid/tgid/ppid/comm"
	else
		bad "ps: only $_same of the $_total tasks of the truth"
		grep -vxFf "$W/same.tasks" "$W/truth.tasks" | head -n 10 | sed 's/^/  truth only: /'
	fi
}
