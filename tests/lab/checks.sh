#!/bin/sh
# Live checks of tinyvmi's Xen driver, run as root in the lab's dom0 by
# tests/lab/run-all (through lab/run). Everything is compared with the
# target's own ground truth ($TINYVMI_TRUTH: kallsyms.txt, version.txt,
# tasks.tsv, modules.txt, kmsg.txt, iomem.txt) or with `xl list`.
#
# Prints one "ok: ..." or "FAIL: ..." line per check (xen-labtool prints
# its own), "bench: ..." lines with figures; run-all counts them.
# Needs: tinyvmi and xen-labtool on PATH; busybox sh, awk, sed, cmp; xl.
T=tinyvmi
L=xen-labtool
DOM=${TINYVMI_TARGET:-target}
ID=${TINYVMI_TARGET_DOMID:?no target domid}
TR=${TINYVMI_TRUTH:?no truth directory}
W=/tmp/tvmi-lab
rm -rf "$W"
mkdir -p "$W"

. "$(dirname "$0")/lib.sh"
# value of a text line "label:   value" of a command's output
field() { sed -n "s/^$2: *//p" "$W/$1.out" | head -n 1; }
ksym() { awk -v s="$1" '$3 == s { print "0x" $1; exit }' "$TR/kallsyms.txt"; }
has_cmd() { $T --help 2>/dev/null | grep -q "^  $1 " || { bad "tinyvmi has no command $1"; return 1; }; }

echo "== target $DOM (domid $ID), $(xl info 2>/dev/null | sed -n 's/^xen_version *: *//p')"

# ---------------------------------------------------------------- info
run info $T --xen "$DOM" info
is "info by name exits 0" "$RC" 0
is "driver" "$(field info driver)" xen-pvh
is "paging mode from vCPU 0" "$(field info 'paging mode')" ia32e
KDTB=$(field info 'kernel page-table root')
CR3=$(sed -n 's/^ *CR3: *//p' "$W/info.out" | head -n 1)
is "kernel page-table root is vCPU 0's CR3" "$KDTB" "$CR3"
is "vCPUs as xl says" "$(field info vCPUs)" "$(xl list "$DOM" | awk 'NR == 2 { print $4 }')"
MEM=$(field info 'memory size' | sed -n 's/.*(\([0-9]*\) bytes).*/\1/p')
XLMEM=$(xl list "$DOM" | awk 'NR == 2 { print $3 }')
if [ -n "$MEM" ] && [ $((MEM / 1048576)) -ge "$XLMEM" ] && [ $((MEM / 1048576)) -le $((XLMEM + 2)) ]; then
	ok "memory size $MEM bytes, xl says $XLMEM MiB"
else
	bad "memory size '$MEM' bytes, xl says $XLMEM MiB"
fi
run infoid $T --xen "$ID" info
is "info by domid exits 0" "$RC" 0
# (not the root: it is vCPU 0's CR3, which changes as the guest's processes run)
is "same memory size by domid" "$(field infoid 'memory size')" "$(field info 'memory size')"
run infojson $T --xen "$DOM" --json info
grep -q '"page_mode":"ia32e"' "$W/infojson.out" && ok "info --json" || bad "info --json: $(head -c 200 "$W/infojson.out")"

# ---------------------------------------------------------------- errors
run nodom $T --xen no-such-domain info
is "a nonexistent name exits 1" "$RC" 1
grep -q "no Xen domain named 'no-such-domain'" "$W/nodom.err" &&
	ok "it says: $(cat "$W/nodom.err")" || bad "nonexistent name: $(why nodom)"
run noid $T --xen 4242 info
is "a nonexistent domid exits 1" "$RC" 1
grep -q "no Xen domain with id 4242" "$W/noid.err" &&
	ok "it says: $(cat "$W/noid.err")" || bad "nonexistent domid: $(why noid)"

# Not root: privcmd is root's; the error must say so (by domid: no xenstore
# lookup first).
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >>/etc/passwd
run noroot su -s /bin/sh nobody -c "$(command -v $T) --xen $ID info"
is "tinyvmi as a user, not root, exits 1" "$RC" 1
grep -q "need root in dom0" "$W/noroot.err" &&
	ok "it says: $(head -c 200 "$W/noroot.err")" || bad "not root: $(why noroot)"

