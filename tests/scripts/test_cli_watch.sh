#!/bin/bash
# tinyvmi watch on the real corpus: a snapshot never changes, so checks
# report nothing; the baseline line must describe the guest as it described
# itself (truth/kallsyms.txt: _stext, _etext, sys_call_table;
# truth/modules.txt) and as `tinyvmi ps` lists it; --json gives one JSON
# object per line with an "event" member. SIGINT and SIGTERM end it with
# exit 0; bad options are usage errors.
#
# End to end, on a copy of one raw snapshot (file offset = PA) that the
# test writes to while watch runs, as the lab writes to a live guest: one
# byte of __x64_sys_getpid, and sys_call_table[39] pointed at
# __x64_sys_getppid, then put back. watch must report each, naming the
# symbols, in text and in JSON. (The other cases are in
# tests/unit/test_linux_watch.c.)
#
# env: TINYVMI (the command), TVMI_SOURCE_DIR; TVMI_ALLOW_NO_CORPUS=1 turns
# "no snapshots" into a skip. Last line: "N passed, M failed".
set -u

. "$(dirname "$0")/lib.sh"
corpus_dirs

truth_sym() { awk -v s="$2" '$3 == s { print $1; exit }' "$1/truth/kallsyms.txt"; }

# The baseline as JSON against the truth and against ps --json.
check_json_baseline() { # dir
	local d=$1 procs stext etext sct mods
	run --file "$d/mem.elf" ps --json
	procs=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$W/out")
	stext=$(truth_sym "$d" _stext)
	etext=$(truth_sym "$d" _etext)
	sct=$(truth_sym "$d" sys_call_table)
	mods=$(wc -l <"$d/truth/modules.txt")
	run --file "$d/mem.elf" watch --json --threads --count 2 --interval 0
	want_rc 0
	python3 - "$W/out" "$W/py" "$procs" "$stext" "$etext" "$sct" "$mods" <<'EOF' && ok || bad "$what: $(cat "$W/py")"
import json, sys
out, why, procs, stext, etext, sct, mods = sys.argv[1:]
errs = []
lines = open(out).read().splitlines()
objs = []
for l in lines:
    try:
        objs.append(json.loads(l))
    except Exception as e:
        errs.append("not JSON: %r (%s)" % (l[:80], e))
if len(objs) != 1 or any("event" not in o for o in objs):
    errs.append("want exactly one object (the baseline), got %d lines" % len(lines))
b = objs[0] if objs else {}
h = lambda k: int(b.get(k, "0x0"), 16)
want = {
    "event": "baseline", "threads": True, "tasks": int(procs),
    "modules": int(mods), "block_size": 64, "text_unreadable_pages": 0,
    "syscalls_outside": 0,
}
for k, v in want.items():
    if b.get(k) != v:
        errs.append("%s is %r, want %r" % (k, b.get(k), v))
if h("text_start") != int(stext, 16) & ~0xfff:
    errs.append("text_start %s, _stext %s" % (b.get("text_start"), stext))
if h("text_end") != (int(etext, 16) + 63) & ~63:
    errs.append("text_end %s, _etext %s" % (b.get("text_end"), etext))
if h("syscall_table") != int(sct, 16):
    errs.append("syscall_table %s, truth %s" % (b.get("syscall_table"), sct))
if b.get("text_bytes") != h("text_end") - h("text_start") or \
   b.get("text_blocks") != b.get("text_bytes", 0) // 64:
    errs.append("text_bytes/text_blocks disagree with the range")
if not 300 <= b.get("syscalls", 0) <= 1024:
    errs.append("syscalls %r" % b.get("syscalls"))
# a CRC per 64-byte block and a byte per page: 1/16 of the text
if b.get("hash_bytes", 1 << 30) > b.get("text_blocks", 0) * 4 + b.get("text_bytes", 0) // 4096 + 1:
    errs.append("hash_bytes %r: more than 1/16 of the text" % b.get("hash_bytes"))
open(why, "w").write("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
}

check_text_baseline() { # dir file
	local d=$1 f=$2 mods
	mods=$(wc -l <"$d/truth/modules.txt")
	run --file "$d/$f" watch --count 1 --interval 0
	want_rc 0
	[[ $(wc -l <"$W/out") == 1 ]] && ok || bad "$what: printed $(wc -l <"$W/out") lines, want 1"
	grep -qE "^baseline: [0-9]+ processes, $mods modules?, kernel text 0x$(truth_sym "$d" _stext)-" "$W/out" &&
		ok || bad "$what: baseline line is '$(head -c 300 "$W/out")'"
	[[ ! -s $W/err ]] && ok || bad "$what: wrote to stderr"
}

check_signals() { # dir
	local d=$1 pid sig
	for sig in INT TERM; do
		what="tinyvmi watch, then SIG$sig"
		"$T" --file "$d/mem.elf" watch --interval 0.2 >"$W/out" 2>"$W/err" &
		pid=$!
		for _ in $(seq 50); do [[ -s $W/out ]] && break; sleep 0.1; done
		sleep 0.5 # a few checks
		kill -"$sig" "$pid"
		wait "$pid"
		rc=$?
		want_rc 0
		[[ $(head -c 9 "$W/out") == "baseline:" && $(wc -l <"$W/out") == 1 ]] &&
			ok || bad "$what: printed '$(head -c 200 "$W/out")'"
	done
}

check_bad_options() { # dir
	local d=$1
	run --file "$d/mem.elf" watch --count 0
	want_rc 2
	err_has "--count must be at least 1"
	run --file "$d/mem.elf" watch --interval soon
	want_rc 2
	err_has "bad interval 'soon'"
	run --file "$d/mem.elf" watch --interval 100000
	want_rc 2
	run --file "$d/mem.elf" watch extra
	want_rc 2
	run --file "$W/missing.elf" watch --count 1 --interval 0
	want_rc 1
	run --json --file "$W/missing.elf" watch --count 1 --interval 0
	want_rc 1
	python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if "error" in o else 1)' \
		"$W/out" && ok || bad "$what: no JSON error object: $(head -c 200 "$W/out")"
}

