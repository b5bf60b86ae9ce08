#!/usr/bin/env bash
# Smoke test for the leak zoo (testdata/zoo): builds every service into a temp
# dir, runs each one alone for a short window, and prints how its in-use heap
# and goroutine count moved, how much of that is attributed to the service's
# marker line (// LEAK: / // CONTROL: / // PLATEAU:) as the first frame in the
# zoo's own code, and what the goroutineleak profile reports. A sanity check
# that leaks leak and controls do not.
#
# Usage: scripts/zoo-smoke.sh [service ...]     (default: all services)
# Env:   HEAPDRIFT_GO   Go binary (default: .venv-go/bin/go in the repo)
#        ZOO_WINDOW     seconds between the two snapshots (default 20)
#        ZOO_RATE       -rate passed to every service (default 1)
#        ZOO_FLAGS      extra flags for every service (e.g. "-memprofilerate 4096")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=${HEAPDRIFT_GO:-$root/.venv-go/bin/go}
zoo=$root/testdata/zoo
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

if [ $# -gt 0 ]; then
  services=("$@")
else
  services=()
  for d in "$zoo"/*/; do
    n=$(basename "$d")
    [ -f "$d/main.go" ] && services+=("$n")
  done
fi

(cd "$zoo" && "$go" vet ./...)
for s in "${services[@]}"; do
  (cd "$zoo" && "$go" build -o "$bin/$s" "./$s")
done

python3 - "$bin" "$zoo" "${ZOO_WINDOW:-20}" "${ZOO_RATE:-1}" "${services[@]}" <<'PY'
import math, os, re, subprocess, sys, time, urllib.request, glob

bindir, zoo, window, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
services = sys.argv[5:]

# Per-service extras: flags, and when to take the first snapshot (after any
# warm-up, so that a plateau is not mistaken for growth).
EXTRA = {"smallunderplateau": ["-memprofilerate", "4096"]}
START = {"smallunderplateau": 25.0, "lru": 17.0}
MARK = re.compile(r"//\s*(LEAK(?:-SLOW|-MEMORY)?|CONTROL|PLATEAU):\s*(\S+)")

def markers(svc):
    out = []
    for f in sorted(glob.glob(os.path.join(zoo, svc, "*.go"))):
        for i, line in enumerate(open(f), 1):
            m = MARK.search(line)
            if m:
                out.append((m.group(1), m.group(2), f"{svc}/{os.path.basename(f)}", i))
    return out

def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read().decode()

def records(text):
    """Yields (header line, [frame file:line, ...]) for a debug=1 profile."""
    rec = None
    for line in text.splitlines():
        if line.startswith("#\t0x"):
            if rec is not None:
                rec[1].append(line.split("\t")[-1].strip())
        elif re.match(r"^\d+(: \d+ \[\d+: \d+\])? @", line):
            if rec is not None:
                yield rec
            rec = (line, [])
        elif not line.strip() and rec is not None:
            yield rec
            rec = None
    if rec is not None:
        yield rec

def on(frames, site):
    """Whether the first frame in the zoo's own code (how heapdrift attributes
    a sample) is site."""
    for f in frames:
        if f.startswith(zoo + "/"):
            return f.endswith("/" + site)
    return False

def heap(text, sites):
    """In-use bytes, unsampled like pprof does, total and at each site."""
    rate = int(re.search(r"@ heap/(\d+)", text).group(1)) // 2
    total, alloc, at = 0.0, 0.0, {s: 0.0 for s in sites}
    for hdr, frames in records(text):
        m = re.match(r"^(\d+): (\d+) \[(\d+): (\d+)\]", hdr)
        n, b, an, ab = (int(x) for x in m.groups())
        if an > 0 and rate > 1:
            alloc += ab / (1 - math.exp(-(ab / an) / rate))
        else:
            alloc += ab
        if n == 0:
            continue
        scale = 1.0
        if rate > 1:
            scale = 1 / (1 - math.exp(-(b / n) / rate))
        total += b * scale
        for s in sites:
            if on(frames, s):
                at[s] += b * scale
    return total, at, alloc

def goroutines(text, sites):
    total = int(re.search(r"profile: total (\d+)", text).group(1))
    at = {s: 0 for s in sites}
    for hdr, frames in records(text):
        n = int(hdr.split()[0])
        for s in sites:
            if on(frames, s):
                at[s] += n
    return total, at

def proc(pid):
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu

def snap(base, pid, sites):
    h = heap(get(base, "/debug/pprof/heap?debug=1&gc=1"), sites)
    g = goroutines(get(base, "/debug/pprof/goroutine?debug=1"), sites)
    return h, g, proc(pid), time.time()

MB = 1 << 20
print(f"window {window:.0f}s, -rate {rate}, extra flags {os.environ.get('ZOO_FLAGS', '')!r}")
hdr = ("service", "marker", "heap MB", "site MB", "site MB/min", "alloc MB/s", "gor", "site gor", "leakprof", "RSS MB", "CPU%")
print("%-18s %-26s %-13s %-13s %-11s %-10s %-11s %-10s %-12s %-7s %s" % hdr)
for svc in services:
    ms = markers(svc)
    sites = [f"{f}:{l}" for _, _, f, l in ms]
    p = subprocess.Popen([os.path.join(bindir, svc), "-rate", rate] + EXTRA.get(svc, []) + os.environ.get("ZOO_FLAGS", "").split(),
                         stdout=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline().strip()
        m = re.match(r"^listening on (\S+)$", first)
        if not m:
            print(f"{svc}: bad first line {first!r}")
            continue
        base = "http://" + m.group(1)
        t0 = time.time()
        time.sleep(START.get(svc, 2.0))
        a = snap(base, p.pid, sites)
        time.sleep(max(0.0, a[3] + window - time.time()))
        b = snap(base, p.pid, sites)
        lp = goroutines(get(base, "/debug/pprof/goroutineleak?debug=1"), sites)
        mins = (b[3] - a[3]) / 60
        for kind, what, f, l in ms:
            s = f"{f}:{l}"
            hs = f"{a[0][1][s]/MB:.2f}->{b[0][1][s]/MB:.2f}"
            rate_min = (b[0][1][s] - a[0][1][s]) / MB / mins
            print("%-18s %-26s %-13s %-13s %-11s %-10.1f %-11s %-10s %-12s %-7.0f %.0f" % (
                svc, f"{kind}:{f.split('/')[-1]}:{l}",
                f"{a[0][0]/MB:.1f}->{b[0][0]/MB:.1f}", hs, f"{rate_min:+.2f}",
                (b[0][2] - a[0][2]) / MB / (b[3] - a[3]),
                f"{a[1][0]}->{b[1][0]}", f"{a[1][1][s]}->{b[1][1][s]}",
                f"{lp[0]} (site {lp[1][s]})",
                b[2][0] / MB, 100 * (b[2][1] - a[2][1]) / (b[3] - a[3])))
        sys.stdout.flush()
    finally:
        p.terminate()
        p.wait()
PY
