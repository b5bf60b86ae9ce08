#!/usr/bin/env bash
# Runs every test, installing what the tests need. This is the README's test
# command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC
GO=$(scripts/setup-go.sh)
export PATH="$(dirname "$GO"):$PATH"
export HEAPDRIFT_GO="$GO"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --profile ci
# The web UI in a real browser (needs target/ci/heapdrift, built just above).
scripts/browser-test.sh
