"""A handler that takes the runtime's own descriptors away (issue 14): os.closerange(3, 1 << 16), or
os.dup2 of its own file over the runtime's sockets, signal pipe or crash traceback file. The runtime
notices after the handler returns, recreates what it lost (reconnects, new pipe, new file), never
closes or writes into the handler's files, and serves on; when it cannot, it exits with a clear
message and the platform reports the invocation."""

import json
import signal
import time

import pytest

from conftest import TIME_SCALE, emulator_status, run_bootstrap

HANDLER = "descriptors.handler"


def start(function):
    f = function(HANDLER, timeout=30)
    r = f.invoke({"do": "echo"})
    assert r.status == 200, (r, f.output()[-2000:])
    return f, r.json()["pid"]


def served_by(f, pid, times=3):
    for n in range(times):
        r = f.invoke({"do": "echo", "value": n})
        assert r.status == 200, (r, f.output()[-3000:])
        assert r.json() == {"pid": pid, "value": n}


def test_closerange_is_recovered(function):
    f, pid = start(function)
    r = f.invoke({"do": "closerange"})
    assert r.status == 200 and r.json() == "closed", (r, f.output()[-3000:])
    served_by(f, pid)
    assert emulator_status(f)["inits"] == 1  # the same runtime, not a restart
    out = f.output()
    assert ("bootstrap: the handler closed or replaced the runtime's own descriptors (Runtime API connection "
            "signal pipe crash traceback file); recreating them") in out


@pytest.mark.parametrize("kinds", [["socket"], ["pipe"], ["memfd"], ["socket", "pipe", "memfd"]])
def test_dup2_over_the_runtimes_descriptors(function, tmp_path, kinds):
    f, pid = start(function)
    path = str(tmp_path / "handlers-file")
    r = f.invoke({"do": "dup2_over", "path": path, "kinds": kinds})
    assert r.status == 200, (r, f.output()[-3000:])
    assert set(r.json()) >= set(kinds), r.json()  # each kind was there to take
    served_by(f, pid)
    # the handler's file is still in every place it put it, and the runtime wrote nothing into it
    assert f.invoke({"do": "check_replaced", "path": path}).json() == {"all_kept": True, "size": 0, "pid": pid}
    assert emulator_status(f)["inits"] == 1


def test_shutdown_hooks_still_run_after_closerange(stub_api):
    # The signal pipe and the extension's connection are recreated: SIGTERM while idle still runs
    # the atexit hook within Lambda's 500 ms.
    stub_api.add_event(b'{"do": "closerange"}')
    proc = run_bootstrap(stub_api.address, HANDLER)
    assert len(stub_api.wait_posts(1)) == 1
    stub_api.add_event(b'{"do": "echo"}')
    assert len(stub_api.wait_posts(2)) == 2
    time.sleep(0.3 * TIME_SCALE)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10 * TIME_SCALE)
    assert proc.returncode == 0, err
    assert "atexit hook ran" in out.decode()
    assert time.monotonic() - t0 < 0.5 * TIME_SCALE


def test_crash_after_closerange_still_reports_the_traceback(stub_api, tmp_path):
    # dup2 over everything, then a segfault: faulthandler writes into the recreated file, not the
    # handler's, and the report has the frames.
    path = str(tmp_path / "handlers-file")
    stub_api.add_event(json.dumps({"do": "dup2_over", "path": path, "kinds": ["socket", "pipe", "memfd"]}).encode())
    request_id = stub_api.add_event(b'{"do": "segfault"}')
    proc = run_bootstrap(stub_api.address, HANDLER)
    out, err = proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == -signal.SIGSEGV, err
    posts = stub_api.wait_posts(2)
    assert posts[1][0] == f"/2018-06-01/runtime/invocation/{request_id}/error"
    doc = json.loads(posts[1][2])
    assert any(", in segfault\n" in entry for entry in doc["stackTrace"]), doc
    with open(path, "rb") as f:
        assert f.read() == b""


def test_nothing_left_to_recreate_with_exits_clearly(function):
    f, pid = start(function)
    r = f.invoke({"do": "exhaust"})
    # the runtime cannot post (no descriptor for a socket): it says why and exits; the platform
    # reports the invocation, and the next one starts a new runtime
    assert r.status == 502 and r.json()["errorType"] == "Runtime.ExitError", r
    assert f.wait_for_output("bootstrap: exiting: the handler closed or replaced the runtime's descriptors and "
                             "they cannot be recreated: cannot recreate the signal pipe: Too many open files")
    r = f.invoke({"do": "echo"})
    assert r.status == 200 and r.json()["pid"] != pid
    assert emulator_status(f)["inits"] == 2


def test_descriptors_taken_while_idle(function):
    # A thread the handler left closes everything while the runtime waits in /next: the wait is
    # broken, the runtime reconnects, and the next invocation is served by the same process.
    f, pid = start(function)
    assert f.invoke({"do": "closerange_later", "after": 0.3}).json() == "later"
    time.sleep(1.0 * TIME_SCALE)
    served_by(f, pid)
    assert emulator_status(f)["inits"] == 1


def test_descriptors_taken_mid_stream(function):
    # The generator closes everything between two chunks: the stream ends there (the caller gets
    # what was sent), the runtime logs it, recreates its descriptors and serves on.
    f, pid = start(function)
    r = f.invoke({"do": "stream_and_close"})
    assert r.status == 200, r
    assert r.body.startswith(b"first "), r
    assert f.wait_for_output("bootstrap: the platform refused the result of"), f.output()[-3000:]
    served_by(f, pid)
    assert emulator_status(f)["inits"] == 1
