#!/usr/bin/env bash
# Starts and stops a real Grafana Pyroscope server for tests and CI, built from
# the Go module proxy at the version pinned in testdata/pyroscope/go.mod (a
# harness module: its go.mod carries the `replace` lines Pyroscope's own go.mod
# needs, which `go install …@version` refuses). See testdata/pyroscope/README.md
# and docs/pyroscope-api.md.
#
#   scripts/pyroscope.sh build                     build (or reuse) target/pyroscope/pyroscope
#   scripts/pyroscope.sh start [--port P] [-- FLAG…]
#       builds once (cached, stamped like build-thirdparty.sh), starts one
#       single-node server on 127.0.0.1 with the v2 storage architecture
#       (PYROSCOPE_V2=1: segment-writer write path, metastore, query-backend;
#       no v1 ingester/querier) on filesystem storage, with back-filling of old
#       timestamps allowed, waits until /ready says ready, and prints its URL
#       (http://127.0.0.1:P) as the last line of stdout. Without --port, free
#       ports are picked. Extra FLAGs after `--` go to Pyroscope as they are.
#       Everything of an instance is under target/pyroscope/run/P/ (log, pid,
#       data); a directory kept by `stop --keep` is resumed with its data.
#   scripts/pyroscope.sh stop [--port P] [--keep]
#       ends the instance on port P (without --port: every instance this
#       checkout started) by its pid file and removes its directory (with
#       --keep: leaves the data for a later `start --port P`, to test restarts).
#
# Environment: HEAPDRIFT_GO (the go binary; default scripts/setup-go.sh),
# PYROSCOPE_START_TIMEOUT (seconds to wait for /ready, default 120),
# PYROSCOPE_LOG_LEVEL (default info).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mod=testdata/pyroscope
out=$root/target/pyroscope
bin=$out/pyroscope
runs=$out/run

name=pyroscope
# shellcheck source=scripts/engine-lib.sh
. scripts/engine-lib.sh

build() {
  engine_build "$mod" github.com/grafana/pyroscope/cmd/pyroscope "$bin" Pyroscope
}

