#!/usr/bin/env bash
# Health check figures: one tcp check, one http check, and 20 http checks
# at once (berth health's shape), each against local servers.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run='^$' -bench='^Benchmark(CheckTCP|CheckHTTP|WaitAll20)$' -benchtime="${BENCHTIME:-2000x}" -count="${COUNT:-3}" ./runtime/health
