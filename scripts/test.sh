#!/usr/bin/env bash
# Runs every test, installing what the tests need. This is the README's test
# command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC
GO=$(scripts/setup-go.sh)
export PATH="$(dirname "$GO"):$PATH"
export HEAPDRIFT_GO="$GO"
# The Go companion (go/heapdriftprobe, docs/probe.md): gofmt, vet and its
# tests (~10 s), before the long Rust steps.
(
  cd go/heapdriftprobe
  unformatted=$("$("$GO" env GOROOT)/bin/gofmt" -l .)
  if [ -n "$unformatted" ]; then
    echo "gofmt -l go/heapdriftprobe: $unformatted" >&2
    exit 1
  fi
  "$GO" vet ./...
  "$GO" test ./...
)
# google/pprof's own test inputs and goldens, from the Go module proxy.
HEAPDRIFT_PPROF_TESTDATA=$(scripts/fetch-pprof-testdata.sh)
export HEAPDRIFT_PPROF_TESTDATA
# Real third-party Go services (nats-server, etcd, caddy) from the Go module
# proxy into target/thirdparty/ for tests/thirdparty.rs; skipped when built.
scripts/build-thirdparty.sh
# A real Grafana Pyroscope server (issue 12) from the Go module proxy into
# target/pyroscope/ for tests/pyroscope.rs: ~5 min cold on 2 cores, skipped
# when built.
bash scripts/pyroscope.sh build
export HEAPDRIFT_PYROSCOPE="$PWD/target/pyroscope/pyroscope"
# A real Parca server (issue 12's second store) from the Go module proxy into
# target/engines/ for tests/parca.rs: ~4 min cold on 2 cores (unoptimised;
# docs/fleet.md), seconds with Go's build cache warm, skipped when built.
bash scripts/parca.sh build
export HEAPDRIFT_PARCA="$PWD/target/engines/parca"
# Debian's chromium, graphviz and the pinned playwright-core, before any
# test runs: the Rust tests use chromium and dot too, and a test whose
# prerequisite is missing is ignored, not passed (under CI=true, a build
# failure: build/test-prereqs.rs).
scripts/setup-browser.sh
export HEAPDRIFT_CHROMIUM=/usr/bin/chromium
if [ "${CI:-}" = true ]; then
  export HEAPDRIFT_REQUIRE_TEST_PREREQS=1
fi
cargo fmt --all -- --check
# The same profile as the tests, so that build scripts and proc macros are
# compiled once on a fresh machine.
cargo clippy --workspace --all-targets --locked --profile ci -- -D warnings
cargo test --workspace --locked --profile ci
# Those services under steady load, watched and hunted (~4 min; ignored by a
# plain cargo test).
cargo test --locked --profile ci -p heapdrift --test thirdparty -- --ignored
# The web UI in a real browser (needs target/ci/heapdrift, built just above).
scripts/browser-test.sh
