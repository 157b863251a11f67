#!/usr/bin/env bash
# The short commands of issue 16, each beside its floor in one run, runs
# alternating berth and floor (means of MEAN runs, default 200):
#   berth --version       beside a Go hello world and hack/startfloor (hello
#                         world linking the packages the design requires);
#   berth status          100 host services, the supervisor running (the
#                         default), beside a Go hello world;
#   berth versions app    a local bare repository with 500 tags, beside
#                         `git ls-remote --tags --refs`.
# Wall-clock: run it with nothing else running. Load is printed first.
#   bash hack/bench-short.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MEAN=${MEAN:-200}
work=$(mktemp -d)
cleanup() {
	[ -d "$work/env100" ] && "$work/berth" --env "$work/env100" stop all --force --timeout 1s >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
export CGO_ENABLED=0 BERTH_ENV= GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com
go build -o "$work/berth" ./cmd/berth
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
go build -o "$work/startfloor" ./hack/startfloor
go build -o "$work/faultcost" ./hack/faultcost
mkdir -p "$work/hello" && printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$work/hello.bin" .)
B="$work/berth"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
"$work/faultcost" # what a start-up pays here: see hack/faultcost

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
report() { # name berth-us floor-us
	awk -v n="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%-58s berth %8.2f ms   floor %8.2f ms   ratio %5.2f\n", n, b/1000, f/1000, b/f}'
}
# pair NAME BERTH-FN FLOOR-FN: means of MEAN runs each, alternating in
# blocks of 10 so that neither side gets the quieter moments.
pair() {
	local b=0 f=0 t0 i j
	for ((i = 0; i < MEAN; i += 10)); do
		t0=$(now); for ((j = 0; j < 10; j++)); do "$2" >/dev/null 2>&1; done; b=$((b + $(now) - t0))
		t0=$(now); for ((j = 0; j < 10; j++)); do "$3" >/dev/null 2>&1; done; f=$((f + $(now) - t0))
	done
	report "$1" $((b / MEAN)) $((f / MEAN))
}
hello() { "$work/hello.bin"; }
startfloor() { "$work/startfloor"; }
version() { "$B" --version; }
pair "berth --version (floor Go hello world), mean of $MEAN" version hello
pair "berth --version (floor hack/startfloor)" version startfloor

# 100 services under the supervisor.
e="$work/env100" p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
mkdir -p "$e"
printf 'template=bench\nenvironment_root=%s\n' "$e" >"$e/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 1 100); do printf '  s%03d:\n    command: [%s, --tcp, "127.0.0.1:%d"]\n' "$i" "$work/testsvc" $((p + i)); done
} >"$e/berth.yaml"
# As a user's manifest is, this one is older than a second when berth reads
# it: berth keeps no parse of a manifest changed within the last second
# (metadata/manifest_cache.go), so each status would parse it again.
sleep 1.1
"$B" --env "$e" start all >/dev/null && "$work/portwait" $(seq $((p + 1)) $((p + 100)))
status() { "$B" --env "$e" status; }
[ "$(status | grep -c ': Running (PID')" = 100 ] || { echo "not all 100 services run" >&2; exit 1; }
pair "status, 100 host services, supervisor (floor hello world)" status hello
"$B" --env "$e" stop all >/dev/null

# versions against 500 tags.
git init -q --bare -b main "$work/app.git"
git init -q -b main "$work/src"
(
	cd "$work/src"
	echo x >f && git add f && git commit -qm x
	for i in $(seq 1 500); do git tag "v$((i / 100)).$((i / 10 % 10)).$((i % 10))$([ $((i % 7)) = 0 ] && echo -rc.1)" 2>/dev/null || true; done
	git push -q --tags "$work/app.git" main
)
"$B" init "$work/cenv" --template demo --install-root "$work/releases" >/dev/null
printf 'version: 1\ncomponents:\n  app:\n    repo: %s\n' "$work/app.git" >"$work/cenv/berth.yaml"
versions() { "$B" --env "$work/cenv" versions app; }
lsremote() { git ls-remote --tags --refs -- "$work/app.git"; }
pair "versions app, 500 tags (floor git ls-remote --tags --refs)" versions lsremote
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
