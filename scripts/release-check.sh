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
# --skip=ko: a snapshot loads the container image into a local Docker
# daemon and pulls its base image from a registry; neither is at hand on a
# build machine without network. `goreleaser check` above has validated the
# kos section, and cmd/rolecall/image_test.go checks its settings.
"$goreleaser" release --snapshot --clean --skip=publish,ko

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

# 5. The GitHub Action (action.yml, scripts/action/run.sh) installs this
# snapshot as a runner would, from dist/ laid out as a release's download
# URLs (file://), and assumes a role with the emulator's OIDC token; a
# second run takes rolecall from the tool cache. The Go tests run the same
# script against archives they build; this runs it against GoReleaser's.
if [[ "$(go env GOHOSTOS)" == linux ]]; then
	say "the GitHub Action against the snapshot release"
	action=$(mktemp -d)
	trap 'rm -rf "$action"; [[ -z ${ststest_pid:-} ]] || kill "$ststest_pid" 2>/dev/null || true' EXIT
	mkdir -p "$action/releases/download/v$version" "$action/temp" "$action/toolcache" "$action/home"
	for f in checksums.txt "rolecall_${version}_linux_$(go env GOHOSTARCH).tar.gz"; do
		ln -s "$PWD/dist/$f" "$action/releases/download/v$version/$f"
	done
	go build -o "$action/ststest" ./cmd/ststest
	exec {ststest_out}< <(exec "$action/ststest" --listen 127.0.0.1:0)
	ststest_pid=$!
	read -r sts_url <&"$ststest_out" || fail "the STS emulator did not start"
	run_action() {
		env -i PATH="$PATH" HOME="$action/home" AWS_CONFIG_FILE="$action/home/config" \
			AWS_SHARED_CREDENTIALS_FILE="$action/home/credentials" ROLECALL_CACHE_DIR="$action/cache" \
			AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS="$sts_url" CI=true GITHUB_ACTIONS=true \
			GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 RUNNER_OS=Linux RUNNER_ARCH="$(case $(go env GOHOSTARCH) in amd64) echo X64 ;; arm64) echo ARM64 ;; esac)" \
			RUNNER_TEMP="$action/temp" RUNNER_TOOL_CACHE="$action/toolcache" \
			GITHUB_ENV="$action/env" GITHUB_OUTPUT="$action/output" GITHUB_PATH="$action/path" \
			ACTIONS_ID_TOKEN_REQUEST_URL="$sts_url/_ststest/github-token?api-version=2.0" \
			ACTIONS_ID_TOKEN_REQUEST_TOKEN=ststest-github-request-token \
			INPUT_ROLE_TO_ASSUME=arn:aws:iam::123456789012:role/ci-deploy INPUT_VERSION="v$version" \
			INPUT_DOWNLOAD_URL="file://$action/releases/download" \
			bash --noprofile --norc -eo pipefail scripts/action/run.sh
	}
	out=$(run_action) || fail "the action failed on the snapshot release: $out"
	[[ $(grep -c '^::add-mask::' <<<"$out") == 3 ]] || fail "the action did not mask the three secrets"
	grep -q '^AWS_SECRET_ACCESS_KEY<<' "$action/env" || fail "the action left no credentials in GITHUB_ENV"
	grep -q "rolecall v$version installed" <<<"$out" || fail "the action did not install v$version: $out"
	: >"$action/env"
	out=$(run_action) || fail "the action's second run failed: $out"
	grep -q 'from the tool cache' <<<"$out" || fail "the action's second run did not use the tool cache: $out"
	grep -q '^AWS_SECRET_ACCESS_KEY<<' "$action/env" || fail "the action's second run left no credentials in GITHUB_ENV"
	say "the action installed the snapshot (checksum checked), assumed the role and reused the tool cache"
else
	say "not Linux: the action is not run against the snapshot"
fi

say "OK; artifacts:"
(cd dist && ls -l "${want[@]}") >&2
