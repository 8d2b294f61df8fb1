#!/bin/bash
# Tests of the tinyvmi command on inputs built here: a 4 MiB raw image with
# known bytes and hand-written page tables (4-level, 5-level and 32-bit), and
# an ELF core of the same memory with a hole and two vCPUs' QEMU CPU notes.
# Every check compares with an answer worked out by hand below.
#
# env: TINYVMI = the built command (ctest sets it). Last line: "N passed, M failed".
set -u

. "$(dirname "$0")/lib.sh"
out_has() { grep -qF -- "$1" "$W/out" && ok || bad "$what: stdout lacks '$1'"; }
out_is() {
	local got
	got=$(cat "$W/out")
	[[ $got == "$1" ]] && ok || bad "$what: stdout is '$got', want '$1'"
}
out_empty() { [[ ! -s $W/out ]] && ok || bad "$what: stdout not empty: $(head -c 200 "$W/out")"; }
err_empty() { [[ ! -s $W/err ]] && ok || bad "$what: stderr not empty"; }


# ---------------------------------------------------------------- inputs
cat >"$W/mk.py" <<'EOF'
import struct, sys
out = sys.argv[1]
MEM = 4 << 20
img = bytearray(MEM)

def put(pa, data):
    img[pa:pa + len(data)] = data

def q(pa, v):
    put(pa, struct.pack("<Q", v))

def d(pa, v):
    put(pa, struct.pack("<I", v))

put(0x2000, b"Hello, tinyvmi!\n" + bytes([0, 1, 2, 3, 0x7f, 0x80, 0xff]) + b"ABC")
# IA-32e tables, root 0x10000; VA 0xffffffff80203123 = PML4 511, PDPT 510, PD 1, PT 3.
q(0x10000 + 511 * 8, 0x11003)               # P RW
q(0x11000 + 510 * 8, 0x12003)               # P RW
q(0x12000 + 1 * 8, 0x13007)                 # P RW US
q(0x12000 + 2 * 8, 0x200083)                # 2 MiB page at 0x200000
q(0x13000 + 3 * 8, 0x8000000000300061)      # P A D NX -> 0x300000
q(0x13000 + 4 * 8, 0x100003)                # -> 0x100000
q(0x13000 + 5 * 8, 0x7000003)               # -> past the end of memory
put(0x300123, b"virtual-hello")
put(0x201234, b"large-page-data")
put(0x300ff8, b"ABCDEFGH")
put(0x100000, b"IJKLMNOP")
# LA57: PML5 at 0x16000, entry 511 -> the PML4 above.
q(0x16000 + 511 * 8, 0x10003)
# 32-bit: PD 0x14000; VA 0x403abc = PD 1, PT 3; VA 0x800123 = PD 2, 4 MiB page.
d(0x14000 + 1 * 4, 0x15003)
d(0x14000 + 2 * 4, 0x00c00083)
d(0x15000 + 3 * 4, 0x305003)
put(0x17fff0, b"hole-edge-bytes!")
put(0x180000, b"in-the-hole")
open(out + "/mem.raw", "wb").write(img)

# ELF core of the same memory without [0x180000, 0x200000), two vCPUs.
def qemu_note(rax, rip):
    s = bytearray(440)
    struct.pack_into("<II", s, 0, 1, 440)
    struct.pack_into("<Q", s, 8, rax)
    struct.pack_into("<QQ", s, 136, rip, 0x246)
    struct.pack_into("<I", s, 152 + 8, 1 << 21)          # CS.L: 64-bit code
    struct.pack_into("<QQQQQ", s, 392, 0x80050033, 0, 0x1234, 0x10000, 0x20)
    return struct.pack("<III", 5, 440, 0) + b"QEMU\0\0\0\0" + bytes(s)

notes = qemu_note(0x1111, 0xffffffff81000010) + qemu_note(0x2222, 0xffffffff81000020)
loads = [(0, 0x180000), (0x200000, 0x200000)]
phoff, nph = 64, 1 + len(loads)
note_off = 0x1000
off = note_off + 0x1000
ph = struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(notes), len(notes), 4)
body = []
for pa, size in loads:
    ph += struct.pack("<IIQQQQQQ", 1, 7, off, 0, pa, size, size, 0x1000)
    body.append((off, img[pa:pa + size]))
    off += size
ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
        struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, phoff, 0, 0, 64, 56, nph, 64, 0, 0))
