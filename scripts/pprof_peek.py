#!/usr/bin/env python3
"""Tiny pprof helper for scripts/pyroscope-smoke.sh (standard library only).

  pprof_peek.py settime IN OUT NANOS   copy IN (gzipped or raw pprof) to OUT
                                       (gzipped) with time_nanos = NANOS;
                                       prints the old time_nanos
  pprof_peek.py summary FILE           JSON: time_nanos, duration_nanos,
                                       period, sample types with their
                                       totals, sample count (gz or raw)

Only the top-level fields of profile.proto that these need are decoded.
"""
import gzip
import json
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def fields(b):
    """Yields (field, wire_type, value, raw_bytes) of one message level."""
    i = 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield f, wt, v, b[start:i]


def load(path):
    data = open(path, "rb").read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def packed(v, wt):
    if wt == 0:
        return [signed(v)]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(signed(x))
    return out


def summary(b):
    strings, types, values, scalars = [], [], [], {}
    period_type = None
    for f, wt, v, _ in fields(b):
        if f == 1:  # sample_type: ValueType{type=1, unit=2}
            vt = {ff: vv for ff, _, vv, _ in fields(v)}
            types.append((vt.get(1, 0), vt.get(2, 0)))
        elif f == 2:  # sample: value = 2 (packed or not)
            vals = []
            for ff, wt2, vv, _ in fields(v):
                if ff == 2:
                    vals += packed(vv, wt2)
            values.append(vals)
        elif f == 6:
            strings.append(v.decode("utf-8", "replace"))
        elif f in (9, 10, 12):  # time_nanos, duration_nanos, period
            scalars[f] = signed(v)
        elif f == 11:  # period_type
            vt = {ff: vv for ff, _, vv, _ in fields(v)}
            period_type = (vt.get(1, 0), vt.get(2, 0))
    totals = [0] * len(types)
    for vals in values:
        for k, x in enumerate(vals[: len(types)]):
            totals[k] += x
    return {
        "time_nanos": scalars.get(9, 0),
        "duration_nanos": scalars.get(10, 0),
        "period": scalars.get(12, 0),
        "period_type": f"{strings[period_type[0]]}/{strings[period_type[1]]}" if period_type else None,
        "samples": len(values),
        "sample_types": {f"{strings[t]}/{strings[u]}": tot for (t, u), tot in zip(types, totals)},
    }


def settime(src, dst, ns):
    b = load(src)
    out, old = bytearray(), None
    for f, _, v, raw in fields(b):
        if f == 9:
            old = v
            continue
        out += raw
    out += enc_varint(9 << 3) + enc_varint(ns)
    with open(dst, "wb") as w:
        w.write(gzip.compress(bytes(out), mtime=0))
    return old


def main(argv):
    if len(argv) == 5 and argv[1] == "settime":
        print(settime(argv[2], argv[3], int(argv[4])))
    elif len(argv) == 3 and argv[1] == "summary":
        print(json.dumps(summary(load(argv[2])), sort_keys=True))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
