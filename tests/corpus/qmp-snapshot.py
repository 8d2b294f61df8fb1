#!/usr/bin/env python3
"""Take a snapshot of a running QEMU over QMP (tinyvmi corpus helper).

Usage: qmp-snapshot.py QMP_SOCKET OUTDIR MEM_BYTES

Sequence: stop; info registers -> OUTDIR/regs.txt; dump-guest-memory
(paging=false, ELF) -> OUTDIR/mem.elf; pmemsave 0..MEM_BYTES -> OUTDIR/mem.raw;
query-version -> OUTDIR/qemu-version.txt; quit. Every step has a timeout and
failures name the step.
"""
import json
import os
import socket
import sys
import time


def fail(msg):
    sys.stderr.write("qmp-snapshot: %s\n" % msg)
    sys.exit(1)


class QMP:
    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > deadline:
                    fail("cannot connect to %s: %s" % (path, e))
                time.sleep(0.2)
        self.buf = b""
        greeting = self.read_msg(timeout)
        if "QMP" not in greeting:
            fail("unexpected greeting: %r" % greeting)
        self.cmd("qmp_capabilities", timeout=timeout)

    def read_msg(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, args=None, timeout=60):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.read_msg(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                fail("%s: no answer within %d s" % (name, timeout))
            except EOFError:
                if name == "quit":
                    return None
                fail("%s: QEMU closed the QMP connection" % name)
            if "event" in r:
                continue
            if "error" in r:
                fail("%s: %s" % (name, r["error"].get("desc", r["error"])))
            if "return" in r:
                return r["return"]


def main():
    if len(sys.argv) != 4:
        fail("usage: qmp-snapshot.py QMP_SOCKET OUTDIR MEM_BYTES")
    sock, outdir, mem = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3])
    q = QMP(sock, 30)
    q.cmd("stop")
    st = q.cmd("query-status")
    if st.get("running"):
        fail("stop: guest still running (%r)" % st)
    regs = q.cmd("human-monitor-command", {"command-line": "info registers"})
    with open(os.path.join(outdir, "regs.txt"), "w") as f:
        f.write(regs)
    q.cmd("dump-guest-memory", {"paging": False,
                                "protocol": "file:" + os.path.join(outdir, "mem.elf")},
          timeout=600)
    q.cmd("pmemsave", {"val": 0, "size": mem,
                       "filename": os.path.join(outdir, "mem.raw")}, timeout=600)
    v = q.cmd("query-version")
    with open(os.path.join(outdir, "qemu-version.txt"), "w") as f:
        qv = v["qemu"]
        f.write("%d.%d.%d%s\n" % (qv["major"], qv["minor"], qv["micro"], v.get("package", "")))
    q.cmd("quit", timeout=30)


if __name__ == "__main__":
    main()
