#!/usr/bin/env python3
"""Per-command latency of pprof's interactive shell, heapdrift's or go tool pprof's.

    bench/shell-latency.py SESSION_FILE -- heapdrift pprof PROFILE
    bench/shell-latency.py SESSION_FILE -- go tool pprof PROFILE
    bench/shell-latency.py --pause 1 SESSION_FILE -- heapdrift pprof PROFILE

Types the session's lines one at a time through a pipe (pprof's plain UI) and
times each command from the moment its line is sent until the next prompt
arrives on stdout, so the numbers are what a user waits for. The first row is
the start-up: from launch to the first prompt (decoding the profile).
`--pause S` waits S seconds at each prompt before typing, as a user reading
the output does (not counted); by default every line is typed at once.
"""
import os
import subprocess
import sys
import time

PROMPT = b"(pprof) "


def read_until_prompt(fd, buf):
    while PROMPT not in buf:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return buf, False
        buf += chunk
    return buf[buf.index(PROMPT) + len(PROMPT):], True


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    sep = sys.argv.index("--")
    args = sys.argv[1:sep]
    pause = 0.0
    if args[:1] == ["--pause"]:
        pause = float(args[1])
        args = args[2:]
    session = open(args[0]).read().splitlines()
    cmd = sys.argv[sep + 1:]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    fd = proc.stdout.fileno()
    buf, ok = read_until_prompt(fd, b"")
    rows = [("(start-up)", time.monotonic() - start)]
    for line in session:
        if line.strip() in ("q", "quit", "exit"):
            break
        time.sleep(pause)
        t = time.monotonic()
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
        buf, ok = read_until_prompt(fd, buf)
        rows.append((line, time.monotonic() - t))
        if not ok:
            break
    proc.stdin.close()
    proc.wait()
    for line, secs in rows:
        print(f"{secs * 1000:9.1f} ms  {line}")
    cmds = [s for _, s in rows[1:]]
    if cmds:
        print(f"{sum(cmds) * 1000:9.1f} ms  total of {len(cmds)} commands "
              f"(max {max(cmds) * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
