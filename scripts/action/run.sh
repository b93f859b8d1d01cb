#!/usr/bin/env bash
# The rolecall GitHub Action (action.yml at the repository root) is this
# script: it needs no Go, only bash, curl and tar (unzip on Windows), which
# every GitHub-hosted runner has (Windows: Git bash).
#
#   1. Pick the release: INPUT_VERSION, else the action's own ref
#      (ACTION_REF, else the last part of GITHUB_ACTION_PATH). A full tag (v1.2.3) is used as it is; a moving tag (v1,
#      v1.2) or "latest" becomes the newest release, found through the
#      release page's redirect (DOWNLOAD_URL/../latest), which must match
#      the moving tag's major (and minor) version.
#   2. Install it, once per runner: the tool cache
#      (RUNNER_TOOL_CACHE/rolecall/VERSION/ARCH, complete when ARCH.complete
#      exists, as actions/tool-cache lays it out) holds it after the first
#      run; else the archive GoReleaser names
#      rolecall_VERSION_OS_ARCH.tar.gz (.zip on Windows) is downloaded from
#      DOWNLOAD_URL/TAG/ with TAG's checksums.txt and checked against it
#      (SHA-256): a mismatch stops here, before anything from the archive
#      runs. The directory goes on GITHUB_PATH for later steps.
#   3. Run `rolecall assume -f github` with the inputs as flags (table in
#      docs/ci.md): the secrets are masked (::add-mask::) and the
#      variables appended to GITHUB_ENV by rolecall itself. The step
#      outputs are rolecall's --github-output ones; the credentials among
#      them only with output-credentials: true, as
#      aws-actions/configure-aws-credentials does.
#   4. A failure is one ::error:: annotation with rolecall's message and
#      hint, and rolecall's exit code.
#
# Inputs come as INPUT_* variables (action.yml sets them from `with:`), the
# rest from the runner: RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
# RUNNER_TOOL_CACHE, GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH and, with
# `permissions: id-token: write`, ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN.
set -uo pipefail

# escape_data escapes a workflow command's message as the runner unescapes
# it: % first, then CR and LF.
escape_data() {
	local s=${1//'%'/%25}
	s=${s//$'\r'/%0D}
	printf '%s' "${s//$'\n'/%0A}"
}

# fail reports an error as an annotation and ends the step with code $2
# (default 1).
fail() {
	printf '::error title=rolecall::%s\n' "$(escape_data "$1")"
	exit "${2:-1}"
}

# bool reads a boolean input as actions/toolkit's getBooleanInput does
# (YAML 1.2 core schema): true/True/TRUE, false/False/FALSE, or empty for
# the default.
bool() {
	local name=$1 value=$2 default=${3:-false}
	case $value in
	'') [[ $default == true ]] ;;
	true | True | TRUE) return 0 ;;
	false | False | FALSE) return 1 ;;
	*) fail "input $name: '$value' is not a boolean (true or false)" 2 ;;
	esac
}

# lines prints the non-empty lines of a multi-line input, trimmed, as
# getMultilineInput does.
lines() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		line="${line#"${line%%[![:space:]]*}"}"
		line="${line%"${line##*[![:space:]]}"}"
		[[ -n $line ]] && printf '%s\n' "$line"
	done <<<"$1"
}

# unix_path turns a Windows path from the runner into one bash can use;
# win_path turns it back for files the runner reads (GITHUB_PATH).
unix_path() { if command -v cygpath >/dev/null; then cygpath -u "$1"; else printf '%s' "$1"; fi; }
win_path() { if command -v cygpath >/dev/null; then cygpath -w "$1"; else printf '%s' "$1"; fi; }

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | awk '{ print $1 }'
	else
		shasum -a 256 "$1" | awk '{ print $1 }'
	fi
}

download() {
	curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
}

for v in RUNNER_OS RUNNER_ARCH RUNNER_TEMP GITHUB_ENV GITHUB_OUTPUT GITHUB_PATH; do
	[[ -n ${!v:-} ]] || fail "$v is not set: this script is the rolecall action and runs inside a GitHub Actions step" 2
done
[[ -n ${INPUT_ROLE_TO_ASSUME:-} ]] || fail "input role-to-assume is required: the ARN of the role to assume" 2
# Every boolean input is checked before anything is downloaded.
bool role-chaining "${INPUT_ROLE_CHAINING:-}" || true
bool role-skip-session-tagging "${INPUT_ROLE_SKIP_SESSION_TAGGING:-}" || true
bool output-credentials "${INPUT_OUTPUT_CREDENTIALS:-}" || true
bool mask-aws-account-id "${INPUT_MASK_AWS_ACCOUNT_ID:-}" || true

