"""In-process cost of Python's json on the benchmark's echo events.

Usage: json_inproc.py [--cpu N] [--runs N] FILE...

For each FILE (a canned event written by `driver event SIZE`) prints the
median time of `json.dumps(json.loads(data))`, the work an echo handler's
runtime must do in Python. The 6 MB figure is the Python share of the 6 MB
echo target. Output: one JSON object on stdout.
"""

import argparse
import json
import os
import statistics
import time


def time_roundtrip(data, runs):
    """Wall and CPU (process_time) milliseconds of each round trip."""
    json.dumps(json.loads(data))  # warm-up: first-call caches, allocator arenas
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        json.dumps(json.loads(data))
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", type=int, default=-1)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    if args.cpu >= 0:  # --pin same|split
        os.sched_setaffinity(0, {args.cpu})  # same CPU the runtimes run on
    out = {}
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        wall, cpu = time_roundtrip(data, args.runs)
        out[str(len(data))] = {"median_ms": statistics.median(wall), "min_ms": min(wall),
                               "cpu_median_ms": statistics.median(cpu), "runs": len(wall)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
