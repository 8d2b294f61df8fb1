#!/bin/bash
# The tinyvmi command on real Linux snapshots (tests/corpus/make-corpus):
# for each snapshot, the paging mode and CR3 that info reports match the
# guest's, the kernel's linux_banner (address from the guest's own
# /proc/kallsyms) reads as "Linux version ", its translation leads to the
# same bytes read physically, the marker process's string is at the
# physical address the guest reported, and the raw and LiME copies, given
# CR3 and the mode by hand, give the same answers as the ELF core.
#
# env: TINYVMI (the command), TVMI_SOURCE_DIR; TVMI_ALLOW_NO_CORPUS=1 turns
# "no snapshots" into a skip. Last line: "N passed, M failed".
set -u

. "$(dirname "$0")/lib.sh"
corpus_dirs

# same_number A B: both are numbers (decimal or 0x hex, at most 64 bits) of
# equal value; bash arithmetic wraps at 64 bits the same way on both sides.
same_number() {
	local num='^(0x[0-9a-fA-F]{1,16}|[0-9]{1,19})$'
	[[ $1 =~ $num && $2 =~ $num ]] && (($1 == $2))
}
number_is() {
	local got
	got=$(jget "$1")
	same_number "$got" "$2" && ok || bad "$what: JSON $1 is '$got', want $2"
}
# meta KEY: a value from meta.env, quotes removed.
meta() { sed -n "s/^$1=//p" "$dir/meta.env" | head -n 1 | tr -d "'\""; }

# Checks one copy of the snapshot; target is the command-line target and
# paging options for it. The ELF core's answers are the reference.
check_copy() {
	local file=$1 ref=$2
	shift 2
	local -a tgt=(--file "$dir/$file" "$@")

	run "${tgt[@]}" read "$banner" 64 --va --raw
	want_rc 0
	cp "$W/out" "$W/banner.$file"
	[[ $(head -c 14 "$W/out") == "Linux version " ]] && ok ||
		bad "$what: linux_banner reads '$(head -c 40 "$W/out" | tr -c '[:print:]' .)'"
	if [[ -n $ref ]]; then
		cmp -s "$W/out" "$W/banner.$ref" && ok || bad "$what: bytes differ from $ref"
	fi

	run "${tgt[@]}" --json translate "$banner"
	want_rc 0
	local pa size
	pa=$(jget pa)
	size=$(jget page_size)
	[[ $size == 4096 || $size == 2097152 || $size == 1073741824 ]] && ok ||
		bad "$what: page size '$size'"
	[[ $(jget page_mode) == "$mode" ]] && ok || bad "$what: page_mode '$(jget page_mode)', want $mode"
	if [[ -n $ref ]]; then
		same_number "$pa" "$ref_pa" && ok || bad "$what: PA $pa, the ELF core says $ref_pa"
	else
		ref_pa=$pa
	fi
	if [[ $pa =~ ^0x[0-9a-f]+$ ]]; then
		run --file "$dir/$file" read "$pa" 64 --raw
		want_rc 0
		cmp -s "$W/out" "$W/banner.$file" && ok ||
			bad "$what: physical bytes differ from those read at VA $banner"
	else
		bad "translate gave no physical address ('$pa')"
	fi

	run --file "$dir/$file" read "0x$marker_pa" "${#marker_str}" --raw
	want_rc 0
	[[ $(cat "$W/out") == "$marker_str" ]] && ok ||
		bad "$what: marker reads '$(tr -c '[:print:]' . <"$W/out")', want '$marker_str'"
}

check_snapshot() {
	local cr3 paging mem_mb
	cr3=$(meta CR3)
	paging=$(meta PAGING)
	mem_mb=$(meta MEM_MB)
	case $paging in
	4) mode=ia32e ;;
	5) mode=la57 ;;
	*) bad "meta.env: PAGING='$paging'"; return ;;
	esac
	banner=$(awk '$3 == "linux_banner" { print "0x" $1; exit }' "$dir/truth/kallsyms.txt")
	if [[ -z $banner || $banner =~ ^0x0+$ ]]; then
		bad "truth/kallsyms.txt: no linux_banner address"
		return
	fi
	read -r _ _ _ marker_pa marker_str <"$dir/truth/marker.txt"

	run --file "$dir/mem.elf" info --json
	want_rc 0
	[[ $(jget page_mode) == "$mode" ]] && ok || bad "$what: page_mode '$(jget page_mode)', want $mode"
	[[ $(jget driver) == snapshot-elf ]] && ok || bad "$what: driver '$(jget driver)'"
	number_is registers.0.registers.cr3 "$cr3"
	number_is kernel_dtb "$cr3"
	run --file "$dir/mem.raw" info --json
	want_rc 0
	number_is memsize $((mem_mb << 20))
	[[ $(jget page_mode) == unknown ]] && ok || bad "$what: a raw image has no registers, yet page_mode '$(jget page_mode)'"

	check_copy mem.elf ""
	check_copy mem.raw mem.elf --dtb "$cr3" --mode "$mode"
	check_copy mem.lime mem.elf --dtb "$cr3" --mode "$mode"
}

while IFS= read -r dir; do
	name=${dir##*/}
	check_snapshot
	rm -f "$W"/banner.*
done <<<"$dirs"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
