"""Shutdown and signals beyond tests/integration/test_shutdown.py: SIGTERM/SIGINT end the
process within 500 ms running atexit, whatever the user's handlers do; other signals with a
Python handler do not stop the runtime."""

import json
import signal
import time

import pytest

from conftest import TIME_SCALE, run_bootstrap

BUDGET = 0.5 * TIME_SCALE


def ready(proc, stub_api, n=1):
    stub_api.add_event(b"{}")
    assert len(stub_api.wait_posts(n)) == n, "the runtime never answered"
    time.sleep(0.2 * TIME_SCALE)


def stop(proc, signum):
    t0 = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=10 * TIME_SCALE)
    return time.monotonic() - t0, out.decode(), err.decode()


def test_sigterm_handler_that_raises_still_shuts_down(stub_api):
    proc = run_bootstrap(stub_api.address, "signals.handler", env={"SIGNALS_MODE": "sigterm_raises"})
    ready(proc, stub_api)
    elapsed, out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert "sigterm handler raising" in out and "atexit hook ran" in out
    assert "RuntimeError: sigterm handler failed" in err  # logged, not swallowed
    assert elapsed < BUDGET, elapsed


def test_sigterm_handler_calling_sys_exit(stub_api):
    proc = run_bootstrap(stub_api.address, "signals.handler", env={"SIGNALS_MODE": "sigterm_exits"})
    ready(proc, stub_api)
    elapsed, out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert "atexit hook ran" in out
    assert elapsed < BUDGET, elapsed


def test_sigterm_ignored_by_the_user_is_still_a_shutdown(stub_api):
    # SIG_IGN: Python never hears of it; Lambda's SIGKILL follows anyway. The runtime does not
    # override the user's choice: it keeps serving until killed.
    proc = run_bootstrap(stub_api.address, "signals.handler", env={"SIGNALS_MODE": "sigterm_ignored"})
    ready(proc, stub_api)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3 * TIME_SCALE)
    assert proc.poll() is None
    stub_api.add_event(b"{}")
    assert len(stub_api.wait_posts(2)) == 2  # still serving
    proc.kill()
    proc.communicate()


def test_other_signal_with_a_python_handler_does_not_stop_the_runtime(stub_api):
    proc = run_bootstrap(stub_api.address, "signals.handler", env={"SIGNALS_MODE": "sigusr1"})
    ready(proc, stub_api)
    for _ in range(3):
        proc.send_signal(signal.SIGUSR1)
        time.sleep(0.05)
    stub_api.add_event(b"{}")
    assert len(stub_api.wait_posts(2)) == 2
    elapsed, out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert "sigusr1 handled" in out and "atexit hook ran" in out


def test_sigint_during_an_invocation_is_a_keyboard_interrupt_reported_first(stub_api):
    # Unlike SIGTERM (which Lambda sends, and which lets the invocation finish), SIGINT is
    # Python's KeyboardInterrupt in the handler, as for any Python program (Ctrl-C under make
    # run): the invocation gets Runtime.ExitError, atexit runs, the exit status is 130.
    proc = run_bootstrap(stub_api.address, "signals.handler")
    ready(proc, stub_api)
    request_id = stub_api.add_event(json.dumps({"sleep": 2 * TIME_SCALE}).encode())
    time.sleep(0.3 * TIME_SCALE)
    elapsed, out, err = stop(proc, signal.SIGINT)
    posts = stub_api.wait_posts(2)
    assert posts[1][0] == f"/2018-06-01/runtime/invocation/{request_id}/error", posts[1]
    doc = json.loads(posts[1][2])
    assert doc["errorType"] == "Runtime.ExitError" and doc["errorMessage"].endswith("exit status 130")
    assert "atexit hook ran" in out
    assert proc.returncode == 130, err
    assert elapsed < BUDGET, elapsed


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_repeated_signals_shut_down_once(stub_api, signum):
    proc = run_bootstrap(stub_api.address, "signals.handler")
    ready(proc, stub_api)
    t0 = time.monotonic()
    for _ in range(5):
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=10 * TIME_SCALE)
    assert time.monotonic() - t0 < BUDGET
    assert proc.returncode == 0, err
    assert out.decode().count("atexit hook ran") == 1
