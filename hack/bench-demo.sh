#!/usr/bin/env bash
# bench-demo.sh: wall time of `berth demo`, with the Docker daemon and with
# DOCKER_HOST at a missing socket; prints the median of N runs (default 5).
set -euo pipefail
runs=${1:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$(dirname "$0")/.." && go build -o "$work/berth" ./cmd/berth)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for mode in docker no-docker; do
	for i in $(seq "$runs"); do
		start=$(date +%s%N)
		if [ "$mode" = docker ]; then
			"$work/berth" demo >/dev/null
		else
			DOCKER_HOST=unix://$work/missing.sock "$work/berth" demo >/dev/null
		fi
		echo $(( ($(date +%s%N) - start) / 1000000 ))
	done | median | xargs printf "berth demo (%s): median %s ms of $runs runs\n" "$mode"
done
