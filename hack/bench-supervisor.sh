#!/usr/bin/env bash
# The supervisor beside the floor, for the benchmark of the supervisor
# issue. Each line prints berth's figure and the floor's:
#   crash to relaunched: kill -9 of a service, then its port accepts again
#     (hack/crashwait, run the same way on both sides), restart: always with
#     zero backoff; floor: `while :; do svc; done` in bash;
#   idle CPU: utime+stime of the supervisor over IDLE seconds with 20
#     services; floor: 20 such bash loops;
#   RSS: the supervisor's with 100 services; floor: 100 bash loops;
#   status of 100 services with the supervisor running; floor: the same
#     environment run without a supervisor (supervisor: false).
#   bash hack/bench-supervisor.sh     # RUNS=21 crashes, IDLE=60 s, MEAN=100 statuses
# Timings depend on load: the load average is printed with each figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-21}
IDLE=${IDLE:-60}
MEAN=${MEAN:-100}
work=$(mktemp -d)
loops=()
cleanup() {
	for e in "$work"/env*; do [ -d "$e" ] && "$work/berth" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done
	for l in "${loops[@]}"; do stop_loop "$l"; done
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/crashwait" ./hack/crashwait
B="$work/berth"
S="$work/testsvc"
load() { echo "load $(cut -d' ' -f1 /proc/loadavg)"; }
echo "$(nproc) cores, $(load)"
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
port0=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)

# mkenv dir count first-port supervisor(true|false) [extra service lines]
mkenv() {
	mkdir -p "$1"
	printf 'template=bench\nenvironment_root=%s\n' "$1" >"$1/.metadata"
	{ echo "version: 1"; echo "supervisor: $4"; echo "services:"
	  for i in $(seq 1 "$2"); do
		printf '  s%03d:\n    command: [%s, --tcp, "127.0.0.1:%d"]\n' "$i" "$S" $(($3 + i - 1))
		if [ -n "${5:-}" ]; then printf "%s\n" "$5"; fi
	  done
	} >"$1/berth.yaml"
}
pidof_svc() { "$B" --env "$1" status "$2" | sed -n 's/.*Running (PID \([0-9]*\)).*/\1/p'; }
sup_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$1/.berth/supervisor.pid"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # after the comm field, which has no spaces here
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# floor_loop port: a bash loop that runs the service again whenever it ends.
floor_loop() { bash -c "while :; do '$S' --tcp 127.0.0.1:$1 >/dev/null 2>&1; done" 2>/dev/null & loops+=($!); }
loop_child() { pgrep -P "$1" | head -1; }
# stop_loop pid: the loop, then the service it runs.
stop_loop() { local c; c=$(pgrep -P "$1" || true); kill "$1" 2>/dev/null || true; [ -z "$c" ] || kill -KILL $c 2>/dev/null || true; }
# wait_children pid...: until every loop runs its service (5 s at most).
wait_children() {
	local t0; t0=$(now)
	for l in "$@"; do until [ -n "$(loop_child "$l")" ]; do (( $(now) - t0 < 5000000 )) || return 1; done; done
}

# Crash to relaunched, zero backoff.
p=$port0 e="$work/env1"
mkenv "$e" 1 $p true "    restart: always
    restart_backoff: {initial: 0s}"
"$B" --env "$e" start s001 >/dev/null
floor_loop $((p + 1)); fl=${loops[-1]}
wait_children "$fl"
cb=(); cf=()
for _ in $(seq "$RUNS"); do
	for _ in 1 2 3 4 5 6 7 8 9 10; do pid=$(pidof_svc "$e" s001); [ -n "$pid" ] && break; done
	cb+=("$("$work/crashwait" "$pid" $p)")
	for _ in 1 2 3 4 5 6 7 8 9 10; do c=$(loop_child "$fl"); [ -n "$c" ] && break; done
	cf+=("$("$work/crashwait" "$c" $((p + 1)))")
done
printf '%-62s berth %8.2f ms   floor %8.2f ms   (%s)\n' "crash to relaunched and accepting, zero backoff, median of $RUNS" \
	"$(printf '%s\n' "${cb[@]}" | median | awk '{print $1/1000}')" "$(printf '%s\n' "${cf[@]}" | median | awk '{print $1/1000}')" "$(load)"
"$B" --env "$e" stop all >/dev/null
stop_loop "$fl"

# Idle CPU with 20 services.
p=$((port0 + 10)) e="$work/env20"
mkenv "$e" 20 $p true
"$B" --env "$e" start all >/dev/null
sup=$(sup_pid "$e")
first=${#loops[@]}
for i in $(seq 0 19); do floor_loop $((p + 100 + i)); done
wait_children "${loops[@]:$first}"
b0=$(cpu_ticks "$sup"); f0=0; for l in "${loops[@]:$first}"; do f0=$((f0 + $(cpu_ticks "$l"))); done
l0=$(load)
sleep "$IDLE"
b1=$(cpu_ticks "$sup"); f1=0; for l in "${loops[@]:$first}"; do f1=$((f1 + $(cpu_ticks "$l"))); done
hz=$(getconf CLK_TCK)
printf '%-62s berth %8.0f ms   floor %8.0f ms   (%s)\n' "CPU over $IDLE idle seconds, 20 services (utime+stime)" \
	"$(((b1 - b0) * 1000 / hz))" "$(((f1 - f0) * 1000 / hz))" "$l0"
"$B" --env "$e" stop all >/dev/null
for l in "${loops[@]:$first}"; do stop_loop "$l"; done

# RSS and status with 100 services.
p=$((port0 + 200)) e="$work/env100"
mkenv "$e" 100 $p true
"$B" --env "$e" start all >/dev/null
sup=$(sup_pid "$e")
first=${#loops[@]}
for i in $(seq 0 99); do floor_loop $((p + 200 + i)); done
wait_children "${loops[@]:$first}"
fr=0; for l in "${loops[@]:$first}"; do fr=$((fr + $(rss_kib "$l"))); done
printf '%-62s berth %8.1f MB   floor %8.1f MB\n' "RSS of the supervisor, 100 services (floor: 100 bash loops)" \
	"$(rss_kib "$sup" | awk '{print $1/1024}')" "$(awk -v r="$fr" 'BEGIN {print r/1024}')"
for l in "${loops[@]:$first}"; do stop_loop "$l"; done
mean() { local t0 t1; t0=$(now); for _ in $(seq "$MEAN"); do "$@" >/dev/null; done; t1=$(now); echo $(((t1 - t0) / MEAN)); }
# The floor: the same 100 services in an environment without a supervisor,
# running side by side; the two are timed in turns.
n="$work/env100n"
mkenv "$n" 100 $((p + 400)) false
"$B" --env "$n" start all >/dev/null
[ ! -e "$n/.berth/supervisor.pid" ] || { echo "a supervisor runs with supervisor: false" >&2; exit 1; }
sw=(); so=()
for _ in 1 2 3 4 5; do sw+=("$(mean "$B" --env "$e" status)"); so+=("$(mean "$B" --env "$n" status)"); done
printf '%-62s berth %8.2f ms   floor %8.2f ms   (%s)\n' "status, 100 services, supervisor running (floor: none), mean of $MEAN" \
	"$(printf '%s\n' "${sw[@]}" | median | awk '{print $1/1000}')" "$(printf '%s\n' "${so[@]}" | median | awk '{print $1/1000}')" "$(load)"
