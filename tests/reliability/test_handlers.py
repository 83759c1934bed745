"""Misbehaving handlers (issue 6): a reported error where the process survives; where it
cannot, an error posted before it ends (or, when nothing can run any more, the platform's
Runtime.ExitError); the next invocation is served either way."""

import json
import signal
import time

import pytest

from conftest import TIME_SCALE, emulator_status, run_bootstrap, wait_ready


def start(function, **kwargs):
    f = function("misbehave.handler", timeout=20, **kwargs)
    r = f.invoke({"do": "echo", "value": "warm"})
    assert r.status == 200, r
    return f, r.json()["pid"]


def echo(f, value=1):
    r = f.invoke({"do": "echo", "value": value})
    assert r.status == 200, (r, f.output()[-3000:])
    assert r.json()["echo"] == value
    return r.json()


def reported(f, event, error_type, pid):
    """The handler's failure comes back as an error; the same process serves the next one."""
    r = f.invoke(event, timeout=60)
    assert r.status == 200, (r, f.output()[-3000:])
    assert r.headers.get("x-amz-function-error") == "Unhandled", r
    body = r.json()
    assert body["errorType"] == error_type, body
    assert f.invoke({"do": "whoami"}).json()["pid"] == pid
    return body


def python_version(f):
    return f.invoke({"do": "whoami"}).json()["python"]


# --- the process survives: the error is reported ------------------------------------------


def test_infinite_recursion(function):
    f, pid = start(function)
    body = reported(f, {"do": "recursion"}, "RecursionError", pid)
    assert body["errorMessage"].startswith("maximum recursion depth exceeded")


@pytest.mark.parametrize("action", ["memory_error", "raise_memory_error"])
def test_memory_error(function, action):
    f, pid = start(function)
    reported(f, {"do": action}, "MemoryError", pid)


def test_10mb_result_is_refused_and_the_process_goes_on(function):
    f, pid = start(function)
    r = f.invoke({"do": "big_result", "size": 10 * 1024 * 1024}, timeout=60)
    assert r.status == 200 and r.json()["errorType"] == "Function.ResponseSizeTooLarge"
    assert echo(f)["pid"] == pid
    assert "bootstrap: the platform refused the result of" in f.output()


def test_result_with_lone_surrogates(function):
    f, pid = start(function)
    r = f.invoke({"do": "lone_surrogate_result"})
    assert r.status == 200
    major, minor = map(int, python_version(f).split("."))
    if (major, minor) < (3, 12):
        # ensure_ascii, as the managed runtime before 3.12: the surrogate is written as \ud800
        assert r.body == b'{"s": "a\\ud800b"}'
    else:
        # UTF-8 output cannot carry a lone surrogate
        assert r.json()["errorType"] == "Runtime.MarshalError"
    assert echo(f)["pid"] == pid


@pytest.mark.parametrize("action,shown", [("lone_surrogate_error", "bad \\udc80 value"),
                                          ("lone_surrogate_error_high", "bad \\ud800 value")])
def test_error_message_with_lone_surrogates(function, action, shown):
    f, pid = start(function)
    body = reported(f, {"do": action}, "ValueError", pid)
    # before 3.12 the JSON escapes it (\udc80); from 3.12 it is written as UTF-8, which cannot
    # carry it, so it is replaced with '?'
    assert body["errorMessage"] in (shown.encode().decode("unicode_escape"), "bad ? value")
    assert "[ERROR] ValueError: bad " in f.output()  # the log line is written, escaped


def test_print_of_lone_surrogates_is_the_handlers_error(function):
    f, pid = start(function)
    reported(f, {"do": "lone_surrogate_print"}, "UnicodeEncodeError", pid)


def test_threads_left_running(function):
    f, pid = start(function)
    r = f.invoke({"do": "leave_thread"})
    assert r.status == 200 and r.json() == 2
    for n in range(5):
        body = echo(f, n)
        assert body["pid"] == pid and body["threads"] == 2