elf = bytearray(off)
elf[0:64] = ehdr
elf[phoff:phoff + len(ph)] = ph
elf[note_off:note_off + len(notes)] = notes
for o, data in body:
    elf[o:o + len(data)] = data
open(out + "/regs.elf", "wb").write(elf)
open(out + "/trunc.elf", "wb").write(elf[:100])
EOF
if ! python3 "$W/mk.py" "$W"; then
	echo "FAIL: building the test inputs"
	echo "0 passed, 1 failed"
	exit 1
fi
RAW=$W/mem.raw
ELF=$W/regs.elf
VA1=0xffffffff80203123

# ---------------------------------------------------------------- usage
version=$(sed -n 's/^project(tinyvmi VERSION \([0-9.]*\).*/\1/p' "${TVMI_SOURCE_DIR:-$(dirname "$0")/../..}/CMakeLists.txt")
run --version; want_rc 0; out_is "tinyvmi $version"
run --help; want_rc 0; out_has "Exit status: 0 ok, 1 target or data error, 2 usage error."
for c in info read translate dump; do out_has "  $c "; done
for c in info read translate dump; do
	run "$c" --help; want_rc 0; out_has "usage: tinyvmi"; out_has " $c"; out_has "JSON keys:"
	run --file "$RAW" "$c" -h; want_rc 0; out_has "usage: tinyvmi"
done
run help read; want_rc 0; out_has "read ADDR LEN"
run; want_rc 2; err_has "no command given"
run frobnicate; want_rc 2; err_has "unknown command 'frobnicate'"; out_empty
run --bogus info; want_rc 2; err_has "unknown option '--bogus'"
run --file "$RAW" read 0 16 --bogus; want_rc 2; err_has "unknown option '--bogus'"
run --file "$RAW" --format elf info; want_rc 2; err_has "unknown option '--format'"
run --va; want_rc 2; err_has "unknown option '--va'"
# --pause holds a live domain; a snapshot has nothing to pause
run --file "$RAW" --pause info; want_rc 2; err_has "--pause applies to a running domain"
run --xen target --pause watch; want_rc 2; err_has "--pause would keep the domain paused"
run --json; want_rc 2; err_has "no command given"; json_is error "no command given"
run --file "$RAW" read 0x12zz 16; want_rc 2; err_has "bad address '0x12zz': not a number"; out_empty
run --file "$RAW" read 12abc 16; want_rc 2; err_has "bad address '12abc': not a number"
run --file "$RAW" read -5 16; want_rc 2; err_has "bad address '-5': negative"
run --file "$RAW" read 0x10000000000000000 1; want_rc 2; err_has "too large"
run --file "$RAW" read 18446744073709551616 1; want_rc 2; err_has "too large"
run --file "$RAW" read 0x 1; want_rc 2; err_has "bad address '0x': not a number"
run --file "$RAW" read '' 1; want_rc 2; err_has "not a number"
run --file "$RAW" read ' 12' 1; want_rc 2; err_has "not a number"
run --file "$RAW" read 0 0; want_rc 2; err_has "bad length '0'"
run --file "$RAW" read 0 0x4000001; want_rc 2; err_has "bad length '0x4000001'"; out_empty
run --file "$RAW" read 0xffffffffffffffff 2; want_rc 2; err_has "past the end of the 64-bit"
run --file "$RAW" read 0; want_rc 2; err_has "missing LEN"
run --file "$RAW" read 0 1 2; want_rc 2; err_has "unexpected argument '2'"
run --file "$RAW" read 0 1 --pid x; want_rc 2; err_has "bad pid 'x'"
run --file "$RAW" read 0 1 --pid 0x80000000; want_rc 2; err_has "bad pid"
run --file "$RAW" read 0 1 --va=1; want_rc 2; err_has "takes no value"
run --file "$RAW" read 0 1 --dtb; want_rc 2; err_has "'--dtb' needs a value"
run --file "$RAW" read 0 1 --pid 1 --dtb 0; want_rc 2; err_has "cannot be used together"
run --file "$RAW" read 0 1 --raw --json; want_rc 2
run --file "$RAW" translate; want_rc 2; err_has "missing VA"
run --file "$RAW" translate $VA1 --mode ia64; want_rc 2; err_has "bad paging mode 'ia64'"
run --file "$RAW" dump "$W/x" --format zip; want_rc 2; err_has "bad format 'zip'"
run info; want_rc 2; err_has "no target"
run info --file; want_rc 2; err_has "'--file' needs a value"
# Without the Xen driver (no libxen-dev), or with it but not in a dom0.
XEN_WHY="vmi_init: the Xen driver is not built in"
grep -q tvmi_driver_xen "${TVMI_BUILD_DIR:-}/gen/registry.c" 2>/dev/null && [[ ! -e /dev/xen/privcmd ]] &&
	XEN_WHY="not running on Xen: /dev/xen/privcmd does not exist (tinyvmi --xen runs in dom0, with the xen-privcmd module loaded)"