base_url=${INPUT_DOWNLOAD_URL:-https://github.com/rolecall/rolecall/releases/download}
base_url=${base_url%/}
temp=$(unix_path "$RUNNER_TEMP")
tool_cache=$(unix_path "${RUNNER_TOOL_CACHE:-$temp/toolcache}")

# 1. The release. github.action_ref is not always set for a composite
# action (actions/runner#2473); the runner checks an action out in
# _actions/OWNER/REPO/REF, which names the ref too.
tag=${INPUT_VERSION:-${ACTION_REF:-}}
if [[ -z $tag && ${GITHUB_ACTION_PATH:-} == */_actions/*/*/* ]]; then
	tag=$(basename "$(unix_path "$GITHUB_ACTION_PATH")")
fi
case $tag in
v[0-9]*.[0-9]*.[0-9]*) ;;
latest | v[0-9] | v[0-9][0-9] | v[0-9]*.[0-9] | v[0-9]*.[0-9][0-9])
	want=$tag
	latest_url="${base_url%/download}/latest"
	page=$(curl --fail --silent --show-error --location --retry 3 --output /dev/null --write-out '%{url_effective}' "$latest_url") ||
		fail "find the newest release of $want at $latest_url failed; set the input version to a release tag (vX.Y.Z)"
	tag=${page##*/}
	[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "the newest release at $latest_url is '$tag', not a release tag vX.Y.Z; set the input version"
	if [[ $want != latest && $tag != "$want".* ]]; then
		fail "the newest release is $tag, which is not a $want release; set the input version to a $want.x.y tag"
	fi
	;;
'') fail "no release to install: set the input version to a release tag (vX.Y.Z)" 2 ;;
*) fail "'$tag' is not a release tag (vX.Y.Z); when the action is pinned to a commit or branch, set the input version to the release tag to install" 2 ;;
esac
version=${tag#v}

case $RUNNER_OS in
Linux) os=linux ext=tar.gz exe=rolecall ;;
macOS) os=darwin ext=tar.gz exe=rolecall ;;
Windows) os=windows ext=zip exe=rolecall.exe ;;
*) fail "RUNNER_OS $RUNNER_OS: rolecall is released for Linux, macOS and Windows" ;;
esac
case $RUNNER_ARCH in
X64) arch=amd64 ;;
ARM64) arch=arm64 ;;
*) fail "RUNNER_ARCH $RUNNER_ARCH: rolecall is released for X64 and ARM64" ;;
esac

# 2. The binary, from the tool cache or the release.
tool_dir="$tool_cache/rolecall/$version/$(printf '%s' "$RUNNER_ARCH" | tr '[:upper:]' '[:lower:]')"
bin="$tool_dir/$exe"
if [[ -f "$tool_dir.complete" && -x $bin ]]; then
	echo "rolecall $tag from the tool cache ($tool_dir)"
else
	archive="rolecall_${version}_${os}_${arch}.$ext"
	work=$(mktemp -d "$temp/rolecall-install.XXXXXX") || fail "make a directory in RUNNER_TEMP ($temp) failed"
	trap 'rm -rf "$work"' EXIT
	echo "downloading $base_url/$tag/$archive"
	download "$base_url/$tag/checksums.txt" "$work/checksums.txt" ||
		fail "download $base_url/$tag/checksums.txt failed: is $tag a rolecall release?"
	download "$base_url/$tag/$archive" "$work/$archive" ||
		fail "download $base_url/$tag/$archive failed: is $tag a rolecall release for $RUNNER_OS $RUNNER_ARCH?"
	want_sum=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$work/checksums.txt")
	[[ $want_sum =~ ^[0-9a-f]{64}$ ]] || fail "checksums.txt of $tag lists no SHA-256 for $archive"
	got_sum=$(sha256 "$work/$archive")
	[[ $got_sum == "$want_sum" ]] ||
		fail "checksum mismatch for $archive: SHA-256 $got_sum, checksums.txt of $tag says $want_sum; nothing from it was run"
	mkdir -p "$work/x"
	if [[ $ext == zip ]]; then
		if command -v unzip >/dev/null; then
			unzip -q "$work/$archive" "$exe" -d "$work/x"
		else
			powershell -NoProfile -NonInteractive -Command "Expand-Archive -LiteralPath '$(win_path "$work/$archive")' -DestinationPath '$(win_path "$work/x")'"
		fi
	else
		tar -xzf "$work/$archive" -C "$work/x" "$exe"
	fi || fail "unpack $archive failed"
	[[ -f "$work/x/$exe" ]] || fail "$archive holds no $exe"
	mkdir -p "$tool_dir" || fail "make $tool_dir failed"
	mv -f "$work/x/$exe" "$bin" && chmod 0755 "$bin" || fail "install $bin failed"
	: >"$tool_dir.complete"
	echo "rolecall $tag installed in $tool_dir (SHA-256 of $archive checked)"
fi
printf '%s\n' "$(win_path "$tool_dir")" >>"$GITHUB_PATH"

# 3. The flags.
args=(assume -f github --github-output)
if bool role-chaining "${INPUT_ROLE_CHAINING:-}"; then
	: # the source is the credentials already in the environment
elif [[ -n ${INPUT_WEB_IDENTITY_TOKEN_FILE:-} ]]; then
	args+=(--web-identity-token-file "$INPUT_WEB_IDENTITY_TOKEN_FILE")
else
	args+=(--oidc github --audience "${INPUT_AUDIENCE:-sts.amazonaws.com}")
