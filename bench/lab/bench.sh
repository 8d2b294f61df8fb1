#!/bin/sh
# Figures of tinyvmi's Xen driver, in the lab's dom0, against its PVH target
# (256 MiB). Run by tests/lab/run-all after tests/lab/checks.sh (which times
# the whole-guest dump); prints "bench: name=value ..." lines.
#   readall      every populated frame read through the library, no file
#   dom0_write   writing 256 MiB to dom0's /tmp alone (the rest of a dump)
#   random_map   one map call at a random gfn, of 1 and of 16 frames
#   osinit       the Linux layer's zero-config start: time and map calls
#   ps           a warm process list by phase (open, hinted start, walk)
#   info, ps     a whole command: open (domctl probe, xenstore), work, close
T=tinyvmi
L=xen-labtool
DOM=${TINYVMI_TARGET:-target}
W=/tmp/tvmi-bench
mkdir -p "$W"
up() { cut -d' ' -f1 /proc/uptime; }
# best_of N CMD...: the shortest of N runs, in seconds (10 ms resolution)
best_of() {
	n=$1
	shift
	best=
	i=0
	while [ $i -lt "$n" ]; do
		t0=$(up)
		"$@" >/dev/null 2>"$W/err" || { echo "FAIL: bench: $*: $(head -c 200 "$W/err")"; return; }
		t=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }')
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
		i=$((i + 1))
	done
	echo "$best"
}

$L readall "$DOM"
# What writing a dump's worth costs dom0 alone (its /tmp is in RAM).
t0=$(up)
dd if=/dev/zero of="$W/zero" bs=1M count=256 2>/dev/null
echo "bench: dom0_write_256mib_s=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }')"
rm -f "$W/zero"
$L random "$DOM" 500
$L osinit "$DOM"
$L ps "$DOM"
echo "bench: info_s=$(best_of 3 $T --xen "$DOM" info)"
if $T --help 2>/dev/null | grep -q '^  ps '; then
	runs=
	for i in 1 2 3 4 5 6 7; do
		runs="$runs $(best_of 1 $T --xen "$DOM" ps)"
	done
	echo "bench: ps_median_s=$(echo $runs | tr ' ' '\n' | sort -n | sed -n 4p) ps_runs_s=$(echo $runs | tr ' ' ',')"
fi
echo "end: bench.sh"
