#!/usr/bin/env bash
# Runs every test with the race detector: go test -race -count=1 ./...,
# with progress while it runs (see below). The programs cmd/rolecall's
# end-to-end tests start are a build without it, but for the endpoint's
# scripts (docs/testing.md says why).
# Static checks (go mod tidy, go vet, golangci-lint) are scripts/lint.sh.
#
# Tests that drive real programs (bash, zsh, fish, dash, strace, the AWS
# CLI v1 and v2, boto3, python-dotenv, moto_server, node with the AWS SDK
# for JavaScript) skip when those are missing; with CI set they fail
# instead. This script names the missing ones first, so a skip is no
# surprise. .ci/run installs them all.
#
# Opt-in, after the default run (which they do not change):
#   --soak[=DURATION]   scripts/soak.sh: the soak (default 5m) and 10,000
#                       sequential hits as processes
#   --fuzz[=FUZZTIME]   scripts/fuzz.sh: every fuzz target (default 30s each)
set -euo pipefail
cd "$(dirname "$0")/.."

soak= fuzz=
for arg in "$@"; do
	case $arg in
	--soak) soak=5m ;;
	--soak=*) soak=${arg#*=} ;;
	--fuzz) fuzz=30s ;;
	--fuzz=*) fuzz=${arg#*=} ;;
	*)
		echo "test.sh: unknown argument $arg (want --soak[=DURATION] or --fuzz[=FUZZTIME])" >&2
		exit 2
		;;
	esac
done

say() { printf 'test.sh: %s\n' "$*" >&2; }

missing=()
for prog in bash zsh fish dash strace python3 moto_server node; do
	command -v "$prog" >/dev/null || missing+=("$prog")
done
[[ -x /usr/bin/aws ]] || missing+=("/usr/bin/aws (the AWS CLI v2, Debian's awscli)")
case "$(aws --version 2>&1)" in aws-cli/1.*) ;; *) missing+=("aws (the AWS CLI v1, first on PATH)") ;; esac
if command -v python3 >/dev/null && ! python3 -c 'import boto3, dotenv' 2>/dev/null; then
	missing+=("python3 modules boto3 and dotenv")
fi
node_deps=${ROLECALL_NODE_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecall-dev/node}
cmp -s scripts/node/package-lock.json "$node_deps/package-lock.json" ||
	missing+=("the AWS SDK for JavaScript (scripts/node-deps.sh)")
if ((${#missing[@]})); then
	list=$(printf '%s; ' "${missing[@]}")
	say "missing, so their tests skip${CI:+ (CI is set: they fail)}: ${list%; }"
fi

# -timeout: each package's test binary gets 20 minutes, far more than any
# needs (cmd/rolecall, the longest, took 1½ to 7 minutes on 2 cores at a
# load average of 2 to 18), so that only a hang reaches it, also on a busy
# machine. A warm run took under 2 minutes quiet and about 2½ beside four
# CPU-bound processes (docs/testing.md has the figures). -parallel 6: most of
# cmd/rolecall's tests and scripts wait on processes, emulated STS latency
# and timeouts rather than use a CPU, so more of them run at once than
# there are cores. -p 4: four test binaries at once, for the same reason
# (with two, cmd/rolecall ran beside one other package at a time, and the
# CPU was idle at times). -json feeds scripts/testprogress, which prints each
# package's result as it ends, each skipped test with its reason, and every
# 30 seconds what is still running; the raw stream is kept for a look at
# where the time went.
json=$(mktemp "${TMPDIR:-/tmp}/rolecall-test.XXXXXX.json")
reader=$(mktemp -d)
trap 'rm -rf "$reader"' EXIT
say "building scripts/testprogress (the progress reader)"
go build -o "$reader/testprogress" ./scripts/testprogress
say "go test -race -count=1 -timeout 20m -parallel 6 -p 4 ./... (results as packages end, in that order; the first run also builds every package with the race detector, about 2 minutes on 2 cores before the first result)"
# Under -race every test binary sleeps a second as it exits (the race
# runtime's atexit_sleep_ms), once per package: not needed here.
export GORACE="${GORACE:+$GORACE }atexit_sleep_ms=0"
start=$SECONDS
if ! go test -race -count=1 -timeout 20m -parallel 6 -p 4 -json ./... | tee "$json" |
	"$reader/testprogress" -trim "$(go list -m)/"; then
	say "tests failed after $((SECONDS - start))s (every event: $json)"
	exit 1
fi
say "all tests passed in $((SECONDS - start))s (every event, with each test's time: $json)"

if [[ -n $soak ]]; then
	scripts/soak.sh "$soak"
fi
if [[ -n $fuzz ]]; then
	scripts/fuzz.sh -fuzztime "$fuzz"
fi
