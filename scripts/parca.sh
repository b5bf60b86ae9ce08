#!/usr/bin/env bash
# Starts and stops a real Parca server for tests and CI (issue 12's second
# fleet source), built from the Go module proxy at the version pinned in
# testdata/parca/go.mod: a harness module, because `go install …@v0.28.0`
# stops at the module's version list, which the proxy refuses. See
# testdata/parca/README.md for the API as a real server answers it.
#
#   scripts/parca.sh build
#       builds (or reuses) target/engines/parca, stamped with the module's
#       go.mod, go.sum and the build flags like pyroscope.sh.
#   scripts/parca.sh start [--port P] [-- FLAG…]
#       builds once, starts one server on 127.0.0.1 (HTTP, gRPC and the JSON
#       gateway share the one port) with FILESYSTEM object storage in its run
#       directory, waits until the query API answers, and prints its URL
#       (http://127.0.0.1:P) as the last line of stdout. Without --port, a free
#       port is picked. Extra FLAGs after `--` go to Parca as they are.
#       Everything of an instance is under target/engines/parca-run/P/.
#   scripts/parca.sh stop [--port P]
#       ends the instance on port P (without --port: every instance this
#       checkout started) by its pid file and removes its directory.
#
# Environment: HEAPDRIFT_GO (the go binary; default scripts/setup-go.sh),
# PARCA_START_TIMEOUT (seconds to wait, default 60), PARCA_LOG_LEVEL
# (default info).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mod=testdata/parca
out=$root/target/engines
bin=$out/parca
runs=$out/parca-run

name=parca
# shellcheck source=scripts/engine-lib.sh
. scripts/engine-lib.sh

build() {
  engine_build "$mod" github.com/parca-dev/parca/cmd/parca "$bin" Parca
}

stop_one() { # DIR
  engine_kill "$1" "$bin"
  rm -rf "$1"
  say "stopped $(basename "$1")"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
port="" extra=()
usage="usage: $0 build | start [--port P] [-- FLAG…] | stop [--port P]"
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument: $1 ($usage)" ;;
  esac
done
[ -z "$port" ] || [[ $port =~ ^[0-9]+$ ]] || die "--port must be a number: $port"

case $cmd in
  build)
    build
    ;;
  stop)
    if [ -n "$port" ]; then
      [ -d "$runs/$port" ] || die "no instance on port $port ($runs/$port does not exist)"
      stop_one "$runs/$port"
    else
      shopt -s nullglob
      for d in "$runs"/*/; do stop_one "${d%/}"; done
    fi
    ;;
  start)
    build
    mkdir -p "$runs"
    timeout=${PARCA_START_TIMEOUT:-60}
    for attempt in 1 2 3; do
      # Claim a run directory (mkdir is atomic): one per port.
      if [ -n "$port" ]; then
        http=$port
        port_free "$http" || die "port $http is already taken by another process"
      else
        http=$(pick_port)
      fi
      dir=$runs/$http
      mkdir "$dir" 2>/dev/null || {
        [ -n "$port" ] && die "port $port is in use by another start ($dir exists)"
        continue
      }
      mkdir -p "$dir/bucket" "$dir/storage" "$dir/debuginfo"
      cat >"$dir/parca.yaml" <<YAML
object_storage:
  bucket:
    type: "FILESYSTEM"
    config:
      directory: "$dir/bucket"
YAML
      a=127.0.0.1
      flags=(
        "--config-path=$dir/parca.yaml" "--http-address=$a:$http"
        "--storage-path=$dir/storage" "--debuginfo-cache-dir=$dir/debuginfo"
        # Nothing leaves the machine: Go's heap profiles come symbolized, and
        # a test must not wait on debuginfod.elfutils.org for anything else.
        "--debuginfod-upstream-servers="
        "--log-level=${PARCA_LOG_LEVEL:-info}"
      )
      t0=$(date +%s%N)
      # Its own session, stdio away from ours: a caller reading our stdout to
      # its end ($(…), a test's output()) does not wait for the server.
      setsid "$bin" "${flags[@]}" ${extra[@]+"${extra[@]}"} >>"$dir/log" 2>&1 </dev/null &
      pid=$!
      echo "$pid" >"$dir/pid"
      url=http://$a:$http
      code=""
      deadline=$((SECONDS + timeout))
      # Parca has no readiness endpoint: ready is when the query API answers.
      while alive "$pid" && [ $SECONDS -lt $deadline ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/api/profiles/types" || true)
        [ "$code" = 200 ] && break
        sleep 0.2
      done
      if [ "$code" = 200 ] && alive "$pid"; then
        say "ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms: pid $pid, log $dir/log"
        echo "$url"
        exit 0
      fi
      if ! alive "$pid" && [ -z "$port" ] && grep -q 'address already in use' "$dir/log"; then
        say "the picked port was taken meanwhile; trying another"
        rm -rf "$dir"
        continue
      fi
      if alive "$pid"; then
        say "not ready after ${timeout} s (last answer: ${code:-none}); stopping pid $pid"
      else
        say "exited before it was ready"
      fi
      say "last lines of $dir/log:"
      tail -n 40 "$dir/log" >&2
      stop_one "$dir"
      exit 1
    done
    die "could not find a free port after 3 attempts"
    ;;
  *)
    die "$usage"
    ;;
esac
