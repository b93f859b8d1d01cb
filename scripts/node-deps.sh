#!/usr/bin/env bash
# Installs the npm packages the tests use (the AWS SDK for JavaScript v3:
# @aws-sdk/client-sts and @aws-sdk/credential-providers, every version pinned
# by scripts/node/package-lock.json) outside the repository, into
#
#   $ROLECALL_NODE_DEPS, default ${XDG_CACHE_HOME:-$HOME/.cache}/rolecall-dev/node
#
# The tests look there too (cmd/rolecall/node_test.go). Runs `npm ci` only
# when the installed lock file differs from the repository's, so a second
# run is instant. Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'node-deps: %s\n' "$*" >&2; }

dir=${ROLECALL_NODE_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecall-dev/node}
for prog in node npm; do
	command -v "$prog" >/dev/null || { say "$prog is not installed (Debian: apt-get install nodejs npm)"; exit 1; }
done

if cmp -s scripts/node/package-lock.json "$dir/package-lock.json" && [[ -d $dir/node_modules/@aws-sdk/client-sts ]]; then
	say "up to date in $dir"
	exit 0
fi
say "installing the AWS SDK for JavaScript v3 into $dir (npm ci, a few seconds)"
mkdir -p "$dir"
cp scripts/node/package.json scripts/node/package-lock.json "$dir/"
# --ignore-scripts: nothing of these packages runs at install time.
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
say "installed $(cd "$dir" && node -p 'require("@aws-sdk/client-sts/package.json").version') of @aws-sdk/client-sts in $dir"
