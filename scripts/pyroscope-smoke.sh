#!/usr/bin/env bash
# Proves scripts/pyroscope.sh end to end against the real server, with the
# exact requests docs/pyroscope-api.md describes: starts a server, back-fills
# Go heap and goroutine profiles of testdata/profiles two days old (Connect
# Push, JSON) and three hours old (legacy /ingest, raw pprof body), reads them
# back (Series, LabelValues, ProfileTypes, SelectSeries with exemplars,
# SelectMergeProfile as binary pprof, also by profile id), checks every total
# against the pushed file, and stops the server. Prints one line per check and
# "N passed, 0 failed" at the end; exits non-zero on a failed check.
#   scripts/pyroscope-smoke.sh [--port P]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peek() { python3 "$root/scripts/pprof_peek.py" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

url=$(scripts/pyroscope.sh start "$@" | tail -n 1)
port=${url##*:}
work=$(mktemp -d)
trap 'scripts/pyroscope.sh stop --port "$port" || true; rm -rf "$work"' EXIT
echo "server: $url"

passed=0 failed=0
check() { # NAME GOT WANT
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1)); echo "ok    $1: $2"
  else
    failed=$((failed + 1)); echo "FAIL  $1: got [$2], want [$3]"
  fi
}
post() { # METHOD JSON_BODY: a Connect unary call with a JSON body
  curl -sS --fail-with-body -X POST "$url/$1" -H 'Content-Type: application/json' -d "$2"
}

now=$(date +%s)
t_old=$((now - 2 * 86400)) # two days ago: a back-fill
t_recent=$((now - 3 * 3600))
svc=heapdrift-smoke
pt=memory:inuse_space:bytes:space:bytes

# The pushed files, with their time_nanos set (the server stores each profile
# at its pprof time_nanos; 0 means "now" for Push and `from` for /ingest).
peek settime testdata/profiles/heap_3.pb.gz "$work/heap_old.pb.gz" "${t_old}000000000" >/dev/null
peek settime testdata/profiles/goroutine.pb.gz "$work/goroutine_old.pb.gz" "${t_old}000000000" >/dev/null
peek settime testdata/profiles/heap_2.pb.gz "$work/heap_recent.pb.gz" "${t_recent}000000000" >/dev/null
want_old=$(peek summary "$work/heap_old.pb.gz" | json 'd["sample_types"]["inuse_space/bytes"]')
want_gr=$(peek summary "$work/goroutine_old.pb.gz" | json 'd["sample_types"]["goroutine/count"]')
want_recent=$(peek summary "$work/heap_recent.pb.gz" | json 'd["sample_types"]["inuse_space/bytes"]')

# 1. Connect Push, JSON body: one series per (labels), raw_profile base64.
cat >"$work/push.json" <<EOF
{"series":[
 {"labels":[{"name":"__name__","value":"memory"},{"name":"service_name","value":"$svc"},{"name":"instance","value":"pod-1"}],
  "samples":[{"rawProfile":"$(base64 -w0 "$work/heap_old.pb.gz")"}]},
 {"labels":[{"name":"__name__","value":"goroutine"},{"name":"service_name","value":"$svc"},{"name":"instance","value":"pod-1"}],
  "samples":[{"rawProfile":"$(base64 -w0 "$work/goroutine_old.pb.gz")"}]}
]}
EOF
check "Push (2 days old)" "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url/push.v1.PusherService/Push" \
  -H 'Content-Type: application/json' --data-binary @"$work/push.json")" 200

# 2. Legacy /ingest with a raw pprof body (format=pprof), labels in `name`.
check "/ingest (3 h old)" "$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
  "$url/ingest?name=$svc%7Binstance%3Dpod-2%7D&from=$t_recent&until=$t_recent&format=pprof&spyName=gospy" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$work/heap_recent.pb.gz")" 200

start=$(((t_old - 3600) * 1000)) end=$((now * 1000))

# 3. Services, straight from the metastore (no compaction needed).
got=$(post querier.v1.QuerierService/Series \
  "{\"label_names\":[\"__profile_type__\",\"service_name\"],\"start\":$start,\"end\":$end}" |
  json '",".join(sorted({l["value"] for s in d.get("labelsSet",[]) for l in s["labels"] if l["name"]=="service_name"}))')
check "Series: services" "$got" "$svc"
got=$(post querier.v1.QuerierService/ProfileTypes "{\"start\":$start,\"end\":$end}" |
  json '",".join(p["ID"] for p in d.get("profileTypes",[]))')
check "ProfileTypes" "$got" "goroutine:goroutine:count:goroutine:count,memory:alloc_objects:count:space:bytes,memory:alloc_space:bytes:space:bytes,memory:inuse_objects:count:space:bytes,memory:inuse_space:bytes:space:bytes"

