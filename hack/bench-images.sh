#!/usr/bin/env bash
# Benchmark: whole-process `berth build` of an up-to-date image against
# `docker build` of the same context with a warm cache, and a cold build
# through berth against `docker build` (both with the classic builder and
# with BuildKit where the docker CLI can use it). Needs a Docker daemon.
# Usage: hack/bench-images.sh [runs]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
work=$(mktemp -d)
tag="berth-bench-$$:latest"
dtag="berth-bench-docker-$$:latest"
cleanup() { docker rmi -f "$tag" "$dtag" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/berth" ./cmd/berth
CGO_ENABLED=0 go build -o "$work/sh" ./images/testdata/sh
# A static Go hello world: any berth run's floor, printed beside the
# up-to-date build (which does little more than start and stat the context).
mkdir -p "$work/hello" && printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && CGO_ENABLED=0 go build -o "$work/hello.bin" .)
# The hello world that links the packages berth's design requires (the
# Docker client, semver, cobra: their package initialisation runs in every
# berth command before main): the second floor of an up-to-date build.
CGO_ENABLED=0 go build -o "$work/startfloor" ./hack/startfloor

env="$work/env"
ctx="$env/releases/engine-v1.0.0/sse_runtime"
mkdir -p "$ctx/bin" "$env/config"
cp "$work/sh" "$ctx/bin/sh"
# The context of the performance issue: 1,000 files, 21 MB.
head -c $((21 * 1024 * 1024)) /dev/urandom | split -b 22040 -a 4 - "$ctx/file"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY . /
ARG UID
ARG GID
RUN echo built for $UID:$GID
DF
cat >"$env/.metadata" <<MD
template=backend
install_root=$env/releases
environment_name=bench
environment_root=$env
engine_version=v1.0.0
MD
cat >"$env/berth.yaml" <<'YAML'
version: 1
components:
  engine: {repo: /nonexistent.git}
images:
  sse-runtime:
    component: engine
    context: sse_runtime
    tag: "${SSE_CONTAINER_IMAGE}"
    args: {UID: "${UID}", GID: "${GID}"}
YAML
echo "SSE_CONTAINER_IMAGE=$tag" >"$env/config/.env"
# The release tree was made by hand above: adopt it as installed.
"$work/berth" --env "$env" install engine v1.0.0 --adopt >/dev/null

# Times come from bash's $EPOCHREALTIME (microseconds, no process started):
# $(date +%s%N) at the end of a run added a fork and exec of date to every
# figure (a Go hello world read 5.2 ms that way here, 3.1 ms this way).
ms() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", (e - s) * 1000 }'; }
# median of the runs of a command, in ms
median() {
	local -a t=()
	for _ in $(seq 1 "$runs"); do
		local s e; s=$EPOCHREALTIME; "$@" >/dev/null 2>&1; e=$EPOCHREALTIME
		t+=("$(ms "$s" "$e")")
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
cold() { # one cold build: a fresh nonce in the context defeats the layer cache
	date +%s%N >"$ctx/nonce"
	local s e; s=$EPOCHREALTIME; "$@" >/dev/null 2>&1; e=$EPOCHREALTIME; ms "$s" "$e"
}
uid=$(id -u) gid=$(id -g)
# the same four labels berth adds, so that both build the same steps
labels="--label dev.berth.image=x --label dev.berth.component=x --label dev.berth.inputs=x --label org.opencontainers.image.version=x"

for builder in classic buildkit; do
	export DOCKER_BUILDKIT=0
	[ "$builder" = buildkit ] && export DOCKER_BUILDKIT=1
	if ! docker build -q -t "$dtag" --build-arg UID="$uid" --build-arg GID="$gid" $labels "$ctx" >/dev/null 2>&1; then
		echo "$builder: the docker CLI cannot build with this builder here (no buildx?); berth only:"
		dockercli=no
	else
		dockercli=yes
	fi
	bc=$(cold "$work/berth" build sse-runtime --env "$env" --builder "$builder")
	"$work/berth" build sse-runtime --env "$env" --builder "$builder" >/dev/null
	bw=$(median "$work/berth" build sse-runtime --env "$env" --builder "$builder")
	echo "$builder: berth build, cold:                   ${bc} ms"
	hw=$(median "$work/hello.bin")
	sf=$(median "$work/startfloor")
	echo "$builder: berth build, up to date (median/$runs):  ${bw} ms   (Go hello world, median/$runs: ${hw} ms; ratio $(awk -v a="$bw" -v b="$hw" 'BEGIN { printf "%.1f", a/b }'))"
	echo "$builder:   beside hack/startfloor (hello world + required packages, median/$runs): ${sf} ms; ratio $(awk -v a="$bw" -v b="$sf" 'BEGIN { printf "%.1f", a/b }')"
	if [ "$dockercli" = yes ]; then
		dc=$(cold docker build -q -t "$dtag" --build-arg UID="$uid" --build-arg GID="$gid" $labels "$ctx")
		dw=$(median docker build -q -t "$dtag" --build-arg UID="$uid" --build-arg GID="$gid" $labels "$ctx")
		echo "$builder: docker build, cold:                  ${dc} ms"
		echo "$builder: docker build, warm cache (median/$runs): ${dw} ms"
		awk -v a="$bw" -v b="$dw" -v c="$bc" -v d="$dc" 'BEGIN { printf "%s: up-to-date ratio berth/docker = %.2f; cold ratio berth/docker = %.2f\n", "'"$builder"'", a/b, c/d }'
	fi
done
