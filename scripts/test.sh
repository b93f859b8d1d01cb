#!/usr/bin/env bash
# Runs vet and every test. With CI set, tests that need bash, zsh, fish, the
# AWS CLI or moto fail instead of skipping when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

go vet ./...
go test -race -count=1 ./...
