#!/usr/bin/env bash
# The test command README.md gives and .ci/run runs: vet, the whole suite
# under the race detector, the README check (every ```sh block of README.md
# is run), then each fuzz target for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."

# The ssh:// host tests run a real sshd, the completion tests a real zsh and
# fish: install Debian's openssh-server, zsh and fish when they are missing
# (as root, with apt); without them those tests skip.
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1 ||
		echo "hack/test.sh: could not install ${missing[*]}; the tests that need them will skip" >&2
fi

# The Docker tests need a running daemon. Where this machine has Debian's
# dockerd but it is not running (it was stopped, or it crashed), start it as
# root and wait for it; elsewhere the tests say what is missing.
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -x /usr/sbin/dockerd ] && [ -z "${DOCKER_HOST:-}" ]; then
	echo "hack/test.sh: the Docker daemon does not answer; starting /usr/sbin/dockerd" >&2
	setsid /usr/sbin/dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
	for _ in $(seq 1 120); do
		docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
		sleep 0.5
	done
fi

go vet ./...
# No file over 500 lines, no function over 80 outside tables (GUIDE.md).
bash hack/check-size.sh
go test -race -count=1 ./...
bash hack/readme-check.sh

fuzztime=${BERTH_FUZZTIME:-10s}
# Every fuzz target of every package, each for a short time.
grep -rlE '^func Fuzz' --include='*_test.go' . | xargs -n1 dirname | sort -u | while read -r pkg; do
	for target in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+' "$pkg"/*_test.go | sed 's/^func //'); do
		# Go's fuzzing engine now and then ends a clean run with "context
		# deadline exceeded" when its time is up and finds nothing; such a
		# failure wrote no input to testdata/fuzz and is run again, at most
		# twice (a loaded CI machine has seen two in a row). A real finding
		# writes its input there and fails at once.
		for try in 1 2 3; do
			go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" && break
			if [ -n "$(git status --porcelain -- "$pkg/testdata/fuzz/$target" 2>/dev/null)" ] || [ "$try" = 3 ]; then
				exit 1
			fi
			echo "hack/test.sh: $target failed with no input recorded; running it again" >&2
		done
	done
done
