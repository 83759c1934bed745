"""AWS's RIE in a bubblewrap sandbox, for the tests that need Lambda's file system layout
(tests/managed: the RIE's Managed Instances mode, which looks for the runtime only under
/var/runtime, /var/task and /opt; tests/image: a runtime image's root filesystem as /).

A sandbox is a mount namespace of its own (and a PID namespace: the RIE is PID 1's child there,
and the whole tree dies with the test), sharing this machine's network, so the test reaches the
RIE on 127.0.0.1. The RIE's output goes to a log file, read with output().
"""

import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BWRAP = shutil.which("bwrap")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def at_once(invoke, events):
    """invoke(event) for each event, all at once; the answers in order."""
    with concurrent.futures.ThreadPoolExecutor(len(events)) as pool:
        return list(pool.map(invoke, events))


def served_at_once(invoke, events, patience):
    """at_once, again while the RIE refuses one with Runtime.Unavailable, for up to patience
    seconds: the RIE routes an invocation only to a runtime waiting in /next and does not queue,
    so a worker just forked (or one that has just answered) may not be there yet. Returns the
    answers of the batch served whole."""
    deadline = time.monotonic() + patience
    while True:
        answers = at_once(invoke, events)
        if not any(b"Runtime.Unavailable" in a.body for a in answers):
            return answers
        if time.monotonic() > deadline:
            raise AssertionError(f"the RIE kept refusing: {answers}")
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Answer:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Answer({self.status}, {self.body[:300]!r}, {self.elapsed:.2f} s)"


class SandboxedRie:
    """`sandbox` (bwrap's arguments) + `command` (the RIE and its arguments, paths inside the
    sandbox), started at once; the RIE listens on self.port, its Runtime API on self.api_port
(both free ports: tests run side by side). `env` is the whole environment the
    sandbox starts with. Subclasses wait for what they need with wait_until()."""

    def __init__(self, sandbox, command, env, time_scale=1.0, preexec_fn=None, workdir=None):
        if not BWRAP:
            raise RuntimeError("bwrap not found (scripts/packages/sandbox.txt: bubblewrap)")
        self.time_scale = time_scale
        self.workdir = workdir or tempfile.mkdtemp(prefix="bootstrap-rie-")
        self.rie_name = os.path.basename(command[0])[:15]  # its comm, in /proc
        self.port, self.api_port = free_port(), free_port()
        self.log_path = os.path.join(self.workdir, "rie.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [BWRAP, *sandbox, "--unshare-pid", "--die-with-parent", *command,
             "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
             "--runtime-api-address", f"127.0.0.1:{self.api_port}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)

    def wait_until(self, ready, timeout, what):
        """Polls ready() (exceptions count as not yet) until true; fails with the log if the RIE
        ends or `timeout` seconds (scaled) pass."""
        deadline = time.monotonic() + timeout * self.time_scale
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the RIE ended before {what}:\n" + self.output())
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{what}: not within {timeout * self.time_scale:.0f} s:\n" + self.output())

    def invoke(self, event, timeout=None, raw=None):
        """POSTs event as JSON (or the bytes `raw`) to the RIE's invoke path."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=(timeout or 30 * self.time_scale))
        t0 = time.monotonic()
        try:
            body = raw if raw is not None else json.dumps(event).encode()
            conn.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(), time.monotonic() - t0)
        finally:
            conn.close()

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout * self.time_scale)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop_rie(self, timeout=10):
        """SIGTERM to the RIE alone, as the platform ends an execution environment; waits for it."""
        rie = [pid for pid, comm in self.descendants() if comm == self.rie_name]
        assert rie, self.descendants()
        os.kill(rie[0], signal.SIGTERM)
        self.proc.wait(timeout * self.time_scale)

    def descendants(self):
        """(pid, comm) of the sandbox's processes, from the host's /proc."""
        table = []
        for name in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
            except (OSError, ValueError):
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            table.append((int(name), int(stat[stat.rindex(")") + 2:].split()[1]), comm))
        found, parents = [], {self.proc.pid}
        while parents:
            children = [(pid, comm) for pid, ppid, comm in table if ppid in parents]
            found += children
            parents = {pid for pid, _ in children}
        return found

    def cleanup(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
