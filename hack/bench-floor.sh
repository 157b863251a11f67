#!/usr/bin/env bash
# berth beside the floor, for the lifecycle targets of the performance
# issue, in one run: each line prints berth's figure, the floor's and the
# ratio. Floors: a static Go hello world for start-up and status; plain bash
# (`cmd &`, `kill`, `wait`) for starts and stops; hack/portwait, run the same
# way on both sides, says when ports accept. Runs alternate berth and floor.
# The 10-service row is given twice: beside bash starting the same services,
# and beside the moment berth's own services accept (portwait run alongside
# berth), the floor the issue first named for it.
#   bash hack/bench-floor.sh            # RUNS=7 (medians), MEAN=200 (means)
# The lifecycle rows run twice: with the supervisor (the default) and with
# BERTH_SUPERVISOR=0.
#   ROWS=start bash hack/bench-floor.sh # only the three start rows (and stop)
#   SUPERVISOR=1 (or 0)                 # only with (without) the supervisor
# Timings depend on load: the load average is printed first; below 2 is fair.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
MEAN=${MEAN:-200}
ROWS=${ROWS:-all}
SUPERVISOR=${SUPERVISOR:-"1 0"}
work=$(mktemp -d)
cleanup() {
	for e in "$work"/env*; do [ -d "$e" ] && "$work/berth" --env "$e" stop all --force --timeout 1s >/dev/null 2>&1 || true; done
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
go build -o "$work/startfloor" ./hack/startfloor
go build -o "$work/faultcost" ./hack/faultcost
mkdir -p "$work/hello" && printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$work/hello.bin" .)
B="$work/berth"
S="$work/testsvc"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
"$work/faultcost" # what a start-up pays here: see hack/faultcost

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # name berth-us floor-us unit-label
	awk -v n="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/1000, f/1000, b/f}'
}
# mkenv dir count first-port health(0|1) levels(0|1) [extra argv]: testsvc
# services listening on consecutive ports; with levels, service i+count/2
# needs service i healthy.
mkenv() {
	mkdir -p "$1"
	printf 'template=bench\nenvironment_root=%s\n' "$1" >"$1/.metadata"
	{ echo "version: 1"; echo "services:"
	  for i in $(seq 1 "$2"); do
		local p=$(($3 + i - 1))
		printf '  s%03d:\n    command: [%s, --tcp, "127.0.0.1:%d"%s]\n' "$i" "$S" "$p" "${6:-}"
		if [ "$4" = 1 ]; then printf '    health: {type: tcp, address: "127.0.0.1:%d"}\n' "$p"; fi
		if [ "$5" = 1 ] && [ "$i" -gt $(($2 / 2)) ]; then printf '    depends_on: {s%03d: {condition: healthy}}\n' $((i - $2 / 2)); fi
	  done
	} >"$1/berth.yaml"
}

port0=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
ports() { seq "$1" "$(($1 + $2 - 1))"; } # first count
n=100 e="$work/env100" p=$port0
mkenv "$e" $n $p 0 0
if [ "$ROWS" != start ]; then
# Start-up: means of MEAN runs each, berth and floor alternating in blocks
# of 10 so that neither side gets the quieter moments (as bench-short.sh).
pair() { # name berth-fn floor-fn
	local b=0 f=0 t0 i j
	for ((i = 0; i < MEAN; i += 10)); do
		t0=$(now); for ((j = 0; j < 10; j++)); do "$2" >/dev/null; done; b=$((b + $(now) - t0))
		t0=$(now); for ((j = 0; j < 10; j++)); do "$3" >/dev/null; done; f=$((f + $(now) - t0))
	done
	report "$1" $((b / MEAN)) $((f / MEAN))
}
hello() { "$work/hello.bin"; }
startfloor() { "$work/startfloor"; }
version() { "$B" --version; }
status() { "$B" --env "$e" status; }
pair "client start-up (berth --version), mean of $MEAN" version hello
# The floor the design allows: hello world linking the packages it requires.
pair "berth --version beside hello world + required packages" version startfloor

# 100 services: status, stop, start.
"$B" --env "$e" start all >/dev/null && "$work/portwait" $(ports $p $n)
pair "status, $n host services (hello world as floor), mean" status hello
"$B" --env "$e" stop all >/dev/null
fi

