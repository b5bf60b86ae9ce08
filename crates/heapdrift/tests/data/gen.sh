#!/bin/sh
# Regenerates golden/NAME.txt for each NAME|ARGS line of cases.txt by
# running `TZ=UTC go tool pprof ARGS` in profiles/. With --profiles it first
# rebuilds profiles/ with the drivergen program (the outputs then change,
# since the profiles are new).
# Usage: gen.sh [--profiles]   (Go from $HEAPDRIFT_GO, else `go`)
set -eu
GO=${HEAPDRIFT_GO:-go}
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--profiles" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # -trimpath: source paths read drivergen/main.go wherever this runs.
  (cd "$here/drivergen" && "$GO" build -trimpath -o "$tmp/drivergen" .)
  mkdir -p "$here/profiles"
  "$tmp/drivergen" "$here/profiles"
fi
rm -rf "$here/golden"
mkdir -p "$here/golden"
grep -v '^#' "$here/cases.txt" | while IFS='|' read -r name args; do
  [ -n "$name" ] || continue
  out="$here/golden/$name.txt"
  set +e
  # shellcheck disable=SC2086 # ARGS are split on blanks by design.
  (cd "$here/profiles" && TZ=UTC "$GO" tool pprof $args >"$out.stdout" 2>"$out.stderr" </dev/null)
  rc=$?
  set -e
  { printf 'exit %d\n-- stderr --\n' "$rc"; cat "$out.stderr"; printf -- '-- stdout --\n'; cat "$out.stdout"; } >"$out"
  rm -f "$out.stdout" "$out.stderr"
done
# Binary reports (binary_cases.txt): the uncompressed profile.proto bytes.
grep -v '^#' "$here/binary_cases.txt" | while IFS='|' read -r name args; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  (cd "$here/profiles" && TZ=UTC "$GO" tool pprof $args </dev/null 2>/dev/null | gzip -dc >"$here/golden/$name.pb")
done
