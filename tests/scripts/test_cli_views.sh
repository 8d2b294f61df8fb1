#!/usr/bin/env bash
# `tinyvmi ps | modules | dmesg` on every real snapshot, zero-config, checked
# against what the guest itself reported before the dump: its tasks (from
# /proc), /proc/modules and a line it wrote to /dev/kmsg. Also on the raw
# image (no registers at all) and with --json.
set -uo pipefail
tv=${TINYVMI:?set TINYVMI to the tinyvmi binary}
src=${TVMI_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }

snaps=$(bash "$src/tests/corpus/list")
if [ -z "$snaps" ]; then
    if [ "${TVMI_ALLOW_NO_CORPUS:-0}" = 1 ]; then echo "skipped: no corpus"; echo "0 passed, 0 failed"; exit 0; fi
    echo "FAIL: no snapshot corpus: run tests/corpus/make-corpus"; echo "0 passed, 1 failed"; exit 1
fi

# Compares ps --json with truth/tasks.tsv: every task the guest listed must
# be there with the same pid, tid, ppid and comm; tinyvmi may add only pid 0.
compare_ps() { # json truth
    python3 - "$1" "$2" <<'PY'
import json, sys
got = {(t["tid"]): t for t in json.load(open(sys.argv[1]))}
want = {}
for line in open(sys.argv[2]):
    tid, tgid, ppid, comm = line.rstrip("\n").split("\t", 3)
    want[int(tid)] = (int(tgid), int(ppid), comm)
# task->comm holds 15 characters; /proc shows kernel threads under their
# longer names (kthread full_name), and workqueue workers with "-<the
# workqueue it is running>" appended (6.x).
def same_comm(ours, theirs):
    return (ours == theirs or (len(theirs) > 15 and theirs[:15] == ours)
            or (ours.startswith("kworker/") and theirs.startswith(ours + "-")))
errs = []
for tid, (tgid, ppid, comm) in want.items():
    t = got.get(tid)
    if not t:
        errs.append(f"tid {tid} ({comm}) missing")
    elif (t["pid"], t["ppid"]) != (tgid, ppid) or not same_comm(t["comm"], comm):
        errs.append(f"tid {tid}: got {(t['pid'], t['ppid'], t['comm'])}, guest said {(tgid, ppid, comm)}")
extra = [t for tid, t in got.items() if tid not in want and tid != 0]
errs += [f"extra task {t['tid']} ({t['comm']})" for t in extra]
if 0 not in got:
    errs.append("pid 0 (swapper) missing")
if errs:
    print("; ".join(errs[:10]))
    sys.exit(1)
PY
}

compare_modules() { # json truth
    python3 - "$1" "$2" <<'PY'
import json, sys
got = [(m["name"], int(m["base"], 16), m["size"]) for m in json.load(open(sys.argv[1]))]
want = []
for line in open(sys.argv[2]):
    f = line.split()
    want.append((f[0], int(f[5], 16), int(f[1])))
if got != want:
    print(f"got {got}, guest said {want}")
    sys.exit(1)
PY
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in $snaps; do
    n=$(basename "$d")
    for f in mem.elf mem.raw; do
        if "$tv" --file "$d/$f" --json ps >"$tmp/ps.json" 2>"$tmp/err"; then
            if msg=$(compare_ps "$tmp/ps.json" "$d/truth/tasks.tsv"); then ok; else bad "$n/$f ps: $msg"; fi
        else bad "$n/$f ps failed: $(cat "$tmp/err")"; fi
        if "$tv" --file "$d/$f" --json modules >"$tmp/mod.json" 2>"$tmp/err"; then
            if msg=$(compare_modules "$tmp/mod.json" "$d/truth/modules.txt"); then ok; else bad "$n/$f modules: $msg"; fi
        else bad "$n/$f modules failed: $(cat "$tmp/err")"; fi
    done
    line=$(cat "$d/truth/dmesg-line.txt")
    if "$tv" --file "$d/mem.elf" dmesg >"$tmp/dmesg" 2>"$tmp/err"; then
        grep -qF "] $line" "$tmp/dmesg" && ok || bad "$n dmesg lacks '$line'"
        head -n1 "$tmp/dmesg" | grep -q '^\[    0.000000\] Linux version ' && ok \
            || bad "$n dmesg does not start with the kernel's banner: $(head -n1 "$tmp/dmesg")"
    else bad "$n dmesg failed: $(cat "$tmp/err")"; fi
    # The text table names the guest's own processes.
    "$tv" --file "$d/mem.elf" ps >"$tmp/ps.txt" 2>&1
    for c in target-alpha target-beta target-gamma "target (odd)" marker; do
        grep -qF " $c " "$tmp/ps.txt" && ok || bad "$n ps text lacks '$c'"
    done
done

# Not a Linux guest: a clear failure, exit 1.
head -c 1048576 /dev/zero >"$tmp/zero.raw"
"$tv" --file "$tmp/zero.raw" ps >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "kallsyms" "$tmp/err" && ok || bad "ps on zeros: rc=$rc, $(cat "$tmp/err")"
"$tv" --file "$tmp/zero.raw" ps extra >/dev/null 2>&1; [ $? = 2 ] && ok || bad "ps with an extra argument is not a usage error"

echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
