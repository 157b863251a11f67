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
made_swarm=0
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ]; then
	docker swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1 >/dev/null
	made_swarm=1
fi
cleanup() {
	"$work/berth" --env "$work/env" stop all --force --timeout 1s >/dev/null 2>&1 || true
	docker stack rm "$stack" >/dev/null 2>&1 || true
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	rm -rf "$work"
	if [ "$made_swarm" = 1 ]; then docker swarm leave --force >/dev/null 2>&1 || true; fi
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
# Poll (every 50 ms) until every service of the stack has all its tasks running.
stack_running() {
	while :; do
		reps=$(docker stack services "$stack" --format '{{.Replicas}}' 2>/dev/null || true)
		if [ "$(printf '%s\n' "$reps" | grep -c '^1/1')" = "$N" ]; then return; fi
		sleep 0.05
	done
}
# Poll until no container of the stack is left.
stack_gone() {
	while [ -n "$(docker ps -q --filter "label=com.docker.stack.namespace=$stack")" ]; do sleep 0.05; done
}
deploy_running() { docker stack deploy -c "$work/proj/compose.yaml" "$stack" >/dev/null 2>&1; stack_running; }
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
