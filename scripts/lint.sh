#!/usr/bin/env bash
# Static checks, each named as it starts and timed as it ends:
#   1. go.mod and go.sum are tidy (go mod tidy -diff);
#   2. go vet ./...;
#   3. golangci-lint run (config: .golangci.yml), at a pinned version,
#      installed from the Go module proxy into $(go env GOPATH)/bin (or
#      GOBIN) the first time. Building it takes minutes (about 2 on 2 cores;
#      13 were seen on a slower machine), once; later runs reuse the binary.
# First run with empty Go caches: about 4 minutes; later runs: about 20s.
# The tests are scripts/test.sh; .ci/run runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0

say() { printf 'lint.sh: %s\n' "$*" >&2; }
step() {
	local name=$1 start=$SECONDS
	shift
	say "$name"
	"$@"
	say "$name: done in $((SECONDS - start))s"
}

step "go mod tidy -diff (go.mod and go.sum must be tidy)" go mod tidy -diff
step "go vet ./..." go vet ./...

gobin="$(go env GOBIN)"
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
lint="$gobin/golangci-lint"
installed="$( [[ -x $lint ]] && go version -m "$lint" 2>/dev/null | awk '$1 == "mod" { print $3 }' || true)"
if [[ $installed != "$GOLANGCI_LINT_VERSION" ]]; then
	say "installing golangci-lint $GOLANGCI_LINT_VERSION into $gobin (was: ${installed:-none})"
	step "installing golangci-lint (first run: several minutes, it is built from source)" \
		go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi
step "golangci-lint $GOLANGCI_LINT_VERSION run ./..." "$lint" run ./...
say "OK"
