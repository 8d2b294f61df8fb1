#!/bin/bash
# The CLI's main commands under valgrind on a real snapshot: no invalid
# read or write, no use of uninitialised memory, no leak (definite or
# indirect) on the success paths and on a few error paths. The snapshot is
# the 6.1 4-level KASLR ELF core when the corpus has it (the first one
# otherwise); each command also gets the exit status it must have, so a
# command that stops early cannot pass by doing nothing.
#
# env: TINYVMI = the built command (ctest sets it). Last line: "N passed, M failed".
set -u

. "$(dirname "$0")/lib.sh"

if [[ ${TVMI_SANITIZED:-0} == 1 ]]; then
	# valgrind cannot run a program built with ASan; the plain build's run
	# of this test is the one that counts.
	echo "skipped: this build uses ASan + UBSan, which valgrind cannot run"
	echo "0 passed, 0 failed"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "skipped: valgrind is not installed (scripts/deps.sh installs it)"
	echo "0 passed, 0 failed"
	exit 0
fi
corpus_dirs
dir=$(grep -m1 '/6\.1\.0-[^/]*-l4-kaslr$' <<<"$dirs" || head -n1 <<<"$dirs")
name=${dir##*/}
snap=$dir/mem.elf
VGERR=99
# (--track-origins=yes says where an uninitialised value came from, at
# twice the time: add it when chasing one.)
vg=(valgrind -q --error-exitcode=$VGERR --leak-check=full
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
	--num-callers=30)

# vrun RC ARGS...: tinyvmi ARGS under valgrind must exit RC, and valgrind
# must have nothing to say.
vrun() {
	local want=$1
	shift
	what="valgrind tinyvmi $*"
	"${vg[@]}" "$T" "$@" >"$W/out" 2>"$W/err"
	rc=$?
	if [[ $rc == "$VGERR" ]] || grep -q '^==[0-9]*==' "$W/err"; then
		bad "$what: valgrind reports errors:"
		grep '^==[0-9]*==' "$W/err" | head -n 40
	elif [[ $rc != "$want" ]]; then
		bad "$what: exit $rc, want $want"
	else
		ok
	fi
}
# out_has TEXT: this run's stdout holds TEXT (the command did its work).
out_has() { grep -qF -- "$1" "$W/out" && ok || bad "$what: stdout lacks '$1'"; }

start=$SECONDS
text=$(sed -n 's/^TEXT=//p' "$dir/meta.env")
module=$(sed -n "s/^MODULE='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" "$dir/meta.env")

vrun 0 --file "$snap" info
out_has "snapshot-elf"
vrun 0 --file "$snap" --json info
vrun 0 --file "$snap" linux-info
out_has "Linux version"
vrun 0 --file "$snap" --json linux-info
vrun 0 --file "$snap" ps
out_has " init "
vrun 0 --file "$snap" --json ps
vrun 0 --file "$snap" modules
out_has "${module:-dummy}"
vrun 0 --file "$snap" dmesg
out_has "Command line:"
vrun 0 --file "$snap" sym init_task
out_has "init_task"
vrun 0 --file "$snap" sym "$text"
vrun 0 --file "$snap" read 0x1000 256
vrun 0 --file "$snap" read "$text" 64 --va
vrun 0 --file "$snap" translate "$text"
out_has "$(printf '%x' "$text")"
vrun 0 --file "$snap" --json translate "$text"
vrun 0 --file "$snap" dump "$W/dump.elf"
[[ $(stat -c %s "$W/dump.elf" 2>/dev/null || echo 0) -gt $((256 << 20)) ]] && ok ||
	bad "dump: $W/dump.elf is smaller than the guest's RAM"
rm -f "$W/dump.elf"
vrun 0 --file "$snap" dump "$W/dump.lime" --format lime
rm -f "$W/dump.lime"

# Error paths free what they allocated too.
vrun 1 --file "$snap" sym no_such_symbol_anywhere
vrun 1 --file "$snap" read 0xfffffffffff00000 16
vrun 1 --file "$snap" translate 0x1000
vrun 1 --file "$snap" read 0 16 --va --pid 999999
vrun 1 --file "$W/missing.elf" info
vrun 2 --file "$snap" read

echo "valgrind: $name, $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
