#!/usr/bin/env bash
# Runs every test with the race detector: go test -race -count=1 ./...
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

say "go test -race -count=1 ./... (each package prints a line when it is done; the first run also builds every package with the race detector: about 2½ minutes on 2 cores in all, later runs about 45s)"
start=$SECONDS
go test -race -count=1 ./...
say "all tests passed in $((SECONDS - start))s"

if [[ -n $soak ]]; then
	scripts/soak.sh "$soak"
fi
if [[ -n $fuzz ]]; then
	scripts/fuzz.sh -fuzztime "$fuzz"
fi