run --xen guest1 info; want_rc 1; err_has "opening Xen domain guest1: $XEN_WHY"
run --xen 7 --json info; want_rc 1; json_is error "opening Xen domain 7: $XEN_WHY"

# ---------------------------------------------------------------- bad targets
run --file "$W/missing" info; want_rc 1; err_has "tinyvmi: opening snapshot:"; err_has "No such file"; out_empty
run --file "$W" info; want_rc 1; err_has "directory"
printf '\x7fELF\x02\x01junk junk junk' >"$W/junk.elf"
run --file "$W/junk.elf" info; want_rc 1; err_has "ELF"; out_empty
run --file "$W/trunc.elf" info; want_rc 1; err_has "ELF"
: >"$W/empty"
run --file "$W/empty" info; want_rc 1; err_has "empty"
run --json --file "$W/missing" info; want_rc 1; json_valid; err_has "No such file"
got=$(jget error); [[ $got == "opening snapshot: "*"No such file"* ]] && ok || bad "$what: JSON error is '$got'"
run --json --file "$RAW" read 0x12zz 1; want_rc 2; json_valid
json_is error "read: bad address '0x12zz': not a number"

# ---------------------------------------------------------------- info
run --file "$RAW" info; want_rc 0
out_has "snapshot-raw"; out_has "4 MiB (4194304 bytes)"; out_has "unknown"
out_has "none (snapshot-raw has no vCPU registers)"
run --file "$RAW" info --json; want_rc 0; json_valid
json_is driver snapshot-raw; json_is memsize 4194304; json_is page_mode unknown
json_is kernel_dtb null; json_is vcpus 1; json_is registers.0.registers "{}"
run --file "$ELF" --json info; want_rc 0; json_valid
json_is driver snapshot-elf; json_is vcpus 2; json_is page_mode ia32e
json_is kernel_dtb 0x10000; json_is registers.0.vcpu 0
json_is registers.0.registers.rip 0xffffffff81000010
json_is registers.0.registers.rax 0x1111
json_is registers.0.registers.rflags 0x246
json_is registers.0.registers.cr0 0x80050033
json_is registers.0.registers.cr2 0x1234
json_is registers.0.registers.cr3 0x10000
json_is registers.0.registers.cr4 0x20
json_is registers.1.registers.rip 0xffffffff81000020
json_is registers.1.registers.rax 0x2222
run --file "$ELF" info; want_rc 0; out_has "ia32e"; out_has "vCPU 1:"; out_has "0xffffffff81000020"
cp "$RAW" "$W/rw.raw"
run --write --file "$W/rw.raw" info; want_rc 0; out_has "snapshot-raw"

