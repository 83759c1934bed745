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

import http.client
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("harness", os.path.join(_HERE, "..", "integration", "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules["harness"] = harness
_spec.loader.exec_module(harness)
sys.path.insert(0, os.path.join(_HERE, ".."))
from rie_sandbox import BWRAP, Answer, SandboxedRie, at_once, free_port  # noqa: E402,F401  (shared with tests/image)

TIME_SCALE = harness.TIME_SCALE
FUNCTIONS = harness.FUNCTIONS
RIE_BIN = os.environ.get("RIE_BIN", "")


class ManagedRie(SandboxedRie):
    """The RIE in Managed Instances mode with N runtime workers, serving FUNCTIONS."""

    def __init__(self, handler, concurrency, env=None):
        if not RIE_BIN or not os.access(RIE_BIN, os.X_OK):
            pytest.fail(f"RIE_BIN={RIE_BIN!r} is not an executable RIE (make test-managed builds it)")
        if not BWRAP:
            pytest.fail("bwrap not found (scripts/packages/sandbox.txt: bubblewrap)")
        workdir = tempfile.mkdtemp(prefix="bootstrap-lmi-")
        runtime_dir = os.path.join(workdir, "runtime")
        os.mkdir(runtime_dir)
        shutil.copy(harness.BOOTSTRAP, os.path.join(runtime_dir, "bootstrap"))
        layer = os.environ.get("BOOTSTRAP_LAYER_ROOT")
        sandbox = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/var",
                   "--bind", "/tmp", "/tmp", "--ro-bind", runtime_dir, "/var/runtime",
                   "--ro-bind", FUNCTIONS, "/var/task", "--chdir", "/var/task"]
        if layer:
            sandbox += ["--ro-bind", layer, "/opt"]
        run_env = harness.runtime_env({"AWS_LAMBDA_MAX_CONCURRENCY": str(concurrency), "_HANDLER": handler,
                                       "LAMBDA_TASK_ROOT": "/var/task", **(env or {})})
        run_env.pop("BOOTSTRAP_LAYER_ROOT", None)  # the layer is where Lambda puts it: /opt
        super().__init__(sandbox, [RIE_BIN], run_env, time_scale=TIME_SCALE,
                         preexec_fn=harness.no_core_dumps, workdir=workdir)
        self.wait_until(lambda: self._ready(concurrency), 30, "the runtime's workers asking for invocations")

    def _ready(self, concurrency):
        """The runtime starts at once; ready when its workers have all asked for an invocation."""
        if "workers forked after init" not in self.output():
            return False
        answers = [self.invoke({"do": "echo"}, timeout=5 * TIME_SCALE) for _ in range(concurrency)]
        return all(a.status == 200 for a in answers)


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
