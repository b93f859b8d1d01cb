#!/usr/bin/env bash
# Mutation testing with gremlins (pinned below): it changes one operator at
# a time in a package's code (== to !=, < to <=, + to -, ++ to --, -x to
# +x) and runs the package's own tests against each such mutant. A mutant
# no test notices (LIVED) is a line whose behaviour no test pins down.
#
#   scripts/mutate.sh [-timeout-coefficient N] [-max-time DURATION]
#                     [-gremlins-only] [PACKAGE...] [-- GREMLINS_FLAGS...]
#
# PACKAGE: directories, default pkg/cache pkg/assume pkg/format
# pkg/awsconfig pkg/stshttp pkg/safefile pkg/server pkg/console pkg/sso.
# -timeout-coefficient (default 10): a mutant's tests may take N times the
# package's coverage run, which includes compiling, or it counts as TIMED
# OUT (a hang: neither killed nor lived). -max-time (timeout(1)'s DURATION,
# e.g. 20m): stop gremlins after that long in a package and score what
# ran. GREMLINS_FLAGS go to `gremlins unleash`, e.g. -E 'webidentity' to
# skip files, --invert-logical to add && <-> || mutants.
#
# Two corrections to gremlins v0.6.0, each a pass in a copy of the module
# (-gremlins-only skips them; docs/testing.md has the details):
#   - go test exits 1 when a package does not build, as when a test fails,
#     so gremlins counts a mutant that does not compile (a string's + made
#     -) as KILLED. Every killed ARITHMETIC_BASE or INVERT_NEGATIVES mutant
#     (the only kinds that can fail to compile) is built again; those that
#     do not build are NOT VIABLE.
#   - Go's coverage blocks start after a case's colon, so gremlins reports
#     every mutant in a case expression (switch { case n > max: }) NOT
#     COVERED and never runs it. Those whose case body ran in the tests are
#     run here the way gremlins runs the others.
#
# Prints, per package: the score, killed / (killed + lived) after the
# corrections, and every surviving mutant: file:line:column, the change, the
# source line. One mutant at a time (--workers 1), at nice 10: the nine
# packages take about an hour on 2 cores. Not part of CI. gremlins is
# installed from the Go module proxy into $(go env GOPATH)/bin (or GOBIN)
# the first time. The tests that run real programs (bash, zsh, fish, dash,
# python-dotenv, botocore) need them here as for scripts/test.sh; without
# one, mutants only its test would kill are reported as surviving.
set -euo pipefail
cd "$(dirname "$0")/.."

GREMLINS_VERSION=v0.6.0

say() { printf 'mutate.sh: %s\n' "$*" >&2; }

coefficient=10 max_time= gremlins_only= packages=() extra=()
while (($#)); do
	case $1 in
	-timeout-coefficient | --timeout-coefficient)
		coefficient=${2:?-timeout-coefficient needs a number}
		shift 2
		;;
	-max-time | --max-time)
		max_time=${2:?-max-time needs a duration}
		shift 2
		;;
	-gremlins-only | --gremlins-only)
		gremlins_only=1
		shift
		;;
	-h | --help)
		sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	--)
		shift
		extra=("$@")
		break
		;;
	-*)
		say "unknown flag $1 (gremlins' own flags go after --)"
		exit 2
		;;
	*)
		packages+=("${1%/}")
		shift
		;;
	esac
