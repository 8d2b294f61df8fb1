#!/usr/bin/env python3
"""Convert a QEMU dump-guest-memory ELF core into a LiME file (tinyvmi corpus).

Usage: elf2lime.py CORE.elf OUT.lime

One LiME record per PT_LOAD segment of guest RAM: a 32-byte little-endian
header (u32 magic 0x4C694D45, u32 version 1, u64 start, u64 end inclusive,
8 reserved zero bytes) followed by end - start + 1 bytes. Segments at or above
0xfd000000 (QEMU's video memory) are skipped, as are empty ones. All-zero
stretches are written as holes, so the file is sparse where it can be.
"""
import os
import struct
import sys

LIME_MAGIC = 0x4C694D45
SKIP_FROM = 0xFD000000
PT_LOAD = 1
CHUNK = 1 << 20


def fail(msg):
    sys.stderr.write("elf2lime: %s\n" % msg)
    sys.exit(1)


def segments(f):
    ident = f.read(64)
    if len(ident) < 64 or ident[:4] != b"\x7fELF":
        fail("not an ELF file")
    if ident[4] != 2 or ident[5] != 1:
        fail("only little-endian ELF64 is supported")
    e_type, = struct.unpack_from("<H", ident, 16)
    if e_type != 4:
        fail("ELF type %d is not a core file" % e_type)
    e_phoff, = struct.unpack_from("<Q", ident, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", ident, 54)
    if e_phnum == 0xFFFF:
        fail("extended program header numbering is not supported")
    out = []
    for i in range(e_phnum):
        f.seek(e_phoff + i * e_phentsize)
        ph = f.read(56)
        (p_type, _flags, p_offset, _vaddr, p_paddr, p_filesz,
         _memsz, _align) = struct.unpack("<IIQQQQQQ", ph)
        if p_type == PT_LOAD:
            out.append((p_paddr, p_offset, p_filesz))
    return out


def main():
    if len(sys.argv) != 3:
        fail("usage: elf2lime.py CORE.elf OUT.lime")
    src, dst = sys.argv[1], sys.argv[2]
    zero = bytes(CHUNK)
    tmp = dst + ".tmp"
    nrec = 0
    with open(src, "rb") as f, open(tmp, "wb") as o:
        segs = sorted(segments(f))
        for paddr, off, size in segs:
            if paddr >= SKIP_FROM or size == 0:
                continue
            o.write(struct.pack("<IIQQ8x", LIME_MAGIC, 1, paddr, paddr + size - 1))
            f.seek(off)
            left = size
            while left:
                n = min(CHUNK, left)
                buf = f.read(n)
                if len(buf) != n:
                    fail("short read in segment at %#x" % paddr)
                if buf == zero[:n]:
                    o.seek(n, os.SEEK_CUR)
                else:
                    o.write(buf)
                left -= n
            nrec += 1
        o.truncate(o.tell())
    if nrec == 0:
        fail("no RAM segments in %s" % src)
    os.replace(tmp, dst)
    print("%d LiME records" % nrec)


if __name__ == "__main__":
    main()
