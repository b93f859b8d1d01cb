#!/usr/bin/env bash
# Checks that rolecall can be released, without publishing anything:
#   1. the code builds for every release target (GOOS=windows/darwin too,
#      tests included, so no Unix-only call hides on those paths);
#   2. `goreleaser check` accepts .goreleaser.yaml;
#   3. `goreleaser release --snapshot --clean --skip=publish` builds every
#      archive, the checksums, the deb and rpm packages and the Homebrew cask
#      into dist/;
#   4. dist/ holds all of them with the expected contents, and the
#      linux/amd64 binary (when this machine can run it) prints the stamped
#      version, commit and date.
# GoReleaser is installed from the Go module proxy at a pinned version into
# $(go env GOPATH)/bin (or GOBIN), once: building it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

# v2.16.0: the newest v2 whose go.mod accepts Go 1.26 and whose whole
# dependency graph the module proxy serves (v2.17.0 needs go-msix, which the
# proxy refuses; v2.18 needs Go 1.27).
GORELEASER_VERSION=v2.16.0

say() { printf 'release-check: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

gobin="$(go env GOBIN)"
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
goreleaser="$gobin/goreleaser"
installed="$( [[ -x $goreleaser ]] && go version -m "$goreleaser" 2>/dev/null | awk '$1 == "mod" { print $3 }' || true)"
if [[ $installed != "$GORELEASER_VERSION" ]]; then
	say "installing goreleaser $GORELEASER_VERSION (was: ${installed:-none}); this takes a while"
	go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
fi
say "goreleaser $GORELEASER_VERSION at $goreleaser"

# 1. Every target compiles, tests included (go vet type-checks _test.go).
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	say "go build + vet for $target"
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./...
done

# 2 and 3. A snapshot release skips git's validation (dirty tree, tag), so
# this works in a fresh CI clone and in a working tree alike. GoReleaser
# reads the commit only if `git ls-remote --get-url` works, and otherwise
# stamps "none" (internal/pipe/git/git.go, getInfo): a clone without a remote
# gets one for these commands only, through git's environment config.
if [[ -z "$(git remote)" ]]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/rolecall/rolecall.git
fi
"$goreleaser" check
"$goreleaser" release --snapshot --clean --skip=publish

# 4. What came out.
[[ -f dist/metadata.json ]] || fail "no dist/metadata.json"
version="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)"
[[ -n $version ]] || fail "no version in dist/metadata.json"
say "snapshot version $version"

want=(checksums.txt)
for os in linux darwin; do
	for arch in amd64 arm64; do
		want+=("rolecall_${version}_${os}_${arch}.tar.gz")
	done
done
for arch in amd64 arm64; do
	want+=("rolecall_${version}_windows_${arch}.zip")
	want+=("rolecall_${version}_linux_${arch}.deb" "rolecall_${version}_linux_${arch}.rpm")
done
want+=(homebrew/Casks/rolecall.rb)
for f in "${want[@]}"; do
	[[ -s dist/$f ]] || fail "dist/$f is missing or empty; dist/ holds: $(cd dist && ls)"
	grep -q " ${f}\$" dist/checksums.txt || [[ $f == checksums.txt || $f == homebrew/* ]] ||
		fail "dist/checksums.txt does not list $f"
done

# The archives carry the docs, completions and every man page; ststest is
# not shipped.
archive_list="$(tar -tzf "dist/rolecall_${version}_linux_amd64.tar.gz")"
for f in rolecall README.md LICENSE completions/rolecall.bash completions/_rolecall \
	completions/rolecall.fish completions/rolecall.ps1 manpages/rolecall.1.gz manpages/rolecall-assume.1.gz; do
	grep -qx "$f" <<<"$archive_list" || fail "the linux/amd64 archive lacks $f"
done
if grep -q ststest <<<"$archive_list"; then
	fail "the archive ships ststest"
fi
if command -v unzip >/dev/null; then
	unzip -l "dist/rolecall_${version}_windows_amd64.zip" | grep -q ' rolecall\.exe$' ||
		fail "the windows archive lacks rolecall.exe"
fi
for page in manpages/*.1.gz; do
	grep -q "      - $page\$" .goreleaser.yaml || fail "$page is not in the homebrew_casks manpages list of .goreleaser.yaml"
done

# The deb installs the binary, the completions where each shell looks for
# them, and the man pages.
if command -v dpkg-deb >/dev/null; then
	deb_list="$(dpkg-deb -c "dist/rolecall_${version}_linux_amd64.deb" | awk '{ print $NF }')"
	for f in ./usr/bin/rolecall ./usr/share/bash-completion/completions/rolecall \
		./usr/share/zsh/vendor-completions/_rolecall ./usr/share/fish/vendor_completions.d/rolecall.fish \
		./usr/share/man/man1/rolecall.1.gz ./usr/share/man/man1/rolecall-shell-init.1.gz; do
		grep -qx "$f" <<<"$deb_list" || fail "the deb lacks $f"
	done
else
	say "no dpkg-deb: the deb's contents are not checked"
fi
if command -v rpm >/dev/null; then
	rpm_list="$(rpm -qlp "dist/rolecall_${version}_linux_amd64.rpm" 2>/dev/null)"
	for f in /usr/bin/rolecall /usr/share/bash-completion/completions/rolecall /usr/share/man/man1/rolecall.1.gz; do
		grep -qx "$f" <<<"$rpm_list" || fail "the rpm lacks $f"
	done
else
	say "no rpm: the rpm's contents are not checked"
fi

# The stamped binary says what it is.
if [[ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" == linux/amd64 ]]; then
	bin="$(ls -d dist/rolecall_linux_amd64*/rolecall)"
	out="$("$bin" version)"
	# The commit GoReleaser built (HEAD may have moved since, in a shared tree).
	commit="$(sed -n 's/.*"commit":"\([^"]*\)".*/\1/p' dist/metadata.json)"
	[[ $commit =~ ^[0-9a-f]{40}$ ]] && git cat-file -e "$commit^{commit}" ||
		fail "dist/metadata.json names no commit of this repository: '$commit'"
	say "$bin version: $out"
	[[ $out == "rolecall $version (commit $commit, built "* ]] || fail "version does not print the stamped version and commit"
	# metadata.json has the date with nanoseconds; {{ .Date }} is RFC 3339.
	date="$(sed -n 's/.*"date":"\([^"]*\)".*/\1/p' dist/metadata.json | sed 's/\.[0-9]*Z$/Z/')"
	[[ -n $date && $out == *"built $date,"* ]] || fail "version does not print the stamped build date $date"
	case $out in *" dev "* | *"commit none"* | *"built unknown"*) fail "version prints an unstamped field" ;; esac
else
	say "not linux/amd64: the snapshot binary is not run"
fi

say "OK; artifacts:"
(cd dist && ls -l "${want[@]}") >&2