# pa_of DIR VA: the physical address, from tinyvmi's own translate.
pa_of() {
	"$T" --file "$1/mem.elf" --json translate "$2" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["pa"])'
}

# poke FILE PA HEX: writes the bytes (hex) at offset PA.
poke() {
	python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDWR); os.pwrite(fd, bytes.fromhex(sys.argv[3]), int(sys.argv[2], 0)); os.close(fd)' "$@"
}

# le64 VALUE: its 8 bytes, little-endian, in hex.
le64() { python3 -c 'import struct,sys; print(struct.pack("<Q", int(sys.argv[1], 0)).hex())' "$1"; }

# wait_lines N: until $W/out has N lines (at most 20 s).
wait_lines() {
	for _ in $(seq 200); do (($(wc -l <"$W/out") >= $1)) && return; sleep 0.1; done
}

# Runs watch on the copy and changes it once the baseline is out: the text
# byte and the syscall entry, then the entry back. $W/out holds the events.
watch_patched() { # copy text-pa byte-hex entry-pa new-hex old-hex [options]
	local copy=$1 tpa=$2 byte=$3 epa=$4 new=$5 old=$6 pid
	shift 6
	: >"$W/out"
	"$T" --file "$copy" watch --interval 0.2 "$@" >"$W/out" 2>"$W/err" &
	pid=$!
	wait_lines 1
	poke "$copy" "$tpa" "$byte"
	poke "$copy" "$epa" "$new"
	wait_lines 3
	poke "$copy" "$epa" "$old"
	wait_lines 4
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
}