# ---------------------------------------------------------------- read
run --file "$RAW" read 0x2000 26; want_rc 0
out_is "00002000  48 65 6c 6c 6f 2c 20 74  69 6e 79 76 6d 69 21 0a  |Hello, tinyvmi!.|
00002010  00 01 02 03 7f 80 ff 41  42 43                    |.......ABC|"
run read 8192 5 --file="$RAW"; want_rc 0
out_is "00002000  48 65 6c 6c 6f                                    |Hello|"
run --file "$RAW" read 0x2000 0x10 --raw; want_rc 0; out_is "Hello, tinyvmi!"
run --file "$RAW" read 0x2000 26 --json; want_rc 0; json_valid
json_is space physical; json_is address 0x2000; json_is length 26; json_is bytes_read 26
json_is data 48656c6c6f2c2074696e79766d69210a000102037f80ff414243
run --file "$RAW" read 0x3ffff0 0x20; want_rc 1
out_is "003ffff0  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|"
err_has "stopped after 16 of 32 bytes"
run --file "$RAW" read 0x3ffff0 0x20 --json; want_rc 1; json_valid
json_is bytes_read 16; json_is data 00000000000000000000000000000000
got=$(jget error); [[ $got == "read: stopped after 16 of 32 bytes: "* ]] && ok || bad "$what: JSON error '$got'"
run --file "$RAW" read 0x400000 16; want_rc 1; out_empty; err_has "0x400000"
run --file "$RAW" read 0 0x4000000 --raw; want_rc 1
[[ $(stat -c %s "$W/out") == 4194304 ]] && ok || bad "$what: $(stat -c %s "$W/out") bytes on stdout, want 4194304"
cmp -s "$W/out" "$RAW" && ok || bad "$what: bytes differ from the image"
# the hole in the ELF core: nothing, or what comes before it
run --file "$ELF" read 0x180000 16; want_rc 1; out_empty; err_has "hole"
run --file "$ELF" read 0x17fff0 32; want_rc 1
out_is "0017fff0  68 6f 6c 65 2d 65 64 67  65 2d 62 79 74 65 73 21  |hole-edge-bytes!|"
err_has "stopped after 16 of 32 bytes"
# a reader that stops early is no error
"$T" --file "$RAW" read 0 0x400000 2>"$W/err" | head -n 1 >"$W/out"
prc=${PIPESTATUS[0]}
what="read | head"
[[ $prc == 0 ]] && ok || bad "$what: exit $prc, want 0"
err_empty
out_is "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|"
if [[ -w /dev/full ]]; then
	"$T" --file "$RAW" read 0 0x100000 >/dev/full 2>"$W/err"
	rc=$?
	what="read >/dev/full"
	want_rc 1; err_has "writing to standard output: No space left on device"
fi

# ---------------------------------------------------------------- virtual
run --file "$RAW" translate $VA1; want_rc 2; err_has "--dtb ROOT and --mode MODE are required"
run --file "$RAW" translate $VA1 --mode ia32e; want_rc 2; err_has "--dtb ROOT is required"
run --file "$RAW" read $VA1 4 --va --dtb 0x10000; want_rc 2; err_has "are required"
run --file "$RAW" translate $VA1 --dtb 0x10000 --mode ia32e; want_rc 0
out_is "VA 0xffffffff80203123, page-table root 0x10000, ia32e paging
  PML4  entry at 0x0000000000010ff8 = 0x0000000000011003  P RW
  PDPT  entry at 0x0000000000011ff0 = 0x0000000000012003  P RW
  PD    entry at 0x0000000000012008 = 0x0000000000013007  P RW US
  PT    entry at 0x0000000000013018 = 0x8000000000300061  P A D NX
