#!/usr/bin/env python3
"""Records snapshot series of leak-zoo services (testdata/zoo) as plain
files, the way `heapdrift hunt DIR` reads them: the example data of the
README's first command (`heapdrift hunt examples/<service>`), the zoo's
end-to-end test in recording mode A, and the committed recordings of
testdata/recordings/ (scripts/zoo-record-known.sh).

Builds the services (or takes --bin), starts each one, and every INTERVAL
seconds fetches from each, in parallel (a thread per service):

- heap, profile.proto, gzip'ed as Go serves it           heap-<T>.pb.gz
- goroutine, profile.proto                               goroutine-<T>.pb.gz
- heap?debug=1 (its MemStats footer), gzip'ed here       heap-<T>.debug1.txt.gz
- goroutine?debug=2 every --dump-every'th snapshot       goroutine-<T>.debug2.txt.gz
- goroutineleak, profile.proto, every --leak-every'th    goroutineleak-<T>.pb.gz
  (asking forces a GC cycle, so a watcher asks rarely)

<T> is the UTC fetch time, YYYYMMDDTHHMMSS.mmmZ: texts have no time stamp of
their own and git does not keep mtimes, so heapdrift reads it from the name.
Binaries are built with -trimpath: files read zoo/<service>/main.go and
runtime/proc.go, not paths of the machine that recorded them.

How the heap is sampled and fetched:
- default: `-memprofilerate 4096` and heap?gc=1 (each profile shows the heap
  as of the fetch), for the examples;
- --mode A: `-memprofilerate 65536` and heap?gc=1;
- --mode B: Go's default MemProfileRate (512 KiB) and plain
  /debug/pprof/heap, which shows the heap as of the last completed GC: the
  way users record;
- --memprofilerate N|default and --gc/--no-gc override either.
With --mode, a service's `// zoo:flags MODES: FLAGS` lines (testdata/zoo
README) add their flags for that mode.

Usage: scripts/record-zoo-series.py SERVICE... [--mode A|B] [--seconds 90]
           [--interval 5] [--rate R] [--memprofilerate N|default] [--no-gc]
           [--dump-every 4] [--leak-every 3] [--bin DIR] [--out DIR]
  --out: one service: its directory (default examples/SERVICE); several:
  DIR/SERVICE for each (default examples/).
Env:   HEAPDRIFT_GO  Go binary (default .venv-go/bin/go in the repo)
"""
import argparse
import datetime
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "testdata", "zoo")
FLAGS = re.compile(r"^\s*//\s*zoo:flags\s+([AB]+):\s*(.*?)\s*$")
MODES = {"A": ("65536", True), "B": ("default", False)}


def fetch(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read()


def stamp(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y%m%dT%H%M%S.") + f"{d.microsecond // 1000:03d}Z"


def write(path, data, compress):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(data, mtime=0) if compress else data)
    os.replace(tmp, path)


def mode_flags(service, mode):
    """The flags a service's `// zoo:flags MODES: FLAGS` lines give mode."""
    out = []
    with open(os.path.join(ZOO, service, "main.go")) as f:
        for line in f:
            m = FLAGS.match(line)
            if m and mode in m.group(1):
                out += m.group(2).split()
    return out


def record(service, exe, args, out, a, heap_path, log):
    """Runs one service and records its series into out; returns the
    number of snapshots."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    p = subprocess.Popen([exe] + args, stdout=subprocess.PIPE, text=True)
    i = 0
    try:
        first = p.stdout.readline().strip()
        m = re.match(r"^listening on (\S+)$", first)
        if not m:
            raise RuntimeError(f"{service}: unexpected first line {first!r}")
        base = "http://" + m.group(1) + "/debug/pprof/"
        start = time.time()
        while True:
            t = time.time()
            if t - start > a.seconds:
                break
            s = stamp(t)
            try:
                write(f"{out}/heap-{s}.pb.gz", fetch(base, heap_path), False)
                write(f"{out}/goroutine-{s}.pb.gz", fetch(base, "goroutine"), False)
                write(f"{out}/heap-{s}.debug1.txt.gz", fetch(base, "heap?debug=1"), True)
                if a.dump_every and i % a.dump_every == 0:
                    write(f"{out}/goroutine-{s}.debug2.txt.gz", fetch(base, "goroutine?debug=2"), True)
                if a.leak_every and i % a.leak_every == a.leak_every - 1:
                    write(f"{out}/goroutineleak-{s}.pb.gz", fetch(base, "goroutineleak"), False)
            except OSError as e:
                # A busy machine: this round is short of a kind, the next
                # one is on time.
                log(f"{service}: round {i} at {t - start:.0f}s: {e}")
            i += 1
            log(f"{service}: snapshot {i} at {t - start:.0f}s")
            time.sleep(max(0.0, start + i * a.interval - time.time()))
    finally:
        p.terminate()
        p.wait()
    return i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("services", nargs="+", metavar="SERVICE")
    ap.add_argument("--mode", choices=sorted(MODES))
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--rate")
    ap.add_argument("--memprofilerate")
    ap.add_argument("--gc", action=argparse.BooleanOptionalAction)
    ap.add_argument("--dump-every", type=int, default=4)
    ap.add_argument("--leak-every", type=int, default=3)
    ap.add_argument("--bin")
    ap.add_argument("--out")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    rate, gc = MODES.get(a.mode, ("4096", True))
    if a.memprofilerate:
        rate = a.memprofilerate
    if a.gc is not None:
        gc = a.gc
    heap_path = "heap?gc=1" if gc else "heap"
    go = os.environ.get("HEAPDRIFT_GO") or os.path.join(ROOT, ".venv-go", "bin", "go")
    lock = threading.Lock()

    def log(msg):
        if not a.quiet:
            with lock:
                print(msg, flush=True)

    tmp = tempfile.mkdtemp()
    try:
        bindir = a.bin
        if not bindir:
            bindir = tmp
            subprocess.run([go, "build", "-trimpath", "-o", tmp + "/"] + ["./" + s for s in a.services],
                           cwd=ZOO, check=True)
        results, errors = {}, []

        def run(service):
            args = [] if rate == "default" else ["-memprofilerate", rate]
            if a.mode:
                args += mode_flags(service, a.mode)
            if a.rate:
                args += ["-rate", a.rate]
            if len(a.services) == 1:
                out = a.out or os.path.join(ROOT, "examples", service)
            else:
                out = os.path.join(a.out or os.path.join(ROOT, "examples"), service)
            try:
                results[service] = (record(service, os.path.join(bindir, service), args, out, a, heap_path, log), out)
            except Exception as e:  # reported after the others finish
                errors.append(f"{service}: {e}")

        threads = [threading.Thread(target=run, args=(s,)) for s in a.services]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        shutil.rmtree(tmp)
    for service, (n, out) in sorted(results.items()):
        total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print(f"{service}: {n} snapshots, {total / 1024:.0f} KiB in {out}")
    if errors:
        sys.exit("\n".join(errors))


if __name__ == "__main__":
    main()
