#!/usr/bin/env bash
# Regenerates testdata/probe/guard-captures/: what heapdriftprobe.Guard
# wrote while testdata/probe/guardleak leaked towards a small fixed limit
# (heap profiles, goroutine dumps, snapshots marked near_limit). The files
# are committed; rerun this only to refresh them.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(scripts/setup-go.sh)
OUT=testdata/probe/guard-captures
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
(cd testdata/probe/guardleak && CGO_ENABLED=0 GOFLAGS= "$GO" build -trimpath -o "$BIN/guardleak" .)
rm -rf "$OUT"
mkdir -p "$OUT"
"$BIN/guardleak" -dir "$OUT" -captures 10
ls -l "$OUT"
