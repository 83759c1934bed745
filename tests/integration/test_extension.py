"""The runtime registers itself as an internal extension (what makes Lambda send SIGTERM), and a
shutdown through the emulator runs the function's SIGTERM handler and atexit hooks in time."""

import http.client
import json
import os
import signal
import threading
import time

from conftest import TIME_SCALE, run_bootstrap

# Lambda gives a runtime with an internal extension 500 ms after SIGTERM.
BUDGET = 0.5 * TIME_SCALE
# The emulator SIGKILLs a runtime this long after SIGTERM (2 s unscaled: too short for qemu).
GRACE = {"EMULATOR_SHUTDOWN_GRACE": str(2 * TIME_SCALE)}


def status(fn):
    conn = http.client.HTTPConnection("127.0.0.1", fn.port, timeout=10 * TIME_SCALE)
    try:
        conn.request("GET", "/_emulator/status")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def wait_ready(fn):
    deadline = time.time() + 10 * TIME_SCALE
    while True:
        runtime = status(fn)["runtime"]
        if runtime and runtime["state"] == "Ready":
            return runtime
        assert time.time() < deadline, runtime
        time.sleep(0.02)


def gone(pid):
    """The process has exited (a zombie waiting for the emulator to reap it counts)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def shut_down(fn, pid):
    """SIGTERM to the emulator, which (like Lambda) SIGTERMs the runtime. Returns the seconds
    until the runtime process had exited."""
    start = time.monotonic()
    os.kill(fn.proc.pid, signal.SIGTERM)
    while not gone(pid):
        assert time.monotonic() - start < 5 * TIME_SCALE, "the runtime did not exit"
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    fn.proc.wait(10 * TIME_SCALE)
    return elapsed


def assert_registered(fn):
    # The runtime's first /next and the extension thread's event/next race: init is over for
    # Lambda when both have arrived, so wait for the extension too.
    deadline = time.time() + 10 * TIME_SCALE
    while True:
        runtime = wait_ready(fn)
        if runtime["extensions"] and runtime["extensions"][0]["ready"]:
            break
        assert time.time() < deadline, runtime
        time.sleep(0.02)
    (ext,) = runtime["extensions"]
    assert ext["name"] == "bootstrap-runtime"
    assert ext["events"] == [] and ext["external"] is False and ext["ready"] is True
    assert "EXTENSION\tName: bootstrap-runtime\tState: Registered\tEvents: []" in fn.output()
    assert "not registered as a Lambda extension" not in fn.output()


def test_runtime_registers_as_an_internal_extension(function):
    # shutdown_hooks registers an atexit hook at import: there is something to run at shutdown.
    fn = function("shutdown_hooks.handler", eager=True)
    assert_registered(fn)
    assert fn.invoke({}).json() == {"done": True}


def test_no_registration_without_shutdown_hooks(function):
    # Nothing to run at shutdown: the registration's round trip is left out of the cold start.
    fn = function("echo.handler", eager=True)
    assert wait_ready(fn)["extensions"] == []
    assert fn.invoke({"x": 1}).json() == {"x": 1}
    assert "not registered as a Lambda extension" not in fn.output()


def test_registration_can_be_forced(function):
    fn = function("echo.handler", env={"BOOTSTRAP_SHUTDOWN_EXTENSION": "1"}, eager=True)
    assert_registered(fn)


def test_shutdown_while_idle_runs_the_sigterm_handler_and_atexit_in_time(function):
    fn = function("shutdown_hooks.handler", env={"INSTALL_SIGTERM_HANDLER": "1", **GRACE}, eager=True)
    pid = wait_ready(fn)["pid"]
    assert fn.invoke({}).json() == {"done": True}
    elapsed = shut_down(fn, pid)
    out = fn.output()
    assert out.index("sigterm handler ran for signal 15") < out.index("atexit hook ran"), out
    assert elapsed < BUDGET, elapsed
    assert "did not exit" not in out


def test_shutdown_without_a_handler_runs_atexit_in_time(function):
    fn = function("shutdown_hooks.handler", env=GRACE, eager=True)
    pid = wait_ready(fn)["pid"]
    elapsed = shut_down(fn, pid)
    assert "atexit hook ran" in fn.output()
    assert elapsed < BUDGET, elapsed


def test_shutdown_during_an_invocation_finishes_it_then_runs_the_hooks(function):
    fn = function("shutdown_hooks.handler", env={"INSTALL_SIGTERM_HANDLER": "1", **GRACE}, eager=True)
    pid = wait_ready(fn)["pid"]
    sleep = 0.5 * TIME_SCALE
    client = threading.Thread(target=lambda: fn.invoke({"sleep": sleep}), daemon=True)
    client.start()
    deadline = time.time() + 5 * TIME_SCALE
    while (status(fn)["current"] or {}).get("state") != "running":
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.1 * TIME_SCALE)
    elapsed = shut_down(fn, pid)
    out = fn.output()
    assert "sigterm handler ran for signal 15" in out and "atexit hook ran" in out, out
    # The user's handler runs at once; the invocation is finished (its result posted) before atexit.
    assert out.index("sigterm handler ran for signal 15") < out.index("atexit hook ran"), out
    posted = out.find("the platform refused the result")  # the emulator is closing: 403 for the post
    assert posted == -1 or posted < out.index("atexit hook ran"), out
    assert elapsed < sleep + BUDGET, elapsed
    client.join(10 * TIME_SCALE)


def test_a_runtime_api_without_the_extensions_api_does_not_break_init(stub_api):
    # The stub answers 404 to everything outside /2018-06-01/runtime/.
    request_id = stub_api.add_event(b'{"a": 1}')
    proc = run_bootstrap(stub_api.address, "shutdown_hooks.handler")
    try:
        posts = stub_api.wait_posts(1)
        assert posts[0][0] == f"/2018-06-01/runtime/invocation/{request_id}/response"
        assert json.loads(posts[0][2]) == {"done": True}
        stub_api.add_event(b'{"b": 2}')
        assert len(stub_api.wait_posts(2)) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10 * TIME_SCALE)
    err = err.decode()
    assert proc.returncode == 0, err
    assert err.count("not registered as a Lambda extension") == 1, err
    assert "HTTP 404" in err
