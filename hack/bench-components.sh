#!/usr/bin/env bash
# Benchmarks of issue 4, whole berth processes:
#   1. `berth versions` against a local bare repository with 500 tags;
#   2. `berth install` of a version that is already installed (target < 50 ms).
# Each is printed beside its floor, runs alternating (means):
#   1. `git ls-remote --tags --refs`, what berth answers (it reads a repository on
#      this machine without git where the answer is certainly the same);
#   2. a static Go hello world: the check's own work is reading one marker file
#      and rewriting .metadata (microseconds), so what a process that does it
#      costs is its start, and berth is a Go program. `/usr/bin/test -d` of the
#      installed tree (a C process) is printed too, as the floor of any process.
# Usage: bash hack/bench-components.sh [RUNS]   (default 20 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null BERTH_ENV=
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com

CGO_ENABLED=0 go build -o "$tmp/berth" ./cmd/berth
mkdir -p "$tmp/hello" && printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$tmp/hello/main.go"
(cd "$tmp/hello" && go mod init hello >/dev/null 2>&1 && CGO_ENABLED=0 go build -o "$tmp/hello.bin" .)
git init -q --bare -b main "$tmp/app.git"
git init -q -b main "$tmp/work"
(
	cd "$tmp/work"
	echo x >f && git add f && git commit -qm x
	for i in $(seq 1 500); do git tag "v$((i / 100)).$((i / 10 % 10)).$((i % 10))$([ $((i % 7)) = 0 ] && echo -rc.1)" 2>/dev/null || true; done
	git push -q --tags "$tmp/app.git" main
)
echo "tags in the remote: $(git ls-remote --tags "$tmp/app.git" | wc -l)"
"$tmp/berth" init "$tmp/env" --template demo --install-root "$tmp/releases" >/dev/null
printf 'version: 1\ncomponents:\n  app:\n    repo: %s\n' "$tmp/app.git" >"$tmp/env/berth.yaml"
"$tmp/berth" --env "$tmp/env" install app v1.2.3 >/dev/null 2>&1

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
# pair NAME BERTH-FN FLOOR-FN: the mean of $runs runs of each, alternating.
pair() {
	local b=0 f=0 t0
	for _ in $(seq 1 "$runs"); do
		t0=$(now); "$2" >/dev/null 2>&1; b=$((b + $(now) - t0))
		t0=$(now); "$3" >/dev/null 2>&1; f=$((f + $(now) - t0))
	done
	awk -v n="$1" -v b="$b" -v f="$f" -v r="$runs" 'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/r/1000, f/r/1000, b/f}'
}
versions() { "$tmp/berth" --env "$tmp/env" versions app; }
lsremote() { git ls-remote --tags --refs -- "$tmp/app.git"; }
install() { "$tmp/berth" --env "$tmp/env" install app v1.2.3; }
hello() { "$tmp/hello.bin"; }
testdir() { /usr/bin/test -d "$tmp/releases/app-v1.2.3"; }
testdir || { echo "v1.2.3 is not installed in $tmp/releases" >&2; exit 1; }
pair "versions app, 500 tags (floor git ls-remote), mean of $runs" versions lsremote
pair "install app v1.2.3, installed (floor Go hello world)" install hello
pair "install app v1.2.3, installed (floor /usr/bin/test -d)" install testdir
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
