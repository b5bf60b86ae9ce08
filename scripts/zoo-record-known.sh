#!/usr/bin/env bash
# Records the leak-zoo scenarios that hunt gets wrong, in both recording
# modes, as committed test data: testdata/recordings/<service>-<A|B>/, plain
# files as `heapdrift hunt DIR` reads them (heap and goroutine protos, heap
# debug=1 texts for MemStats, goroutineleak protos; no debug=2 dumps, to
# stay small). The engine can then be tuned and regression-tested offline
# (testdata/recordings/README.md).
#
# What: the five cases hunt is known to get wrong (testdata/zoo README) in
# both modes, and every other row of testdata/zoo/known-misses.txt in the
# mode it lists; or the services given, in both modes.
#
# Mode A: -memprofilerate 65536, heap?gc=1; mode B: Go's default
# MemProfileRate, plain /debug/pprof/heap, goroutineleak twice (a watcher
# asks rarely). Both: 180 s, a snapshot every 9 s (20 per recording, to keep
# all of them under ~8 MB), the service's `// zoo:flags` for the mode. Both
# modes run at the same time.
#
# Usage: scripts/zoo-record-known.sh [service ...]
# Env:   HEAPDRIFT_GO   Go binary (default: .venv-go/bin/go in the repo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export HEAPDRIFT_GO=${HEAPDRIFT_GO:-$root/.venv-go/bin/go}
out=$root/testdata/recordings

cases=(mmapleak slowleak sawtooth ttlcache lrufill parked)
if [ $# -gt 0 ]; then
  mapfile -t a_services < <(printf '%s\n' "$@")
  b_services=("${a_services[@]}")
else
  listed() { # mode: the services known-misses.txt lists in that mode
    grep -v '^\s*\(#\|$\)' "$root/testdata/zoo/known-misses.txt" |
      awk -v m="$1" '$2 == m {print $1}' | cut -d: -f1
  }
  mapfile -t a_services < <({ printf '%s\n' "${cases[@]}"; listed A; } | sort -u)
  mapfile -t b_services < <({ printf '%s\n' "${cases[@]}"; listed B; } | sort -u)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root/testdata/zoo" && "$HEAPDRIFT_GO" build -trimpath -o "$tmp/bin/" ./...)

record() { # mode, leak-every, services...
  local mode=$1 every=$2
  shift 2
  python3 "$root/scripts/record-zoo-series.py" --mode "$mode" --bin "$tmp/bin" \
    --seconds 180 --interval 9 --dump-every 0 --leak-every "$every" --quiet \
    --out "$tmp/$mode" "$@"
  # The recorder writes a single service's files straight into --out.
  if [ $# -eq 1 ]; then
    mv "$tmp/$mode" "$tmp/$mode.one" && mkdir "$tmp/$mode" && mv "$tmp/$mode.one" "$tmp/$mode/$1"
  fi
}
record A 3 "${a_services[@]}" &
a=$!
record B 10 "${b_services[@]}" &
b=$!
wait $a
wait $b

# What each recording should be found to hold, from the markers at the time
# of recording (the zoo's sources may move on; the recordings do not).
manifest=$out/expected.txt
mkdir -p "$out"
entries=$tmp/expected.txt
: > "$entries"
[ -f "$manifest" ] && { grep -v "^#" "$manifest" > "$entries" || true; }
for m in A B; do
  for d in "$tmp/$m"/*/; do
    s=$(basename "$d")
    grep -v "^$s-$m " "$entries" > "$entries.new" || true
    mv "$entries.new" "$entries"
    grep -n -E '//\s*(LEAK-SLOW|LEAK-MEMORY|LEAK|PLATEAU|CONTROL):' "$root/testdata/zoo/$s/main.go" |
      sed -E "s#^([0-9]+):.*//[[:space:]]*(LEAK-SLOW|LEAK-MEMORY|LEAK|PLATEAU|CONTROL):[[:space:]]*(.*)\$#$s-$m \2 zoo/$s/main.go:\1 \3#" >> "$entries"
    rm -rf "${out:?}/$s-$m"
    mv "$d" "$out/$s-$m"
  done
done
{
  echo "# RECORDING TAG SITE MARKER-TEXT: the zoo's markers (testdata/zoo/README.md)"
  echo "# when each recording was made; written by scripts/zoo-record-known.sh."
  sort "$entries"
} > "$manifest"
du -sh "$out"
