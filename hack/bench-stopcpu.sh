#!/usr/bin/env bash
# Two or more builds of berth compared, in turns, by what a supervised
# `stop all` of 100 host services costs rather than by its wall time,
# which moves with the machine's load more than a change moves it: per
# build, the medians of ROUNDS rounds of
#   supervisor  CPU (task-clock), page faults, context switches and
#               system calls from just before the stop to its exit;
#   command     the same for the `berth stop all` process.
# perf stat counts them (it must be allowed to: root, or
# kernel.perf_event_paranoid <= 1).
#   go build -o /tmp/berth.old ./cmd/berth   # at the revision before
#   go build -o /tmp/berth.new ./cmd/berth
#   ROUNDS=9 bash hack/bench-stopcpu.sh /tmp/berth.old /tmp/berth.new
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,13p' "$0"; exit 2; }
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-9}
work=$(mktemp -d)
e="$work/env"
cleanup() {
	for b in "$@"; do "$b" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap 'cleanup "$@"' EXIT
. hack/bench-env100.sh # $work/testsvc, $work/portwait, the environment $e, $p, $ports
supervisor() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$e/.berth/supervisor.pid" 2>/dev/null || true; }
events=task-clock,page-faults,context-switches,raw_syscalls:sys_enter
count() { awk -F, -v k="$2" '$3 ~ k {print $1}' "$1"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
declare -A row
for _ in $(seq "$ROUNDS"); do
	for b in "$@"; do
		"$b" --env "$e" start all >/dev/null
		"$work/portwait" $ports
		pid=$(supervisor)
		perf stat -x, -e "$events" -p "$pid" -o "$work/sup" 2>/dev/null &
		stat=$!
		sleep 0.5 # perf attached
		perf stat -x, -e "$events" -o "$work/cmd" "$b" --env "$e" stop all >/dev/null
		# The supervisor exits with its last service; perf stat with it.
		while [ -d "/proc/$pid" ]; do sleep 0.005; done
		wait "$stat" || true
		for w in sup cmd; do
			for k in task-clock page-faults context-switches raw_syscalls; do
				row[$b.$w.$k]+=" $(count "$work/$w" "$k")"
			done
		done
	done
done
for b in "$@"; do
	printf '%s\n' "$b"
	for w in sup cmd; do
		name=supervisor; [ "$w" = cmd ] && name=command
		printf '  %-10s %7s ms CPU  %6s page faults  %5s context switches  %6s system calls\n' "$name" \
			"$(echo "${row[$b.$w.task-clock]}" | median)" "$(echo "${row[$b.$w.page-faults]}" | median)" \
			"$(echo "${row[$b.$w.context-switches]}" | median)" "$(echo "${row[$b.$w.raw_syscalls]}" | median)"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
