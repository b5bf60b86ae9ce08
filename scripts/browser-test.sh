#!/usr/bin/env bash
# The browser tests of the web UI (crates/web/tests/browser/*.test.mjs):
# playwright-core drives Debian's chromium against target/ci/heapdrift.
# Screenshots land in target/browser-screenshots/.
#
# Needs target/ci/heapdrift (scripts/test.sh builds it; alone:
# cargo build --profile ci -p heapdrift). Extra arguments go to node --test
# (e.g. --test-name-pattern=XSS).
set -euo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC
scripts/setup-browser.sh
if [ ! -x target/ci/heapdrift ]; then
  cargo build --profile ci -p heapdrift
fi
mkdir -p target/browser-screenshots
cd crates/web/tests/browser
node --test "$@"
