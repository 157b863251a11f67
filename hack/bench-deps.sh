#!/usr/bin/env bash
# Whole-process wall time of a dependency-ordered start and of berth health:
# 20 testsvc services, each listening (healthy) 200 ms after it starts, in
# two dependency levels (10 services, then 10 that need them healthy).
#   bash hack/bench-deps.sh            # 5 runs each, medians
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap '"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
B="$work/berth --env $work/env"
mkdir -p "$work/env"
printf 'template=bench\nenvironment_root=%s\n' "$work/env" >"$work/env/.metadata"
port=$((30000 + RANDOM % 20000))
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
$B start all >/dev/null
h=()
for _ in $(seq "$RUNS"); do h+=("$(ms $B health)"); done
echo "berth health, 20 running services with tcp checks: $(printf '%s\n' "${h[@]}" | median) ms"
