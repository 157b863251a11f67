#!/usr/bin/env bash
# berth against `docker stack` on the same single-node swarm, for N swarm
# services of hack/testsvc in an image FROM scratch: whole-process wall time
# (median of RUNS) of `berth start all` (returns once every task runs) and
# `berth stop all` (returns once every task ended and the services are
# gone), against `docker stack deploy` / `docker stack rm` of the same
# services, both alone (they return before the tasks run or end) and
# followed by polling until every task runs / no task is left, which is
# what berth's figures include. The daemon is made a single-node swarm if
# it is not one, and leaves it at the end only then.
#   bash hack/bench-swarm.sh              # N = 10, 3 runs
#   RUNS=5 N=10 bash hack/bench-swarm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-10}
work=$(mktemp -d)
name="benchs$$"
stack="${name}stk"
tag="berth-bench-swarmsvc-$$:latest"
# The swarm is shared with berth's swarm tests as images/imagetest does:
# made under an exclusive flock, used under a shared one, left only by the
# last user and only if a berth test or benchmark made it.
lock=${TMPDIR:-/tmp}/berth-swarm-test.lock
exec 9>>"$lock"
flock -x 9
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]; then
	docker swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1 >/dev/null
	: >"$lock.made"
fi
flock -s 9
cleanup() {
	"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true
	docker stack rm "$stack" >/dev/null 2>&1 || true
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	rm -rf "$work"
	if flock -xn 9 && [ -e "$lock.made" ]; then docker swarm leave --force >/dev/null 2>&1 && rm -f "$lock.made"; fi
}
trap cleanup EXIT
go build -o "$work/berth" ./cmd/berth
CGO_ENABLED=0 go build -o "$work/img/testsvc" ./hack/testsvc
printf 'FROM scratch\nCOPY testsvc /testsvc\nENTRYPOINT ["/testsvc"]\n' >"$work/img/Dockerfile"
docker build -q -t "$tag" "$work/img" >/dev/null
B="$work/berth"

mkdir -p "$work/env" "$work/proj"
printf 'template=bench\nenvironment_name=%s\nenvironment_root=%s\n' "$name" "$work/env" >"$work/env/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 "$N"); do printf '  s%02d:\n    runner: swarm\n    swarm: {image: "%s"}\n' "$i" "$tag"; done
} >"$work/env/berth.yaml"
{ echo 'version: "3.8"'; echo "services:"
  for i in $(seq 1 "$N"); do printf '  s%02d:\n    image: "%s"\n    init: true\n' "$i" "$tag"; done
} >"$work/proj/compose.yaml"

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Poll (every 50 ms, at most 120 s) until every service of the stack has all
# its tasks running.
stack_running() {
	local end=$(($(date +%s) + 120))
	while [ "$(docker stack services "$stack" --format '{{.Replicas}}' 2>/dev/null | grep -c '^1/1')" != "$N" ]; do
		[ "$(date +%s)" -lt "$end" ] || { echo "bench-swarm: the stack's tasks did not all run within 120 s" >&2; exit 1; }
		sleep 0.05
	done
}
# Poll until no container and no network of the stack is left (a deploy
# right after rm fails while the old network is still being removed).
stack_gone() {
	local end=$(($(date +%s) + 120))
	while [ -n "$(docker ps -q --filter "label=com.docker.stack.namespace=$stack")$(docker network ls -q --filter "label=com.docker.stack.namespace=$stack")" ]; do
		[ "$(date +%s)" -lt "$end" ] || { echo "bench-swarm: the stack was not gone within 120 s" >&2; exit 1; }
		sleep 0.05
	done
}
deploy_running() { docker stack deploy -c "$work/proj/compose.yaml" "$stack" >/dev/null; stack_running; }
rm_gone() { docker stack rm "$stack" >/dev/null 2>&1; stack_gone; }

bu=(); bd=(); cu=(); cd_=(); cuw=(); cdw=()
for r in $(seq 1 "$RUNS"); do
	bu+=("$(ms "$B" --env "$work/env" start all)")
	bd+=("$(ms "$B" --env "$work/env" stop all)")
	cu+=("$(ms docker stack deploy -c "$work/proj/compose.yaml" "$stack")")
	stack_running
	cd_+=("$(ms docker stack rm "$stack")")
	stack_gone
	cuw+=("$(ms deploy_running)")
	cdw+=("$(ms rm_gone)")
done
m() { printf '%s\n' "$@" | median; }
a=$(m "${bu[@]}"); b=$(m "${bd[@]}"); c=$(m "${cu[@]}"); d=$(m "${cd_[@]}"); e=$(m "${cuw[@]}"); f=$(m "${cdw[@]}")
echo "N=$N swarm services, median of $RUNS runs (ms, whole process)"
echo "berth start all (to all tasks running):      $a"
echo "berth stop all (to no task left):            $b"
echo "docker stack deploy (returns before tasks):  $c"
echo "docker stack rm (returns before tasks end):  $d"
echo "docker stack deploy + poll to all running:   $e"
echo "docker stack rm + poll to no container:      $f"
awk -v a="$a" -v b="$b" -v e="$e" -v f="$f" 'BEGIN { printf "ratio start/deploy-to-running: %.2f  stop/rm-to-gone: %.2f  (berth/docker stack; < 1 means berth is faster)\n", a/e, b/f }'
