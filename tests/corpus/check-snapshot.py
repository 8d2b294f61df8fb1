#!/usr/bin/env python3
"""Check one corpus snapshot directory for consistency (tinyvmi corpus).

Usage: check-snapshot.py SNAPDIR

Checks: file set and sizes; the ELF core has a QEMU note per vCPU whose CR3/CR4
equal regs.txt; CR4.LA57 matches PAGING; kallsyms is complete and _text
matches KASLR; the task list has the named test processes, a 3+ thread group
and kernel threads; the marker string is at its physical address in mem.raw,
mem.elf and mem.lime. Prints a summary; exits 1 on the first failure.
"""
import os
import re
import struct
import sys

DEFAULT_TEXT = 0xFFFFFFFF81000000
problems = []


def fail(msg):
    sys.stderr.write("check-snapshot: %s: %s\n" % (SNAP, msg))
    sys.exit(1)


def read_meta(path):
    meta = {}
    for line in open(path):
        m = re.match(r"^([A-Z0-9_]+)=(.*)$", line.strip())
        if m:
            meta[m.group(1)] = m.group(2).strip("'")
    return meta


def elf_loads_and_notes(path):
    with open(path, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2:
            fail("mem.elf is not ELF64")
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        loads, notes = [], []
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            t, _fl, off, _va, pa, filesz, _ms, _al = struct.unpack("<IIQQQQQQ", f.read(56))
            if t == 1:
                loads.append((pa, off, filesz))
            elif t == 4:
                f.seek(off)
                data = f.read(filesz)
                p = 0
                while p + 12 <= len(data):
                    namesz, descsz, ntype = struct.unpack_from("<III", data, p)
                    name = data[p + 12:p + 12 + namesz].rstrip(b"\0")
                    dpos = p + 12 + ((namesz + 3) & ~3)
                    notes.append((name, ntype, data[dpos:dpos + descsz]))
                    p = dpos + ((descsz + 3) & ~3)
    return loads, notes


def read_elf_phys(path, loads, pa, n):
    for base, off, size in loads:
        if base <= pa and pa + n <= base + size:
            with open(path, "rb") as f:
                f.seek(off + pa - base)
                return f.read(n)
    return None


def read_lime_phys(path, pa, n):
    with open(path, "rb") as f:
        pos = 0
        end_of_file = os.path.getsize(path)
        while pos < end_of_file:
            f.seek(pos)
            magic, ver, start, end = struct.unpack("<IIQQ", f.read(24))
            if magic != 0x4C694D45 or ver != 1:
                fail("mem.lime: bad record header at offset %d" % pos)
            if start <= pa and pa + n - 1 <= end:
                f.seek(pos + 32 + pa - start)
                return f.read(n)
            pos += 32 + end - start + 1
    return None


def main():
    global SNAP
    if len(sys.argv) != 2:
        sys.stderr.write("usage: check-snapshot.py SNAPDIR\n")
        sys.exit(2)
    SNAP = sys.argv[1].rstrip("/")
    j = lambda *p: os.path.join(SNAP, *p)
    meta = read_meta(j("meta.env"))
    for k in ("KVER", "VARIANT", "PAGING", "KASLR", "MEM_MB", "CR3", "CR4", "VMLINUX"):
        if not meta.get(k):
            fail("meta.env lacks %s" % k)
    mem = int(meta["MEM_MB"]) << 20
    if os.path.getsize(j("mem.raw")) != mem:
        fail("mem.raw size %d != %d" % (os.path.getsize(j("mem.raw")), mem))

    # Registers: regs.txt, meta and the ELF QEMU note must agree.
    loads, notes = elf_loads_and_notes(j("mem.elf"))
    qnotes = [d for name, _t, d in notes if name == b"QEMU"]
    if not qnotes:
        fail("mem.elf has no QEMU note")
    # QEMUCPUState: u32 version, u32 size, 18 GPRs/rip/rflags, 10 segments of
    # 24 bytes, then cr[0..4].
    cr = struct.unpack_from("<5Q", qnotes[0], 8 + 18 * 8 + 10 * 24)
    cr3, cr4 = int(meta["CR3"], 16), int(meta["CR4"], 16)
    if (cr[3], cr[4]) != (cr3, cr4):
        fail("QEMU note CR3/CR4 %#x/%#x != meta %#x/%#x" % (cr[3], cr[4], cr3, cr4))
    la57 = (cr4 >> 12) & 1
    if la57 != (meta["PAGING"] == "5"):
        fail("CR4 %#x LA57=%d but PAGING=%s" % (cr4, la57, meta["PAGING"]))
    ram_bytes = sum(s for pa, _o, s in loads if pa < 0xFD000000)
    if ram_bytes != mem - 0x20000:  # the 0xa0000-0xbffff VGA window is not RAM
        problems.append("RAM PT_LOADs cover %#x bytes, expected %#x" % (ram_bytes, mem - 0x20000))

    # uname
    uname = open(j("truth/uname.txt")).read().split("\n")
    if uname[0] != meta["KVER"]:
        fail("uname -r %r != KVER %r" % (uname[0], meta["KVER"]))

    # kallsyms
    nsyms = nzero = 0
    text = None
    for line in open(j("truth/kallsyms.txt")):
        parts = line.split()
        if len(parts) < 3:
            continue
        nsyms += 1
        addr = int(parts[0], 16)
        if addr == 0:
            nzero += 1
        if parts[2] == "_text" and len(parts) == 3:
            text = addr
    if nsyms < 50000 or nzero > nsyms // 10:
        fail("kallsyms: %d symbols, %d with address 0" % (nsyms, nzero))
    if text is None:
        fail("kallsyms has no _text")
    if meta["KASLR"] == "0" and text != DEFAULT_TEXT:
        fail("nokaslr but _text = %#x" % text)
    if meta["KASLR"] == "1" and text == DEFAULT_TEXT:
        problems.append("warning: KASLR on but _text at the default address")

    # tasks
    tasks = []
    for line in open(j("truth/tasks.tsv")):
        tid, tgid, ppid, comm = line.rstrip("\n").split("\t", 3)
        tasks.append((int(tid), int(tgid), int(ppid), comm))
    comms = {t[3] for t in tasks}
    for want in ("init", "kthreadd", "target-alpha", "target-beta", "target-gamma",
                 "target (odd)", "marker"):
        if want not in comms:
            fail("tasks.tsv lacks %r" % want)
    thr = [t for t in tasks if t[3] == "target-threads"]
    if len(thr) < 3 or len({t[1] for t in thr}) != 1:
        fail("target-threads is not one group of 3+ threads: %r" % thr)
    if not any(t[0] == 2 and t[3] == "kthreadd" for t in tasks):
        fail("pid 2 is not kthreadd")
    # state letter and uid of every task, from the same pass
    states = {}
    for line in open(j("truth/task-state.tsv")):
        tid, st, uid = line.rstrip("\n").split("\t")
        states[int(tid)] = (st, int(uid))
    if set(states) != {t[0] for t in tasks}:
        fail("task-state.tsv and tasks.tsv list different tasks")
    kinds = {(t[3], states[t[0]][0], states[t[0]][1]) for t in tasks}
    for want in (("target-user", "S", 4242), ("target-stopped", "T", 0),
                 ("target-zombie", "Z", 0)):
        if want not in kinds:
            fail("no task %r (comm, state, uid) in the truth; its targets: %r"
                 % (want, sorted(k for k in kinds if k[0].startswith("target"))))

    # modules and dmesg line
    mod = meta.get("MODULE", "")
    if mod and not any(l.split()[0] == mod for l in open(j("truth/modules.txt")) if l.strip()):
        fail("module %s not in modules.txt" % mod)
    dl = open(j("truth/dmesg-line.txt")).read().strip()
    if dl != "tinyvmi-truth: hello from %s" % meta["KVER"]:
        fail("dmesg line %r" % dl)

    # marker
    mk = open(j("truth/marker.txt")).read().split()
    if len(mk) != 5 or mk[0] != "marker":
        fail("bad marker.txt")
    pid, pa, s = int(mk[1]), int(mk[3], 16), mk[4].encode()
    if not any(t[0] == pid and t[3] == "marker" for t in tasks):
        fail("marker pid %d not in tasks" % pid)
    with open(j("mem.raw"), "rb") as f:
        f.seek(pa)
        if f.read(len(s)) != s:
            fail("marker string not at %#x in mem.raw" % pa)
    if read_elf_phys(j("mem.elf"), loads, pa, len(s)) != s:
        fail("marker string not at %#x in mem.elf" % pa)
    if read_lime_phys(j("mem.lime"), pa, len(s)) != s:
        fail("marker string not at %#x in mem.lime" % pa)

    for p in problems:
        sys.stderr.write("check-snapshot: %s: %s\n" % (SNAP, p))
    print("ok %s: %d syms, _text=%#x, %d tasks, LA57=%d, CR3=%#x, marker@%#x"
          % (os.path.basename(SNAP), nsyms, text, len(tasks), la57, cr3, pa))


if __name__ == "__main__":
    main()
