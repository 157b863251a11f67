#!/usr/bin/env bash
# Whole-process wall time of berth's lifecycle commands, median of repeated
# runs, for environments of N helper services (hack/testsvc).
#   bash hack/bench-lifecycle.sh            # N = 7 and 100, 5 runs each
#   RUNS=9 SIZES="7 100" bash hack/bench-lifecycle.sh
# The last line, `stop all --force` of 10 services that ignore TERM, prints
# the floor beside berth, runs alternating: plain bash, `kill -TERM` each,
# `sleep 1`, `kill -KILL` each, `wait` until all are gone. On both sides the
# services are listening (hack/portwait) before the timed stop.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZES=${SIZES:-"7 100"}
work=$(mktemp -d)
cleanup() {
	for e in "$work"/env*; do [ -d "$e" ] && "$work/berth" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done
	jobs -p | xargs -r kill -KILL 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
B="$work/berth"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

mkenv() { # dir count extra-args [first-port: each service listens on the next]
	mkdir -p "$1"
	printf 'template=bench\nenvironment_root=%s\n' "$1" >"$1/.metadata"
	{ echo "version: 1"; echo "services:"
	  for i in $(seq 1 "$2"); do
		local tcp=""; [ -n "${4:-}" ] && tcp=", --tcp, \"127.0.0.1:$(($4 + i - 1))\""
		printf '  s%03d:\n    command: [%s%s%s]\n' "$i" "$work/testsvc" "$3" "$tcp"
	  done
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

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
report() { # name berth-us floor-us
	awk -v n="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/1000, f/1000, b/f}'
}
p=$((20000 + RANDOM % 12000)) ports=$(seq "$p" $((p + 9)))
e="$work/envstuck"; mkenv "$e" 10 ", --ignore-term" "$p"
floor_stop() { # prints the microseconds; in a subshell, whose "Killed" notes go to /dev/null
	local pids=() q t0 t1
	for q in $ports; do "$work/testsvc" --ignore-term --tcp "127.0.0.1:$q" >/dev/null & pids+=($!); done
	"$work/portwait" $ports
	t0=$(now); kill -TERM "${pids[@]}"; sleep 1; kill -KILL "${pids[@]}"; wait; t1=$(now)
	echo $((t1 - t0))
}
sb=(); sf=()
for _ in $(seq "$RUNS"); do
	"$B" --env "$e" start all >/dev/null && "$work/portwait" $ports
	t0=$(now); "$B" --env "$e" stop all --force --timeout 1s >/dev/null; t1=$(now); sb+=($((t1 - t0)))
	sf+=("$(floor_stop 2>/dev/null)")
done
report "stop all --force --timeout 1s, 10 ignoring TERM, median" "$(printf '%s\n' "${sb[@]}" | median)" "$(printf '%s\n' "${sf[@]}" | median)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