check_changes() { # dir
	local d=$1 copy=$W/copy.raw getpid getppid sct tva tpa epa orig byte
	getpid=0x$(truth_sym "$d" __x64_sys_getpid)
	getppid=0x$(truth_sym "$d" __x64_sys_getppid)
	sct=0x$(truth_sym "$d" sys_call_table)
	tva=$(printf '0x%x' $((getpid + 5)))
	tpa=$(pa_of "$d" "$tva")
	epa=$(pa_of "$d" "$(printf '0x%x' $((sct + 39 * 8)))")
	orig=$(od -An -tx1 -j $((tpa)) -N1 "$d/mem.raw" | tr -d ' ')
	byte=$(printf '%02x' $((0x$orig ^ 0xff)))

	cp "$d/mem.raw" "$copy" || { bad "cannot copy $d/mem.raw"; return; }
	watch_patched "$copy" "$tpa" "$byte" "$epa" "$(le64 "$getppid")" "$(le64 "$getpid")"
	what="tinyvmi watch on a snapshot being written"
	want_rc 0
	grep -qE "kernel text changed: [^ ]+\+0x5 \($tva\): $orig -> $byte .*__x64_sys_getpid" "$W/out" &&
		ok || bad "$what: no change of __x64_sys_getpid+0x5 in: $(cat "$W/out")"
	grep -qE "system call 39 changed: .*__x64_sys_getpid.* -> .*__x64_sys_getppid" "$W/out" &&
		ok || bad "$what: no change of system call 39 in: $(cat "$W/out")"
	grep -q "system call 39 restored" "$W/out" && ok || bad "$what: no restore of system call 39"

	poke "$copy" "$tpa" "$orig" # as it was (the entry is back already)
	watch_patched "$copy" "$tpa" "$byte" "$epa" "$(le64 "$getppid")" "$(le64 "$getpid")" --json
	what="tinyvmi watch --json on a snapshot being written"
	want_rc 0
	python3 - "$W/out" "$tva" "$orig" "$byte" "$getpid" "$getppid" >"$W/py" <<'EOF' && ok || bad "$what: $(cat "$W/py")"
import json, sys
out, tva, orig, byte, getpid, getppid = sys.argv[1:]
objs = [json.loads(l) for l in open(out).read().splitlines()]
ev = {}
for o in objs:
    ev.setdefault(o["event"], []).append(o)
names = lambda o, p: [o[p + "symbol"]] + o[p + "aliases"]
errs = []
t = ev.get("text_changed", [{}])[0]
if (t.get("start"), t.get("end"), t.get("exact"), t.get("offset"), t.get("old"), t.get("new")) != \
   (tva, "0x%x" % (int(tva, 16) + 1), True, "0x5", orig, byte) or \
   "__x64_sys_getpid" not in names(t, ""):
    errs.append("text_changed: %r" % t)
s = ev.get("syscall_changed", [{}])[0]
if s.get("index") != 39 or s.get("old") != getpid or s.get("new") != getppid or \
   "__x64_sys_getpid" not in names(s, "old_") or "__x64_sys_getppid" not in names(s, "new_"):
    errs.append("syscall_changed: %r" % s)
r = ev.get("syscall_restored", [{}])[0]
if r.get("index") != 39 or r.get("new") != getpid or r.get("original") != getpid:
    errs.append("syscall_restored: %r" % r)
if [o["event"] for o in objs][:1] != ["baseline"] or len(objs) != 4:
    errs.append("want the baseline and 3 events, got %s" % [o["event"] for o in objs])
if any(not isinstance(o.get("check"), int) for o in objs[1:]):
    errs.append("an event without its check number")
print("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
	rm -f "$copy"
}

first=
for dir in $dirs; do
	name=${dir##*/}
	check_json_baseline "$dir"
	check_text_baseline "$dir" mem.elf
	if [[ -z $first ]]; then
		first=$dir
		check_text_baseline "$dir" mem.raw
	fi
done
name=${first##*/}
check_signals "$first"
check_bad_options "$first"
check_changes "$first"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
