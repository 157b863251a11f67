#!/usr/bin/env bash
# Runs a command, and every process it starts, on a slice of one CPU: a
# cgroup whose CPU quota is PERCENT of one core. A test that passes only
# when the machine is quick (a service's exit expected within a short
# window, a process expected to have started by some point) fails here
# every time, not once in a loaded CI run. Needs root (cgroup v1's cpu
# controller or cgroup v2's cpu.max).
#   bash hack/slow.sh 20 go test -count=1 -run TestCLIStartOrderOneAtATime ./cmd/berth
#   go test -c -o /tmp/rt.test ./runtime && (cd runtime && bash ../hack/slow.sh 20 /tmp/rt.test)
# A test binary is best run directly (go test would build on the slice too).
# The Docker daemon and the processes it starts are not on the slice.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,11p' "$0"; exit 2; }
pct=$1
shift
case $pct in '' | *[!0-9]*) echo "slow.sh: PERCENT must be a whole number from 1 to 100, not '$pct'" >&2; exit 2 ;; esac
[ "$pct" -ge 1 ] && [ "$pct" -le 100 ] || { echo "slow.sh: PERCENT must be from 1 to 100, not $pct" >&2; exit 2; }
name="berth-slow-$$"
if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
	cg=/sys/fs/cgroup/cpu/$name
	mkdir "$cg"
	echo 100000 >"$cg/cpu.cfs_period_us"
	echo $((pct * 1000)) >"$cg/cpu.cfs_quota_us"
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	cg=/sys/fs/cgroup/$name
	mkdir "$cg"
	echo "$((pct * 1000)) 100000" >"$cg/cpu.max"
else
	echo "slow.sh: no cgroup cpu controller found under /sys/fs/cgroup" >&2
	exit 1
fi
# The cgroup goes when its last process has (rmdir fails while one is left,
# a service the command left running: it stays on the slice).
trap 'rmdir "$cg" 2>/dev/null || echo "slow.sh: $cg still holds processes; rmdir it once they end" >&2' EXIT
code=0
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' slow "$cg" "$@" || code=$?
exit "$code"
