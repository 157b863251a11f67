#!/usr/bin/env bash
# Whole-process wall time of a dependency-ordered start and of berth health:
# 20 testsvc services, each listening (healthy) 200 ms after it starts, in
# two dependency levels (10 services, then 10 that need them healthy).
#   bash hack/bench-deps.sh            # 5 runs each (health: HRUNS=21), medians
# `berth health` is printed beside its floor, runs alternating: the static Go
# program hack/portwait connecting once to each of the same 20 ports (the
# 20 tcp checks done by a process without berth).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
HRUNS=${HRUNS:-21}
work=$(mktemp -d)
trap '"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
B="$work/berth --env $work/env"
mkdir -p "$work/env"
printf 'template=bench\nenvironment_root=%s\n' "$work/env" >"$work/env/.metadata"
port=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 20); do
	addr="127.0.0.1:$((port + i))"
	printf '  s%02d:\n    command: [%s, --tcp, "%s", --ready-after, 200ms]\n    health: {type: tcp, address: "%s"}\n' "$i" "$work/testsvc" "$addr" "$addr"
	if [ "$i" -gt 10 ]; then printf '    depends_on: {s%02d: {condition: healthy}}\n' $((i - 10)); fi
  done
} >"$work/env/berth.yaml"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for par in 1 default; do
	flag=(); [ "$par" = 1 ] && flag=(--parallel 1)
	t=()
	for _ in $(seq "$RUNS"); do
		t+=("$(ms $B start all "${flag[@]}")")
		$B stop all >/dev/null
	done
	echo "start all, 20 services ready after 200 ms, 2 levels, --parallel $par: $(printf '%s\n' "${t[@]}" | median) ms"
done
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
report() { # name berth-us floor-us
	awk -v n="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/1000, f/1000, b/f}'
}
$B start all >/dev/null
h=(); f=()
for _ in $(seq "$HRUNS"); do
	t0=$(now); $B health >/dev/null; t1=$(now); h+=($((t1 - t0)))
	t0=$(now); "$work/portwait" -timeout 1s $(seq $((port + 1)) $((port + 20))); t1=$(now); f+=($((t1 - t0)))
done
report "berth health, 20 running services with tcp checks, median" "$(printf '%s\n' "${h[@]}" | median)" "$(printf '%s\n' "${f[@]}" | median)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
