#!/usr/bin/env bash
# Can `heapdrift watch` keep up with 20 targets at 5 s intervals on this
# machine? Starts 20 zoo services (the 15 of testdata/zoo, the first 5 twice),
# watches them all for a while with a release build, and prints heapdrift's
# CPU use (user+sys over wall time) and the rounds each target got.
#
# Usage: scripts/watch-bench.sh [seconds]       (default 60)
# Env:   HEAPDRIFT_GO   Go binary (default: .venv-go/bin/go in the repo)
#        WATCH_EVERY    interval (default 5s)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=${HEAPDRIFT_GO:-$root/.venv-go/bin/go}
secs=${1:-60}
every=${WATCH_EVERY:-5s}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && cargo build --release -q -p heapdrift)
(cd "$root/testdata/zoo" && "$go" build -o "$tmp/bin/" ./...)
services=(chansend churn closures context ctxchildren globalmap httpbody lru mutex
  smallunderplateau subslice syncpool ticker waitgroup workerpool
  chansend churn closures context ctxchildren)
targets=()
for i in "${!services[@]}"; do
  s=${services[$i]}
  "$tmp/bin/$s" >"$tmp/$i.out" 2>/dev/null &
  pids+=($!)
done
for i in "${!services[@]}"; do
  for _ in $(seq 100); do
    [ -s "$tmp/$i.out" ] && break
    sleep 0.05
  done
  targets+=("$(head -1 "$tmp/$i.out" | sed 's/^listening on //')")
done

/usr/bin/time -f "heapdrift: user %U s, sys %S s, wall %e s, max RSS %M KiB" \
  "$root/target/release/heapdrift" watch "${targets[@]}" --every "$every" --for "${secs}s" \
  --archive "$tmp/archive" --quiet >"$tmp/watch.log" 2>"$tmp/time.txt"
cat "$tmp/time.txt"
python3 - "$tmp/time.txt" "$tmp/watch.log" "$secs" "$every" "${#targets[@]}" <<'PY'
import re, sys, collections
t = open(sys.argv[1]).read()
u, s, w = (float(x) for x in re.search(r"user ([\d.]+) s, sys ([\d.]+) s, wall ([\d.]+)", t).groups())
print(f"CPU: {100*(u+s)/w:.1f}% of one core ({(u+s)/w/2*100:.1f}% of 2 cores)")
rounds = collections.Counter()
for line in open(sys.argv[2]):
    m = re.search(r" (http://\S+) round \d+:", line)
    if m:
        rounds[m.group(1)] += 1
secs, every, n = float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
print(f"rounds per target ({n} targets, {secs:.0f} s at {every}): min {min(rounds.values())}, max {max(rounds.values())}")
PY
du -sh "$tmp/archive" | sed 's/^/archive size: /'
