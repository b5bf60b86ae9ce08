#!/bin/sh
# Regenerates golden/ (and, given a fixtures directory, real/*.spec) by
# running cases.txt through pprof's own profile package.
# Usage: gen.sh PPROF_SRC [GO] [FIXTURE_PROFILES_DIR]
#   PPROF_SRC: a google/pprof checkout (the version Go vendors); its sources
#   are copied to a temporary module, never committed.
#   FIXTURE_PROFILES_DIR: testdata/profiles with Go-made .pb.gz files; each
#   is parsed by pprof and dumped as real/<name>.spec in cases.txt syntax.
set -eu
PPROF=$1
GO=${2:-${HEAPDRIFT_GO:-go}}
FIX=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/profile" "$tmp/oracle"
for f in "$PPROF"/profile/*.go; do
  case "$f" in *_test.go) ;; *) cp "$f" "$tmp/profile/" ;; esac
done
sed -e 's/^package driver/package main/' \
    -e 's#"github.com/google/pprof/profile"#"pp/profile"#' \
    -e '/internal\/measurement/d' \
    -e 's/measurement\.ScaledLabel/scaledLabel/g' \
    "$PPROF/internal/driver/tagroot.go" > "$tmp/oracle/tagroot.go"
cp "$here/oracle.go.txt" "$tmp/oracle/main.go"
printf 'module pp\n\ngo 1.22\n' > "$tmp/go.mod"
(cd "$tmp" && "$GO" build -o "$tmp/oracle-bin" ./oracle)
if [ -n "$FIX" ]; then
  mkdir -p "$here/real"
  for name in heap_1 heap_2 heap_3 allocs goroutine cpu mutex block goroutineleak threadcreate; do
    "$tmp/oracle-bin" -dump "$FIX/$name.pb.gz" "$here/real/$name.spec" "$name"
  done
fi
rm -rf "$here/golden"
mkdir -p "$here/golden"
python3 "$here/gen_random.py" ${RANDOM_CASES:-150} > "$here/cases_random.txt"
TZ=UTC "$tmp/oracle-bin" "$here/cases.txt" "$here/golden"
