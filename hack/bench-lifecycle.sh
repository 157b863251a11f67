#!/usr/bin/env bash
# Whole-process wall time of berth's lifecycle commands, median of repeated
# runs, for environments of N helper services (hack/testsvc).
#   bash hack/bench-lifecycle.sh            # N = 7 and 100, 5 runs each
#   RUNS=9 SIZES="7 100" bash hack/bench-lifecycle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZES=${SIZES:-"7 100"}
work=$(mktemp -d)
trap 'for e in "$work"/env*; do [ -d "$e" ] && "$work/berth" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
B="$work/berth"

mkenv() { # dir count extra-args
	mkdir -p "$1"
	printf 'template=bench\nenvironment_root=%s\n' "$1" >"$1/.metadata"
	{ echo "version: 1"; echo "services:"
	  for i in $(seq 1 "$2"); do printf '  s%03d:\n    command: [%s%s]\n' "$i" "$work/testsvc" "$3"; done
	} >"$1/berth.yaml"
}

# ms CMD...: wall milliseconds of one run.
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for n in $SIZES; do
	e="$work/env$n"; mkenv "$e" "$n" ""
	st=(); sa=(); so=()
	for _ in $(seq "$RUNS"); do
		sa+=("$(ms "$B" --env "$e" start all)")
		st+=("$(ms "$B" --env "$e" status)")
		so+=("$(ms "$B" --env "$e" stop all)")
	done
	echo "services=$n  start all: $(printf '%s\n' "${sa[@]}" | median) ms   status: $(printf '%s\n' "${st[@]}" | median) ms   stop all (exit on TERM): $(printf '%s\n' "${so[@]}" | median) ms"
	# status alone, without the two `date` forks per run that ms() adds:
	# the mean of 100 back-to-back runs with the services running.
	"$B" --env "$e" start all >/dev/null
	t0=$(date +%s%N)
	for _ in $(seq 100); do "$B" --env "$e" status >/dev/null; done
	t1=$(date +%s%N)
	"$B" --env "$e" stop all >/dev/null
	echo "services=$n  status, mean of 100 back-to-back runs: $(((t1 - t0) / 100000)) us"
	t0=$(date +%s%N)
	for _ in $(seq 100); do "$B" --version >/dev/null; done
	t1=$(date +%s%N)
	echo "            berth --version (process start-up alone), mean of 100: $(((t1 - t0) / 100000)) us"
done

e="$work/envstuck"; mkenv "$e" 10 ", --ignore-term"
sf=()
for _ in $(seq "$RUNS"); do
	"$B" --env "$e" start all >/dev/null
	sf+=("$(ms "$B" --env "$e" stop all --force --timeout 1s)")
done
echo "services=10 ignoring TERM  stop all --force --timeout 1s: $(printf '%s\n' "${sf[@]}" | median) ms"
