#!/usr/bin/env python3
"""Records a snapshot series of a leak-zoo service (testdata/zoo) as plain
files, the example data of the README's first command (`heapdrift hunt
examples/<service>`).

Builds the service, runs it with `-memprofilerate 4096` (a heap sample per
4 KiB instead of Go's 512 KiB, so that a leak of a few hundred KiB per minute
is visible within a minute or two), and every INTERVAL seconds fetches:

- heap, profile.proto, gzip'ed as Go serves it           heap-<T>.pb.gz
- goroutine, profile.proto                               goroutine-<T>.pb.gz
- heap?debug=1 (its MemStats footer), gzip'ed here       heap-<T>.debug1.txt.gz
- goroutine?debug=2 every 4th snapshot, gzip'ed here     goroutine-<T>.debug2.txt.gz
- goroutineleak, profile.proto, every 3rd snapshot       goroutineleak-<T>.pb.gz
  (asking forces a GC cycle, so a watcher asks rarely)

<T> is the UTC fetch time, YYYYMMDDTHHMMSS.mmmZ: texts have no time stamp of
their own and git does not keep mtimes, so heapdrift reads it from the name.
Heap profiles are fetched with gc=1 so each shows the heap as of the fetch.
The binary is built with -trimpath: files read zoo/<service>/main.go and
runtime/proc.go, not paths of the machine that recorded them.

Usage: scripts/record-zoo-series.py SERVICE [--seconds 90] [--interval 5]
                                            [--rate 1] [--out examples/SERVICE]
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
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("service")
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--rate", default="1")
    ap.add_argument("--memprofilerate", default="4096")
    ap.add_argument("--out")
    a = ap.parse_args()
    go = os.environ.get("HEAPDRIFT_GO") or os.path.join(ROOT, ".venv-go", "bin", "go")
    out = a.out or os.path.join(ROOT, "examples", a.service)
    zoo = os.path.join(ROOT, "testdata", "zoo")
    tmp = tempfile.mkdtemp()
    try:
        exe = os.path.join(tmp, a.service)
        subprocess.run([go, "build", "-trimpath", "-o", exe, "./" + a.service], cwd=zoo, check=True)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.makedirs(out)
        p = subprocess.Popen(
            [exe, "-rate", a.rate, "-memprofilerate", a.memprofilerate],
            stdout=subprocess.PIPE, text=True)
        try:
            first = p.stdout.readline().strip()
            m = re.match(r"^listening on (\S+)$", first)
            if not m:
                sys.exit(f"{a.service}: unexpected first line {first!r}")
            base = "http://" + m.group(1) + "/debug/pprof/"
            start = time.time()
            i = 0
            while True:
                t = time.time()
                if t - start > a.seconds:
                    break
                s = stamp(t)
                write(f"{out}/heap-{s}.pb.gz", fetch(base, "heap?gc=1"), False)
                write(f"{out}/goroutine-{s}.pb.gz", fetch(base, "goroutine"), False)
                write(f"{out}/heap-{s}.debug1.txt.gz", fetch(base, "heap?debug=1"), True)
                if i % 4 == 0:
                    write(f"{out}/goroutine-{s}.debug2.txt.gz", fetch(base, "goroutine?debug=2"), True)
                if i % 3 == 2:
                    write(f"{out}/goroutineleak-{s}.pb.gz", fetch(base, "goroutineleak"), False)
                i += 1
                print(f"{a.service}: snapshot {i} at {t - start:.0f}s", flush=True)
                time.sleep(max(0.0, start + i * a.interval - time.time()))
        finally:
            p.terminate()
            p.wait()
    finally:
        shutil.rmtree(tmp)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{a.service}: {i} snapshots, {total / 1024:.0f} KiB in {out}")


if __name__ == "__main__":
    main()
