# Shared by the CLI test scripts (sourced, not run): the command under test,
# a scratch directory, the pass/fail tally and the run-and-check helpers.
# The last line a script prints is "N passed, M failed" (see finish).

T=${TINYVMI:?set TINYVMI to the tinyvmi command to test}
SRC=${TVMI_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); }
# Failure messages name the snapshot being checked when $name is set.
bad() {
	failed=$((failed + 1))
	echo "FAIL: ${name:+[$name] }$*"
	[[ -s $W/err ]] && echo "  stderr: $(head -c 400 "$W/err")"
}

# run ARGS...: the command's stdout, stderr and exit status go to $W/out,
# $W/err and $rc; $what names the run in failure messages.
run() {
	rm -f "$W/flat"
	what="tinyvmi $*"
	"$T" "$@" >"$W/out" 2>"$W/err"
	rc=$?
}
want_rc() { [[ $rc == "$1" ]] && ok || bad "$what: exit $rc, want $1"; }
err_has() { grep -qF -- "$1" "$W/err" && ok || bad "$what: stderr lacks '$1'"; }

# Sets $dirs to the real snapshots (tests/corpus/list). None is a failure
# unless TVMI_ALLOW_NO_CORPUS=1, which makes it a skip.
corpus_dirs() {
	if ! dirs=$("$SRC/tests/corpus/list"); then
		echo "FAIL: $SRC/tests/corpus/list failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	[[ -n $dirs ]] && return
	if [[ ${TVMI_ALLOW_NO_CORPUS:-0} == 1 ]]; then
		echo "skipped: no corpus snapshots (TVMI_ALLOW_NO_CORPUS=1)"
		exit 0
	fi
	echo "FAIL: no corpus snapshots: run tests/corpus/make-corpus first" \
		"(or set TVMI_ALLOW_NO_CORPUS=1 to skip this test)"
	echo "0 passed, 1 failed"
	exit 1
}

# jget PATH: the member at PATH (a.0.b; "#" = length of a list) of the JSON
# on stdout: strings bare, anything else as JSON, "<missing>" if absent.
# Python starts slowly, so each run's stdout is parsed (with json.load, as
# python3 -m json.tool does) once, into "path<TAB>value" lines in $W/flat,
# a file so that it outlives the $(...) subshell that made it.
jflat() {
	[[ -e $W/flat ]] && return
	python3 - "$W/out" >"$W/flat" <<'EOF'
import json, sys
def walk(path, d):
    key = ".".join(path)
    if isinstance(d, str):
        print(key + "\t" + d.replace("\n", "\\n"))
        return
    print(key + "\t" + json.dumps(d))
    if isinstance(d, list):
        print(".".join(path + ["#"]) + "\t" + str(len(d)))
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else []
    for k, v in items:
        walk(path + [str(k)], v)
try:
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:
    print("<valid>\tno: %s" % e)
    sys.exit(0)
print("<valid>\tyes")
walk([], doc)
EOF
}
jget() {
	jflat
	awk -F '\t' -v k="$1" '$1 == k { print substr($0, length(k) + 2); f = 1; exit }
		END { if (!f) print "<missing>" }' "$W/flat"
}
json_is() {
	local got
	got=$(jget "$1")
	[[ $got == "$2" ]] && ok || bad "$what: JSON $1 is '$got', want '$2'"
}
json_valid() {
	local v
	v=$(jget "<valid>")
	[[ $v == yes ]] && ok || bad "$what: stdout is not one JSON document ($v)"
}
