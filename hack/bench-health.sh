#!/usr/bin/env bash
# Health check figures: one tcp check, one http check, 20 http checks
# at once (berth health's shape), each against local servers; then the wait
# of a start of 20 services that become ready 200 ms after it begins.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run='^$' -bench='^Benchmark(CheckTCP|CheckHTTP|WaitAll20)$' -benchtime="${BENCHTIME:-2000x}" -count="${COUNT:-3}" ./runtime/health
# The wait of a start: 20 services that accept 200 ms after it begins.
go test -run='^$' -bench='^BenchmarkWaitAll20Ready200ms$' -benchtime="${WAITTIME:-10x}" -count="${COUNT:-3}" ./runtime/health
