#!/usr/bin/env bash
# Runs vet, golangci-lint and every test. With CI set, tests that need bash,
# zsh, fish, the AWS CLI or moto fail instead of skipping when those are
# missing.
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

# go.mod and go.sum must already be tidy.
go mod tidy -diff

go vet ./...

# golangci-lint (config: .golangci.yml), pinned, installed once from the Go
# module proxy into $(go env GOPATH)/bin (or GOBIN).
GOLANGCI_LINT_VERSION=v2.15.0
gobin="$(go env GOBIN)"
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
lint="$gobin/golangci-lint"
if [[ "$( [[ -x $lint ]] && go version -m "$lint" 2>/dev/null | awk '$1 == "mod" { print $3 }')" != "$GOLANGCI_LINT_VERSION" ]]; then
	go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi
"$lint" run ./...

go test -race -count=1 ./...

if [[ -n $soak ]]; then
	scripts/soak.sh "$soak"
fi
if [[ -n $fuzz ]]; then
	scripts/fuzz.sh -fuzztime "$fuzz"
fi
