#!/usr/bin/env bash
# Builds the real third-party Go services of the end-to-end test
# crates/heapdrift/tests/thirdparty.rs (nats-server, etcd, caddy) and our load
# generator into target/thirdparty/, from the Go module proxy at the versions
# pinned in testdata/thirdparty/*/go.mod (go.sum verifies every module). No
# code of theirs is committed. Idempotent: a binary whose stamp matches its
# module (go.mod, go.sum and our sources) is not rebuilt. Prints the time each
# build took (about 6 min for all on a fresh 2-core machine, most of it caddy).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${HEAPDRIFT_GO:-$(scripts/setup-go.sh)}
# The pinned go.mod files must be used as they are: no toolchain download,
# no silent edit.
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
out=$PWD/target/thirdparty
shopt -s nullglob
mkdir -p "$out"

build() { # NAME MODULE_DIR PACKAGE
  local name=$1 dir=testdata/thirdparty/$2 pkg=$3 stamp t0
  stamp=$(cat "$dir"/go.mod "$dir"/go.sum "$dir"/*.go | sha256sum | cut -d' ' -f1)
  if [ -x "$out/$name" ] && [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "build-thirdparty: $name is up to date"
    return
  fi
  t0=$SECONDS
  (cd "$dir" && "$GO" build -trimpath -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "$stamp" >"$out/$name.stamp"
  echo "build-thirdparty: built $name in $((SECONDS - t0)) s"
}

build nats-server nats-server github.com/nats-io/nats-server/v2
build etcd etcd go.etcd.io/etcd/server/v3
build caddy caddy github.com/caddyserver/caddy/v2/cmd/caddy
build loadgen loadgen .
