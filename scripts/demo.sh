#!/usr/bin/env bash
# Shows rolecall's main job end to end without an AWS account: builds
# rolecall and the STS emulator, starts the emulator with its demo
# configuration, assumes roles, evals the exports, serves the AWS CLI through
# credential_process, and stops the emulator. Secrets in the output are the
# emulator's throwaway values, shortened for display.
#
# Needs Go. The AWS CLI (for the credential_process step) and curl (for the
# emulator's call log) are optional: without them those steps are skipped,
# with a line saying so. Bold headings only on a terminal without NO_COLOR.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z ${ROLECALL_DEMO_BIN:-} ]] && ! command -v go >/dev/null; then
	echo "demo.sh: needs Go (https://go.dev/dl/) to build rolecall and the emulator" >&2
	exit 1
fi
have_aws=; command -v aws >/dev/null && have_aws=1
have_curl=; command -v curl >/dev/null && have_curl=1
[[ -n $have_aws ]] || echo "demo.sh: no AWS CLI (aws) on PATH: the credential_process step will be skipped"
[[ -n $have_curl ]] || echo "demo.sh: no curl on PATH: the emulator's call log will not be shown"

work=$(mktemp -d)
emulator_pid=""
cleanup() {
	[[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	step() { printf '\n$ %s\n' "$*"; }
fi
skip() { printf '(skipped: %s)\n' "$*"; }
shorten() { sed -E 's/((SECRET_ACCESS_KEY|SESSION_TOKEN|SecretAccessKey|SessionToken)["'"'"'=: ]+)([A-Za-z0-9/+=]{6})[A-Za-z0-9/+=]*/\1\3…/g'; }

if [[ -n ${ROLECALL_DEMO_BIN:-} ]]; then
	# The end-to-end test (demo.txtar) passes the rolecall and ststest its
	# test binary provides, so that a test run builds nothing twice.
	echo "using rolecall and the STS emulator from $ROLECALL_DEMO_BIN"
	export PATH="$ROLECALL_DEMO_BIN:$PATH"
else
	# The build, one line per step and per stretch of work within it: on a
	# fresh machine it downloads the modules and compiles the AWS SDK, which
	# takes minutes, and a silent minute looks like a hang.
	echo "building rolecall and the STS emulator: the first build on a machine downloads the Go modules and compiles the AWS SDK, about 1 to 5 minutes; later builds take seconds"
	build_step() { # build_step N/3 WHAT: a line when a step starts
		step_started=$SECONDS
		echo "build step $1: $2…"
	}
	build_done() { echo "  done in $((SECONDS - step_started))s"; }
	# downloads lists each module as its download starts (go's -x trace,
	# "# get https://PROXY/MODULE/@v/VERSION.zip"); nothing when all are
	# cached. go's own errors ("go: …") pass through: they say why it failed.
	downloads() { sed -nE -e 's|^# get [a-z]+://[^/]+/(.+)/@v/(v[^/]+)\.zip$|  downloading \1 \2|p' -e '/^go: /p'; }
	# compiled counts the packages go build -v names as it compiles them, one
	# line per 20 (and the total): nothing when all are in the build cache.
	compiled() {
		local n=0
		while IFS= read -r _; do
			n=$((n + 1))
			((n % 20 == 0)) && echo "  compiled $n packages…"
		done
		((n == 0)) || echo "  compiled $n packages"
	}
	build_step 1/3 "downloading the Go modules rolecall needs (go mod download)"
	go mod download -x 2>&1 | downloads
	build_done
	# -trimpath: the build does not depend on where the module cache is,
	# so a build cache filled once serves any module cache (and the
	# binaries name no local paths).
	build_step 2/3 "compiling rolecall"
	go build -trimpath -v -o "$work/bin/rolecall" ./cmd/rolecall 2>&1 | compiled
	build_done
	build_step 3/3 "compiling the STS emulator"
	go build -trimpath -v -o "$work/bin/ststest" ./cmd/ststest 2>&1 | compiled
	build_done
	export PATH="$work/bin:$PATH"
fi

ststest --listen 127.0.0.1:0 >"$work/ststest.out" 2>"$work/ststest.err" &
emulator_pid=$!
# Its first line is its URL: wait for it, as long as a busy machine needs.
for _ in $(seq 1200); do [[ -s $work/ststest.out ]] && break; sleep 0.05; done
if [[ ! -s $work/ststest.out ]]; then
	echo "demo.sh: the STS emulator printed no URL within a minute (hung?):" >&2
	cat "$work/ststest.err" >&2
	exit 1
fi
url=$(head -n1 "$work/ststest.out")
echo "STS emulator listening at $url"

# A hermetic AWS environment: the emulator's demo user alice, no real files.
export HOME="$work/home" AWS_CONFIG_FILE="$work/home/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$work/home/.aws/credentials"
export ROLECALL_CACHE_DIR="$work/cache" AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_STS="$url"
mkdir -p "$HOME/.aws"
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<INI
[alice]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
INI
cat >"$AWS_CONFIG_FILE" <<INI
[profile demo]
role_arn = arn:aws:iam::123456789012:role/demo
source_profile = alice

[profile chained]
role_arn = arn:aws:iam::123456789012:role/chained
source_profile = demo

[profile via-rolecall]
credential_process = $work/bin/rolecall process --profile alice arn:aws:iam::123456789012:role/demo
region = us-east-1
INI

step "rolecall whoami --profile alice"
rolecall whoami --profile alice

step "rolecall assume --profile alice arn:aws:iam::123456789012:role/demo"
rolecall assume --profile alice arn:aws:iam::123456789012:role/demo | shorten

step 'eval "$(rolecall assume demo)" && rolecall whoami'
(eval "$(rolecall assume demo)" && rolecall whoami)

step "rolecall process chained   # a chain of two roles, each cached"
rolecall process chained | shorten; echo

step "aws sts get-caller-identity --profile via-rolecall   # the AWS CLI through credential_process"
if [[ -n $have_aws ]]; then
	aws --endpoint-url "$url" sts get-caller-identity --profile via-rolecall
else
	skip "no AWS CLI on PATH; install it (Debian: apt-get install awscli) to see an SDK use rolecall through credential_process"
fi

step "rolecall cache list"
rolecall cache list

if [[ -n $have_curl ]]; then
	calls=$(curl -fsS "$url/_ststest/calls" 2>/dev/null | grep -o '"action":"[A-Za-z]*"' | sort | uniq -c || true)
	printf '\nSTS calls the emulator received:\n%s\n' "$calls"
else
	printf '\nSTS calls the emulator received: '
	skip "no curl on PATH"
fi
echo
echo "demo finished: the emulator is stopped and its files removed"
