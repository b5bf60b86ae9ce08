#!/usr/bin/env bash
# The fleet scale benchmark of issue 12: a simulated fleet (10 services x 20
# instances x 60 heap snapshots, 200 sites each; the hunt scale generator's
# four leaks planted in 5 instances of 2 services) is pushed into a real
# Pyroscope (scripts/pyroscope.sh), then `heapdrift hunt --from` reads all of
# it, once with one worker and once with 4 shards side by side. It must name
# exactly the planted leaks; the table gives wall time, queries, bytes read,
# peak memory and CPU per instance.
#
#   bench/fleet-scale.sh
#   SERVICES=4 INSTANCES=5 bench/fleet-scale.sh     # smaller
#
# Env: PROFILE (cargo profile, default ci), SERVICES, INSTANCES, SNAPSHOTS,
#      SITES, LEAKY_SERVICES, LEAKY, APPEND=1 to append the table to
#      bench/RESULTS.md. Needs HEAPDRIFT_GO or scripts/setup-go.sh for the
#      server's build (cached in target/pyroscope/).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
PROFILE=${PROFILE:-ci}
SERVICES=${SERVICES:-10}
INSTANCES=${INSTANCES:-20}
SNAPSHOTS=${SNAPSHOTS:-60}
SITES=${SITES:-200}
LEAKY_SERVICES=${LEAKY_SERVICES:-2}
LEAKY=${LEAKY:-5}
export TZ=UTC

[[ -x /usr/bin/time ]] || { echo "fleet-scale.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }

cargo build --quiet --profile "$PROFILE" -p heapdrift --bin heapdrift --example fleet_sim
bin="target/$PROFILE/heapdrift"
sim="target/$PROFILE/examples/fleet_sim"
work=$(mktemp -d)
url=$(bash scripts/pyroscope.sh start | tail -1)
port=${url##*:}
trap 'bash scripts/pyroscope.sh stop --port "$port" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$sim" "$url" "$SERVICES" "$INSTANCES" "$SNAPSHOTS" "$SITES" "$LEAKY_SERVICES" "$LEAKY" 16 \
  >"$work/manifest.json" 2>"$work/push.log"
cat "$work/push.log"

# One worker.
/usr/bin/time -f '%e %M %U %S' -o "$work/time-1" \
  "$bin" hunt --from "$url" --since 1h --json >"$work/hunt-1.json" 2>"$work/hunt-1.log"
# Four shards side by side.
start=$(date +%s.%N)
for i in 0 1 2 3; do
  /usr/bin/time -f '%e %M %U %S' -o "$work/time-4-$i" \
    "$bin" hunt --from "$url" --since 1h --json --shard "$i/4" >"$work/hunt-4-$i.json" 2>"$work/hunt-4-$i.log" &
done
wait
end=$(date +%s.%N)

python3 - "$work" "$SERVICES" "$INSTANCES" "$SNAPSHOTS" "$SITES" "$start" "$end" <<'EOF'
import json, re, sys, glob
work, services, instances, snapshots, sites = sys.argv[1], *map(int, sys.argv[2:6])
wall4 = float(sys.argv[7]) - float(sys.argv[6])
want = {(l["service"], l["instance"], l["function"], l["line"])
        for l in json.load(open(f"{work}/manifest.json"))["leaks"]}

def leaks(paths):
    got, reports = set(), 0
    for p in paths:
        doc = json.load(open(p))
        for r in doc["reports"]:
            reports += 1
            for f in r["findings"]:
                if f["verdict"] == "leak":
                    got.add((r["fleet"]["service"], r["fleet"]["instance"], f["function"], f["line"]))
    return got, reports

def traffic(log):
    m = re.search(r"in ([\d.]+) s: (\d+) queries, ([\d.]+) MB", open(log).read())
    return float(m.group(1)), int(m.group(2)), float(m.group(3))

rows, ok = [], True
for name, jsons, times, logs, wall in [
    ("1 worker", [f"{work}/hunt-1.json"], [f"{work}/time-1"], [f"{work}/hunt-1.log"], None),
    ("4 shards", sorted(glob.glob(f"{work}/hunt-4-*.json")), sorted(glob.glob(f"{work}/time-4-*")),
     sorted(glob.glob(f"{work}/hunt-4-*.log")), wall4),
]:
    got, reports = leaks(jsons)
    t = [list(map(float, open(x).read().split())) for x in times]
    tr = [traffic(x) for x in logs]
    wall = wall if wall is not None else t[0][0]
    queries = sum(x[1] for x in tr)
    mb = sum(x[2] for x in tr)
    cpu = sum(x[2] + x[3] for x in t)
    peak = max(x[1] for x in t) / 1024
    exact = got == want
    ok &= exact and reports == services * instances
    rows.append(f"| {name} | {reports} | {wall:.1f} s | {queries} | {queries / wall:.0f}/s | {mb:.1f} MB | {peak:.0f} MB | {cpu / reports * 1000:.0f} ms | {len(got & want)}/{len(want)}, {len(got - want)} extra |")
    if not exact:
        print(f"{name}: missed {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}", file=sys.stderr)

print(f"\n{services} services x {instances} instances x {snapshots} heap snapshots, {sites} sites each\n")
print("| run | instances | wall | queries | queries/s | bytes read | peak RSS (per worker) | CPU per instance | planted leaks named |")
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
sys.exit(0 if ok else 1)
EOF
