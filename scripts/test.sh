#!/usr/bin/env bash
# Runs every test, installing what the tests need. This is the README's test
# command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC
GO=$(scripts/setup-go.sh)
export PATH="$(dirname "$GO"):$PATH"
export HEAPDRIFT_GO="$GO"
# Real third-party Go services (nats-server, etcd, caddy) from the Go module
# proxy into target/thirdparty/ for tests/thirdparty.rs; skipped when built.
scripts/build-thirdparty.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --profile ci
# Those services under steady load, watched and hunted (~4 min; ignored by a
# plain cargo test).
cargo test --locked --profile ci -p heapdrift --test thirdparty -- --ignored
# The web UI in a real browser (needs target/ci/heapdrift, built just above).
scripts/browser-test.sh
