#!/usr/bin/env python3
"""Split the guest's ground-truth stream into files (tinyvmi corpus helper).

Usage: split-truth.py TRUTH.raw OUTDIR

TRUTH.raw holds sections opened by lines "=== NAME ===" and closed by
"=== end ===". Carriage returns are dropped. Each section goes to its file in
OUTDIR; a missing or empty required section is an error.
"""
import os
import re
import sys

FILES = {
    "uname": "uname.txt",
    "cmdline": "cmdline.txt",
    "dmesg": "dmesg-line.txt",
    "marker": "marker.txt",
    "modules": "modules.txt",
    "iomem": "iomem.txt",
    "kallsyms": "kallsyms.txt",
    "tasks": "tasks.tsv",
    "taskstate": "task-state.tsv",
}
HEADER = re.compile(rb"^=== ([a-z]+) ===$")


def fail(msg):
    sys.stderr.write("split-truth: %s\n" % msg)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: split-truth.py TRUTH.raw OUTDIR")
    with open(sys.argv[1], "rb") as f:
        raw = f.read().replace(b"\r", b"")
    sections = {}
    cur = None
    ended = False
    for line in raw.split(b"\n"):
        m = HEADER.match(line)
        if m:
            name = m.group(1).decode()
            if name == "end":
                ended = True
                break
            if name in sections:
                fail("section %s appears twice" % name)
            cur = sections.setdefault(name, [])
            continue
        if cur is not None:
            cur.append(line)
    if not ended:
        fail("no '=== end ===' line: truth stream incomplete")
    os.makedirs(sys.argv[2], exist_ok=True)
    for name, fname in FILES.items():
        lines = sections.get(name)
        if not lines or not any(lines):
            fail("section '%s' missing or empty" % name)
        while lines and lines[-1] == b"":
            lines.pop()
        with open(os.path.join(sys.argv[2], fname), "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
    # Sanity checks on formats that tests rely on.
    mk = sections["marker"][0].decode(errors="replace").split()
    if len(mk) != 5 or mk[0] != "marker" or not mk[4].startswith("TINYVMI-MARKER-"):
        fail("bad marker line: %r" % sections["marker"][0])
    for l in sections["tasks"]:
        if l and len(l.split(b"\t", 3)) != 4:
            fail("bad tasks line: %r" % l)
    tids = set(l.split(b"\t")[0] for l in sections["tasks"] if l)
    for l in sections["taskstate"]:
        f = l.split(b"\t")
        if l and (len(f) != 3 or len(f[1]) != 1 or not f[2].isdigit() or f[0] not in tids):
            fail("bad taskstate line: %r" % l)
    # Order tasks by (tgid, tid) numerically: the guest lists them in glob order.
    rows = [l for l in sections["tasks"] if l]
    rows.sort(key=lambda l: (int(l.split(b"\t")[1]), int(l.split(b"\t")[0])))
    with open(os.path.join(sys.argv[2], FILES["tasks"]), "wb") as f:
        f.write(b"\n".join(rows) + b"\n")


if __name__ == "__main__":
    main()
