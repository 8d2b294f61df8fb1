#!/bin/bash
# tinyvmi sym and linux-info on the real corpus (tests/corpus/make-corpus),
# against the guest's own /proc/kallsyms, uname and meta.env; then the
# profile options (--sysmap, --profile .json/.json.xz, --btf, --config
# with --domain), built here from the guest's truth as test_profiles does,
# must give the same answers; another kernel's profile, bad paths and bad
# option combinations must fail with the right exit code and message.
#
# env: TINYVMI (the command), TVMI_SOURCE_DIR; TVMI_ALLOW_NO_CORPUS=1 turns
# "no snapshots" into a skip. Last line: "N passed, M failed".
set -u

. "$(dirname "$0")/lib.sh"
corpus_dirs
out_is() { [[ $(cat "$W/out") == "$1" ]] && ok || bad "$what: printed '$(head -c 200 "$W/out")', want '$1'"; }

# text_is LABEL VALUE: the "LABEL:   VALUE" line of a text output.
text_is() {
	local got
	got=$(awk -v l="$1" 'index($0, l ":") == 1 { sub(/^[^:]*: +/, ""); print; exit }' "$W/out")
	[[ $got == "$2" ]] && ok || bad "$what: $1 is '$got', want '$2'"
}
meta() { sed -n "s/^$1=//p" "$dir/meta.env" | head -n 1 | tr -d "'\""; }

# ---- zero-config ------------------------------------------------------------

# Core symbols of the guest (no [module] field), a sample of names unique
# there and in the kernel image (per-CPU offsets are no addresses to look
# up), each with its first line (/proc/kallsyms is in address order).
sample_symbols() {
	awk 'NF == 3' "$dir/truth/kallsyms.txt" >"$W/core"
	awk '{ n[$3]++; k[$3] = $1 ~ /^ffffffff/ }
		END { for (s in n) if (n[s] == 1 && k[s]) print s }' "$W/core" |
		sort | awk 'NR % 9001 == 1' >"$W/names"
	printf '%s\n' _text linux_banner init_task init_top_pgt start_kernel >>"$W/names"
}