-> PA 0x300123 (4 KiB page)"
run --file "$RAW" --json translate $VA1 --dtb 0x10000 --mode ia32e; want_rc 0; json_valid
json_is pa 0x300123; json_is page_size 4096; json_is va $VA1; json_is dtb 0x10000
json_is page_mode ia32e; json_is entries.# 4; json_is entries.0.table PML4; json_is entries.0.level 4
json_is entries.0.location 0x10ff8; json_is entries.3.value 0x8000000000300061
json_is entries.3.flags '["P", "A", "D", "NX"]'; json_is entries.2.flags '["P", "RW", "US"]'
run --file "$RAW" --json translate 0xffffffff80401234 --dtb 0x10000 --mode ia32e; want_rc 0
json_is pa 0x201234; json_is page_size 2097152; json_is entries.2.flags '["P", "RW", "PS"]'
json_is entries.# 3
run --file "$RAW" --json translate 0xffffffff80600000 --dtb 0x10000 --mode ia32e; want_rc 1; json_valid
json_is entries.# 3; json_is entries.3 "<missing>"; json_is entries.2.location 0x12018; json_is entries.2.value 0x0; json_is entries.2.flags "[]"
err_has "not present"
run --file "$RAW" translate 0xffffffff80600000 --dtb 0x10000 --mode ia32e; want_rc 1
out_has "PD    entry at 0x0000000000012018 = 0x0000000000000000  (not present)"
run --file "$RAW" translate 0x0000800000000000 --dtb 0x10000 --mode ia32e; want_rc 1; err_has "canonical"
run --file "$RAW" --json translate $VA1 --dtb 0x16000 --mode la57; want_rc 0
json_is pa 0x300123; json_is entries.# 5; json_is entries.0.table PML5
json_is entries.0.location 0x16ff8; json_is entries.4.table PT
run --file "$RAW" --json translate 0x403abc --dtb 0x14000 --mode legacy; want_rc 0
json_is pa 0x305abc; json_is entries.# 2; json_is entries.0.location 0x14004; json_is entries.1.location 0x1500c
run --file "$RAW" translate 0x800123 --dtb 0x14000 --mode legacy; want_rc 0
out_has "-> PA 0xc00123 (4 MiB page)"
run --file "$RAW" --json translate 0x1234 --mode none; want_rc 0; json_is pa 0x1234; json_is entries "[]"
run --file "$RAW" read $VA1 13 --dtb 0x10000 --mode ia32e --raw; want_rc 0; out_is "virtual-hello"
run --file "$RAW" --dtb 0x10000 --mode ia32e --raw read -- $VA1 13; want_rc 0; out_is "virtual-hello"
run --file "$RAW" --dtb 0x10000 --mode=ia32e translate $VA1; want_rc 0; out_has "-> PA 0x300123 (4 KiB page)"
run --file "$RAW" read 0xffffffff80203ff8 16 --va --dtb 0x10000 --mode ia32e --raw; want_rc 0
out_is "ABCDEFGHIJKLMNOP"
run --file "$RAW" read 0xffffffff80203ff8 16 --dtb 0x10000 --mode ia32e; want_rc 0
out_is "ffffffff80203ff8  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|"
run --file "$RAW" read 0xffffffff80401234 15 --dtb 0x10000 --mode ia32e --raw; want_rc 0; out_is "large-page-data"
run --file "$RAW" read 0xffffffff80205000 16 --dtb 0x10000 --mode ia32e; want_rc 1; out_empty
run --file "$RAW" read 0xffffffff80600000 16 --dtb 0x10000 --mode ia32e; want_rc 1; err_has "not present"
run --file "$RAW" --json read $VA1 13 --dtb 0x10000 --mode ia32e; want_rc 0
json_is space virtual; json_is dtb 0x10000; json_is page_mode ia32e; json_is data 7669727475616c2d68656c6c6f
# the ELF core has registers: the kernel's tables are known
run --file "$ELF" read $VA1 13 --va --raw; want_rc 0; out_is "virtual-hello"
run --file "$ELF" read $VA1 13 --pid 0 --raw; want_rc 0; out_is "virtual-hello"
run --file "$ELF" --json translate $VA1; want_rc 0; json_is pa 0x300123; json_is dtb 0x10000
run --file "$ELF" --json translate 0x403abc --dtb 0x14000 --mode legacy; want_rc 0; json_is pa 0x305abc

# ---------------------------------------------------------------- dump
for f in elf raw lime; do
	run --file "$RAW" dump "$W/d.$f" --format $f; want_rc 0
	out_has "wrote $(stat -c %s "$W/d.$f" 2>/dev/null) bytes"
	run --file "$W/d.$f" read 0 0x400000 --raw; want_rc 0
	cmp -s "$W/out" "$RAW" && ok || bad "$what: bytes differ from the image dumped"
	run --file "$W/d.$f" read 0x2000 26; want_rc 0; out_has "|Hello, tinyvmi!.|"
