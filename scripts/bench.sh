#!/usr/bin/env bash
# Measures rolecall against baselines measured in the same run (see
# scripts/bench/driver): cache-hit latency vs a Go hello-world and vs a floor
# program linking rolecall's dependencies, peak RSS of a hit, and N
# concurrent cold calls against the emulator with STS latency. Prints
# figures and ratios; it never fails on a number. Then the credential
# endpoint (rolecall serve) against a cache hit measured alternately, and
# 1,000 concurrent fetches of a warm and a cold endpoint. Then `rolecall eks
# token` on a cache hit against `aws eks get-token` (CLI v1 and v2). Then the
# token holder's fetches of the endpoint alone and under attack from another
# user without the token (scripts/bench/dos: 1,000 slowloris connections and
# a flood, on loopback, bounded). Then the Go benchmarks, among them
# BenchmarkProfiles10000 (`rolecall profiles` over 10,000 profiles; x-load is
# its time over the floor of loading the same files, measured in the run).
#   scripts/bench.sh [-runs 60] [-concurrent 64] [-latency 200ms]
#                    [-fetches 400] [-endpoint-concurrent 1000]
#                    [-eks-runs 15] [-eks-only]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# Built as releases are (.goreleaser.yaml): static, no cgo. With cgo, a
# lookup of the OS user (when USER is unset) loads NSS libraries.
export CGO_ENABLED=0
# Stripped, like the release (.goreleaser.yaml: -s -w).
for prog in rolecall:./cmd/rolecall hello:./scripts/bench/hello floor:./scripts/bench/floor; do
	go build -trimpath -ldflags='-s -w' -o "$bin/${prog%%:*}" "${prog#*:}"
done
CGO_ENABLED=1 go build -o "$bin/driver" ./scripts/bench/driver
go build -o "$bin/dos" ./scripts/bench/dos
# The attack runs as nobody when this runs as root: it must reach the binaries.
chmod 755 "$bin"
ls -l "$bin/rolecall" "$bin/floor" "$bin/hello" | awk '{printf "  %-10s %6.1f MB\n", $NF, $5/1048576}' | sed "s#$bin/##"
"$bin/driver" -bin "$bin" "$@"
case " $* " in *" -eks-only "*) exit 0 ;; esac
echo
dos_aws=()
[[ -x /usr/bin/aws ]] && dos_aws=(-aws /usr/bin/aws)
"$bin/dos" -rolecall "$bin/rolecall" -duration 15s "${dos_aws[@]}"
echo
echo "Go benchmarks:"
go test -run '^$' -bench . -benchmem ./pkg/cache/ ./pkg/format/ ./pkg/cli/ ./pkg/server/ 2>/dev/null | grep -E '^(Benchmark|ok)' || true
