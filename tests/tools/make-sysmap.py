#!/usr/bin/env python3
"""A System.map from a guest's /proc/kallsyms (tests only).

    make-sysmap.py KALLSYMS TEXT OUT

Keeps the core kernel's symbols (lines without a "[module]" field) and
makes their addresses link-time, as a real System.map has them: the KASLR
slide, TEXT - 0xffffffff81000000 (TEXT is the guest's _text), is taken off
every address in the kernel map; per-CPU offsets and other small absolute
values do not move with KASLR and are kept.
"""
import sys

KMAP_BASE = 0xFFFFFFFF80000000
DEFAULT_TEXT = 0xFFFFFFFF81000000


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, text, out = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
    slide = text - DEFAULT_TEXT
    lines = []
    with open(src) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            addr = int(parts[0], 16)
            if addr >= KMAP_BASE:
                addr -= slide
            lines.append("%016x %s %s\n" % (addr, parts[1], parts[2]))
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
