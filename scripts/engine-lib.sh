# Shared by scripts/pyroscope.sh and scripts/parca.sh (sourced, not run):
# building a Go server from a harness module under testdata/, and the
# process and port helpers of starting and stopping it. The caller sets
# `name` (for messages) and runs from the repository's root.

say() { echo "$name.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# engine_build MODULE_DIR PACKAGE BIN LABEL: builds PACKAGE from the harness
# module into BIN, unless BIN exists with the stamp of the module's go.mod,
# go.sum and the flags.
engine_build() {
  local mod=$1 pkg=$2 bin=$3 label=$4 stamp t0 GO
  mkdir -p "$(dirname "$bin")"
  # One build at a time, however many starts race for it.
  exec 8>"$bin.build.lock"
  flock 8
  # Unoptimised, without symbol tables: the tests need a working server,
  # not a fast one, and the Go compiler does far less work (docs/fleet.md
  # has the numbers for both servers).
  local flags=(-trimpath "-gcflags=all=-N -l" "-ldflags=-s -w")
  stamp=$( (cat "$mod"/go.mod "$mod"/go.sum; echo "${flags[*]}") | sha256sum | cut -d' ' -f1)
  if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$stamp" ]; then
    exec 8>&-
    return
  fi
  GO=${HEAPDRIFT_GO:-$(scripts/setup-go.sh)}
  say "building $label from $mod with $("$GO" env GOVERSION) (minutes when cold)"
  t0=$SECONDS
  # The pinned go.mod must be used as it is: no toolchain download, no
  # silent edit.
  (cd "$mod" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
    nice -n 10 "$GO" build "${flags[@]}" -o "$bin.tmp" "$pkg")
  mv "$bin.tmp" "$bin"
  echo "$stamp" >"$bin.stamp"
  say "built $bin in $((SECONDS - t0)) s"
  exec 8>&-
}

port_free() { # PORT: nothing listens on it on loopback
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() { # a free port below the kernel's ephemeral range, not in "$@"
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    case " $* " in *" $p "*) continue ;; esac
    port_free "$p" && { echo "$p"; return; }
  done
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# engine_kill DIR BIN: ends the process in DIR/pid if it still is BIN (a
# pid reused by another process is left alone), and forgets the pid.
engine_kill() {
  local dir=$1 bin=$2 pid i
  pid=$(cat "$dir/pid" 2>/dev/null || true)
  if alive "$pid" && [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$bin"* ]]; then
    kill -TERM "$pid"
    for i in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      say "pid $pid did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/pid"
}
