#!/usr/bin/env bash
# Builds large, real profiles with Go itself into bench/data/ (gitignored).
#
#   bench/make-profiles.sh            # all profiles
#   bench/make-profiles.sh compile    # only the compiler heap profile
#
# Env: GO (default: .venv-go/bin/go, then `go` on PATH), BENCHTIME (default 1s),
#      FORCE=1 to rebuild profiles that exist, TEXT=1 to also write the
#      compiler's heap profile in Go's legacy text format (slow: the runtime
#      takes 10+ minutes to write 450k records as text).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data="$here/data"
mkdir -p "$data"

GO=${GO:-}
if [[ -z "$GO" ]]; then
  if [[ -x "$root/.venv-go/bin/go" ]]; then GO="$root/.venv-go/bin/go"; else GO=$(command -v go || true); fi
fi
[[ -x "$GO" ]] || { echo "make-profiles: no Go toolchain; run scripts/setup-go.sh or set GO=" >&2; exit 1; }
BENCHTIME=${BENCHTIME:-1s}
what=${1:-all}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

samples() { # number of samples in a profile, as go tool pprof sees them
  "$GO" tool pprof -raw "$1" 2>/dev/null | awk '/^Samples:/{on=1;next} /^Locations/{on=0} on && /^ *-?[0-9]+( +-?[0-9]+)*: /{n++} END{print n+0}'
}

report() {
  printf '%-34s %10s bytes  %8s samples\n' "$(basename "$1")" "$(stat -c %s "$1")" "$(samples "$1")"
}

# (a) The compiler's own heap profile while compiling a big package, every
# allocation sampled. cmd/compile writes gzipped proto when -memprofile names a
# directory (<dir>/<escaped pkgpath>.memprof) and the legacy text format when it
# names a file (net/http only, with TEXT=1). A fresh directory name also
# changes the gcflags, so the build cache cannot skip the compile.
compile_heap() { # pkg name [text]
  local pkg=$1 name=$2 d="$work/memprof.$$.$RANDOM"
  if [[ -z ${FORCE:-} && -s "$data/compile-$name-heap.pb.gz" ]]; then
    report "$data/compile-$name-heap.pb.gz"; return
  fi
  mkdir -p "$d"
  echo "compiling $pkg with -memprofilerate=1 (takes a minute or two)..." >&2
  "$GO" build -o /dev/null -gcflags="$pkg=-memprofile=$d -memprofilerate=1" "$pkg"
  mv "$d"/*.memprof "$data/compile-$name-heap.pb.gz"
  report "$data/compile-$name-heap.pb.gz"
  if [[ ${3:-} == text && -n ${TEXT:-} ]]; then
    local t="$work/memprof-text.$$.$RANDOM"
    "$GO" build -o /dev/null -gcflags="$pkg=-memprofile=$t -memprofilerate=1" "$pkg"
    mv "$t" "$data/compile-$name-heap.txt"
    report "$data/compile-$name-heap.txt"
  fi
}

compile_profiles() {
  compile_heap net/http nethttp text
  # The largest: ~800k samples, the size of a busy service's heap profile.
  compile_heap cmd/compile/internal/ssa ssa
}

# (b) CPU profiles of standard-library benchmarks, and (c) an allocs profile
# (the test binary's -memprofile writes the "allocs" profile).
bench_profiles() {
  local pkg name
  for pkg in strconv regexp encoding/json; do
    name=${pkg//\//-}
    if [[ -z ${FORCE:-} && -s "$data/cpu-$name.pb.gz" ]]; then
      report "$data/cpu-$name.pb.gz"; continue
    fi
    echo "benchmarking $pkg for a CPU profile (benchtime $BENCHTIME)..." >&2
    (cd "$work" && "$GO" test -run=NONE -bench=. -benchtime="$BENCHTIME" \
      -cpuprofile="$data/cpu-$name.pb.gz" "$pkg" >/dev/null)
    report "$data/cpu-$name.pb.gz"
  done
  if [[ -z ${FORCE:-} && -s "$data/allocs-encoding-json.pb.gz" ]]; then
    report "$data/allocs-encoding-json.pb.gz"; return
  fi
  echo "benchmarking encoding/json with -memprofilerate=1 for an allocs profile..." >&2
  (cd "$work" && "$GO" test -run=NONE -bench=. -benchtime=100ms -memprofilerate=1 \
    -memprofile="$data/allocs-encoding-json.pb.gz" encoding/json >/dev/null)
  report "$data/allocs-encoding-json.pb.gz"
}

case "$what" in
  all) compile_profiles; bench_profiles ;;
  compile) compile_profiles ;;
  bench) bench_profiles ;;
  *) echo "usage: $0 [all|compile|bench]" >&2; exit 2 ;;
esac
