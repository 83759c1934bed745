#!/usr/bin/python3.11
"""Checks the shape and the bookkeeping of a bench results file.

Usage: check_results.py [--runtimes a,b] [--min-invokes N] FILE.json

Speed is never asserted here. What is checked: every field the README
promises is present and sane, and every invocation the driver sent came
back (none lost, no error posts, no echo mismatches, no stray requests,
one connection per runtime process). Exit status 1 with a list of problems.
"""

import argparse
import json
import sys

TOP = ("arch", "emulated", "python", "quick", "profile", "method", "targets")
RUNTIME_KEYS = ("cold_start_ms", "cold_to_first_response_ms", "cold_start_pyc_ms", "warm_p50_us",
                "warm_p99_us", "invokes_per_s", "rss_kb", "peak_rss_kb", "rss_growth_kb",
                "echo_1kb_ms", "echo_256kb_ms", "echo_6mb_ms", "checks")
BARE_KEYS = ("cold_start_ms", "rss_kb", "peak_rss_kb")
TARGETS = ("cold_start", "warm_p50", "warm_overhead", "rss_init", "rss_growth", "echo_6mb")


def expected_invocations(m):
    cold = m["cold_rounds"] * m["cold_per_round"] * 2  # one invoke per start, with and without .pyc
    warm = m["warmup"] + m["invokes"]
    echo = sum(m["echo_runs"].values()) + m["echo_warmup"] * len(m["echo_runs"])
    return cold + warm + echo


def check_runtime(name, e, m, min_invokes, problems):
    for k in RUNTIME_KEYS:
        if e.get(k) is None:
            problems.append(f"{name}: missing {k}")
    if "error" in e:
        problems.append(f"{name}: error: {e['error']}")
    c = e.get("checks") or {}
    want = expected_invocations(m)
    if c.get("sent") != want or c.get("completed") != want:
        problems.append(f"{name}: sent/completed {c.get('sent')}/{c.get('completed')}, expected {want}")
    for k in ("lost", "errors", "mismatches", "unexpected"):
        if c.get(k):
            problems.append(f"{name}: {k} = {c.get(k)}")
    if (e.get("warm_invokes") or 0) < min_invokes:
        problems.append(f"{name}: only {e.get('warm_invokes')} warm invocations")
    p50, p99 = e.get("warm_p50_us"), e.get("warm_p99_us")
    if p50 is not None and p99 is not None and not 0 < p50 <= p99:
        problems.append(f"{name}: p50 {p50} / p99 {p99} out of order")
    cs, cr = e.get("cold_start_ms"), e.get("cold_to_first_response_ms")
    if cs is not None and cr is not None and not 0 < cs <= cr:
        problems.append(f"{name}: cold start {cs} ms vs first response {cr} ms out of order")
    if (e.get("rss_kb") or 0) < 500:
        problems.append(f"{name}: implausible rss_kb {e.get('rss_kb')}")
    if (e.get("invokes_per_s") or 0) <= 0:
        problems.append(f"{name}: invokes_per_s {e.get('invokes_per_s')}")
    for k in ("connections_per_start", "warm_connections", "echo_connections"):
        if e.get(k) != 1:
            problems.append(f"{name}: {k} = {e.get(k)} (one keep-alive connection expected)")


def check(res, runtimes, min_invokes):
    problems = [f"missing top-level {k}" for k in TOP if k not in res]
    if not isinstance(res.get("emulated"), bool):
        problems.append("emulated is not a boolean")
    names = [t.get("name") for t in res.get("targets", [])]
    if tuple(names) != TARGETS:
        problems.append(f"targets are {names}, expected {list(TARGETS)}")
    for t in res.get("targets", []):
        if t.get("pass") not in (True, False, None):
            problems.append(f"target {t.get('name')}: pass is {t.get('pass')!r}")
    m = res.get("method", {})
    for name in runtimes:
        e = res.get(name)
        if not isinstance(e, dict):
            problems.append(f"{name}: not in results")
        elif name == "bare_python":
            problems += [f"bare_python: missing {k}" for k in BARE_KEYS if e.get(k) is None]
            if e.get("nonzero_exits") or "error" in e:
                problems.append(f"bare_python: {e.get('error') or 'non-zero exits'}")
            if e.get("cold_starts") != m.get("cold_rounds", 0) * m.get("cold_per_round", 0):
                problems.append(f"bare_python: {e.get('cold_starts')} starts recorded")
        else:
            check_runtime(name, e, m, min_invokes, problems)
    if any(r in runtimes for r in ("bootstrap", "floor")) and res.get("json_6mb_ms") is None:
        problems.append("missing json_6mb_ms")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtimes", default="bootstrap,floor,pure_python,bare_python")
    ap.add_argument("--min-invokes", type=int, default=1)
    ap.add_argument("file")
    args = ap.parse_args()
    with open(args.file) as f:
        res = json.load(f)
    problems = check(res, [r for r in args.runtimes.split(",") if r], args.min_invokes)
    for p in problems:
        print("check_results: " + p, file=sys.stderr)
    if not problems:
        print(f"check_results: {args.file} OK ({args.runtimes})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