def test_threads_left_running_do_not_delay_shutdown(stub_api):
    proc = run_bootstrap(stub_api.address, "misbehave.handler")
    stub_api.add_event(b'{"do": "leave_thread"}')
    assert len(stub_api.wait_posts(1)) == 1
    time.sleep(0.2 * TIME_SCALE)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10 * TIME_SCALE)
    assert proc.returncode == 0
    assert time.monotonic() - t0 < 0.5 * TIME_SCALE


@pytest.mark.parametrize("action", ["close_stdout", "close_fd1", "redirect_stdout", "redirect_fd1"])
def test_stdout_closed_or_redirected(function, action):
    f, pid = start(function)
    r = f.invoke({"do": action})
    assert r.status == 200, r
    # errors are still reported (their log line goes to fd 1, or nowhere if fd 1 is gone)
    reported(f, {"do": "raise_error"}, "ValueError", pid)
    reported(f, {"do": "lone_surrogate_error_high"}, "ValueError", pid)
    assert echo(f, 7)["pid"] == pid


def test_stdout_closed_error_log_still_reaches_the_log(function):
    f, pid = start(function)
    f.invoke({"do": "close_stdout"})
    reported(f, {"do": "raise_error"}, "ValueError", pid)
    assert f.wait_for_output("[ERROR] ValueError: handler failed")


def test_changing_cwd(function, tmp_path):
    f, pid = start(function)
    r = f.invoke({"do": "chdir", "to": str(tmp_path)})
    assert r.json() == str(tmp_path)
    body = echo(f)
    assert body["pid"] == pid and body["cwd"] == str(tmp_path)  # as in the managed runtime: kept


def test_cwd_removed_then_error(function):
    f, pid = start(function)
    body = reported(f, {"do": "chdir_deleted_then_raise"}, "RuntimeError", pid)
    assert body["errorMessage"] == "cwd is gone"
    # the user's own os.getcwd() now fails: that is the handler's error, reported as such
    r = f.invoke({"do": "echo"})
    assert r.json()["errorType"] == "FileNotFoundError"


def test_alarm_handler_raising_inside_the_handler(function):
    f, pid = start(function)
    body = reported(f, {"do": "alarm_raises", "seconds": 0.2, "sleep": 5}, "TimeoutError", pid)
    assert body["errorMessage"] == "alarm fired"


def test_alarm_handler_raising_while_idle_is_logged_and_the_loop_goes_on(function):
    # The handler arms a timer whose Python handler raises, and returns: the exception comes
    # while the runtime waits for the next event. It is logged; it is not a reason to stop.
    f, pid = start(function)
    assert f.invoke({"do": "alarm_raises_later", "seconds": 0.2}).json() == "alarm set"
    assert f.wait_for_output("TimeoutError: alarm fired"), f.output()[-2000:]
    assert echo(f)["pid"] == pid
    assert emulator_status(f)["inits"] == 1


