#!/usr/bin/env bash
# Static checks, each named as it starts and timed as it ends:
#   1. go.mod and go.sum are tidy (go mod tidy -diff);
#   2. go vet ./...;
#   3. golangci-lint run (config: .golangci.yml), at a pinned version,
#      installed from the Go module proxy into $(go env GOPATH)/bin (or
#      GOBIN) the first time. Building it takes minutes (about 2 on 2 cores;
#      13 were seen on a slower machine), once; later runs reuse the binary;
#   4. actionlint, pinned and installed the same way, on the GitHub Action
#      (action.yml) through the workflow examples of docs/ (```yaml blocks
#      with runs-on:), each using the action from this tree (uses: ./).
# First run with empty Go caches: about 4 minutes; later runs: about 20s.
# The tests are scripts/test.sh; .ci/run runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0
ACTIONLINT_VERSION=v1.7.12

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

actionlint="$gobin/actionlint"
installed="$( [[ -x $actionlint ]] && go version -m "$actionlint" 2>/dev/null | awk '$1 == "mod" { print $3 }' || true)"
if [[ $installed != "$ACTIONLINT_VERSION" ]]; then
	step "installing actionlint $ACTIONLINT_VERSION into $gobin (was: ${installed:-none})" \
		go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

# actionlint reads a workflow, and the metadata of a local action it uses,
# from a project (a directory with .git): one is made of action.yml and the
# docs' workflow examples, each with `uses: rolecall/rolecall@…` turned
# into `uses: ./`.
lint_actions() {
	local project n=0 doc
	project=$(mktemp -d)
	mkdir -p "$project/.git" "$project/.github/workflows"
	cp action.yml "$project/"
	for doc in README.md docs/*.md; do
		n=$(awk -v dir="$project/.github/workflows" -v name="$(basename "$doc" .md)" -v n="$n" '
			/^```yaml$/ { inblock = 1; text = ""; next }
			/^```$/ && inblock {
				inblock = 0
				if (text ~ /runs-on:/) {
					n++
					file = dir "/" name "-" n ".yml"
					gsub(/rolecall\/rolecall@[^ \n]*/, "./", text)
					printf "%s", text > file
					close(file)
				}
				next
			}
			inblock { text = text $0 "\n" }
			END { print n }' "$doc")
	done
	local rc=0
	if ((n == 0)); then
		say "no workflow examples found in the docs"
		rc=1
	else
		say "actionlint: action.yml through $n workflow examples: $(cd "$project/.github/workflows" && echo *)"
		(cd "$project" && "$actionlint" -no-color) || rc=$?
	fi
	rm -rf "$project"
	return "$rc"
}
step "actionlint $ACTIONLINT_VERSION: action.yml and the docs' workflow examples" lint_actions
say "OK"