done
run --file "$W/d.elf" --json info; want_rc 0; json_is driver snapshot-elf; json_is memsize 4194304
run --file "$W/d.lime" --json info; want_rc 0; json_is driver snapshot-lime; json_is memsize 4194304
run --file "$RAW" dump "$W/default"; want_rc 0
run --file "$W/default" --json info; want_rc 0; json_is driver snapshot-elf
run --json --file "$ELF" dump "$W/e.raw" --format raw; want_rc 0; json_valid
json_is format raw; json_is output "$W/e.raw"; json_is bytes "$(stat -c %s "$W/e.raw")"
run --file "$W/e.raw" read 0x180000 16 --raw; want_rc 0
[[ $(od -An -tx1 "$W/out" | tr -d ' \n') == 00000000000000000000000000000000 ]] && ok ||
	bad "$what: a hole dumped to raw is not zeros"
run --file "$W/e.raw" read 0x17fff0 16 --raw; want_rc 0; out_is "hole-edge-bytes!"
run --file "$ELF" dump "$W/e.lime" --format lime; want_rc 0
run --file "$W/e.lime" read 0x180000 16; want_rc 1; out_empty
run --file "$W/e.lime" read 0x200000 0x200000 --raw; want_rc 0
cmp -s "$W/out" <(tail -c $((0x200000)) "$RAW") && ok || bad "$what: bytes differ"
run --file "$ELF" dump "$W/e.elf"; want_rc 0
run --file "$W/e.elf" --json info; want_rc 0; json_is vcpus 2; json_is page_mode ia32e
json_is registers.0.registers.cr3 0x10000; json_is registers.1.registers.rip 0xffffffff81000020
run --file "$W/e.elf" read $VA1 13 --va --raw; want_rc 0; out_is "virtual-hello"
cp "$RAW" "$W/self.raw"
run --file "$W/self.raw" dump "$W/self.raw" --format raw; want_rc 2; err_has "refusing to overwrite"
cmp -s "$W/self.raw" "$RAW" && ok || bad "dump onto its own input changed it"
run --file "$RAW" dump "$W/no/such/dir/x.elf"; want_rc 1; err_has "tinyvmi: dump"
# On a terminal the dump draws a progress bar on stderr, ending at 100 %
# and the whole size; with stderr not a terminal (above) it does not.
if command -v script >/dev/null; then
	what="dump on a terminal"
	script -qec "$(printf '%q ' "$T" --file "$RAW" dump "$W/tty.elf")" "$W/tty.log" >/dev/null 2>&1
	grep -q 'dumping \[#*\] 100%  4 MiB of 4 MiB' "$W/tty.log" && ok ||
		bad "$what: no progress bar reaching 100 %: $(tr '\r\033' '|~' <"$W/tty.log" | head -c 300)"
	run --file "$W/tty.elf" read 0x2000 26; want_rc 0; out_has "|Hello, tinyvmi!.|"
	run --file "$RAW" dump "$W/notty.elf"; want_rc 0
	grep -q 'dumping \[' "$W/err" && bad "dump drew a progress bar on a file" || ok
else
	bad "no 'script' command (util-linux) to give the dump a terminal"
fi

# ---------------------------------------------------------------- JSON strings
oddname=$'\x01odd "name"\t\\\xff\xc3\xa9.raw'
cp "$RAW" "$W/$oddname"
run --file "$W/$oddname" --json info; want_rc 0; json_valid
python3 - "$W/out" "$W/$oddname" <<'EOF' && ok || bad "JSON escaping of a strange file name"
import json, sys, os
got = json.load(open(sys.argv[1], encoding="utf-8"))["target"]
raw = os.fsencode(sys.argv[2])
# bytes that are not UTF-8 come back as the code point of the same value
want = raw.replace(b"\xff", b"\xc3\xbf").decode("utf-8")
sys.exit(0 if got == want else 1)
EOF
grep -qF '\u0001odd \"name\"\t\\\u00ff' "$W/out" && ok || bad "JSON escapes: $(cat "$W/out")"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
