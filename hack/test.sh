#!/usr/bin/env bash
# The test command README.md gives and .ci/run runs: vet, the whole suite
# under the race detector, the README check (every ```sh block of README.md
# is run), then each fuzz target for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."

go vet ./...
go test -race -count=1 ./...
bash hack/readme-check.sh

fuzztime=${BERTH_FUZZTIME:-10s}
# Every fuzz target of every package, each for a short time.
grep -rlE '^func Fuzz' --include='*_test.go' . | xargs -n1 dirname | sort -u | while read -r pkg; do
	for target in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+' "$pkg"/*_test.go | sed 's/^func //'); do
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
	done
done
