#!/usr/bin/env bash
# Two or more builds of berth timed in turns on one environment of 100 host
# services, for changes smaller than the run-to-run spread of the wall-clock
# rows (README, Measured): per build, the medians of ROUNDS rounds of
#   start  CPU of the command (its rusage) and of the supervisor it spawned
#          (/proc/PID/task/*/schedstat once every port accepts), milliseconds;
#   stop   wall time of `stop all` until it returns, beside a floor of plain
#          bash (100 services started with `&`, `kill`, `wait`) in each round.
# Each build starts its own supervisor (a supervisor serves its own build).
#   go build -o /tmp/berth.old ./cmd/berth   # at the revision before
#   go build -o /tmp/berth.new ./cmd/berth
#   ROUNDS=11 bash hack/bench-ab.sh /tmp/berth.old /tmp/berth.new
# BERTH_SUPERVISOR=0 times the unsupervised path (no supervisor figure).
# Wall-clock: run it with nothing else running. Load is printed first.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,14p' "$0"; exit 2; }
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-9}
work=$(mktemp -d)
e="$work/env"
cleanup() {
	for b in "$@"; do "$b" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$work"
}
trap 'cleanup "$@"' EXIT
. hack/bench-env100.sh # $work/testsvc, $work/portwait, the environment $e, $p, $ports
now() { echo "${EPOCHREALTIME/./}"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
# waited_cpu is the CPU, in milliseconds, of the children this shell has
# waited for (bash's times): the command, not the supervisor it spawned nor
# the services, which it does not wait for.
# `times` is run in this shell (a $(...) subshell has children of its own)
# into a file, read here: milliseconds.
waited_cpu() { tail -1 "$1" | tr 'ms' '  ' | awk '{printf "%.0f", ($1 * 60 + $2 + $3 * 60 + $4) * 1000}'; }
supervisor() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$e/.berth/supervisor.pid" 2>/dev/null || true; }
supervisor_cpu() { # milliseconds of the running supervisor, or 0
	local pid
	pid=$(supervisor)
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || { echo 0; return; }
	cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1e6}'
}
declare -A cmd sup stop
floor=""
for _ in $(seq "$ROUNDS"); do
	for b in "$@"; do
		times >"$work/times0"
		"$b" --env "$e" start all >/dev/null
		times >"$work/times1"
		"$work/portwait" $ports
		cmd[$b]+=" $(($(waited_cpu "$work/times1") - $(waited_cpu "$work/times0")))"
		sup[$b]+=" $(supervisor_cpu)"
		pid=$(supervisor)
		t0=$(now); "$b" --env "$e" stop all >/dev/null; t1=$(now)
		stop[$b]+=" $(((t1 - t0) / 10))" # hundredths of a millisecond
		# The next build spawns a supervisor of its own once this one,
		# which exits with its last service, is gone.
		while [ -n "$pid" ] && [ -d "/proc/$pid" ]; do sleep 0.005; done
	done
	for port in $ports; do "$work/testsvc" --tcp "127.0.0.1:$port" >/dev/null 2>&1 & done
	"$work/portwait" $ports
	t0=$(now); kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; t1=$(now)
	floor+=" $(((t1 - t0) / 10))"
done
f=$(echo "$floor" | median)
for b in "$@"; do
	s=$(echo "${stop[$b]}" | median)
	awk -v n="$b" -v c="$(echo "${cmd[$b]}" | median)" -v u="$(echo "${sup[$b]}" | median)" -v s="$s" -v f="$f" \
		'BEGIN {printf "%-28s start: command %6.1f ms CPU, supervisor %6.1f ms CPU   stop all %6.2f ms (floor %6.2f, ratio %.2f)\n", n, c, u, s/100, f/100, s/f}'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
