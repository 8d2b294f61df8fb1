#!/usr/bin/env python3
"""Extract the vmlinux ELF from an x86 bzImage (tinyvmi corpus helper).

Usage: bzimage2elf.py BZIMAGE OUT

The setup header gives setup_sects (byte 0x1f1, 0 means 4); the protected-mode
code starts at (setup_sects + 1) * 512. payload_offset (u32 at 0x248) and
payload_length (u32 at 0x24c) locate the compressed kernel relative to it.
The payload is xz, zstd or gzip; the kernel build appends the uncompressed size
as a trailing u32, which we drop. The result must be an ELF file.
"""
import gzip
import lzma
import shutil
import struct
import subprocess
import sys


def fail(msg):
    sys.stderr.write("bzimage2elf: %s\n" % msg)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: bzimage2elf.py BZIMAGE OUT")
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        img = f.read()
    if len(img) < 0x300 or img[0x202:0x206] != b"HdrS":
        fail("%s: no bzImage setup header (HdrS)" % src)
    setup_sects = img[0x1F1] or 4
    pm_start = (setup_sects + 1) * 512
    payload_offset, payload_length = struct.unpack_from("<II", img, 0x248)
    start = pm_start + payload_offset
    end = start + payload_length
    if payload_length < 16 or end > len(img):
        fail("%s: payload %#x+%#x outside the file" % (src, start, payload_length))
    payload = img[start:end]

    if payload.startswith(b"\xfd7zXZ\x00"):
        kind = "xz"
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        data = dec.decompress(payload)
        if not dec.eof:
            fail("truncated xz payload")
    elif payload.startswith(b"\x28\xb5\x2f\xfd"):
        kind = "zstd"
        if not shutil.which("zstd"):
            fail("zstd payload but no zstd command (apt-get install zstd)")
        p = subprocess.run(["zstd", "-dcq"], input=payload[:-4],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            fail("zstd failed: %s" % p.stderr.decode(errors="replace").strip())
        data = p.stdout
    elif payload.startswith(b"\x1f\x8b"):
        kind = "gzip"
        data = gzip.decompress(payload[:-4])
    else:
        fail("unknown payload compression, magic %s" % payload[:6].hex())

    if data[:4] != b"\x7fELF":
        fail("decompressed %s payload is not an ELF (magic %s)" % (kind, data[:4].hex()))
    size_hint = struct.unpack_from("<I", payload, len(payload) - 4)[0]
    if size_hint != len(data) & 0xFFFFFFFF:
        sys.stderr.write("bzimage2elf: note: size trailer %d != ELF size %d\n"
                         % (size_hint, len(data)))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    import os
    os.replace(tmp, out)
    print("%s payload, %d bytes of ELF" % (kind, len(data)))


if __name__ == "__main__":
    main()