# ---------------------------------------------------------------- read, translate
BANNER=$(ksym linux_banner)
[ -n "$BANNER" ] || bad "no linux_banner in the truth's kallsyms"
run banner $T --xen "$DOM" read --va "$BANNER" 512 --raw
is "read --va linux_banner exits 0" "$RC" 0
head -n 1 "$W/banner.out" >"$W/banner.line"
head -n 1 "$TR/version.txt" >"$W/version.line"
if cmp -s "$W/banner.line" "$W/version.line"; then
	ok "linux_banner is the guest's /proc/version: $(cut -c1-60 "$W/banner.line")..."
else
	bad "linux_banner '$(cut -c1-80 "$W/banner.line")' is not /proc/version '$(cut -c1-80 "$W/version.line")'"
fi
run tr $T --xen "$DOM" --json translate "$BANNER"
BPA=$(sed -n 's/.*"pa":"\(0x[0-9a-f]*\)".*/\1/p' "$W/tr.out")
[ -n "$BPA" ] && ok "translate linux_banner -> $BPA" || bad "translate: $(why tr)"
run bannerpa $T --xen "$DOM" read "$BPA" 512 --raw
cmp -s "$W/banner.out" "$W/bannerpa.out" && ok "read at the PA gives the same bytes" ||
	bad "read at PA $BPA differs from read --va"

# ---------------------------------------------------------------- pause, signals
$L nest "$DOM" 2>"$W/nest.err" || bad "xen-labtool nest exited non-zero: $(why nest)"
for sig in TERM INT HUP; do
	$L hold "$DOM" >"$W/hold.$sig" 2>&1 &
	pid=$!
	i=0
	while ! grep -q '^held' "$W/hold.$sig" && [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	case "$(state "$DOM")" in
	*p*) ok "SIG$sig test: the holder paused the target (twice)" ;;
	*) bad "SIG$sig test: target not paused by the holder: $(cat "$W/hold.$sig")" ;;
	esac
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	case $sig in TERM) want=143 ;; INT) want=130 ;; HUP) want=129 ;; esac
	if running "$DOM"; then
		ok "SIG$sig while paused: the target runs again; the tool died of it (status $rc, want $want)"
	else
		bad "SIG$sig while paused: target state '$(state "$DOM")' afterwards (tool status $rc)"
	fi
	[ "$rc" = "$want" ] || bad "SIG$sig: the tool's status is $rc, not $want: the signal was not raised again"
done
$L exit "$DOM" 2>"$W/exit.err"
running "$DOM" && ok "exit() while paused: the target runs again" ||
	bad "exit() while paused: target state '$(state "$DOM")' ($(why exit))"

# ---------------------------------------------------------------- writes
$L regs "$DOM" 2>"$W/regs.err" || bad "xen-labtool regs exited non-zero: $(why regs)"
$L write "$DOM" "$BANNER" 2>"$W/write.err" || bad "xen-labtool write exited non-zero: $(why write)"
run banner2 $T --xen "$DOM" read --va "$BANNER" 512 --raw
cmp -s "$W/banner.out" "$W/banner2.out" && ok "linux_banner as it was, read by the CLI" ||
	bad "linux_banner changed after the write test"

# A process's memory, written from dom0: the guest itself sees the change.
# target-alpha logs where its marker string is and reports any change.
run dmesgm $T --xen "$DOM" dmesg
line=$(grep -o 'tinyvmi-lab: target-alpha pid [0-9]* marker at 0x[0-9a-f]*' "$W/dmesgm.out" | tail -n 1)
MPID=$(echo "$line" | awk '{ print $4 }')
MVA=$(echo "$line" | awk '{ print $NF }')
if [ -n "$MPID" ] && [ -n "$MVA" ]; then
	# "tinyvmi-wrote-this" and its NUL
	run wmark $T --xen "$DOM" --write write --pid "$MPID" "$MVA" 74696e79766d692d77726f74652d7468697300
	is "write into target-alpha's heap (pid $MPID, $MVA) exits 0" "$RC" 0
	guest_saw() {
		run dmesgw $T --xen "$DOM" dmesg
		grep -q "target-alpha sees its marker changed to 'tinyvmi-wrote-this'" "$W/dmesgw.out"
	}
	if wait_for 60 guest_saw; then
		ok "the guest saw it: $(grep -o "target-alpha sees its marker changed to '[^']*'" "$W/dmesgw.out" | tail -n 1)"
	else
		bad "the guest did not report the change in 60 s ($(why wmark))"
	fi
