#!/usr/bin/env bash
# Regenerates testdata/golden/ from go tool pprof, the oracle of the
# differential test (crates/heapdrift/tests/differential.rs).
#
# For every single-source fixture F in testdata/profiles (except
# goroutine_dump.txt, which pprof cannot read) and every case in
# testdata/cases.txt, it runs, from the repo root,
#   TZ=UTC pprof [-symbolize=none if F is a .txt] <flags> testdata/profiles/F
# and for every case in testdata/multi_cases.txt
#   TZ=UTC pprof <flags> testdata/profiles/<source>...
# storing stdout in testdata/golden/<F or "multi">/<case>.out and, when pprof
# exits non-zero, its status in <case>.status and stderr in <case>.err.
#
# Determinism: pprof runs with an empty environment apart from TZ=UTC, and
# HOME, PPROF_TMPDIR and PPROF_BINARY_PATH pointing into an empty temp dir, so
# it finds no binaries to symbolize with and no saved settings. The binaries
# named by the fixtures' mappings (/tmp/heapdrift-fixturegen/...) are removed
# by gen-fixtures.sh. Sources are local files, so pprof never tries symbolz.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(scripts/setup-go.sh)
# `go tool pprof` builds pprof into the Go cache on first use; run it once,
# then call the cached binary directly (saves the go command's start-up).
"$GO" tool pprof -h >/dev/null 2>&1 || true
PPROF=$("$GO" tool -n pprof)
[ -x "$PPROF" ] || { echo "cannot find the pprof binary ($PPROF)" >&2; exit 1; }

SANDBOX=$(mktemp -d)
trap 'rm -rf "$SANDBOX"' EXIT
mkdir -p "$SANDBOX/home" "$SANDBOX/tmp"
# Cases of testdata/unordered.txt: pprof prints their rows in random order,
# so their golden is stored canonical (the running sum% column blanked, lines
# sorted), which is also what tests/differential.rs compares for them.
UNORDERED=" $(grep -v '^#' testdata/unordered.txt | sed 's/#.*//' | tr -s ' \n' ' ') "
export PPROF SANDBOX UNORDERED

rm -rf testdata/golden
mkdir -p testdata/golden

# One job per line: out-dir<TAB>case<TAB>flags<TAB>sources (space-separated).
JOBS="$SANDBOX/jobs"
: >"$JOBS"
for f in testdata/profiles/*; do
  fx=$(basename "$f")
  [ "$fx" = goroutine_dump.txt ] && continue
  extra=""
  case "$fx" in *.txt) extra="-symbolize=none " ;; esac
  mkdir -p "testdata/golden/$fx"
  grep -v '^#' testdata/cases.txt | grep -v '^$' | while IFS=$'\t' read -r name flags; do
    printf '%s\t%s\t%s\t%s\n' "testdata/golden/$fx" "$name" "$extra$flags" "testdata/profiles/$fx" >>"$JOBS"
  done
done
mkdir -p testdata/golden/multi
grep -v '^#' testdata/multi_cases.txt | grep -v '^$' | while IFS=$'\t' read -r name flags sources; do
  srcs=""
  for s in $sources; do srcs="$srcs testdata/profiles/$s"; done
  printf '%s\t%s\t%s\t%s\n' testdata/golden/multi "$name" "$flags" "${srcs# }" >>"$JOBS"
done

run_one() {
  local dir name flags sources status
  IFS=$'\t' read -r dir name flags sources <<<"$1"
  set +e
  # shellcheck disable=SC2086 # flags and sources are space-separated lists.
  env -i PATH=/usr/bin:/bin TZ=UTC HOME="$SANDBOX/home" PPROF_TMPDIR="$SANDBOX/tmp" \
    PPROF_BINARY_PATH="$SANDBOX/none" \
    "$PPROF" $flags $sources >"$dir/$name.out" 2>"$dir/$name.err.tmp"
  status=$?
  set -e
  case "$UNORDERED" in
    *" $name "*)
      sed -E 's/^([[:space:]]*[^[:space:]]+[[:space:]]+[^[:space:]]*%)[[:space:]]+[^[:space:]]*%/\1 */' \
        "$dir/$name.out" | LC_ALL=C sort >"$dir/$name.out.tmp"
      mv "$dir/$name.out.tmp" "$dir/$name.out"
      ;;
  esac
  if [ "$status" -ne 0 ]; then
    echo "$status" >"$dir/$name.status"
    mv "$dir/$name.err.tmp" "$dir/$name.err"
  else
    rm -f "$dir/$name.err.tmp"
  fi
}
export -f run_one

tr '\n' '\0' <"$JOBS" | xargs -0 -P "$(nproc)" -I{} bash -c 'run_one "$1"' _ {}
echo "$(wc -l <"$JOBS") runs; $(find testdata/golden -name '*.status' | wc -l) failed (recorded); $(du -sh testdata/golden | cut -f1)"
