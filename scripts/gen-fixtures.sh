#!/usr/bin/env bash
# Regenerates the Go-produced profiles in testdata/profiles/ by building and
# running testdata/gen (stdlib-only Go). The profiles are committed: rerun this
# only to refresh them, then run scripts/gen-goldens.sh.
#
# The program is built with -trimpath so that source paths in the profiles are
# "fixturegen/<file>.go" (not the checkout location). It is built to a fixed
# path under /tmp, which becomes the mapping's file name in the profiles, and
# removed afterwards so that go tool pprof never finds a binary to symbolize
# against when the goldens are made.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(scripts/setup-go.sh)
BIN_DIR=/tmp/heapdrift-fixturegen
OUT=testdata/profiles
rm -rf "$BIN_DIR"
mkdir -p "$BIN_DIR" "$OUT"
trap 'rm -rf "$BIN_DIR"' EXIT
(cd testdata/gen && CGO_ENABLED=0 GOFLAGS= "$GO" build -trimpath -o "$BIN_DIR/fixturegen" .)
rm -f "$OUT"/*.pb.gz "$OUT"/*.txt
# GOMAXPROCS is pinned so the CPU and contention profiles look alike from
# machine to machine.
GOMAXPROCS=2 "$BIN_DIR/fixturegen" -out "$OUT"
# Heap profiles at Go's default sampling rate (values unsampled by pprof).
GOMAXPROCS=2 FIXTUREGEN_SAMPLED=1 "$BIN_DIR/fixturegen" -out "$OUT"
ls -l "$OUT"