else
	bad "no 'target-alpha pid N marker at VA' line in the guest's log: $(why dmesgm)"
fi

# ---------------------------------------------------------------- ranges
$L ranges "$DOM" >"$W/ranges.out" 2>"$W/ranges.err"
grep -E '^(ok|FAIL|bench):' "$W/ranges.out"
grep -q '^range ' "$W/ranges.out" || bad "no ranges: $(why ranges)"
grep '^range ' "$W/ranges.out" | sed 's/^/  /'
# Every "System RAM" the guest has must be inside what Xen listed.
grep '^range ' "$W/ranges.out" | while read -r _ s e; do echo "$((s)) $((e))"; done >"$W/ranges.dec"
grep -v '^ ' "$TR/iomem.txt" | grep ': System RAM$' | while IFS='- ' read -r a b _; do
	a=$((0x$a))
	b=$((0x$b + 1))
	what=$(printf 'guest System RAM 0x%x-0x%x' "$a" "$b")
	if awk -v a="$a" -v b="$b" '$1 <= a && $2 >= b { f = 1 } END { exit !f }' "$W/ranges.dec"; then
		ok "$what is in the listed ranges"
	else
		bad "$what is not in the listed ranges"
	fi
done

# ---------------------------------------------------------------- dump
t0=$(up)
run dump $T --xen "$DOM" dump "$W/live.elf"
secs=$(secs_since "$t0")
is "dump of the live guest exits 0" "$RC" 0
[ "$RC" = 0 ] || echo "  $(why dump)"
size=$(wc -c <"$W/live.elf" 2>/dev/null || echo 0)
echo "bench: dump_elf_s=$secs dump_file_mib=$((size / 1048576)) dump_mib_s=$(awk -v m="$MEM" -v s="$secs" 'BEGIN { printf "%.1f", m / 1048576 / s }')"
echo "  tinyvmi says: $(tail -n 1 "$W/dump.out")"
run finfo $T --file "$W/live.elf" info
is "the dump opens as a snapshot" "$RC" 0
is "the dump's paging mode" "$(field finfo 'paging mode')" ia32e
run ftr $T --file "$W/live.elf" --json translate "$BANNER"
is "the dump translates linux_banner as the live guest did" \
	"$(sed -n 's/.*"pa":"\(0x[0-9a-f]*\)".*/\1/p' "$W/ftr.out")" "$BPA"
# The dump holds every listed frame: tot_pages, and Xen's shared frames.
LISTED=$(awk '{ n += $2 - $1 } END { printf "%.0f", n }' "$W/ranges.dec")
is "the dump's memory size is what was listed" "$(field finfo 'memory size' | sed -n 's/.*(\([0-9]*\) bytes).*/\1/p')" "$LISTED"
run fbanner $T --file "$W/live.elf" read --va "$BANNER" 512 --raw
cmp -s "$W/banner.out" "$W/fbanner.out" && ok "linux_banner from the dump = live" ||
	bad "linux_banner from the dump differs: $(why fbanner)"
TEXT=$(ksym _text)
run textlive $T --xen "$DOM" read --va "$TEXT" 65536 --raw
run textfile $T --file "$W/live.elf" read --va "$TEXT" 65536 --raw
if [ -s "$W/textlive.out" ] && cmp -s "$W/textlive.out" "$W/textfile.out"; then
	ok "64 KiB of kernel text at _text: the dump = live"
else
	bad "kernel text at _text differs between the dump and live ($(why textfile))"
fi
# The whole process list again, from the dump.
run fps $T --file "$W/live.elf" ps
is "ps on the dump exits 0" "$RC" 0
ps_vs_truth "$W/fps.out"
rm -f "$W/live.elf"

# ---------------------------------------------------------------- the Linux layer, live
if has_cmd sym; then
	run sym $T --xen "$DOM" sym linux_banner
	got=$(awk '{ print "0x" $1 }' "$W/sym.out")
	is "sym linux_banner = kallsyms" "$got" "$BANNER"
	for s in init_task sys_call_table _etext; do
		run symj $T --xen "$DOM" --json sym "$s"
		is "sym --json $s = kallsyms" "$(sed -n 's/.*"address":"\(0x[0-9a-f]*\)".*/\1/p' "$W/symj.out")" "$(ksym "$s")"
	done