stop_one() { # DIR KEEP
  local dir=$1 keep=$2
  engine_kill "$dir" "$bin"
  if [ "$keep" = 1 ]; then
    say "stopped $(basename "$dir"); kept $dir"
  else
    rm -rf "$dir"
    say "stopped $(basename "$dir")"
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
port="" keep=0 extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    --keep) keep=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument: $1 (usage: $0 build | start [--port P] [-- FLAG…] | stop [--port P] [--keep])" ;;
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
      stop_one "$runs/$port" "$keep"
    else
      shopt -s nullglob
      for d in "$runs"/*/; do stop_one "${d%/}" "$keep"; done
    fi
    ;;
  start)
    build
    mkdir -p "$runs"
    timeout=${PYROSCOPE_START_TIMEOUT:-120}
    for attempt in 1 2 3; do
      # Claim a run directory (mkdir is atomic): one per HTTP port.
      if [ -n "$port" ]; then
        http=$port dir=$runs/$port
        if [ -f "$dir/ports" ]; then # kept by `stop --keep`: resume it
          alive "$(cat "$dir/pid" 2>/dev/null || true)" && die "an instance already runs on port $port"
          read -r _ grpc gossip raft <"$dir/ports"
          port_free "$http" || die "port $http is already taken by another process"
        else
          port_free "$http" || die "port $http is already taken by another process"
          mkdir "$dir" 2>/dev/null || die "port $port is in use by another start ($dir exists)"
          grpc=$(pick_port "$http"); gossip=$(pick_port "$http" "$grpc"); raft=$(pick_port "$http" "$grpc" "$gossip")
          echo "$http $grpc $gossip $raft" >"$dir/ports"
        fi
      else
        http=$(pick_port)
        dir=$runs/$http
        mkdir "$dir" 2>/dev/null || continue
        grpc=$(pick_port "$http"); gossip=$(pick_port "$http" "$grpc"); raft=$(pick_port "$http" "$grpc" "$gossip")
        echo "$http $grpc $gossip $raft" >"$dir/ports"
      fi
      mkdir -p "$dir/data" "$dir/raft" "$dir/snapshots" "$dir/metastore"
      a=127.0.0.1
      flags=(
        -target=all
        # v2 only: no v1 ingester/compactor, no v1 querier/scheduler/store-gateway.
        -all.enable-v1-write-path=false -all.enable-v1-read-path=false
        -write-path=segment-writer -enable-query-backend=true
        -storage.backend=filesystem "-storage.filesystem.dir=$dir/data"
        "-server.http-listen-address=$a" "-server.http-listen-port=$http"
        "-server.grpc-listen-address=$a" "-server.grpc-listen-port=$grpc"
        "-memberlist.bind-addr=$a" "-memberlist.bind-port=$gossip"
        "-memberlist.advertise-addr=$a" "-memberlist.advertise-port=$gossip"
        "-distributor.ring.instance-addr=$a" "-query-frontend.instance-addr=$a"
        "-segment-writer.lifecycler.addr=$a"
        "-metastore.address=$a:$grpc" "-query-backend.address=$a:$grpc"
        "-metastore.raft.bind-address=$a:$raft" "-metastore.raft.advertise-address=$a:$raft"
        "-metastore.raft.server-id=$a:$raft"
        "-metastore.raft.dir=$dir/raft" "-metastore.raft.snapshots-dir=$dir/snapshots"
        "-metastore.data-dir=$dir/metastore"
        # Ready as soon as it is (defaults are meant for rolling updates), and
        # a push returns once its metadata is in the metastore (read-after-write).
        -segment-writer.min-ready-duration=0s -metastore.min-ready-duration=0s
        -segment-writer.metadata-update-timeout=0s
        # A push is answered when its segment is flushed: every 500 ms by
        # default, which made a recording of 100 snapshots take 50 s to
        # push. Tests push recordings; a production server keeps the default.
        -segment-writer.segment-duration=50ms
        # Back-filling: accept any past timestamp, query any past range.
        -validation.reject-older-than=0
        -querier.max-query-lookback=0 -querier.max-query-length=0
        # Tests push whole recordings at once; 4 MB/s per tenant would throttle.
        -distributor.ingestion-rate-limit-mb=1024 -distributor.ingestion-burst-size-mb=1024
        # Quiet and closed: nothing leaves the machine.
        -self-profiling.disable-push=true -usage-stats.enabled=false -tracing.enabled=false
        "-log.level=${PYROSCOPE_LOG_LEVEL:-info}"
      )
      t0=$(date +%s%N)
      # Its own session, stdio away from ours: a caller reading our stdout to
      # its end ($(…), a test's output()) does not wait for the server.
      PYROSCOPE_V2=1 setsid "$bin" "${flags[@]}" ${extra[@]+"${extra[@]}"} \
        >>"$dir/log" 2>&1 </dev/null &
      pid=$!
      echo "$pid" >"$dir/pid"
      url=http://$a:$http
      state=""
      deadline=$((SECONDS + timeout))
      while alive "$pid" && [ $SECONDS -lt $deadline ]; do
        state=$(curl -s --max-time 2 "$url/ready" || true)
        [ "$state" = ready ] && break
        sleep 0.2
      done
      if [ "$state" = ready ] && alive "$pid"; then
        say "ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms: pid $pid, log $dir/log"
        echo "$url"
        exit 0
      fi
      if ! alive "$pid" && [ -z "$port" ] && grep -q 'address already in use' "$dir/log"; then
        say "a picked port was taken meanwhile; trying other ports"
        rm -rf "$dir"
        continue
      fi
      if alive "$pid"; then
        say "not ready after ${timeout} s (last /ready: ${state:-no answer}); stopping pid $pid"
      else
        say "exited before it was ready"
      fi
      say "last lines of $dir/log:"
      tail -n 40 "$dir/log" >&2
      stop_one "$dir" 1
      exit 1
    done
    die "could not find free ports after 3 attempts"
    ;;
  *)
    die "usage: $0 build | start [--port P] [-- FLAG…] | stop [--port P] [--keep]"
    ;;
esac
