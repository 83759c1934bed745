"""Both runtimes behind AWS's Runtime Interface Emulator, as a user testing locally sees them:
cold = the RIE spawned -> the first invoke answered (the RIE starts the runtime on that invoke),
warm = sequential invokes on one keep-alive connection (client-side round trip, the RIE's own
cost included: it sets the floor here, ~1 ms). Standard library only; run.py calls measure().
"""

import http.client
import os
import signal
import socket
import statistics
import subprocess
import time

INVOKE = "/2015-03-31/functions/function/invocations"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pin(cpu):
    def preexec():
        os.setsid()
        if cpu >= 0:
            os.sched_setaffinity(0, {cpu})
    return preexec


class _Rie:
    def __init__(self, rie, runtime_argv, env, cwd, cpu, log):
        self.port = _free_port()
        argv = [rie, "--runtime-interface-emulator-address", "127.0.0.1:%d" % self.port,
                "--runtime-api-address", "127.0.0.1:%d" % _free_port()] + runtime_argv
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     preexec_fn=_pin(cpu))
        self.conn = None

    def invoke(self, body=b'{"a":1}', deadline=30.0):
        """One invoke; before the RIE listens, retries the connection."""
        end = time.monotonic() + deadline
        while True:
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=deadline)
                self.conn.request("POST", INVOKE, body=body)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                self.conn.close()
                self.conn = None
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise
                time.sleep(0.001)

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()


def measure(rie, runtime_argv, env, cwd, cpu=-1, colds=10, warmup=200, invokes=2000, log=None):
    """-> {"cold_start_ms", "warm_p50_us", "warm_p99_us", ...} or {"error": ...}."""
    log = log or subprocess.DEVNULL
    cold = []
    for _ in range(colds):
        r = _Rie(rie, runtime_argv, env, cwd, cpu, log)
        try:
            status, data = r.invoke()
            cold.append((time.monotonic() - r.started) * 1000)
            if status != 200:
                return {"error": "cold invoke through the RIE answered %d: %r" % (status, data[:200])}
        finally:
            r.stop()
    r = _Rie(rie, runtime_argv, env, cwd, cpu, log)
    try:
        for _ in range(warmup):
            r.invoke()
        lat = []
        for _ in range(invokes):
            t0 = time.perf_counter()
            status, _ = r.invoke()
            lat.append((time.perf_counter() - t0) * 1e6)
            if status != 200:
                return {"error": "warm invoke through the RIE answered %d" % status}
    finally:
        r.stop()
    lat.sort()
    return {
        "cold_start_ms": round(statistics.median(cold), 3),
        "cold_start_min_ms": round(min(cold), 3),
        "cold_starts": len(cold),
        "warm_p50_us": round(lat[len(lat) // 2], 1),
        "warm_p99_us": round(lat[int(len(lat) * 0.99)], 1),
        "warm_invokes": len(lat),
        "method": "RIE spawn -> first invoke answered (the RIE starts the runtime on it); warm: "
                  "sequential invokes on one keep-alive connection, client-side round trip",
    }
