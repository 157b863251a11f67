#!/usr/bin/env bash
# Lists Go files over 500 lines and functions over 80 lines (tests,
# generated files and the lines of declarative tables left out; a function
# whose doc comment says "checksize: keep <reason>" too), as the project's
# standards ask. Exits 1 when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/checksize" ./hack/checksize
"$bin/checksize" "$@" .
