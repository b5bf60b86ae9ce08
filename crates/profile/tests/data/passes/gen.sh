#!/bin/sh
# Regenerates golden/ by running cases.txt through pprof's own profile
# package. Usage: gen.sh /path/to/google/pprof [go binary]
# pprof's sources are copied to a temporary module, never committed.
set -eu
PPROF=$1
GO=${2:-${HEAPDRIFT_GO:-go}}
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
rm -rf "$here/golden"
mkdir -p "$here/golden"
(cd "$tmp" && GOFLAGS=-mod=mod TZ=UTC "$GO" run ./oracle "$here/cases.txt" "$here/golden")
