#!/usr/bin/python3.11
"""Managed Instances benchmark (issue 14): throughput and memory of the bootstrap with
AWS_LAMBDA_MAX_CONCURRENCY=N for N = 1, 2, 4, in one run.

The script serves the Runtime API itself on loopback (asyncio; every /next may be parked, so N
workers pull at once) and hands out a fixed number of events as fast as the runtime takes them:
  throughput  invocations per second over the measured events, for a handler that waits 10 ms
              (I/O-bound: what concurrency is for) and one that computes for 5 ms (CPU-bound:
              bounded by the machine's cores);
  memory      after the run, from /proc/PID/smaps_rollup of each process: RSS, PSS and USS
              (Private_Clean + Private_Dirty: what the process alone costs). For N = 1 that is one
              whole process; for N > 1 the supervisor (which initialised) and each worker
              (forked after init, sharing the initialised interpreter copy-on-write).
A worker's USS is what one more concurrent invocation costs; the whole process's USS (and RSS) is
what a second separately initialised process would cost, as awslambdaric's workers do.

Writes OUT.json and OUT.md. Standard library only; the numbers are measured, never estimated.
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HANDLERS = os.path.join(HERE, "handlers")
WORKLOADS = {"sleep_10ms": ("managed.sleep", 10), "cpu_5ms": ("managed.cpu", 5)}
PROFILES = {"full": dict(warmup=100, invokes=2000), "quick": dict(warmup=40, invokes=400),
            "test": dict(warmup=10, invokes=60)}
API = "/2018-06-01/runtime"


class RuntimeApi:
    """Just enough of the Runtime API: /next (parked until an event is queued), response and
    error posts (counted), 404 for the Extensions API."""

    def __init__(self):
        self.events = asyncio.Queue()
        self.done = {}          # request id -> monotonic time the answer arrived
        self.errors = 0
        self.parked = 0
        self.changed = asyncio.Event()
        self.seq = 0

    async def serve(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                length = 0
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                await self.answer(method, path, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer(self, method, path, body, writer):
        if method == "GET" and path == API + "/invocation/next":
            self.parked += 1
            self.changed.set()
            request_id, event = await self.events.get()
            self.parked -= 1
            head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: %s\r\n"
                    "Lambda-Runtime-Deadline-Ms: %d\r\nLambda-Runtime-Invoked-Function-Arn: "
                    "arn:aws:lambda:us-east-1:123456789012:function:bench\r\nContent-Length: %d\r\n\r\n"
                    % (request_id, int(time.time() * 1000) + 900000, len(event)))
            writer.write(head.encode() + event)
        elif method == "POST" and path.startswith(API + "/invocation/"):
            request_id, kind = path[len(API + "/invocation/"):].split("/")
            self.done[request_id] = time.monotonic()
            self.errors += kind == "error"
            self.changed.set()
            ok = b'{"status":"OK"}'
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: %d\r\n\r\n%s" % (len(ok), ok))
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    def add(self, event):
        self.seq += 1
        request_id = "6f1c2d3e-0000-4000-8000-%012d" % self.seq
        self.events.put_nowait((request_id, event))
        return request_id

    async def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while not predicate():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the runtime did not keep up (%d answers)" % len(self.done))
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass


def memory_of(pid):
    """RSS, PSS and USS in KB from smaps_rollup."""
    fields = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    return {"rss_kb": fields.get("Rss", 0), "pss_kb": fields.get("Pss", 0),
            "uss_kb": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


async def run_one(args, n, workload, counts):
    handler, ms = WORKLOADS[workload]
    api = RuntimeApi()
    server = await asyncio.start_server(api.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
           "LAMBDA_TASK_ROOT": HANDLERS, "_HANDLER": handler, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
           "BOOTSTRAP_LAYER_ROOT": args.layer_root}
    if n > 1:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(n)
    proc = subprocess.Popen([args.bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await api.wait(lambda: api.parked >= n, 30)  # every worker asks for an event
        event = json.dumps({"ms": ms}).encode()
        for _ in range(counts["warmup"]):
            api.add(event)
        await api.wait(lambda: len(api.done) >= counts["warmup"], 60)
        t0 = time.monotonic()
        ids = [api.add(event) for _ in range(counts["invokes"])]
        await api.wait(lambda: all(i in api.done for i in ids), 300)
        elapsed = max(api.done[i] for i in ids) - t0
        workers = children_of(proc.pid) if n > 1 else []
        result = {"concurrency": n, "workload": workload, "invokes": counts["invokes"], "errors": api.errors,
                  "elapsed_s": round(elapsed, 4), "invokes_per_s": round(counts["invokes"] / elapsed, 1),
                  "main": memory_of(proc.pid), "workers": [memory_of(w) for w in workers]}
        if len(workers) != (n if n > 1 else 0):
            raise RuntimeError("expected %d workers, found %d" % (n, len(workers)))
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.close()
        await server.wait_closed()


def summarize(results):
    """The figures the README and the bench table quote."""
    by = {(r["workload"], r["concurrency"]): r for r in results}
    single = by[("sleep_10ms", 1)]["main"]
    workers = [w for r in results if r["concurrency"] > 1 for w in r["workers"]]
    summary = {
        "whole_process_rss_kb": single["rss_kb"], "whole_process_pss_kb": single["pss_kb"],
        "whole_process_uss_kb": single["uss_kb"],
        "worker_uss_kb_median": statistics.median(w["uss_kb"] for w in workers),
        "worker_pss_kb_median": statistics.median(w["pss_kb"] for w in workers),
        "worker_rss_kb_median": statistics.median(w["rss_kb"] for w in workers),
        "throughput": {wl: {str(n): by[(wl, n)]["invokes_per_s"] for n in sorted({r["concurrency"] for r in results})}
                       for wl in WORKLOADS},
    }
    summary["worker_vs_process_uss"] = round(summary["worker_uss_kb_median"] / single["uss_kb"], 3)
    return summary


def markdown(doc):
    s = doc["summary"]
    ns = sorted({r["concurrency"] for r in doc["results"]})
    out = ["# Managed Instances: %s%s, Python %s" % (doc["arch"], " (emulated)" if doc["emulated"] else "",
                                                         doc["python"]),
           "", "- profile **%s**, %s, %d invocations per run after %d of warm-up, %d CPUs, load average %s at "
           "start, %s at end" % (doc["profile"], doc["date"], doc["counts"]["invokes"], doc["counts"]["warmup"],
                                 doc["cpus"], doc["loadavg_start"], doc["loadavg_end"]),
           "- the Runtime API is served by bench/managed.py itself (Python asyncio), on the same 2 CPUs", "",
           "| handler | " + " | ".join("N = %d, invocations/s" % n for n in ns) + " |",
           "|---|" + "---:|" * len(ns)]
    for wl in WORKLOADS:
        out.append("| %s | %s |" % (wl, " | ".join("%.1f" % s["throughput"][wl][str(n)] for n in ns)))
    out += ["", "| memory, KB | RSS | PSS | USS (private) |", "|---|---:|---:|---:|",
            "| one whole process (N = 1) | %d | %d | %d |" % (s["whole_process_rss_kb"], s["whole_process_pss_kb"],
                                                           s["whole_process_uss_kb"]),
            "| one extra worker (N > 1, median) | %d | %d | %d |" % (s["worker_rss_kb_median"],
                                                                   s["worker_pss_kb_median"],
                                                                   s["worker_uss_kb_median"]),
            "", "A worker's USS is %.0f%% of a whole process's." % (100 * s["worker_vs_process_uss"])]
    for r in doc["results"]:
        if r["concurrency"] > 1:
            out.append("- %s, N = %d: supervisor %s KB RSS / %s KB USS; workers' USS %s KB"
                       % (r["workload"], r["concurrency"], r["main"]["rss_kb"], r["main"]["uss_kb"],
                          ", ".join(str(w["uss_kb"]) for w in r["workers"])))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--layer-root", required=True, help="the Python runtime layer the bootstrap uses")
    ap.add_argument("--out", default="bench/results/managed")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--concurrency", default="1,2,4")
    args = ap.parse_args()
    if not os.path.isdir(args.layer_root):
        sys.exit("managed.py: no layer at %s" % args.layer_root)
    counts = PROFILES[args.profile]
    load_start = os.getloadavg()
    results = []
    for n in [int(x) for x in args.concurrency.split(",")]:
        for workload in WORKLOADS:
            r = asyncio.run(run_one(args, n, workload, counts))
            print("managed: N=%d %s: %.1f invocations/s" % (n, workload, r["invokes_per_s"]), file=sys.stderr)
            results.append(r)
    machine = platform.machine()
    doc = {"schema": 1, "arch": {"aarch64": "arm64"}.get(machine, machine),
           "emulated": False,  # run natively only: under qemu-user /proc shows qemu's memory
           "python": "3.11", "profile": args.profile, "counts": counts, "cpus": os.cpu_count(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results,
           "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    if any(r["errors"] for r in results):
        sys.exit("managed.py: the handler failed: %s" % [r for r in results if r["errors"]])
    doc["summary"] = summarize(results)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write(markdown(doc))
    print(markdown(doc))


if __name__ == "__main__":
    main()
