#!/usr/bin/env bash
# demo-floor.sh: the floor of `berth demo`, the same work done by plain git,
# docker, curl and bash, without berth: two git repositories made from the
# demo's sources (the same commits, tags and branch), the tags listed, api's
# and web's latest releases fetched (a shallow clone each, .git removed) and
# web's branch cloned, berth copied into the image context and the image
# built (`docker build`, the classic builder: this docker CLI has no buildx),
# api, web (the same `berth internal demo-service`) and the box container
# started, each waited for until its /health answers, status, the checks once,
# a request, the logs' last lines, then all stopped and removed.
# hack/bench-demo.sh times it beside `berth demo`.
#   bash hack/demo-floor.sh BERTH [docker|no-docker]   # BERTH built with CGO_ENABLED=0
set -euo pipefail
B=$1 mode=${2:-docker}
src=$(cd "$(dirname "$0")/.." && pwd)/cmd/berth/demo_sources
d=$(mktemp -d "${TMPDIR:-/tmp}/berth-demo-floor.XXXXXX")
box=berth-demo-floor-$$ tag=berth-demo-floor:latest pids=()
cleanup() {
	if [ "$mode" = docker ]; then docker rm -f "$box" >/dev/null 2>&1 || true; fi
	if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; wait; fi
	rm -rf "$d"
}
trap cleanup EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=floor GIT_AUTHOR_EMAIL=floor@berth.invalid GIT_COMMITTER_NAME=floor GIT_COMMITTER_EMAIL=floor@berth.invalid
export DEMO_GREETING=hello # config/.env gives it to the demo's services
p=$((20000 + RANDOM % 12000)) api=$p web=$((p + 1)) boxp=$((p + 2))

repo() { # component branch releases...: make $d/repos/<component>.git
	local c=$1 br=$2 w=$d/work-$1
	shift 2
	cp -r "$src/$c" "$w" && cd "$w" && git init -q -b main
	for v in "$@"; do echo "$c $v" >message.txt && git add -A && git commit -qm "release $v" && git tag "$v"; done
	git checkout -q -b "$br" && echo "$c branch:$br" >message.txt && git commit -qam "work on $br" && git checkout -q main
	git clone -q --bare "$w" "$d/repos/$c.git" && cd "$d" && rm -rf "$w"
}
latest() { sed -n 's|.*refs/tags/||p' | grep -v -- - | sort -V | tail -1; } # the newest stable tag
fetch() { git -c advice.detachedHead=false clone -q --depth 1 --branch "$2" "file://$d/repos/$1.git" "$3" && rm -rf "$3/.git"; }
up() { # port: wait until its /health answers, for at most 20 s
	local n=0
	until curl -fs -o /dev/null "http://127.0.0.1:$1/health"; do ((++n < 2000)) || return 1; sleep 0.01; done
}

mkdir -p "$d/repos" && cd "$d"
repo api next v0.1.0 v0.2.0 v1.0.0 v1.1.0-rc.1
repo web next v0.1.0 v0.2.0
git ls-remote --tags --refs "file://$d/repos/api.git" >api.tags && latest <api.tags
fetch api "$(latest <api.tags)" releases/api && mkdir -p releases/api/image/rootfs && cp "$B" releases/api/image/rootfs/berth
fetch web "$(git ls-remote --tags --refs "file://$d/repos/web.git" | latest)" releases/web
git clone -q --branch next "file://$d/repos/web.git" web-next
[ "$mode" = docker ] && DOCKER_BUILDKIT=0 docker build -q -t "$tag" releases/api/image 2>/dev/null

"$B" internal demo-service --name api --listen "127.0.0.1:$api" --message-file releases/api/message.txt >api.log 2>&1 &
pids+=($!) && up "$api"
"$B" internal demo-service --name web --listen "127.0.0.1:$web" --message-file web-next/message.txt >web.log 2>&1 &
pids+=($!) && up "$web"
if [ "$mode" = docker ]; then
	docker run -d -q --name "$box" -p "127.0.0.1:$boxp:8080" "$tag" && up "$boxp"
	docker inspect -f '{{.State.Status}}' "$box"
fi
kill -0 "${pids[@]}"
for q in $api $web $([ "$mode" = docker ] && echo "$boxp"); do curl -fsS "http://127.0.0.1:$q/health"; done
curl -fsS "http://127.0.0.1:$web/"
tail -n 3 api.log web.log
[ "$mode" = docker ] && docker stop -t 10 "$box" && docker rm "$box"
kill -TERM "${pids[@]}" && wait && pids=()
