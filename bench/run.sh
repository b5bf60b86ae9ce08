#!/usr/bin/env bash
# Times heapdrift against go tool pprof on the profiles in bench/data/
# (make them with bench/make-profiles.sh), plus the floor: inflating the file.
#
#   bench/run.sh                      # every profile in bench/data
#   bench/run.sh FILE...              # just these
#   REPORT=-traces bench/run.sh       # another report (default: -top)
#
# Env: GO, HEAPDRIFT (default target/release/heapdrift), RUNS (default 5),
#      WARMUP (default 1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GO=${GO:-}
if [[ -z "$GO" ]]; then
  if [[ -x "$root/.venv-go/bin/go" ]]; then GO="$root/.venv-go/bin/go"; else GO=$(command -v go || true); fi
fi
[[ -x "$GO" ]] || { echo "run.sh: no Go toolchain; run scripts/setup-go.sh or set GO=" >&2; exit 1; }
HEAPDRIFT=${HEAPDRIFT:-$root/target/release/heapdrift}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
REPORT=${REPORT:--top}

command -v hyperfine >/dev/null || {
  echo "run.sh: hyperfine not found; install it: apt-get install hyperfine (or cargo install hyperfine)" >&2
  exit 1
}
[[ -x /usr/bin/time ]] || { echo "run.sh: /usr/bin/time not found; install it: apt-get install time" >&2; exit 1; }

# The pprof binary itself (`go tool -n` builds it into the cache and prints
# its path), so the go command's own start-up is not counted against pprof.
PPROF=$("$GO" tool -n pprof 2>/dev/null || true)
[[ -n "$PPROF" && -x "$PPROF" ]] || PPROF=""
export TZ=UTC # pprof prints times in the local zone

if [[ $# -gt 0 ]]; then
  profiles=("$@")
else
  shopt -s nullglob
  profiles=("$here"/data/*.pb.gz "$here"/data/*.txt)
fi
[[ ${#profiles[@]} -gt 0 ]] || { echo "run.sh: no profiles; run bench/make-profiles.sh first" >&2; exit 1; }

# heapdrift runs only if it is built and can produce this report.
hd_ok() {
  [[ -x "$HEAPDRIFT" ]] && "$HEAPDRIFT" pprof "$REPORT" "$1" >/dev/null 2>&1
}
if [[ ! -x "$HEAPDRIFT" ]]; then
  echo "note: $HEAPDRIFT not built (cargo build --release -p heapdrift); timing Go only" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mean_ms() { # hyperfine JSON -> mean milliseconds
  python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$1"
}
time_ms() { # name cmd... -> mean wall ms over RUNS
  local name=$1; shift
  hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$tmp/$name.json" \
    -- "$(printf '%q ' "$@")" >/dev/null 2>&1 || { echo "-"; return; }
  mean_ms "$tmp/$name.json"
}
rss_mb() { # cmd... -> "peak-RSS-MB cpu-seconds" (one run)
  /usr/bin/time -f '%M %U %S' -o "$tmp/rss" "$@" >/dev/null 2>&1 || { echo "- -"; return; }
  awk '{printf "%.0f %.2f\n", $1/1024, $2+$3}' "$tmp/rss"
}
ratio() { # a b -> a/b with one decimal, or -
  if [[ $1 == - || $2 == - || $2 == 0 ]]; then echo "-"; else awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1fx", a/b}'; fi
}

if [[ -n "$PPROF" ]]; then go_cmd=("$PPROF"); else go_cmd=("$GO" tool pprof); fi

# Other processes skew wall times; CPU time (user+sys) is steadier.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %6s | %8s %8s %8s | %6s %6s | %7s %7s | %6s %6s %6s | %s\n' \
  profile size floor_ms go_ms hd_ms go/hd hd/flr go_cpu hd_cpu go_MB hd_MB go/hd same
for f in "${profiles[@]}"; do
  name=$(basename "$f")
  size=$(du -h "$f" | cut -f1)
  if [[ $f == *.gz ]]; then floor=(gzip -dc "$f"); else floor=(cat "$f"); fi
  floor_ms=$(time_ms floor "${floor[@]}")
  go_ms=$(time_ms go "${go_cmd[@]}" "$REPORT" "$f")
  read -r go_mb go_cpu < <(rss_mb "${go_cmd[@]}" "$REPORT" "$f")
  hd_ms=- hd_mb=- hd_cpu=- same=-
  if hd_ok "$f"; then
    hd_ms=$(time_ms hd "$HEAPDRIFT" pprof "$REPORT" "$f")
    read -r hd_mb hd_cpu < <(rss_mb "$HEAPDRIFT" pprof "$REPORT" "$f")
    if cmp -s <("${go_cmd[@]}" "$REPORT" "$f" 2>/dev/null) <("$HEAPDRIFT" pprof "$REPORT" "$f" 2>/dev/null); then
      same=yes
    else
      same=DIFF
    fi
  fi
  printf '%-28s %6s | %8s %8s %8s | %6s %6s | %7s %7s | %6s %6s %6s | %s\n' \
    "$name" "$size" "$floor_ms" "$go_ms" "$hd_ms" "$(ratio "$go_ms" "$hd_ms")" "$(ratio "$hd_ms" "$floor_ms")" \
    "$go_cpu" "$hd_cpu" "$go_mb" "$hd_mb" "$(ratio "$go_mb" "$hd_mb")" "$same"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