def test_alarm_default_action_while_idle(function):
    # signal.alarm() without a handler: SIGALRM's default action ends the process, as it would
    # any Python program. Idle at that moment: the next invoke starts a new runtime.
    f, pid = start(function)
    assert f.invoke({"do": "alarm", "seconds": 1}).json() == "alarm set"
    deadline = time.monotonic() + 10 * TIME_SCALE
    while emulator_status(f)["runtime"]["returncode"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert emulator_status(f)["runtime"]["returncode"] == -signal.SIGALRM
    assert echo(f)["pid"] != pid


def test_alarm_default_action_during_an_invocation(function):
    f, pid = start(function)
    assert f.invoke({"do": "alarm", "seconds": 1}).json() == "alarm set"
    r = f.invoke({"do": "sleep", "seconds": 5})
    assert r.status == 502 and r.json()["errorType"] == "Runtime.ExitError"
    assert "signal: alarm clock" in r.json()["errorMessage"]
    assert echo(f)["pid"] != pid


# --- the process ends: the error is posted first (or the platform reports it) --------------


@pytest.mark.parametrize("action,code", [("sys_exit_0", 0), ("sys_exit_3", 3), ("keyboard_interrupt", 130)])
def test_exit_posts_runtime_exit_error_first(stub_api, action, code):
    request_id = stub_api.add_event(json.dumps({"do": action}).encode())
    proc = run_bootstrap(stub_api.address, "misbehave.handler")
    out, err = proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == code
    posts = stub_api.wait_posts(1)
    assert len(posts) == 1
    path, headers, body = posts[0]
    assert path == f"/2018-06-01/runtime/invocation/{request_id}/error"
    assert headers["lambda-runtime-function-error-type"] == "Runtime.ExitError"
    doc = json.loads(body)
    assert doc["errorType"] == "Runtime.ExitError"
    assert doc["errorMessage"] == f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
    assert doc["stackTrace"], doc


@pytest.mark.parametrize("action,message", [
    ("sys_exit_0", "Runtime exited without providing a reason"),
    ("sys_exit_3", "Runtime exited with error: exit status 3"),
    ("os_exit_3", "Runtime exited with error: exit status 3"),
    ("segfault", "Runtime exited with error: signal: segmentation fault"),
])
def test_process_end_is_reported_and_the_next_invocation_served(function, action, message):
    f, pid = start(function)
    r = f.invoke({"do": action})
    assert r.status == 502, r
    assert r.json()["errorType"] == "Runtime.ExitError"
    assert r.json()["errorMessage"].endswith(message)
    body = echo(f, 2)
    assert body["pid"] != pid
    assert emulator_status(f)["inits"] == 2


def test_unreportable_process_end(stub_api):
    """os._exit ends the process before any code of the runtime can run: nothing is posted, and
    the platform reports the invoke as Runtime.ExitError (as it does for the managed runtime)."""
    stub_api.add_event(json.dumps({"do": "os_exit_3"}).encode())
    proc = run_bootstrap(stub_api.address, "misbehave.handler")
    proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 3
    assert stub_api.wait_posts(1, timeout=0.5) == []


def test_segfault_is_reported_before_the_process_dies(stub_api):
    """A crash in native code posts Runtime.ExitError naming the signal, with the Python frames
    (tests/integration/test_crash.py has the rest), then dies of the signal as before."""
    request_id = stub_api.add_event(json.dumps({"do": "segfault"}).encode())
    proc = run_bootstrap(stub_api.address, "misbehave.handler")
    proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == -signal.SIGSEGV
    posts = stub_api.wait_posts(1, timeout=1)
    assert [p[0] for p in posts] == [f"/2018-06-01/runtime/invocation/{request_id}/error"]
    doc = json.loads(posts[0][2])
    assert doc["errorType"] == "Runtime.ExitError"
    assert doc["errorMessage"].endswith("signal: segmentation fault (SIGSEGV)")
    assert any(", in segfault\n" in entry for entry in doc["stackTrace"]), doc


# --- hostile events and results: reported, the process goes on ---------------------------------


def test_self_referencing_result_is_a_marshal_error(function):
    f, pid = start(function)
    body = reported(f, {"do": "self_reference"}, "Runtime.MarshalError", pid)
    assert body["errorMessage"] == "Unable to marshal response: Circular reference detected"


def test_json_nested_deeper_than_the_recursion_limit_is_an_unmarshal_error(function):
    f, pid = start(function)
    r = f.invoke(raw=b"[" * 200000 + b"]" * 200000, headers={"Content-Type": "application/json"})
    assert r.status == 200 and r.json()["errorType"] == "Runtime.UnmarshalError", r
    assert echo(f)["pid"] == pid


def test_json_int_of_5000_digits(function):
    # Pythons with the int/str conversion limit (3.9.14+, 3.10.7+, 3.11+) refuse it: an unmarshal
    # error. Older ones (Debian 11's 3.9.2) parse it: served.
    f, pid = start(function)
    digits = "1" * 5000
    r = f.invoke(raw=('{"do": "echo", "value": %s}' % digits).encode(), headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    if "x-amz-function-error" in r.headers:
        assert r.json()["errorType"] == "Runtime.UnmarshalError"
        assert "4300 digits" in r.json()["errorMessage"]
    else:
        assert b'"echo": ' + digits.encode() in r.body
    assert echo(f)["pid"] == pid
