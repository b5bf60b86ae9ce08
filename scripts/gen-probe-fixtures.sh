#!/usr/bin/env bash
# Usage: scripts/gen-probe-fixtures.sh [guard|tracked]... (default both)
#
# Regenerates testdata/probe/guard-captures/: what heapdriftprobe.Guard
# wrote while testdata/probe/guardleak leaked towards a small fixed limit
# (heap profiles, goroutine dumps, snapshots marked near_limit). The files
# are committed; rerun this only to refresh them.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(scripts/setup-go.sh)
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
WHAT=("${@:-guard tracked}")
WHAT=(${WHAT[*]})

guard() {
OUT=testdata/probe/guard-captures
(cd testdata/probe/guardleak && CGO_ENABLED=0 GOFLAGS= "$GO" build -trimpath -o "$BIN/guardleak" .)
rm -rf "$OUT"
mkdir -p "$OUT"
"$BIN/guardleak" -dir "$OUT" -captures 10
ls -l "$OUT"
}

# testdata/probe/tracked-files/: testdata/zoo/resource/filestore (which
# forgets to close a tracked file on its error path) recorded as plain
# files, 10 rounds a second apart: the heap and both custom profiles of
# tracked resources. Each profile carries its own time stamp.
tracked() {
OUT=testdata/probe/tracked-files
(cd testdata/zoo && CGO_ENABLED=0 GOFLAGS= "$GO" build -trimpath -o "$BIN/" ./resource/filestore)
rm -rf "$OUT"
mkdir -p "$OUT"
"$BIN/filestore" > "$BIN/filestore.out" &
FS=$!
trap 'kill $FS 2>/dev/null; rm -rf "$BIN"' EXIT
for _ in $(seq 50); do
  grep -q '^listening on ' "$BIN/filestore.out" 2>/dev/null && break
  sleep 0.1
done
ADDR=$(sed -n 's/^listening on //p' "$BIN/filestore.out")
sleep 1
for i in $(seq -w 1 10); do
  curl -sf -o "$OUT/heap-$i.pb.gz" "http://$ADDR/debug/pprof/heap"
  curl -sf -o "$OUT/files-$i.pb.gz" "http://$ADDR/debug/pprof/heapdrift.dev/zoo/filestore.files"
  curl -sf -o "$OUT/conns-$i.pb.gz" "http://$ADDR/debug/pprof/heapdrift.dev/zoo/filestore.conns"
  sleep 1
done
kill $FS
ls -l "$OUT"
}

for w in "${WHAT[@]}"; do
  "$w"
done