# 4. Instances of the service.
got=$(post querier.v1.QuerierService/LabelValues \
  "{\"name\":\"instance\",\"matchers\":[\"{service_name=\\\"$svc\\\"}\"],\"start\":$start,\"end\":$end}" |
  json '",".join(d.get("names",[]))')
check "LabelValues instance" "$got" "pod-1,pod-2"

# 5. One point per instance and hour, with the stored profile's id and time.
post querier.v1.QuerierService/SelectSeries \
  "{\"profile_typeID\":\"$pt\",\"label_selector\":\"{service_name=\\\"$svc\\\"}\",\"start\":$start,\"end\":$end,\"step\":3600,\"group_by\":[\"instance\"],\"exemplar_type\":\"EXEMPLAR_TYPE_INDIVIDUAL\"}" \
  >"$work/series.json"
got=$(json '";".join(s["labels"][0]["value"]+"="+",".join(str(int(p["value"])) for p in s["points"]) for s in d["series"])' <"$work/series.json")
check "SelectSeries by instance" "$got" "pod-1=$want_old;pod-2=$want_recent"
got=$(json 'd["series"][0]["points"][0]["exemplars"][0]["timestamp"]' <"$work/series.json")
check "exemplar timestamp (ms)" "$got" "${t_old}000"
profile_id=$(json 'd["series"][0]["points"][0]["exemplars"][0]["profileId"]' <"$work/series.json")

# 6. The merged profile as binary pprof: a binary-proto request, raw pprof back.
smp() { # LABEL_SELECTOR START END [PROFILE_ID] > request bytes (SelectMergeProfileRequest)
  python3 - "$@" <<'EOF'
import sys
def varint(x):
    out = bytearray()
    while True:
        c, x = x & 0x7F, x >> 7
        out.append(c | 0x80 if x else c)
        if not x:
            return bytes(out)
def string(field, s):
    b = s.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b
sel, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
msg = string(1, "memory:inuse_space:bytes:space:bytes") + string(2, sel)
msg += varint(3 << 3) + varint(start) + varint(4 << 3) + varint(end)
for pid in sys.argv[4:]:
    msg += string(7, pid)  # profile_id_selector
sys.stdout.buffer.write(msg)
EOF
}
merge() { # REQUEST_FILE OUT_FILE
  curl -sS --fail-with-body -X POST "$url/querier.v1.QuerierService/SelectMergeProfile" \
    -H 'Content-Type: application/proto' --data-binary @"$1" -o "$2"
}
smp "{service_name=\"$svc\",instance=\"pod-1\"}" "$start" "$end" >"$work/req.bin"
merge "$work/req.bin" "$work/merged.pb"
check "SelectMergeProfile pod-1 (binary pprof)" "$(peek summary "$work/merged.pb" | json 'd["sample_types"]')" "{'inuse_space/bytes': $want_old}"
smp "{service_name=\"$svc\"}" "$start" "$end" "$profile_id" >"$work/req_id.bin"
merge "$work/req_id.bin" "$work/by_id.pb"
check "SelectMergeProfile by profile id" "$(peek summary "$work/by_id.pb" | json 'd["sample_types"]["inuse_space/bytes"]')" "$want_old"
got=$(post querier.v1.QuerierService/SelectMergeStacktraces \
  "{\"profile_typeID\":\"goroutine:goroutine:count:goroutine:count\",\"label_selector\":\"{service_name=\\\"$svc\\\"}\",\"start\":$start,\"end\":$end,\"max_nodes\":16}" |
  json 'd["flamegraph"]["levels"][0]["values"][1]')
check "SelectMergeStacktraces goroutines" "$got" "$want_gr"

# 7. Narrow windows around each profile's own time. In v1.21.0 the metastore
# finds blocks by their creation time (6 h partitions, queries widened by
# 24 h), so a window ending more than ~24 h before the data was pushed does
# not see it: back-filled data is read with windows that reach to within a day
# of the push (e.g. end = now) and narrowed with SelectSeries/profile ids.
smp "{service_name=\"$svc\"}" $(((t_recent - 600) * 1000)) $(((t_recent + 600) * 1000)) >"$work/req_recent.bin"
merge "$work/req_recent.bin" "$work/recent.pb"
check "narrow window, 3 h old" "$(peek summary "$work/recent.pb" | json 'd["sample_types"].get("inuse_space/bytes",0)')" "$want_recent"
smp "{service_name=\"$svc\"}" $(((t_old - 600) * 1000)) $(((t_old + 600) * 1000)) >"$work/req_old.bin"
merge "$work/req_old.bin" "$work/old.pb"
check "narrow window, 2 days old (not found: metastore lookaround)" "$(peek summary "$work/old.pb" | json 'd["sample_types"].get("inuse_space/bytes",0)')" 0

echo "pyroscope-smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