fi
[[ -n ${INPUT_AWS_REGION:-} ]] && args+=(--region "$INPUT_AWS_REGION")
[[ -n ${INPUT_ROLE_SESSION_NAME:-} ]] && args+=(--session-name "$INPUT_ROLE_SESSION_NAME")
[[ -n ${INPUT_ROLE_DURATION_SECONDS:-} ]] && args+=(--duration "$INPUT_ROLE_DURATION_SECONDS")
[[ -n ${INPUT_ROLE_EXTERNAL_ID:-} ]] && args+=(--external-id "$INPUT_ROLE_EXTERNAL_ID")
[[ -n ${INPUT_INLINE_SESSION_POLICY:-} ]] && args+=(--policy "$INPUT_INLINE_SESSION_POLICY")
[[ -n ${INPUT_STS_ENDPOINT:-} ]] && args+=(--endpoint-url "$INPUT_STS_ENDPOINT")
while IFS= read -r arn; do
	args+=(--policy-arn "$arn")
done < <(lines "${INPUT_MANAGED_SESSION_POLICIES:-}")
while IFS= read -r key; do
	args+=(--transitive-tag-key "$key")
done < <(lines "${INPUT_TRANSITIVE_TAG_KEYS:-}")
# Session tags as configure-aws-credentials sets them, where STS takes
# them: AssumeRole from existing credentials (role-chaining). With a web
# identity the token's claims are the tags.
if bool role-chaining "${INPUT_ROLE_CHAINING:-}" && ! bool role-skip-session-tagging "${INPUT_ROLE_SKIP_SESSION_TAGGING:-}"; then
	# A tag value allows letters, digits, white space and _.:/=+-@ only.
	tag_value() { printf '%s' "$1" | sed 's#[^[:alnum:][:space:]_.:/=+@-]#*#g' | cut -c1-256; }
	args+=(--tag GitHub=Actions)
	for pair in Repository:GITHUB_REPOSITORY Workflow:GITHUB_WORKFLOW Action:GITHUB_ACTION Actor:GITHUB_ACTOR Commit:GITHUB_SHA Branch:GITHUB_REF; do
		var=${pair#*:}
		value=${!var:-}
		[[ -n $value ]] && args+=(--tag "${pair%%:*}=$(tag_value "$value")")
	done
fi
args+=("$INPUT_ROLE_TO_ASSUME")

if bool mask-aws-account-id "${INPUT_MASK_AWS_ACCOUNT_ID:-}"; then
	# The account is the role's, known before any call: masked before
	# anything can print it.
	IFS=: read -r _ _ _ _ account _ <<<"$INPUT_ROLE_TO_ASSUME"
	[[ $account =~ ^[0-9]{12}$ ]] || fail "mask-aws-account-id needs role-to-assume as a role ARN (arn:aws:iam::ACCOUNT:role/NAME)" 2
	echo "::add-mask::$account"
fi

# 4. Run it. The proxy inputs are the proxy variables Go reads.
[[ -n ${INPUT_HTTP_PROXY:-} ]] && export HTTPS_PROXY="$INPUT_HTTP_PROXY" HTTP_PROXY="$INPUT_HTTP_PROXY"
[[ -n ${INPUT_NO_PROXY:-} ]] && export NO_PROXY="$INPUT_NO_PROXY"
run=$(mktemp -d "$temp/rolecall-run.XXXXXX") || fail "make a directory in RUNNER_TEMP ($temp) failed"
trap 'rm -rf "$run" "${work:-}"' EXIT
outputs="$run/outputs"
: >"$outputs"
chmod 0600 "$outputs"
GITHUB_OUTPUT=$(win_path "$outputs") "$bin" "${args[@]}" 2>"$run/stderr"
rc=$?
message=() hint=()
while IFS= read -r line; do
	case $line in
	'rolecall: error: '*) message+=("$line") ;;
	'rolecall: hint: '*) hint+=("$line") ;;
	*) printf '%s\n' "$line" >&2 ;;
	esac
done <"$run/stderr"
if ((rc != 0)); then
	# (${a[@]+…}: bash 3.2, macOS's, calls an empty array unbound.)
	text=$(printf '%s\n' ${message[@]+"${message[@]}"} ${hint[@]+"${hint[@]}"})
	[[ -n ${text//$'\n'/} ]] || text="rolecall assume failed with exit code $rc"
	fail "$text" "$rc"
fi

# The step outputs: every block of rolecall's, the credentials only when
# asked for. A block is NAME<<DELIMITER, the value, DELIMITER.
keep_credentials=false
bool output-credentials "${INPUT_OUTPUT_CREDENTIALS:-}" && keep_credentials=true
{
	keep=false delim=
	while IFS= read -r line; do
		if [[ -z $delim ]]; then
			name=${line%%<<*}
			delim=${line#*<<}
			case $name in
			aws-access-key-id | aws-secret-access-key | aws-session-token | aws-expiration) keep=$keep_credentials ;;
			*) keep=true ;;
			esac
			[[ $keep == true ]] && printf '%s\n' "$line"
		else
			[[ $keep == true ]] && printf '%s\n' "$line"
			[[ $line == "$delim" ]] && delim=
		fi
	done <"$outputs"
} >>"$GITHUB_OUTPUT"