done
((${#packages[@]})) || packages=(pkg/cache pkg/assume pkg/format pkg/awsconfig pkg/stshttp pkg/safefile pkg/server pkg/console pkg/sso)
for p in "${packages[@]}"; do
	[[ -d $p ]] || {
		say "no package directory $p"
		exit 2
	}
done

missing=()
for prog in bash zsh fish dash python3; do
	command -v "$prog" >/dev/null || missing+=("$prog")
done
python3 -c 'import dotenv, botocore' 2>/dev/null || missing+=("python3 modules dotenv and botocore")
/usr/bin/python3 -c 'import sys; sys.path.insert(0, "/usr/lib/python3/dist-packages"); import awscli.botocore' 2>/dev/null ||
	missing+=("/usr/bin/aws's botocore (Debian's awscli)")
if ((${#missing[@]})); then
	list=$(printf '%s; ' "${missing[@]}")
	say "missing, so the tests that use them skip or fail and the scores mean less: ${list%; }"
fi

gobin="$(go env GOBIN)"
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
gremlins="$gobin/gremlins"
installed="$( [[ -x $gremlins ]] && go version -m "$gremlins" 2>/dev/null | awk '$1 == "mod" { print $3 }' || true)"
if [[ $installed != "$GREMLINS_VERSION" ]]; then
	say "installing gremlins $GREMLINS_VERSION into $gobin (was: ${installed:-none}; about 10s)"
	go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
fi

# -count=1: gremlins times the coverage run to set each mutant's timeout,
# and a cached test result would make that a fraction of a second.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1"
export NO_COLOR=1
logs=$(mktemp -d "${TMPDIR:-/tmp}/rolecall-mutate.XXXXXX")
copy=$logs/module
trap 'rm -rf "$copy"' EXIT

# awk functions shared by the passes: the operator a mutant changes (at a
# line's byte column) and what gremlins makes of it.
AWK_OPS='
function opat(s, col,  rest) {
	rest = substr(s, col)
	if (match(rest, /^(==|!=|<=|>=|&&|\|\||\+\+|--|[-+*\/%<>])/)) return substr(rest, 1, RLENGTH)
	return ""
}
function mutated(type, op,  m, r) {
	if (type == "CONDITIONALS_NEGATION") {
		m["=="] = "!="; m["!="] = "=="; m[">="] = "<"; m[">"] = "<="; m["<="] = ">"; m["<"] = ">="
	} else if (type == "CONDITIONALS_BOUNDARY") {
		m[">="] = ">"; m[">"] = ">="; m["<="] = "<"; m["<"] = "<="
	} else if (type == "ARITHMETIC_BASE") {
		m["+"] = "-"; m["-"] = "+"; m["*"] = "/"; m["/"] = "*"; m["%"] = "*"
	} else if (type == "INCREMENT_DECREMENT") {
		m["++"] = "--"; m["--"] = "++"
	} else if (type == "INVERT_NEGATIVES") {
		m["-"] = "+"
	} else if (type == "INVERT_LOGICAL") {
		m["&&"] = "||"; m["||"] = "&&"
	}
	r = (op in m) ? m[op] : "?"
	return r
}'

# mutants LOG STATUS prints "TYPE FILE LINE COL" for each mutant of the
# gremlins log with that status (FILE relative to the package).
mutants() {
	awk -v want="$2" '
		match($0, /^ *[A-Z ]+ [A-Z_]+ at [^ ]+:[0-9]+:[0-9]+$/) {
			status = $0; sub(/^ */, "", status); sub(/ [A-Z_]+ at .*/, "", status)
			if (status != want) next
			split($NF, pos, ":")
			print $(NF - 2), pos[1], pos[2], pos[3]
		}' "$1"
}

# apply PKG FILE LINE COL TYPE writes that mutant into the module copy,
# keeping the original as FILE.orig; restore puts it back.
apply() {
	local f=$copy/$1/$2
	cp "$f" "$f.orig"
	LC_ALL=C awk -v L="$3" -v C="$4" -v T="$5" "$AWK_OPS"'
		NR == L { op = opat($0, C); if (op != "") $0 = substr($0, 1, C - 1) mutated(T, op) substr($0, C + length(op)) }
		{ print }' "$f.orig" >"$f"
}
restore() { mv "$copy/$1/$2.orig" "$copy/$1/$2"; }

# recheck PKG LOG OUT: each mutant gremlins counted KILLED that could be a
# build failure is built again; those that do not build go to OUT as NOT
# VIABLE (with the KILLED they replace).
recheck() {
	local pkg=$1 type file line col
	while read -r type file line col; do
		apply "$pkg" "$file" "$line" "$col" "$type"
		if ! (cd "$copy" && nice -n 10 go build -o /dev/null "./$pkg" >/dev/null 2>&1); then
			printf '  NOT VIABLE %s at %s:%s:%s (killed by gremlins: it does not compile)\n' "$type" "$file" "$line" "$col" >>"$3"
		fi
		restore "$pkg" "$file"
	done < <(mutants "$2" KILLED | awk '$1 == "ARITHMETIC_BASE" || $1 == "INVERT_NEGATIVES"')
}

# caseclauses PKG LOG OUT runs the NOT COVERED mutants in case expressions
# whose case body ran (by the package's coverage profile) and writes their
# status to OUT in gremlins' form, with a time limit like gremlins'.
caseclauses() {
	local pkg=$1 out=$3 type file line col colon t0 limit rc status
	t0=$(date +%s%N)
	if ! (cd "$copy" && nice -n 10 go test -coverprofile="$copy/cover.out" "./$pkg" >/dev/null 2>&1); then
		say "$pkg: the tests fail unmutated in the copy: case clauses not run"
		return
	fi
	limit=$(((($(date +%s%N) - t0) / 1000000 * coefficient + 999) / 1000))
	while read -r type file line col; do
		[[ $(sed -n "${line}p" "$pkg/$file") =~ ^[[:space:]]*case[[:space:]] ]] || continue
		# The case's colon ends its expression; the body's block starts there.
		colon=$(awk -v L="$line" 'NR >= L && /:[ \t]*(\/\/.*)?$/ { print NR; exit }' "$pkg/$file")
		awk -v f="/$pkg/$file:" -v L="$colon" '
			i = index($0, f) { split(substr($0, i + length(f)), a, /[.,]/); n = split($0, w, " "); if (a[1] == L && w[n] > 0) found = 1 }
			END { exit !found }' "$copy/cover.out" || continue
		apply "$pkg" "$file" "$line" "$col" "$type"
		set +e
		(cd "$copy" && nice -n 10 timeout -k 10s "${limit}s" go test -failfast "./$pkg" >"$copy/test.out" 2>&1)
		rc=$?
		set -e
		restore "$pkg" "$file"
		case $rc in
		0) status=LIVED ;;
		124 | 137) status='TIMED OUT' ;;
		*) status=KILLED ;;
		esac
		grep -q '\[build failed\]' "$copy/test.out" && status='NOT VIABLE'
		printf '%12s %s at %s:%s:%s (case clause)\n' "$status" "$type" "$file" "$line" "$col" >>"$out"
		[[ $status == KILLED ]] || printf '%12s %s at %s:%s:%s (case clause)\n' "$status" "$type" "$file" "$line" "$col"
	done < <(mutants "$2" 'NOT COVERED')
}

# survivors prints the LIVED and TIMED OUT mutants of the logs: position,
# type, the operator change and the source line.
survivors() {
	local pkg=$1
	shift
	LC_ALL=C awk -v pkg="$pkg" "$AWK_OPS"'
		match($0, /^ *(LIVED|TIMED OUT) [A-Z_]+ at [^ ]+:[0-9]+:[0-9]+( \(case clause\))?$/) {
			status = ($1 == "LIVED") ? "LIVED" : "TIMED OUT"
			type = (status == "LIVED") ? $2 : $3
			pos = (status == "LIVED") ? $4 : $5
			split(pos, p, ":")
			file = pkg "/" p[1]; line = p[2]; col = p[3]
			src = ""
			for (i = 1; i <= line; i++) {
				if ((getline src < file) <= 0) { src = ""; break }
			}
			close(file)
			op = opat(src, col)
			gsub(/^[ \t]+/, "", src)
			printf "  %-9s %s:%s:%s  %s %s -> %s  | %s\n", status, file, line, col, type, op, mutated(type, op), src
		}' "$@"
}

if [[ -z $gremlins_only ]]; then
	mkdir "$copy"
	tar --exclude=.git -cf - . | tar -C "$copy" -xf -
fi

summary=()
total_start=$SECONDS
for pkg in "${packages[@]}"; do
	log="$logs/${pkg//\//_}.log" fixes="$logs/${pkg//\//_}.fixes.log"
	: >"$fixes"
	say "$pkg: gremlins $GREMLINS_VERSION unleash --workers 1 --timeout-coefficient $coefficient${max_time:+, stopped after $max_time}${extra[*]:+ ${extra[*]}} (log: $log)"
	start=$SECONDS
	run=(nice -n 10 "$gremlins" unleash --workers 1 --timeout-coefficient "$coefficient" "${extra[@]}" "./$pkg")
	if [[ -n $max_time ]]; then
		# gremlins stops at SIGINT once the running mutant is done.
		# --foreground: only gremlins gets it, not the running go test,
		# whose failure would count its mutant as killed.
		run=(timeout --foreground -s INT -k 2m "$max_time" "${run[@]}")
	fi
	set +e
	"${run[@]}" 2>&1 | tee "$log" | grep --line-buffered -E '^ *(LIVED|TIMED OUT|NOT VIABLE) |^Gathering|ERROR|^Error'
	rc=${PIPESTATUS[0]}
	set -e
	if [[ -z $gremlins_only ]]; then
		say "$pkg: building again what gremlins counted killed that may not compile, then running the case clauses' mutants"
		recheck "$pkg" "$log" "$fixes"
		caseclauses "$pkg" "$log" "$fixes"
	fi
	elapsed=$((SECONDS - start))
	count() { grep -cE "^ *$1 [A-Z_]+ at " "$2" || true; }
	unbuilt=$(grep -c 'did not compile\|does not compile' "$fixes" || true)
	ran=$(grep -c '(case clause)' "$fixes" || true)
	killed=$(($(count KILLED "$log") - unbuilt + $(count KILLED "$fixes")))
	lived=$(($(count LIVED "$log") + $(count LIVED "$fixes")))
	timedout=$(($(count 'TIMED OUT' "$log") + $(count 'TIMED OUT' "$fixes")))
	notviable=$(($(count 'NOT VIABLE' "$log") + $(count 'NOT VIABLE' "$fixes")))
	notcovered=$(($(count 'NOT COVERED' "$log") - ran))
	note=
	case $rc in
	0) ;;
	124) note=" (gremlins stopped after $max_time: partial)" ;;
	*) note=" (gremlins exited $rc: see $log)" ;;
	esac
	score=n/a
	((killed + lived == 0)) || score=$(awk -v k="$killed" -v l="$lived" 'BEGIN { printf "%.1f%%", 100 * k / (k + l) }')
	line=$(printf '%-14s score %-6s killed %3d  lived %3d  timed out %2d  not viable %2d  not covered %3d  %dm%02ds%s' \
		"$pkg" "$score" "$killed" "$lived" "$timedout" "$notviable" "$notcovered" $((elapsed / 60)) $((elapsed % 60)) "$note")
	summary+=("$line")
	echo
	echo "== $line"
	if [[ -z $gremlins_only ]]; then
		g_killed=$(count KILLED "$log") g_lived=$(count LIVED "$log")
		echo "   gremlins alone: $(awk -v k="$g_killed" -v l="$g_lived" 'BEGIN { if (k + l) printf "%.1f%%", 100 * k / (k + l); else print "n/a" }') ($g_killed killed, $g_lived lived); of its kills $unbuilt did not compile; $ran case-clause mutants run here"
	fi
	survivors "$pkg" "$log" "$fixes"
done

echo
how=corrected
[[ -z $gremlins_only ]] || how=alone
echo "== mutation scores (gremlins $GREMLINS_VERSION $how; killed / (killed + lived)), $(((SECONDS - total_start) / 60)) minutes in all; logs in $logs"
printf '%s\n' "${summary[@]}"
