#!/usr/bin/env bash
# readme-check.sh: run every command README.md shows, so that the README
# cannot drift from the program.
#
# The rule: a fenced block opened with ```sh is run; every other fence
# (```console, ```yaml, a plain ```) shows output, a file or an
# illustration and is not run. The ```sh blocks run in README order, in one
# bash session with `set -e` (a `cd` carries over to the next block), in a
# scratch directory with `berth` built from this tree first on PATH. Any
# command that fails fails the check.
#
# The README's walkthrough uses the backend template, whose components live
# on GitHub and are set up with uv; neither is reachable here. So:
#   - local bare repositories stand in for the three GitHub repositories,
#     through git's url.<base>.insteadOf set in GIT_CONFIG_* variables;
#   - a STAND-IN `uv` (a shell script made below, NOT the real uv) is put on
#     PATH: `uv sync` makes the project's .venv at once and `uv run` plays the service: it
#     writes a line to the service's app log and, when detached, waits for
#     its stop signal (a foreground run ends at once).
# The whole run of the blocks may take at most BERTH_README_TIMEOUT (default 120s).
# `berth build` needs a Docker daemon: without one the check is skipped,
# unless BERTH_REQUIRE_DOCKER=1, which makes that a failure.
#
# Usage: bash hack/readme-check.sh [README]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
readme=${1:-$repo/README.md}
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-readme-check.XXXXXX")

cleanup() {
	# Stop whatever the README's commands left running in the environment.
	local env
	for env in "$work"/run/*/; do
		[ -f "$env/.metadata" ] || continue
		(
			cd "$env"
			"$work/bin/berth" stop all >/dev/null 2>&1 || true
			# Remove only the images this run built (by id, from berth images).
			"$work/bin/berth" images -o json 2>/dev/null | sed -n 's/.*"id": *"\(sha256:[0-9a-f]*\)".*/\1/p' |
				while read -r id; do docker image rm -f "$id" >/dev/null 2>&1 || true; done
		)
	done
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/repos" "$work/run"
(cd "$repo" && go build -o "$work/bin/berth" ./cmd/berth)

if ! "$work/bin/berth" doctor -o json 2>/dev/null | tr -d ' \n' | grep -q '"name":"docker","ok":true'; then
	if [ "${BERTH_REQUIRE_DOCKER:-}" = 1 ]; then
		echo "readme-check: BERTH_REQUIRE_DOCKER=1 but no Docker daemon is reachable" >&2
		exit 1
	fi
	echo "readme-check: skipped: no Docker daemon is reachable (the walkthrough builds an image)"
	exit 0
fi

# --- stand-in uv (not the real uv, which cannot be installed here) ---
cat >"$work/bin/uv" <<'EOF'
#!/bin/sh
# STAND-IN for uv, made by hack/readme-check.sh. Not the real uv.
case "$1" in
sync)
	# Like uv, leave the project's .venv (what the OQTOPUS CLI checks).
	while [ $# -gt 0 ]; do
		if [ "$1" = --project ]; then mkdir -p "$2/.venv"; fi
		shift
	done
	exit 0
	;;
run)
	cfg=
	while [ $# -gt 0 ]; do
		if [ "$1" = -c ]; then cfg=$2; fi
		shift
	done
	svc=$(basename "$(dirname "$cfg")")
	mkdir -p "logs/$svc"
	echo "$(date '+%Y-%m-%d %H:%M:%S,000') INFO $svc: started by the stand-in uv" >>"logs/$svc/$svc.log"
	# berth starts a detached service in a session of its own (so it leads
	# its session and group); a foreground one only in a group of its own.
	set -- $(sed 's/^.*) //' /proc/$$/stat)
	if [ "$3" = "$4" ]; then # pgid = session id: detached
		exec sleep 100000 # run until the stop signal
	fi
	echo "$svc: stand-in service in the foreground, ending at once"
	exit 0
	;;
*) echo "stand-in uv: unsupported: $*" >&2; exit 2 ;;
esac
EOF
chmod +x "$work/bin/uv"

# --- local repositories standing in for the GitHub ones ---
gitq() { git -c commit.gpgsign=false -c tag.gpgsign=false -c init.defaultBranch=main "$@" -q; }
export GIT_AUTHOR_NAME=readme GIT_AUTHOR_EMAIL=readme@berth.invalid GIT_COMMITTER_NAME=readme GIT_COMMITTER_EMAIL=readme@berth.invalid
make_repo() { # NAME FILES...: tags v1.0.0 and v1.1.0, branch develop
	local name=$1 w=$work/src/$1
	shift
	mkdir -p "$w"
	(
		cd "$w"
		gitq init
		for f in "$@"; do mkdir -p "$(dirname "$f")"; echo "$name" >"$f"; done
		if [ "$name" = oqtopus-engine ]; then
			mkdir -p sse_runtime
			printf 'FROM scratch\nARG UID\nARG GID\nCOPY VERSION /\n' >sse_runtime/Dockerfile
		fi
		for v in v1.0.0 v1.1.0; do
			echo "$v" >VERSION
			[ -d sse_runtime ] && echo "$v" >sse_runtime/VERSION
			git add -A && gitq commit -m "release $v" && git tag "$v"
		done
		gitq checkout -b develop
		echo develop >VERSION
		git add -A && gitq commit -m "work on develop"
	)
	gitq clone --bare "$w" "$work/repos/$name.git"
}
make_repo oqtopus-engine core/README combiner/README estimator/README mitigator/README
make_repo tranqu-server README
make_repo device-gateway README
make_repo oqtopus-manager README
export GIT_CONFIG_COUNT=1
export GIT_CONFIG_KEY_0="url.file://$work/repos/.insteadOf"
export GIT_CONFIG_VALUE_0="https://github.com/oqtopus-team/"

# --- extract and run the ```sh blocks ---
script=$work/readme-commands.sh
awk '
	/^```sh[[:space:]]*$/ { inblock = 1; n++; printf "echo \"readme-check: block %d (README line %d)\"\n", n, NR; next }
	/^```/ { inblock = 0; next }
	inblock { print }
' "$readme" >"$script"
if ! grep -q '^[^#e]' "$script"; then
	echo "readme-check: no \`\`\`sh blocks in $readme" >&2
	exit 1
fi

export PATH="$work/bin:$PATH"
export XDG_DATA_HOME="$work/data"
export BERTH_ENV=
cd "$work/run"
timeout "${BERTH_README_TIMEOUT:-120}" bash -euo pipefail -x "$script"
echo "readme-check: every command in README.md ran"
