# shellcheck shell=bash
# Shared helpers of the tinyvmi lab (lab/build, lab/run, lab/selftest).
# Sourced, never executed. Needs bash 4+, set -euo pipefail in the caller.
#
# Caches (shared with tests/corpus/make-corpus where it makes sense):
#   $CACHE/debs/             downloaded .deb files, named as apt names them
#                            (shared with make-corpus; our temp dirs there are
#                            .lab-* because make-corpus removes .tmp-* ones)
#   $CACHE/apt/lab-<suite>/  our private apt configuration and lists
#   $CACHE/lab/<xen>/        the assembled lab (lab/build)

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
CACHE=${TINYVMI_CACHE:-$HOME/.cache/tinyvmi}
LAB_MIRROR=${TINYVMI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LAB_SECURITY_MIRROR=${TINYVMI_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
LAB_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
LAB_PROG=${LAB_PROG:-lab}

say() { echo "$LAB_PROG: $*" >&2; }
die() {
	echo "$LAB_PROG: ERROR: $*" >&2
	exit "${LAB_DIE_RC:-125}"
}

# now_ms: milliseconds since the epoch (for timings)
now_ms() { date +%s%3N; }
# secs_since MS: seconds (one decimal) elapsed since MS
secs_since() {
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# ---------------------------------------------------------------- versions
# lab_xen_known VERSION: is this a Xen series the lab knows how to build?
lab_xen_known() { [[ $1 == 4.20 || $1 == 4.17 ]]; }
# Debian suite that ships Xen VERSION (and the matching kernel).
lab_suite_of() {
	case "$1" in
	4.20) echo trixie ;;
	4.17) echo bookworm ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- host packages
# lab_need_pkgs PKG...: install the Debian packages that are missing (root).
lab_need_pkgs() {
	local missing=() p
	command -v dpkg-query >/dev/null || die "the lab needs a Debian host (dpkg-query not found)"
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) != installed ]]; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ $(id -u) -eq 0 ]] || die "missing host packages (run as root, or install them): ${missing[*]}"
	say "installing host packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update >&2 ||
		say "warning: apt-get update reported errors; trying the install anyway"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		die "step host-packages: apt-get install ${missing[*]} failed"
}

LAB_HOST_PKGS=(qemu-system-x86 busybox-static perl-base cpio gzip xz-utils zstd gcc libc6-dev
	binutils kmod util-linux coreutils findutils debian-archive-keyring apt ca-certificates)

# ---------------------------------------------------------------- private apt
# lab_apt SUITE: fills the array APTO with the options of a private apt
# configuration for SUITE (own sources, lists, cache; no host status, no host
# preferences). The host's apt state is never read or written.
APTO=()
lab_apt() {
	local suite=$1 d="$CACHE/apt/lab-$1"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	cat >"$d/sources.list.new" <<EOF
deb [signed-by=$LAB_KEYRING] $LAB_MIRROR $suite main
deb [signed-by=$LAB_KEYRING] $LAB_MIRROR $suite-updates main
deb [signed-by=$LAB_KEYRING] $LAB_SECURITY_MIRROR $suite-security main
EOF
	if cmp -s "$d/sources.list.new" "$d/sources.list"; then
		rm -f "$d/sources.list.new"
	else
		mv -f "$d/sources.list.new" "$d/sources.list"
	fi
	APTO=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
		-o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null -o Dir::Etc::Trusted=/dev/null
		-o Dir::Etc::TrustedParts=/dev/null
		-o APT::Architecture=amd64 -o APT::Architectures=amd64
		-o APT::Sandbox::User=root -o Debug::NoLocking=1 -o Acquire::Retries=3)
}

# lab_apt_update SUITE [force]: update the private lists of SUITE if they are
# missing (or when forced). Serialised by a lock of our own.
lab_apt_update() {
	local suite=$1 force=${2:-} d="$CACHE/apt/lab-$1" log
	lab_apt "$suite"
	if [[ -z $force ]] && compgen -G "$d/lists/*_Packages*" >/dev/null; then
		return 0
	fi
	log=$(mktemp /tmp/tinyvmi-lab-apt.XXXXXX)
	say "apt update of the private $suite lists"
	(
		flock -w 600 8 || exit 99
		apt-get "${APTO[@]}" -q update
	) 8>"$d/.lock" >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		die "step apt-update($suite): apt-get update failed"
	}
	rm -f "$log"
}

