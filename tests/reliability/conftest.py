"""Reliability tests (issue 6): the integration harness (tests/integration/conftest.py) reused,
with this directory's handlers as LAMBDA_TASK_ROOT and helpers for the emulator's faults.

The integration harness is loaded under the name `harness` (both files are "conftest" to
pytest), so tests write `from harness import ...`.
"""

import http.client
import importlib.util
import json
import os
import sys
import time

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "harness", os.path.join(_HERE, "..", "integration", "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules["harness"] = harness
_spec.loader.exec_module(harness)

FUNCTIONS = os.path.join(_HERE, "functions")
TIME_SCALE = harness.TIME_SCALE


@pytest.fixture
def function():
    """harness.function, serving handlers from tests/reliability/functions."""
    started = []

    def start(handler, env=None, **kwargs):
        f = harness.Function(handler, env={"LAMBDA_TASK_ROOT": FUNCTIONS, **(env or {})}, **kwargs)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


stub_api = harness.stub_api


def run_bootstrap(api_address, handler, env=None, **kwargs):
    return harness.run_bootstrap(api_address, handler, env={"LAMBDA_TASK_ROOT": FUNCTIONS, **(env or {})},
                                 **kwargs)


def control(f, method, path, body=None):
    """A request to the emulator's control endpoints (/_emulator/...)."""
    conn = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def add_faults(f, *specs):
    status, rules = control(f, "POST", "/_emulator/faults", list(specs))
    assert status == 200, rules
    return rules


def emulator_status(f):
    return control(f, "GET", "/_emulator/status")[1]


def wait_ready(f, timeout=10):
    """Waits until the runtime sits in /next (state Ready)."""
    deadline = time.time() + timeout * TIME_SCALE
    while time.time() < deadline:
        rt = emulator_status(f).get("runtime") or {}
        if rt.get("state") == "Ready":
            return True
        time.sleep(0.02)
    return False
