#!/usr/bin/env bash
# google/pprof's profile/testdata (pprof's own legacy inputs and their
# `.string` goldens, Apache-2.0) from the Go module proxy into
# target/pprof-testdata/, for crates/profile/tests/legacy_pprof_testdata.rs
# and legacy_oracle.rs; never committed. Prints the directory, which
# scripts/test.sh exports as HEAPDRIFT_PPROF_TESTDATA.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${HEAPDRIFT_GO:-$(scripts/setup-go.sh)}
# A pinned pseudo-version: the goldens must not move under the tests.
version=v0.0.0-20261105003125-4bf881d7fb0b
out=target/pprof-testdata/$version
if [ ! -f "$out/.complete" ]; then
  dir=$("$GO" mod download -json "github.com/google/pprof@$version" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  rm -rf "$out"
  mkdir -p "$out"
  cp -R "$dir/profile/testdata/." "$out/"
  chmod -R u+w "$out"
  touch "$out/.complete"
fi
echo "$PWD/$out"
