#!/bin/sh
# Regenerates the goldens: builds each spec/*.prof with pprof's profile
# package (copied into a temporary module, never committed) and runs
# `go tool pprof` with the flags listed in cases.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
go=${HEAPDRIFT_GO:-go}
ref=${PPROF_SRC:-/work/ref/pprof}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/profile" "$tmp/gen"
for f in "$ref"/profile/*.go; do
  case "$f" in *_test.go) ;; *) cp "$f" "$tmp/profile/" ;; esac
done
cp "$here/gen/main.go" "$tmp/gen/"
printf 'module github.com/google/pprof\n\ngo 1.22\n' > "$tmp/go.mod"
(cd "$tmp" && "$go" build -o "$tmp/genbin" ./gen)
mkdir -p "$here/golden"
while IFS='|' read -r name spec flags; do
  case "$name" in ''|'#'*) continue ;; esac
  "$tmp/genbin" "$here/spec/$spec.prof" "$tmp/$spec.pb.gz"
  flags=$(printf '%s' "$flags" | sed "s|@DATA@|$here|g")
  # shellcheck disable=SC2086
  TZ=UTC "$go" tool pprof $flags "$tmp/$spec.pb.gz" > "$here/golden/$name.txt" 2>&1 || true
done < "$here/cases.txt"
