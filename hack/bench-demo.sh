#!/usr/bin/env bash
# bench-demo.sh: wall time of `berth demo`, with the Docker daemon and with
# DOCKER_HOST at a missing socket, beside its floor, hack/demo-floor.sh (the
# same git, docker, curl and process work done by bash without berth), runs
# alternating; prints the median of N runs each (default 5).
#   bash hack/bench-demo.sh [N]
set -euo pipefail
runs=${1:-5}
hack=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-demo.XXXXXX")
trap 'rm -rf "$work"; docker rmi -f berth-demo-floor:latest >/dev/null 2>&1 || true' EXIT
(cd "$hack/.." && CGO_ENABLED=0 go build -o "$work/berth" ./cmd/berth)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
us() { local t0=${EPOCHREALTIME/./}; "$@" >/dev/null || return; echo $((${EPOCHREALTIME/./} - t0)); }
for mode in docker no-docker; do
	pre=(); [ "$mode" = no-docker ] && pre=(env "DOCKER_HOST=unix://$work/missing.sock")
	b=(); f=()
	for _ in $(seq "$runs"); do
		b+=("$(us "${pre[@]}" "$work/berth" demo)")
		f+=("$(us "${pre[@]}" bash "$hack/demo-floor.sh" "$work/berth" "$mode")")
	done
	awk -v n="berth demo ($mode), median of $runs" -v b="$(printf '%s\n' "${b[@]}" | median)" -v f="$(printf '%s\n' "${f[@]}" | median)" \
		'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/1000, f/1000, b/f}'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
