#!/usr/bin/env bash
# The `stop all` row of bench-floor.sh alone: berth stopping 100 host
# services that exit on TERM, until the last is gone, beside the floor
# (plain bash `kill` + `wait` of the same 100 processes), runs alternating,
# with the supervisor (the default) and without (BERTH_SUPERVISOR=0).
#   bash hack/bench-stop.sh     # RUNS=9 N=100; run it with nothing else running
#   MODES=1 bash hack/bench-stop.sh                    # supervisor only
# BERTH=path uses a berth binary already built. Each figure is the median
# of RUNS, and the mean beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-9}
N=${N:-100}
MODES=${MODES:-"1 0"}
work=$(mktemp -d)
cleanup() {
	"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0
if [ -n "${BERTH:-}" ]; then cp "$BERTH" "$work/berth"; else go build -o "$work/berth" ./cmd/berth; fi
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
B="$work/berth" S="$work/testsvc" e="$work/env"
p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
ports() { seq "$1" "$(($1 + $2 - 1))"; }
now() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mean() { awk '{s+=$1} END {print s/NR}'; }
mkdir -p "$e"
printf 'template=bench\nenvironment_root=%s\n' "$e" >"$e/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 "$N"); do printf '  s%03d:\n    command: [%s, --tcp, "127.0.0.1:%d"]\n' "$i" "$S" $((p + i - 1)); done
} >"$e/berth.yaml"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for mode in $MODES; do
	export BERTH_SUPERVISOR=$mode
	tb=(); tf=()
	for _ in $(seq "$RUNS"); do
		"$B" --env "$e" start all >/dev/null; "$work/portwait" $(ports $p "$N")
		t0=$(now); "$B" --env "$e" stop all >/dev/null; t1=$(now); tb+=($((t1 - t0)))
		for i in $(seq 0 $((N - 1))); do "$S" --tcp "127.0.0.1:$((p + i))" >/dev/null 2>&1 & done
		"$work/portwait" $(ports $p "$N")
		t0=$(now); kill $(jobs -p); wait; t1=$(now); tf+=($((t1 - t0)))
	done
	b=$(printf '%s\n' "${tb[@]}" | median) f=$(printf '%s\n' "${tf[@]}" | median)
	bm=$(printf '%s\n' "${tb[@]}" | mean) fm=$(printf '%s\n' "${tf[@]}" | mean)
	awk -v m="$mode" -v n="$N" -v b="$b" -v f="$f" -v bm="$bm" -v fm="$fm" 'BEGIN {
		printf "stop all, %d services, BERTH_SUPERVISOR=%s: berth %7.2f ms  floor %7.2f ms  ratio %5.2f  (means %7.2f / %7.2f, %4.2f)\n",
			n, m, b/1000, f/1000, b/f, bm/1000, fm/1000, bm/fm }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
