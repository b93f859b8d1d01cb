#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time, one after the
# other, and prints how many inputs each one executed.
#
#   scripts/fuzz.sh [-fuzztime DURATION] [NAME_REGEXP]
#
# -fuzztime is go test's (default 30s per target; "1000x" counts inputs
# instead). NAME_REGEXP picks targets, e.g. 'Quoting$'. A target that finds
# a failure writes it to its package's testdata/fuzz/ (check it in: it then
# runs with every go test) and makes this script exit 1. Without -fuzz, go
# test runs each target's seed corpus as an ordinary test; CI does that.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=30s
pattern=.
while (($#)); do
	case $1 in
	-fuzztime | --fuzztime)
		fuzztime=${2:?-fuzztime needs a duration}
		shift 2
		;;
	-fuzztime=* | --fuzztime=*)
		fuzztime=${1#*=}
		shift
		;;
	-h | --help)
		sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		pattern=$1
		shift
		;;
	esac
done

# Every "func FuzzX(f *testing.F)" with its package directory.
mapfile -t targets < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
	sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' | sort -u | grep -E " .*${pattern}" || true)
if ((${#targets[@]} == 0)); then
	echo "fuzz.sh: no fuzz target matches $pattern" >&2
	exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
summary=()
for t in "${targets[@]}"; do
	dir=${t% *} name=${t#* }
	echo "== $name (./$dir, -fuzztime $fuzztime)"
	status=ok
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$dir" >"$log" 2>&1; then
		status=FAILED
		failed=1
	fi
	# The fuzzer's progress lines end with the total so far:
	# "fuzz: elapsed: 30s, execs: 123456 (4115/sec), new interesting: ..."
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
	if [[ $status != ok ]]; then
		tail -n 30 "$log"
	fi
	summary+=("$(printf '%-24s %-16s %12s execs  %s' "$name" "$dir" "${execs:-?}" "$status")")
done

echo
echo "== fuzz summary (-fuzztime $fuzztime)"
printf '%s\n' "${summary[@]}"
exit $failed
