#!/usr/bin/env python3
"""Goroutine dumps at scale, for hunt's memory with many debug=2 files.

Writes N `goroutine?debug=2`-style dumps of about G goroutines each into DIR,
built by repeating the goroutines of testdata/profiles/goroutine_dump.txt
(new ids, the first goroutine kept), named by UTC time a minute apart:

    bench/gen-goroutine-dumps.py DIR [N=60] [G=20000]
    /usr/bin/time -f '%e s %M KB' target/release/heapdrift hunt DIR
"""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "..", "testdata", "profiles", "goroutine_dump.txt")).read()
blocks = src.strip().split("\n\n")
out_dir = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 60
g = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
os.makedirs(out_dir, exist_ok=True)
for k in range(n):
    parts = [blocks[0]]
    for i in range(g + k * 200):  # a slow goroutine leak
        b = blocks[1 + i % (len(blocks) - 1)]
        parts.append(re.sub(r"^goroutine \d+", f"goroutine {i + 2}", b))
    name = f"goroutine-20261120T{10 + k // 60:02d}{k % 60:02d}00.000Z.txt"
    with open(os.path.join(out_dir, name), "w") as f:
        f.write("\n\n".join(parts) + "\n")
