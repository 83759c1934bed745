"""SIGTERM and SIGINT end the runtime cleanly and in time, running the user's hooks."""

import json
import signal
import time

import pytest

from conftest import TIME_SCALE, run_bootstrap

# Lambda gives a runtime with an internal extension 500 ms after SIGTERM.
BUDGET = 0.5 * TIME_SCALE


def wait_ready(proc, stub_api):
    """Init is done when the runtime asks for the next invocation: give it one and wait."""
    stub_api.add_event(b"{}")
    assert stub_api.wait_posts(1), "the runtime never answered"
    time.sleep(0.2 * TIME_SCALE)  # back in /next


def stop(proc, signum):
    start = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=10 * TIME_SCALE)
    return time.monotonic() - start, out.decode(), err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_idle_runs_atexit_in_time(stub_api, signum):
    proc = run_bootstrap(stub_api.address, "shutdown_hooks.handler")
    wait_ready(proc, stub_api)
    elapsed, out, err = stop(proc, signum)
    assert proc.returncode == 0, err
    assert "atexit hook ran" in out
    assert elapsed < BUDGET, elapsed


def test_user_sigterm_handler_runs_then_atexit(stub_api):
    proc = run_bootstrap(stub_api.address, "shutdown_hooks.handler", env={"INSTALL_SIGTERM_HANDLER": "1"})
    wait_ready(proc, stub_api)
    elapsed, out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert out.index("sigterm handler ran for signal 15") < out.index("atexit hook ran")
    assert elapsed < BUDGET, elapsed


def test_sigterm_during_an_invocation_finishes_it_first(stub_api):
    proc = run_bootstrap(stub_api.address, "shutdown_hooks.handler", env={"INSTALL_SIGTERM_HANDLER": "1"})
    wait_ready(proc, stub_api)
    request_id = stub_api.add_event(json.dumps({"sleep": 0.3 * TIME_SCALE}).encode())
    time.sleep(0.1 * TIME_SCALE)
    elapsed, out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    posts = stub_api.wait_posts(2)
    assert posts[1][0] == f"/2018-06-01/runtime/invocation/{request_id}/response"
    assert json.loads(posts[1][2]) == {"done": True}
    assert "sigterm handler ran for signal 15" in out and "atexit hook ran" in out
