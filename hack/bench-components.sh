#!/usr/bin/env bash
# Benchmarks of issue 4, whole berth processes:
#   1. `berth versions` against a local bare repository with 500 tags;
#   2. `berth install` of a version that is already installed (target < 50 ms).
#   (1. prints `git ls-remote`, which berth runs, beside it: the floor.)
# Usage: bash hack/bench-components.sh [RUNS]   (default 20 runs each; prints mean and max)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null BERTH_ENV=
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com

CGO_ENABLED=0 go build -o "$tmp/berth" ./cmd/berth
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

bench() {
	local name=$1
	shift
	local total=0 max=0
	for _ in $(seq 1 "$runs"); do
		local s e ms
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		ms=$(((e - s) / 1000))
		total=$((total + ms))
		((ms > max)) && max=$ms
	done
	printf '%-45s mean %6.1f ms   max %6.1f ms   (%d runs)\n' "$name" "$(echo "$total / $runs / 1000" | bc -l)" "$(echo "$max / 1000" | bc -l)" "$runs"
}
bench "git ls-remote --tags --refs (the floor)" git ls-remote --tags --refs -- "$tmp/app.git"
bench "berth versions app (500 tags)" "$tmp/berth" --env "$tmp/env" versions app
bench "berth install app v1.2.3 (already installed)" "$tmp/berth" --env "$tmp/env" install app v1.2.3
