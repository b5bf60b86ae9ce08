#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium (never a browser
# downloaded by Playwright) and the pinned npm packages of
# crates/web/tests/browser (playwright-core only, from package-lock.json);
# and the programs other tests run: graphviz's dot, groff.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "setup-browser: installing chromium with apt-get" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-browser: installing nodejs and npm with apt-get" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! command -v dot >/dev/null; then
  # The graph view needs Graphviz; without it the view says so. Outside CI
  # a failed install is not fatal (the tests that need dot are ignored);
  # in CI it is.
  echo "setup-browser: installing graphviz with apt-get" >&2
  if ! (as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null); then
    echo "setup-browser: graphviz not installed; the graph view will say it needs dot" >&2
    [ "${CI:-}" != true ] || exit 1
  fi
fi

if ! command -v groff >/dev/null; then
  # The manual-page test renders `heapdrift man` with groff (Debian's man
  # needs it too). As for graphviz: fatal only in CI.
  echo "setup-browser: installing groff-base with apt-get" >&2
  if ! (as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq groff-base >/dev/null); then
    echo "setup-browser: groff not installed; the manual-page test is ignored" >&2
    [ "${CI:-}" != true ] || exit 1
  fi
fi

cd crates/web/tests/browser
# Playwright must never fetch browsers of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
want=$(node -p "require('./package.json').devDependencies['playwright-core']")
have=$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch (e) { '' }")
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