check_sym() {
	local nm line addr type next first off
	while read -r nm; do
		line=$(awk -v s="$nm" '$3 == s { print; exit }' "$W/core")
		read -r addr type _ <<<"$line"
		run --file "$dir/mem.raw" sym "$nm"
		want_rc 0
		out_is "$line"
		# the address back: the first symbol at it, and +0x10 inside it
		first=$(awk -v a="$addr" '$1 == a { print $3; exit }' "$W/core")
		run --file "$dir/mem.raw" sym "0x$addr"
		want_rc 0
		out_is "$addr $first"
		next=$(awk -v a="$addr" '$1 > a { print $1; exit }' "$W/core")
		if [[ -n $next && $((16#${next:8} - 16#${addr:8})) -gt 16 ]]; then
			off=$(printf '%016x' $((16#$addr + 16)))
			run --file "$dir/mem.raw" sym "0x$off"
			want_rc 0
			out_is "$off $first+0x10"
		fi
	done <"$W/names"
	run --file "$dir/mem.raw" --json sym linux_banner
	want_rc 0
	line=$(awk '$3 == "linux_banner" { print; exit }' "$W/core")
	json_is address "0x${line%% *}"
	json_is name linux_banner
	json_is type "$(awk '{ print $2 }' <<<"$line")"
	run --file "$dir/mem.raw" --json sym "0x${line%% *}"
	want_rc 0
	json_is offset 0
	json_is symbol_address "0x${line%% *}"
	run --file "$dir/mem.raw" sym no_such_symbol_anywhere
	want_rc 1
	err_has "no_such_symbol_anywhere"
	run --file "$dir/mem.raw" sym 0x1000
	want_rc 1
	err_has "outside the kernel image"
}

check_info() {
	local text paging release version count
	text=$(meta TEXT)
	paging=$(meta PAGING)
	release=$(sed -n 1p "$dir/truth/uname.txt")
	version=$(sed -n 2p "$dir/truth/uname.txt")
	count=$(wc -l <"$W/core")
	run --file "$dir/mem.elf" linux-info
	want_rc 0
	text_is release "$release"
	text_is "_text VA" "$text"
	text_is "paging levels" "$paging"
	run --file "$dir/mem.raw" --json linux-info
	want_rc 0
	json_is banner "$version"
	json_is text_va "$text"
	json_is virt_slide "$(printf '0x%x' $((text - 0xffffffff81000000)))"
	json_is paging_levels "$paging"
	json_is symbols "$count"
	json_is checks.phys_base ok
	json_is page_mode "$([[ $paging == 5 ]] && echo la57 || echo ia32e)"
	[[ $(jget symbol_source) == "kallsyms tables in guest memory"* ]] && ok ||
		bad "$what: symbol_source '$(jget symbol_source)'"
	[[ $(jget type_source) == "BTF in guest memory"* ]] && ok ||
		bad "$what: type_source '$(jget type_source)'"
}

# ---- profiles ---------------------------------------------------------------

# Per kernel, once: $W/<kver>.{map,btf,json,json.xz}, pahole's offsets.
make_profiles() {
	local k=$1 vmlinux
	vmlinux=$(meta VMLINUX)
	python3 "$SRC/tests/tools/make-sysmap.py" "$dir/truth/kallsyms.txt" "$(meta TEXT)" "$W/$k.map" &&
		objcopy -O binary --only-section=.BTF "$vmlinux" "$W/$k.btf" &&
		python3 "$SRC/tests/tools/make-isf.py" --btf "$W/$k.btf" --sysmap "$W/$k.map" \
			--banner "$(sed -n 2p "$dir/truth/uname.txt")" -o "$W/$k.json" &&
		xz -1 -k -c "$W/$k.json" >"$W/$k.json.xz" ||
		{ bad "could not build the profiles of $k"; return 1; }
	pahole -C task_struct "$vmlinux" >"$W/$k.task" 2>/dev/null
	pahole -C mm_struct "$vmlinux" >"$W/$k.mm" 2>/dev/null
}

# pahole_off FILE MEMBER: the offset pahole prints for MEMBER.
pahole_off() {
	awk -v m="$2" '{ for (i = 1; i <= NF; i++) if ($i == m ";" || index($i, m "[") == 1) {
		sub(/.*\/\* */, ""); print $1; exit } }' "$1"
}

same_as_zero_config() {
	local src=$1 addr type
	shift
	read -r addr type _ <<<"$init_task_line"
	run --file "$dir/mem.raw" "$@" sym init_task
	want_rc 0
	# an ISF has no type letters: '?' unless its symbol type says one
	if [[ $src == ISF ]]; then
		out_is "$addr ? init_task"
	else
		out_is "$init_task_line"
	fi
	run --file "$dir/mem.raw" "$@" --json linux-info
	want_rc 0
	[[ $(jget symbol_source) == "$src"* || $(jget type_source) == "$src"* ]] && ok ||
		bad "$what: sources '$(jget symbol_source)' / '$(jget type_source)', want $src"
	json_is text_va "$(meta TEXT)"
	json_is checks.profile_slide "$(printf '0x%x' $(($(meta TEXT) - 0xffffffff81000000)))"
	[[ $(jget checks.profile_banner) != mismatch && $(jget checks.profile_symbols) != mismatch ]] && ok ||
		bad "$what: profile checks"
}

check_profiles() {
	local k=$1 other=$2 tasks
	init_task_line=$(awk '$3 == "init_task" { print; exit }' "$W/core")
	same_as_zero_config "System.map" --sysmap "$W/$k.map"
	json_is checks.profile_symbols ok
	same_as_zero_config "ISF" --profile "$W/$k.json"
	json_is checks.profile_types ok
	same_as_zero_config "ISF" --profile "$W/$k.json.xz"
	same_as_zero_config "BTF file" --btf "$W/$k.btf"
	json_is checks.profile_types ok
	same_as_zero_config "System.map" --sysmap "$W/$k.map" --btf "$W/$k.btf"

	tasks=$(pahole_off "$W/$k.task" tasks)
	{
		echo "# libvmi.conf for the test"
		echo "other { ostype = \"Windows\"; }"
		echo "mem.raw {"
		echo "    ostype = \"Linux\";"
		echo "    sysmap = \"$W/$k.map\";"
		echo "    linux_tasks = $tasks;"
		echo "    linux_mm = $(pahole_off "$W/$k.task" mm);"
		echo "    linux_pid = $(pahole_off "$W/$k.task" pid);"
		echo "    linux_name = $(pahole_off "$W/$k.task" comm);"
		echo "    linux_pgd = $(pahole_off "$W/$k.mm" pgd);"
		echo "}"
		echo "wrong { sysmap = \"$W/$k.map\"; linux_tasks = $((tasks + 8)); }"
	} >"$W/libvmi.conf"
	same_as_zero_config "System.map" --config "$W/libvmi.conf"
	json_is checks.profile_types ok
	same_as_zero_config "System.map" --config "$W/libvmi.conf" --domain mem.raw
	run --file "$dir/mem.raw" --config "$W/libvmi.conf" --domain wrong sym init_task
	want_rc 1
	err_has "disagrees"
	err_has "task_struct.tasks is $((tasks + 8))"
	err_has "but $tasks ("
	run --file "$dir/mem.raw" --config "$W/libvmi.conf" --domain other sym init_task
	want_rc 1
	err_has 'ostype = "Windows"'
	run --file "$dir/mem.raw" --config "$W/libvmi.conf" --domain nope sym init_task
	want_rc 1
	err_has "no entry 'nope'"

	# another kernel's profiles
	run --file "$dir/mem.raw" --sysmap "$W/$other.map" linux-info
	want_rc 1
	err_has "disagrees with memory"
	run --file "$dir/mem.raw" --json --profile "$W/$other.json" linux-info
	want_rc 1
	err_has "disagrees"
	[[ $(jget error) == *disagrees* ]] && ok || bad "$what: JSON error '$(jget error)'"
	run --file "$dir/mem.raw" --btf "$W/$other.btf" sym init_task
	want_rc 1
	err_has "disagrees with BTF in memory"
}

check_bad_options() {
	run --file "$dir/mem.raw" --sysmap "$W/nonexistent.map" sym init_task
	want_rc 1
	err_has "nonexistent.map: No such file or directory"
	run --file "$dir/mem.raw" --profile "$W" sym init_task
	want_rc 1
	err_has "is a directory"
	run --file "$dir/mem.raw" --btf "$W/libvmi.conf" sym init_task
	want_rc 1
	err_has "bad header"
	run --file "$dir/mem.raw" --profile "$W/libvmi.conf" sym init_task
	want_rc 1
	err_has "at byte 0"
	run --file "$dir/mem.raw" --sysmap "$W/libvmi.conf" sym init_task
	want_rc 1
	err_has "line 1"
	run --file "$dir/mem.raw" --domain x sym init_task
	want_rc 2
	run --file "$dir/mem.raw" --config "$W/libvmi.conf" --sysmap x sym init_task
	want_rc 2
	run --file "$dir/mem.raw" sym
	want_rc 2
	run --file "$dir/mem.raw" sym 0xzz
	want_rc 2
	run --file "$dir/mem.raw" sym a b
	want_rc 2
	run sym init_task
	want_rc 2
	run --file "$W/nope.raw" sym init_task
	want_rc 1
}

declare -A built
kernels=()
first_dir=${dirs%%$'\n'*}
while IFS= read -r dir; do
	k=$(meta KVER)
	[[ -n ${built[$k]:-} ]] && continue
	name=$k
	make_profiles "$k" && built[$k]=1 && kernels+=("$k")
done <<<"$dirs"

while IFS= read -r dir; do
	name=${dir##*/}
	k=$(meta KVER)
	sample_symbols
	check_sym
	check_info
	other=""
	for o in "${kernels[@]}"; do [[ $o != "$k" ]] && other=$o; done
	if [[ -n ${built[$k]:-} && -n $other ]]; then
		check_profiles "$k" "$other"
	else
		bad "no profiles of $k and another kernel to test with"
	fi
done <<<"$dirs"
dir=$first_dir
name=${dir##*/}
check_bad_options

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
