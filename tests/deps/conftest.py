"""Harness for the dependency-layer tests (make test-deps): one cell, a Python and a CPU.

The environment (mk/deps.mk) names the cell and what it was built from:
  CELL_PYTHON, CELL_ARCH      "3.9", "x86_64" | "arm64" (test_pip_args.py needs none of these)
  RUNTIME_ZIP, DEPS_ZIP       the runtime zip from make dist, the deps zip make deps-layer wrote
  HOST_BOOTSTRAP              this machine's bootstrap, for --check
  QEMU_LD_PREFIX, TIME_SCALE  for arm64 under qemu-user
"""
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(ROOT, "emulator", "lambda_emulator.py")
TOOL_PYTHON = "/usr/bin/python3.11"
CELL_PYTHON = os.environ.get("CELL_PYTHON", "")
CELL_ARCH = os.environ.get("CELL_ARCH", "")
RUNTIME_ZIP = os.environ.get("RUNTIME_ZIP", "")
DEPS_ZIP = os.environ.get("DEPS_ZIP", "")
HOST_BOOTSTRAP = os.environ.get("HOST_BOOTSTRAP", "")
TIME_SCALE = float(os.environ.get("TIME_SCALE", "1"))



def require_cell():
    """Called by the modules that test a cell: they run only through make test-deps."""
    if not (CELL_PYTHON and CELL_ARCH and RUNTIME_ZIP and DEPS_ZIP and HOST_BOOTSTRAP):
        raise pytest.UsageError("this module runs through make test-deps (CELL_PYTHON, CELL_ARCH, RUNTIME_ZIP, "
                                "DEPS_ZIP, HOST_BOOTSTRAP unset)")


def unpack(root, *zips):
    """What Lambda does with a function's layers: each zip into /opt, in order."""
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            for info in zf.infolist():
                path = zf.extract(info, root)
                mode = info.external_attr >> 16
                if mode & 0o111:
                    os.chmod(path, 0o755)
    return root


class Function:
    """The emulator serving a handler (of tests/deps/functions, or task_root) through the
    layers' bootstrap."""

    def __init__(self, layer_root, handler, task_root=None):
        self.dir = tempfile.mkdtemp(prefix="deps-fn-")
        port_file = os.path.join(self.dir, "ports.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "_HANDLER", "AWS_LAMBDA_LOG"))}
        env.update(BOOTSTRAP_LAYER_ROOT=layer_root, LAMBDA_TASK_ROOT=task_root or os.path.join(HERE, "functions"),
                   AWS_LAMBDA_FUNCTION_TIMEOUT=str(int(60 * TIME_SCALE)))
        self.log = open(os.path.join(self.dir, "emulator.log"), "wb")
        self.proc = subprocess.Popen(
            [TOOL_PYTHON, EMULATOR, "--runtime-interface-emulator-address", "127.0.0.1:0",
             "--runtime-api-address", "127.0.0.1:0", "--port-file", port_file,
             os.path.join(layer_root, "bootstrap"), handler],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=env["LAMBDA_TASK_ROOT"], start_new_session=True)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start:\n" + self.output())
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = json.load(f)["invoke_port"]

    def invoke(self, event):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120 * TIME_SCALE)
        try:
            conn.request("POST", "/2015-03-31/functions/function/invocations", body=json.dumps(event))
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def output(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def layer_root(tmp_path_factory):
    return unpack(str(tmp_path_factory.mktemp("opt")), RUNTIME_ZIP, DEPS_ZIP)


@pytest.fixture
def function():
    started = []

    def start(layer_root, handler, task_root=None):
        f = Function(layer_root, handler, task_root)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


def check(*args):
    """bootstrap --check, as a deployment would run it before uploading."""
    return subprocess.run([HOST_BOOTSTRAP, "--check", *args], capture_output=True, text=True, timeout=120)


def deps_layer(**args):
    """layers/deps-layer with KEY=VALUE arguments; the CompletedProcess."""
    return subprocess.run([TOOL_PYTHON, os.path.join(ROOT, "layers", "deps-layer"),
                           *(f"{k}={v}" for k, v in args.items())], capture_output=True, text=True, timeout=900)
