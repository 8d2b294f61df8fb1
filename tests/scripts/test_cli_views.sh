#!/usr/bin/env bash
# `tinyvmi ps | modules | dmesg` on every real snapshot, zero-config, checked
# against what the guest itself reported before the dump: its tasks (from
# /proc), /proc/modules and a line it wrote to /dev/kmsg. Also on the raw
# image (no registers at all) and with --json. Then again with the BTF in
# memory put aside (memory_btf = no in a libvmi.conf) and the layouts from
# an ISF made by tests/tools/make-isf.py from the vmlinux's .BTF; without
# either, the views must say there are no layouts.
set -u

. "$(dirname "$0")/lib.sh"
corpus_dirs

# Compares ps --json with truth/tasks.tsv: every task the guest listed must
# be there with the same pid, tid, ppid and comm, and (task-state.tsv) uid;
# a process's state letter too (kernel threads and init, which wrote the
# truth, may have moved on). tinyvmi may add only pid 0.
compare_ps() { # json truth
    python3 - "$1" "$2" <<'PY'
import json, os, sys
got = {(t["tid"]): t for t in json.load(open(sys.argv[1]))}
want = {}
for line in open(sys.argv[2]):
    tid, tgid, ppid, comm = line.rstrip("\n").split("\t", 3)
    want[int(tid)] = (int(tgid), int(ppid), comm)
state = {}
for line in open(os.path.join(os.path.dirname(sys.argv[2]), "task-state.tsv")):
    tid, st, uid = line.rstrip("\n").split("\t")
    state[int(tid)] = (st, int(uid))
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
    elif t["uid"] != state[tid][1]:
        errs.append(f"tid {tid} ({comm}): uid {t['uid']}, guest said {state[tid][1]}")
    elif not t["kernel_thread"] and tid != 1 and t["state"] != state[tid][0]:
        errs.append(f"tid {tid} ({comm}): state {t['state']}, guest said {state[tid][0]}")
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

# isf_conf KVER VMLINUX: $W/KVER.conf, an entry naming the kernel's ISF
# (types only, made once per kernel) with memory's BTF put aside.
isf_conf() {
    [[ -e $W/$1.conf ]] && return 0
    objcopy -O binary --only-section=.BTF "$2" "$W/$1.btf" &&
        python3 "$SRC/tests/tools/make-isf.py" --btf "$W/$1.btf" -o "$W/$1.json" ||
        return 1
    printf 'isf {\n    volatility_ist = "%s";\n    memory_btf = no;\n}\n' \
        "$W/$1.json" >"$W/$1.conf"
}

# The views again, with the ISF's layouts.
check_isf_views() {
    local kver vmlinux
    kver=$(sed -n "s/^KVER=//p" "$d/meta.env" | tr -d "'\"")
    vmlinux=$(sed -n "s/^VMLINUX=//p" "$d/meta.env" | tr -d "'\"")
    if ! isf_conf "$kver" "$vmlinux"; then
        bad "could not make the ISF of $kver"
        return
    fi
    run --file "$d/mem.raw" --config "$W/$kver.conf" --json linux-info
    grep -qF '"type_source":"ISF ' "$W/out" && ok || bad "isf: types not from the ISF"
    run --file "$d/mem.raw" --config "$W/$kver.conf" --json ps
    if [[ $rc == 0 ]]; then
        if msg=$(compare_ps "$W/out" "$d/truth/tasks.tsv"); then ok; else bad "isf ps: $msg"; fi
    else bad "isf ps failed"; fi
    run --file "$d/mem.raw" --config "$W/$kver.conf" --json modules
    if [[ $rc == 0 ]]; then
        if msg=$(compare_modules "$W/out" "$d/truth/modules.txt"); then ok; else bad "isf modules: $msg"; fi
    else bad "isf modules failed"; fi
    run --file "$d/mem.raw" --config "$W/$kver.conf" dmesg
    [[ $rc == 0 ]] && grep -qF "] $line" "$W/out" && ok || bad "isf dmesg lacks '$line'"
}

# The views from files a user already has, with memory's BTF put aside:
# System.map (the guest's kallsyms without modules) and the vmlinux itself
# (its .BTF section read from the ELF), by options and by a libvmi.conf.
check_file_views() {
    local kver vmlinux what_
    kver=$(sed -n "s/^KVER=//p" "$d/meta.env" | tr -d "'\"")
    vmlinux=$(sed -n "s/^VMLINUX=//p" "$d/meta.env" | tr -d "'\"")
    # as Debian's System.map would be: no modules, no KASLR slide
    python3 - "$d/truth/kallsyms.txt" "$(sed -n "s/^TEXT=//p" "$d/meta.env" | tr -d "'\"")" \
        >"$W/$kver.map" <<'PY'
import sys
slide = int(sys.argv[2], 16) - 0xffffffff81000000
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 3:
        continue
    a = int(f[0], 16)
    if a >= 0xffffffff80000000:
        a -= slide
    print(f"{a:016x} {f[1]} {f[2]}")
PY
    printf 'files {\n    sysmap = "%s";\n    btf = "%s";\n    memory_btf = no;\n}\n' \
        "$W/$kver.map" "$vmlinux" >"$W/$kver.files.conf"
    for how in options conf; do
        local opts=(--sysmap "$W/$kver.map" --btf "$vmlinux")
        [[ $how == conf ]] && opts=(--config "$W/$kver.files.conf")
        run --file "$d/mem.raw" "${opts[@]}" --json linux-info
        grep -qF '"type_source":"BTF file ' "$W/out" && grep -qF '"symbol_source":"System.map ' "$W/out" &&
            ok || bad "$how: sources are not the files: $(grep -o '"[a-z]*_source":"[^"]*"' "$W/out" | tr '\n' ' ')"
        run --file "$d/mem.raw" "${opts[@]}" --json ps
        if [[ $rc == 0 ]]; then
            if msg=$(compare_ps "$W/out" "$d/truth/tasks.tsv"); then ok; else bad "$how ps: $msg"; fi
        else bad "$how ps failed"; fi
        run --file "$d/mem.raw" "${opts[@]}" --json modules
        if [[ $rc == 0 ]]; then
            if msg=$(compare_modules "$W/out" "$d/truth/modules.txt"); then ok; else bad "$how modules: $msg"; fi
        else bad "$how modules failed"; fi
        run --file "$d/mem.raw" "${opts[@]}" dmesg
        [[ $rc == 0 ]] && grep -qF "] $line" "$W/out" && ok || bad "$how dmesg lacks '$line'"
    done
}

while IFS= read -r d; do
    name=${d##*/}
    for f in mem.elf mem.raw; do
        run --file "$d/$f" --json ps
        if [[ $rc == 0 ]]; then
            if msg=$(compare_ps "$W/out" "$d/truth/tasks.tsv"); then ok; else bad "$f ps: $msg"; fi
        else bad "$f ps failed"; fi
        run --file "$d/$f" --json modules
        if [[ $rc == 0 ]]; then
            if msg=$(compare_modules "$W/out" "$d/truth/modules.txt"); then ok; else bad "$f modules: $msg"; fi
        else bad "$f modules failed"; fi
    done
    line=$(cat "$d/truth/dmesg-line.txt")
    run --file "$d/mem.elf" dmesg
    if [[ $rc == 0 ]]; then
        grep -qF "] $line" "$W/out" && ok || bad "dmesg lacks '$line'"
        head -n1 "$W/out" | grep -q '^\[    0.000000\] Linux version ' && ok \
            || bad "dmesg does not start with the kernel's banner: $(head -n1 "$W/out")"
    else bad "dmesg failed"; fi
    # The text table names the guest's own processes.
    run --file "$d/mem.elf" ps
    for c in target-alpha target-beta target-gamma "target (odd)" marker; do
        grep -qF " $c " "$W/out" && ok || bad "ps text lacks '$c'"
    done
    check_isf_views
    check_file_views
done <<<"$dirs"
name=

# Neither BTF nor ISF types: a plain failure.
printf 'nothing {\n    memory_btf = no;\n}\n' >"$W/none.conf"
d=${dirs%%$'\n'*}
for c in ps modules dmesg; do
    run --file "$d/mem.raw" --config "$W/none.conf" "$c"
    want_rc 1
    err_has "no structure layouts: no BTF (BTF in memory not used"
done

# Not a Linux guest: a clear failure, exit 1.
head -c 1048576 /dev/zero >"$W/zero.raw"
run --file "$W/zero.raw" ps
[[ $rc == 1 ]] && grep -q "kallsyms" "$W/err" && ok || bad "ps on zeros: rc=$rc"
run --file "$W/zero.raw" ps extra
want_rc 2

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