floor_start() { # first count: launch and wait until every port accepts
	for i in $(seq 0 $(($2 - 1))); do "$S" --tcp "127.0.0.1:$(($1 + i))" >/dev/null 2>&1 & done
	"$work/portwait" $(ports "$1" "$2")
}
# The lifecycle rows, run with the supervisor (the default) and without
# (BERTH_SUPERVISOR=0), each beside the same floor.
lifecycle() {
local mode=$1 e p n=100
e="$work/env100" p=$port0
sb=(); sf=(); tb=(); tf=()
for _ in $(seq "$RUNS"); do
	t0=$(now); "$B" --env "$e" start all >/dev/null & "$work/portwait" $(ports $p $n); t1=$(now); wait $!; sb+=($((t1 - t0)))
	t0=$(now); "$B" --env "$e" stop all >/dev/null; t1=$(now); tb+=($((t1 - t0)))
	t0=$(now); floor_start $p $n; t1=$(now); sf+=($((t1 - t0)))
	t0=$(now); kill $(jobs -p); wait; t1=$(now); tf+=($((t1 - t0)))
done
report "stop all, $n services exiting on TERM, until all gone$mode" "$(printf '%s\n' "${tb[@]}" | median)" "$(printf '%s\n' "${tf[@]}" | median)"
report "start all, $n services, until every port accepts$mode" "$(printf '%s\n' "${sb[@]}" | median)" "$(printf '%s\n' "${sf[@]}" | median)"

# 10 services with tcp checks: until berth returns, against the ports opening.
e="$work/env10" p=$((port0 + 200))
mkenv "$e" 10 $p 1 0
sb=(); sf=(); so=()
for _ in $(seq "$RUNS"); do
	# portwait beside berth says when berth's own services accept: the
	# floor as the issue first gave it ("ports open at 42 ms").
	rm -f "$work/open"
	t0=$(now); { "$work/portwait" $(ports $p 10) && now >"$work/open"; } & pw=$!
	"$B" --env "$e" start all >/dev/null; t1=$(now); wait $pw; sb+=($((t1 - t0))); so+=($(($(cat "$work/open") - t0)))
	"$B" --env "$e" stop all >/dev/null
	t0=$(now); floor_start $p 10; t1=$(now); sf+=($((t1 - t0)))
	kill $(jobs -p); wait
done
report "start all, 10 services with tcp checks, until it returns$mode" "$(printf '%s\n' "${sb[@]}" | median)" "$(printf '%s\n' "${sf[@]}" | median)"
report "  the same, beside its own ports opening (portwait alongside)$mode" "$(printf '%s\n' "${sb[@]}" | median)" "$(printf '%s\n' "${so[@]}" | median)"

# 20 services in two levels, each listening 200 ms after it starts; the
# second level needs the first healthy.
e="$work/env20" p=$((port0 + 300))
mkenv "$e" 20 $p 1 1 ', --ready-after, 200ms'
floor_levels() {
	for i in $(seq 0 9); do "$S" --tcp "127.0.0.1:$(($1 + i))" --ready-after 200ms >/dev/null 2>&1 & done
	"$work/portwait" $(ports "$1" 10)
	for i in $(seq 10 19); do "$S" --tcp "127.0.0.1:$(($1 + i))" --ready-after 200ms >/dev/null 2>&1 & done
	"$work/portwait" $(ports $(($1 + 10)) 10)
}
sb=(); sf=()
for _ in $(seq "$RUNS"); do
	t0=$(now); "$B" --env "$e" start all >/dev/null; t1=$(now); sb+=($((t1 - t0)))
	"$B" --env "$e" stop all >/dev/null
	t0=$(now); floor_levels $p; t1=$(now); sf+=($((t1 - t0)))
	kill $(jobs -p); wait
done
report "start all, 20 in 2 levels, healthy 200 ms after start$mode" "$(printf '%s\n' "${sb[@]}" | median)" "$(printf '%s\n' "${sf[@]}" | median)"
}
for mode in $SUPERVISOR; do
	export BERTH_SUPERVISOR=$mode
	if [ "$mode" = 1 ]; then lifecycle ""; else lifecycle " (no supervisor)"; fi
done
unset BERTH_SUPERVISOR
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