# lab_pkg_field SUITE PKG FIELD: a field of the candidate version of PKG.
lab_pkg_field() {
	lab_apt "$1"
	apt-cache "${APTO[@]}" show --no-all-versions "$2" 2>/dev/null |
		awk -v f="$3" 'index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }'
}

# lab_resolve SUITE PKG...: "PKG VERSION ARCH" of the candidate of each PKG
# found (one apt-cache call: each call costs about a second).
lab_resolve() {
	local suite=$1
	shift
	lab_apt "$suite"
	apt-cache "${APTO[@]}" show --no-all-versions "$@" 2>/dev/null | awk '
		/^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
		/^$/ { if (p != "") print p, v, a; p = "" }
		END { if (p != "") print p, v, a }'
}

# lab_deb_name PKG VERSION ARCH: the file name apt gives a downloaded deb.
lab_deb_name() {
	local v=${2//:/%3a}
	echo "${1}_${v}_${3}.deb"
}

# lab_fetch SUITE PKG...: make sure the candidate version of each PKG (in
# SUITE) is in $CACHE/debs; print their paths, one a line, in order.
lab_fetch() {
	local suite=$1 try p v a tmp f name
	shift
	local -A path=()
	lab_apt_update "$suite"
	for try in 1 2; do
		local want=()
		while read -r p v a; do
			name=$(lab_deb_name "$p" "$v" "$a")
			path[$p]=$CACHE/debs/$name
			[[ -s $CACHE/debs/$name ]] || want+=("$p=$v")
		done < <(lab_resolve "$suite" "$@")
		for p in "$@"; do
			[[ -n ${path[$p]:-} ]] && continue
			[[ $try == 1 ]] || die "step fetch($suite): no package '$p' in $suite"
		done
		if [[ ${#path[@]} -lt $# ]]; then
			lab_apt_update "$suite" force
			continue
		fi
		[[ ${#want[@]} -eq 0 ]] && break
		mkdir -p "$CACHE/debs"
		tmp=$(mktemp -d "$CACHE/debs/.lab-XXXXXX")
		say "downloading (${suite}): ${want[*]}"
		if (cd "$tmp" && apt-get "${APTO[@]}" -q download "${want[@]}" >"$tmp/log" 2>&1); then
			for f in "$tmp"/*.deb; do
				dpkg-deb -I "$f" >/dev/null 2>&1 || { rm -rf "$tmp"; die "step fetch($suite): $(basename "$f") is not a readable deb"; }
				mv -f "$f" "$CACHE/debs/"
			done
			rm -rf "$tmp"
			break
		fi
		# Stale lists (a version was replaced in the archive): refresh once.
		[[ $try == 1 ]] || { cat "$tmp/log" >&2; rm -rf "$tmp"; die "step fetch($suite): apt-get download ${want[*]} failed"; }
		rm -rf "$tmp"
		lab_apt_update "$suite" force
	done
	for p in "$@"; do
		[[ -s ${path[$p]} ]] || die "step fetch($suite): $p: ${path[$p]} missing after download"
		echo "${path[$p]}"
	done
}

# lab_deb_deps DEB: names of the packages DEB depends on (Pre-Depends and
# Depends; the first of alternatives; no versions, no :any).
lab_deb_deps() {
	{
		dpkg-deb -f "$1" Pre-Depends
		dpkg-deb -f "$1" Depends
	} | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u
}

# ---------------------------------------------------------------- ELF helpers
# lab_is_elf FILE
lab_is_elf() {
	local m=
	[[ -f $1 && ! -L $1 ]] || return 1
	LC_ALL=C IFS= read -r -N 4 m <"$1" 2>/dev/null || true
	[[ $m == $'\x7fELF' ]]
}
# lab_needed FILE: its DT_NEEDED sonames
lab_needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# lab_interp FILE: its PT_INTERP ("" for static)
lab_interp() { readelf -l "$1" 2>/dev/null | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p'; }
# lab_soname FILE
lab_soname() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }

# ---------------------------------------------------------------- locks
# lab_lock FD FILE WAIT_SECS WHAT: take an exclusive lock, waiting at most
# WAIT_SECS and saying so.
lab_lock() {
	local fd=$1 file=$2 wait=$3 what=$4
	mkdir -p "$(dirname "$file")"
	eval "exec $fd>\"\$file\""
	if ! flock -n "$fd"; then
		say "waiting for $what (lock $file, at most ${wait}s)"
		flock -w "$wait" "$fd" || die "timed out after ${wait}s waiting for $what ($file)"
	fi
}
