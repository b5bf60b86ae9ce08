#!/usr/bin/env bash
# The scale benchmark of issue 3: `heapdrift hunt` over 500 heap snapshots of
# a service with 10k allocation sites (generated: planted leaks and plateaus
# among churn and noise) must name exactly the planted leaks, run at least
# 10x faster than `go tool pprof -top` merely merging the same 500 files, and
# take under 2 s reading the series from its archive's index.
#
#   bench/hunt-scale.sh                  # 500 x 10,000, seed 1
#   SNAPSHOTS=60 SITES=2000 bench/hunt-scale.sh
#
# Env: PROFILE (cargo profile, default ci; release for final numbers),
#      RUNS (default 3), GO_RUNS (default 1: pprof takes long), SEED,
#      APPEND=1 to append the result table to bench/RESULTS.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
SNAPSHOTS=${SNAPSHOTS:-500}
SITES=${SITES:-10000}
SEED=${SEED:-1}
PROFILE=${PROFILE:-ci}
RUNS=${RUNS:-3}
GO_RUNS=${GO_RUNS:-1}
export TZ=UTC

command -v hyperfine >/dev/null || { echo "hunt-scale.sh: hyperfine not found (apt-get install hyperfine)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "hunt-scale.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
command -v jq >/dev/null || { echo "hunt-scale.sh: jq not found (apt-get install jq)" >&2; exit 1; }

GO=${GO:-$(scripts/setup-go.sh)}
# The pprof binary itself, so the go command's start-up is not counted.
PPROF=$("$GO" tool -n pprof 2>/dev/null || true)
if [[ -n "$PPROF" && -x "$PPROF" ]]; then go_cmd=("$PPROF"); else go_cmd=("$GO" tool pprof); fi

cargo build --quiet --profile "$PROFILE" -p heapdrift --bin heapdrift --example gen_hunt_scale
HD="$root/target/$PROFILE/heapdrift"
GEN="$root/target/$PROFILE/examples/gen_hunt_scale"

data="$here/data/hunt-scale-${SNAPSHOTS}x${SITES}-s${SEED}"
if [[ ! -f "$data/manifest.json" ]]; then
  rm -rf "$data"
  "$GEN" "$data" "$SNAPSHOTS" "$SITES" "$SEED"
fi
files=("$data"/files/*.pb.gz)
[[ ${#files[@]} -eq $SNAPSHOTS ]] || { echo "hunt-scale.sh: expected $SNAPSHOTS files in $data/files" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Correctness first: exactly the planted leaks, from the files and from the
# archive (and the same findings from both).
jq -r '.leaks[] | "\(.function) \(.file):\(.line)"' "$data/manifest.json" | sort >"$tmp/planted"
check() { # name args... -> PASS/FAIL line
  local name=$1; shift
  "$HD" hunt --json "$@" >"$tmp/$name.json"
  jq -r '.findings[] | select(.verdict == "leak") | "\(.function) \(.file):\(.line)"' "$tmp/$name.json" | sort >"$tmp/$name.leaks"
  if cmp -s "$tmp/planted" "$tmp/$name.leaks"; then
    echo "PASS  hunt $name names exactly the $(wc -l <"$tmp/planted") planted leaks"
  else
    echo "FAIL  hunt $name: planted vs found:"; diff "$tmp/planted" "$tmp/$name.leaks" || true
    return 1
  fi
}
status=0
check DIR "$data/files" || status=1
check ARCHIVE "$data/archive" || status=1
if cmp -s <(jq -c .findings "$tmp/DIR.json") <(jq -c .findings "$tmp/ARCHIVE.json"); then
  echo "PASS  hunt DIR and hunt ARCHIVE give the same findings"
else
  echo "FAIL  hunt DIR and hunt ARCHIVE differ"; status=1
fi
echo "verdicts: $(jq -c '[.findings[].verdict] | group_by(.) | map({(.[0]): length}) | add' "$tmp/DIR.json")"

# hyperfine: mean wall, user, system (seconds) of a command.
measure() { # name runs cmd... -> "wall cpu"
  local name=$1 runs=$2; shift 2
  hyperfine -N --style none --warmup 0 --runs "$runs" --export-json "$tmp/$name.hf.json" \
    -- "$(printf '%q ' "$@")" >/dev/null 2>&1 || { echo "- -"; return; }
  jq -r '.results[0] | "\(.mean) \(.user + .system)"' "$tmp/$name.hf.json"
}
peak_mb() { # cmd... -> peak RSS MB (one run)
  /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || { echo "-"; return; }
  awk '{printf "%.0f\n", $1/1024}' "$tmp/rss"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
read -r dir_wall dir_cpu < <(measure dir "$RUNS" "$HD" hunt "$data/files")
dir_mb=$(peak_mb "$HD" hunt "$data/files")
read -r arc_wall arc_cpu < <(measure archive "$RUNS" "$HD" hunt "$data/archive")
arc_mb=$(peak_mb "$HD" hunt "$data/archive")
read -r go_wall go_cpu < <(measure pprof "$GO_RUNS" "${go_cmd[@]}" -top "${files[@]}")
go_mb=$(peak_mb "${go_cmd[@]}" -top "${files[@]}")
load1=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "-" }'; }
s() { awk -v a="$1" 'BEGIN{printf "%.2f", a}'; }
table=$(
  echo "| command | wall s | CPU s (user+sys) | peak RSS MB | pprof/this wall | pprof/this CPU | pprof/this RSS |"
  echo "|---|---|---|---|---|---|---|"
  echo "| \`go tool pprof -top\` (${SNAPSHOTS} files) | $(s "$go_wall") | $(s "$go_cpu") | $go_mb | 1.0x | 1.0x | 1.0x |"
  echo "| \`heapdrift hunt DIR\` | $(s "$dir_wall") | $(s "$dir_cpu") | $dir_mb | $(ratio "$go_wall" "$dir_wall") | $(ratio "$go_cpu" "$dir_cpu") | $(ratio "$go_mb" "$dir_mb") |"
  echo "| \`heapdrift hunt ARCHIVE\` | $(s "$arc_wall") | $(s "$arc_cpu") | $arc_mb | $(ratio "$go_wall" "$arc_wall") | $(ratio "$go_cpu" "$arc_cpu") | $(ratio "$go_mb" "$arc_mb") |"
)
echo
echo "$SNAPSHOTS heap snapshots x $SITES sites (seed $SEED), heapdrift built with --profile $PROFILE"
echo "load average: $load0 at start, $load1 at end; heapdrift runs: $RUNS, pprof runs: $GO_RUNS"
echo "$table"
goal=$(awk -v w="$arc_wall" -v g="$go_wall" -v d="$dir_wall" 'BEGIN{
  printf "goals: DIR >= 10x faster than pprof: %s; ARCHIVE >= 10x: %s; ARCHIVE < 2 s: %s",
    (g/d >= 10 ? "yes" : "NO"), (g/w >= 10 ? "yes" : "NO"), (w < 2 ? "yes" : "NO") }')
echo "$goal"

if [[ "${APPEND:-0}" == 1 ]]; then
  {
    echo
    echo "## \`hunt\` at scale (bench/hunt-scale.sh), $(date -u '+%Y-%m-%d %H:%M') UTC"
    echo
    echo "$SNAPSHOTS generated heap snapshots (Go-shaped: 4 sample types, multi-frame stacks through"
    echo "runtime/stdlib helpers) of a service with $SITES allocation sites, 15 s apart, seed $SEED:"
    echo "$(jq '.leaks | length' "$data/manifest.json") planted leaks (160 KiB to 8 MiB/min), $(jq '.plateaus | length' "$data/manifest.json") warm-up plateaus,"
    echo "$(jq .churn_sites "$data/manifest.json") churning sites, the rest noise. heapdrift \`--profile $PROFILE\`, commit $(git rev-parse --short HEAD);"
    echo "load average $load0 at start, $load1 at end (shared 2-core machine: compare CPU time)."
    echo
    echo "$table"
    echo
    echo "Planted leaks named exactly: $( ((status == 0)) && echo yes || echo NO ). $goal."
  } >>"$here/RESULTS.md"
  echo "appended to bench/RESULTS.md"
fi
exit $status