fi
if has_cmd linux-info; then
	run li $T --xen "$DOM" linux-info
	is "linux-info exits 0" "$RC" 0
	is "linux-info release = uname -r" "$(field li release)" "$(cat "$TR/uname.txt")"
	run lij $T --xen "$DOM" --json linux-info
	is "linux-info --json release = uname -r" \
		"$(sed -n 's/.*"release":"\([^"]*\)".*/\1/p' "$W/lij.out")" "$(cat "$TR/uname.txt")"
	is "linux-info --json _text = kallsyms" \
		"$(sed -n 's/.*"text_va":"\(0x[0-9a-f]*\)".*/\1/p' "$W/lij.out")" "$(ksym _text)"
fi
if has_cmd ps; then
	run psj $T --xen "$DOM" --json ps
	is "ps --json exits 0" "$RC" 0
	ps_vs_truth "$W/psj.out" json
	grep -q '"dtb":"0x[0-9a-f]*"' "$W/psj.out" && ok "ps --json has dtb" || bad "ps --json lacks dtb"
	t0=$(up)
	run ps $T --xen "$DOM" ps
	echo "bench: ps_s=$(secs_since "$t0") tasks=$(($(wc -l <"$W/ps.out") - 1))"
	is "ps exits 0" "$RC" 0
	ps_vs_truth "$W/ps.out"
	for name in lab-init target-alpha target-beta target-gamma target-gamma-t1 target-gamma-t2; do
		want=$(grep " $name\$" "$W/truth.tasks" | head -n 1)
		if [ -n "$want" ] && grep -qx "$want" "$W/ps.tasks"; then
			ok "ps has $want"
		else
			bad "ps lacks '$want' ($name)"
		fi
	done
fi
if has_cmd modules; then
	run mods $T --xen "$DOM" modules
	is "modules exits 0" "$RC" 0
	awk '{ print $1, $6 }' "$TR/modules.txt" | sort >"$W/truth.mods"
	awk '{ print $1, $2 }' "$W/mods.out" | sort >"$W/mods.mods"
	if [ -s "$W/truth.mods" ] && cmp -s "$W/truth.mods" "$W/mods.mods"; then
		ok "modules: $(wc -l <"$W/truth.mods") modules, names and addresses as /proc/modules"
	else
		bad "modules differ from /proc/modules: $(tr '\n' ' ' <"$W/mods.mods" | cut -c1-200) vs $(tr '\n' ' ' <"$W/truth.mods" | cut -c1-200)"
	fi
	run modsj $T --xen "$DOM" --json modules
	sed 's/},{/}\n{/g' "$W/modsj.out" | sed -n 's/.*"name":"\([^"]*\)","base":"\(0x[0-9a-f]*\)","size":\([0-9]*\).*/\1 \2 \3/p' |
		sort >"$W/modsj.mods"
	awk '{ print $1, $6, $2 }' "$TR/modules.txt" | sort >"$W/truth.modsj"
	if [ -s "$W/truth.modsj" ] && cmp -s "$W/truth.modsj" "$W/modsj.mods"; then
		ok "modules --json: names, bases and sizes as /proc/modules"
	else
		bad "modules --json differ: $(tr '\n' ' ' <"$W/modsj.mods") vs $(tr '\n' ' ' <"$W/truth.modsj")"
	fi
fi
if has_cmd dmesg; then
	run dmesg $T --xen "$DOM" dmesg
	grep -q 'tinyvmi-lab: kmsg marker from the target guest' "$W/dmesg.out" &&
		ok "dmesg has the target's kmsg marker" || bad "dmesg lacks the marker ($(why dmesg))"
	run dmesgj $T --xen "$DOM" --json dmesg
	grep -q '"text":"tinyvmi-lab: kmsg marker from the target guest' "$W/dmesgj.out" &&
		ok "dmesg --json has the marker as a record's text" || bad "dmesg --json lacks the marker"
fi

running "$DOM" && ok "the target runs at the end" || bad "the target is '$(state "$DOM")' at the end"
# What the checks saw, for a look afterwards (run-all --out DIR).
[ -n "${LAB_OUT:-}" ] && cp "$W"/*.out "$W"/*.err "$W"/*.tasks "$LAB_OUT"/ 2>/dev/null
echo "end: checks.sh"
exit 0
