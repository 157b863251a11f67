#!/usr/bin/env bash
# berth against docker-compose on the same daemon, for N containers of
# hack/testsvc in an image FROM scratch: whole-process wall time (median of
# RUNS) of `berth status` with N running, `berth start all` / `stop all`, and
# `docker-compose up -d` / `down` of the same N services.
#   bash hack/bench-containers.sh          # N = 10, 5 runs
#   RUNS=9 N=10 bash hack/bench-containers.sh
# `berth status` is printed beside its floor, runs alternating: hack/listfloor,
# a static Go program with the same Docker client doing one ContainerList of
# the environment's label (fairer than `docker ps`, whose CLI loads its config
# and plugins first: that is printed too, for reference).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
N=${N:-10}
COMPOSE=${COMPOSE:-docker-compose}
work=$(mktemp -d)
name="benchc$$"
tag="berth-bench-testsvc-$$:latest"
cleanup() {
	"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true
	(cd "$work/proj" 2>/dev/null && $COMPOSE --project-name "${name}cmp" down -t 0 >/dev/null 2>&1) || true
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0
go build -o "$work/berth" ./cmd/berth
go build -o "$work/listfloor" ./hack/listfloor
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
go build -o "$work/img/testsvc" ./hack/testsvc
printf 'FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT ["/testsvc"]\n' >"$work/img/Dockerfile"
docker build -q -t "$tag" "$work/img" >/dev/null
B="$work/berth"

mkdir -p "$work/env" "$work/proj"
printf 'template=bench\nenvironment_name=%s\nenvironment_root=%s\n' "$name" "$work/env" >"$work/env/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 "$N"); do printf '  c%02d:\n    runner: container\n    stop_timeout: 10s\n    container: {image: "%s"}\n' "$i" "$tag"; done
} >"$work/env/berth.yaml"
{ echo "services:"
  for i in $(seq 1 "$N"); do printf '  c%02d:\n    image: "%s"\n    init: true\n' "$i" "$tag"; done
} >"$work/proj/compose.yaml"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
us() { local t0 t1; t0=${EPOCHREALTIME/./}; "$@" >/dev/null || return; t1=${EPOCHREALTIME/./}; echo $((t1 - t0)); }

st=(); sf=(); sd=(); bu=(); bd=(); cu=(); cd_=()
for r in $(seq 1 "$RUNS"); do
	bu+=("$(ms "$B" --env "$work/env" start all)")
	for _ in 1 2 3; do
		st+=("$(us "$B" --env "$work/env" status)")
		sf+=("$(us "$work/listfloor" -want "$N" "$name")")
		sd+=("$(us docker ps --filter "label=dev.berth.environment=$name")")
	done
	bd+=("$(ms "$B" --env "$work/env" stop all)")
	cu+=("$(cd "$work/proj" && ms $COMPOSE --project-name "${name}cmp" up -d)")
	cd_+=("$(cd "$work/proj" && ms $COMPOSE --project-name "${name}cmp" down)")
done
s=$(printf '%s\n' "${st[@]}" | median); f=$(printf '%s\n' "${sf[@]}" | median); p=$(printf '%s\n' "${sd[@]}" | median); a=$(printf '%s\n' "${bu[@]}" | median); b=$(printf '%s\n' "${bd[@]}" | median)
c=$(printf '%s\n' "${cu[@]}" | median); d=$(printf '%s\n' "${cd_[@]}" | median)
echo "N=$N containers, median of $RUNS runs (ms, whole process)"
awk -v b="$s" -v f="$f" -v p="$p" 'BEGIN {
	printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", "berth status, all running (floor hack/listfloor)", b/1000, f/1000, b/f
	printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", "berth status, all running (beside docker ps --filter)", b/1000, p/1000, b/p }'
echo "berth start all:              $a"
echo "berth stop all:               $b"
echo "$COMPOSE up -d:          $c"
echo "$COMPOSE down:           $d"
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN { printf "ratio start/up: %.2f  stop/down: %.2f  (berth/compose; < 1 means berth is faster)\n", a/c, b/d }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
