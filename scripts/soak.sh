#!/usr/bin/env bash
# Runs the soak: 16 workers mixing cache hits, misses, refreshes, clears,
# exports and whoami against the STS emulator for DURATION (default 5m),
# then checks that nothing leaked (descriptors, temporary files, locks). It
# also runs the load test with all 10,000 sequential hits as processes.
# Figures are printed at the end.
#
#   scripts/soak.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5m}
# go test's own timeout: the soak, the load test and room to spare.
seconds=$(go run - "$duration" <<'GO'
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d, err := time.ParseDuration(os.Args[1])
	if err != nil || d <= 0 {
		fmt.Fprintln(os.Stderr, "soak.sh: DURATION must be a positive Go duration, e.g. 5m")
		os.Exit(2)
	}
	fmt.Println(int((d + 15*time.Minute).Seconds()))
}
GO
)
ROLECALL_SOAK=$duration go test -count=1 -run '^(TestSoak|TestLoad)$' -v -timeout "${seconds}s" ./cmd/rolecall |
	grep -E '^(=== RUN|--- |\s+load_test\.go|PASS|FAIL|ok)'
