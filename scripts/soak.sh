#!/usr/bin/env bash
# Runs the soak: 16 workers mixing cache hits, misses, refreshes, clears,
# exports and whoami against the STS emulator for DURATION (default 5m),
# then checks that nothing leaked (descriptors, temporary files, locks). It
# also runs the load test with all 10,000 sequential hits as processes.
# The figures are the load_test.go lines of the output.
#
#   scripts/soak.sh [DURATION]    (DURATION: a number and s, m or h)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5m}
if [[ ! $duration =~ ^([0-9]+)(s|m|h)$ ]]; then
	echo "soak.sh: DURATION must be a number with s, m or h, e.g. 5m" >&2
	exit 2
fi
n=${BASH_REMATCH[1]}
case ${BASH_REMATCH[2]} in
s) unit=1 ;;
m) unit=60 ;;
h) unit=3600 ;;
esac
# go test's own timeout: the soak, the load test and room to spare.
timeout=$((n * unit + 900))
ROLECALL_SOAK=$duration go test -count=1 -run '^(TestSoak|TestLoad)$' -v -timeout "${timeout}s" ./cmd/rolecall |
	grep -E '^(=== RUN|--- |\s+load_test\.go|PASS|FAIL|ok)'
