#!/usr/bin/env bash
# The test command README.md gives and .ci/run runs: vet, the whole suite
# under the race detector, then each fuzz target for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."

go vet ./...
go test -race -count=1 ./...

fuzztime=${BERTH_FUZZTIME:-10s}
for pkg in metadata runtime/logs; do
	for target in $(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' "$pkg" | sed 's/^func //'); do
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "./$pkg"
	done
done
