#!/usr/bin/env bash
# The supervisor's start-up beside its floor: how long after its spawn
# berth's supervisor of an environment of 10 host services (none running)
# says it is ready, as the first start after a `stop all` waits for it,
# beside hack/startfloor (a hello world linking the packages the design
# requires) answering the same way. hack/readywait spawns each N times in
# turns and prints medians and least, in milliseconds.
#   bash hack/bench-spawn.sh          # N=30, 3 rounds
# Timings depend on load: the load average is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-30}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/startfloor" ./hack/startfloor
go build -o "$work/readywait" ./hack/readywait
e="$work/env"
mkdir -p "$e"
printf 'template=bench\nenvironment_root=%s\n' "$e" >"$e/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 10); do printf '  s%02d:\n    command: [sleep, "1000"]\n' "$i"; done
} >"$e/berth.yaml"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for _ in $(seq "$ROUNDS"); do
	read -r bm bl < <("$work/readywait" -n "$N" "$work/berth" --env "$e" internal supervise)
	read -r fm fl < <("$work/readywait" -n "$N" "$work/startfloor")
	awk -v bm="$bm" -v bl="$bl" -v fm="$fm" -v fl="$fl" 'BEGIN {printf "supervisor ready after spawn: berth %.2f ms (least %.2f)   floor %.2f ms (least %.2f)   ratio %.2f\n", bm/1000, bl/1000, fm/1000, fl/1000, bm/fm}'
done
