"""Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=N) under the project's emulator (`function`) and
under AWS's RIE in its Managed Instances mode, in a bubblewrap sandbox (`managed_rie`).

In that mode the RIE starts the runtime at once and looks for it only in /var/runtime, /var/task
and /opt (not on its command line), so each test gets a mount namespace of its own: the host's
root read-only, an empty /var with the bootstrap at /var/runtime/bootstrap, the handlers at
/var/task and the cell's layer (if any) at /opt.

Environment (set by mk/managed.mk):
  RIE_BIN               AWS's aws-lambda-rie for the cell's CPU
  BOOTSTRAP_BIN, BOOTSTRAP_LAYER_ROOT, BOOTSTRAP_LIBPYTHON, QEMU_LD_PREFIX, TIME_SCALE: as for
                        tests/integration (its harness is reused, loaded as `harness`)
"""

import concurrent.futures
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("harness", os.path.join(_HERE, "..", "integration", "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules["harness"] = harness
_spec.loader.exec_module(harness)

TIME_SCALE = harness.TIME_SCALE
FUNCTIONS = harness.FUNCTIONS
RIE_BIN = os.environ.get("RIE_BIN", "")
BWRAP = shutil.which("bwrap")


def at_once(invoke, events):
    """invoke(event) for each event, all at once; the answers in order."""
    with concurrent.futures.ThreadPoolExecutor(len(events)) as pool:
        return list(pool.map(invoke, events))


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


class ManagedRie:
    """The RIE in Managed Instances mode with N runtime workers, serving FUNCTIONS."""

    def __init__(self, handler, concurrency, env=None):
        if not RIE_BIN or not os.access(RIE_BIN, os.X_OK):
            pytest.fail(f"RIE_BIN={RIE_BIN!r} is not an executable RIE (make test-managed builds it)")
        if not BWRAP:
            pytest.fail("bwrap not found (scripts/packages/sandbox.txt: bubblewrap)")
        self.workdir = tempfile.mkdtemp(prefix="bootstrap-lmi-")
        runtime_dir = os.path.join(self.workdir, "runtime")
        os.mkdir(runtime_dir)
        shutil.copy(harness.BOOTSTRAP, os.path.join(runtime_dir, "bootstrap"))
        self.port, api_port = free_port(), free_port()
        layer = os.environ.get("BOOTSTRAP_LAYER_ROOT")
        sandbox = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/var",
                   "--bind", "/tmp", "/tmp", "--ro-bind", runtime_dir, "/var/runtime",
                   "--ro-bind", FUNCTIONS, "/var/task", "--chdir", "/var/task",
                   "--unshare-pid", "--die-with-parent"]
        if layer:
            sandbox += ["--ro-bind", layer, "/opt"]
        run_env = harness.runtime_env({"AWS_LAMBDA_MAX_CONCURRENCY": str(concurrency), "_HANDLER": handler,
                                       "LAMBDA_TASK_ROOT": "/var/task", **(env or {})})
        run_env.pop("BOOTSTRAP_LAYER_ROOT", None)  # the layer is where Lambda puts it: /opt
        self.log_path = os.path.join(self.workdir, "rie.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            sandbox + [RIE_BIN, "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
                       "--runtime-api-address", f"127.0.0.1:{api_port}"],
            env=run_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=harness.no_core_dumps)
        self._wait_ready(concurrency)

    def _wait_ready(self, concurrency):
        """The runtime starts at once; ready when its workers have all asked for an invocation."""
        deadline = time.monotonic() + 30 * TIME_SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the RIE ended:\n" + self.output())
            if "workers forked after init" in self.output():
                try:
                    answers = [self.invoke({"do": "echo"}, timeout=5 * TIME_SCALE) for _ in range(concurrency)]
                    if all(a.status == 200 for a in answers):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("the runtime never became ready:\n" + self.output())

    def invoke(self, event, timeout=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=(timeout or 30 * TIME_SCALE))
        t0 = time.monotonic()
        try:
            conn.request("POST", "/2015-03-31/functions/function/invocations", body=json.dumps(event).encode(),
                         headers={"Content-Type": "application/json"})
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
                self.proc.wait(timeout * TIME_SCALE)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop_rie(self, timeout=10):
        """SIGTERM to the RIE alone, as the platform ends an execution environment; waits for it."""
        rie = [pid for pid, comm in self._descendants() if comm == os.path.basename(RIE_BIN)[:15]]
        assert rie, self._descendants()
        os.kill(rie[0], signal.SIGTERM)
        self.proc.wait(timeout * TIME_SCALE)

    def _descendants(self):
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


function = harness.function  # the project's emulator serving FUNCTIONS (tests/integration's fixture)


def emulator_status(f):
    """The emulator's /_emulator/status document."""
    conn = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    try:
        conn.request("GET", "/_emulator/status")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


@pytest.fixture
def managed_rie():
    started = []

    def start(handler, concurrency, env=None):
        rie = ManagedRie(handler, concurrency, env)
        started.append(rie)
        return rie

    yield start
    for rie in started:
        rie.cleanup()
