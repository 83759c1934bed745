"""Crash reports (issue 14): a fatal signal during an invocation posts /invocation/{id}/error
before the process dies of it, with the signal's name and the crashing thread's Python frames,
and logs the same to stderr. Run in every cell of the matrix (both CPUs, Python 3.9 and newer).

The stub Runtime API sees what the runtime posts; the emulator test shows what a caller gets."""

import json
import signal
import time

import pytest

from conftest import FUNCTIONS, TIME_SCALE, run_bootstrap

SIGNALS = {
    "SIGSEGV": "segmentation fault",
    "SIGBUS": "bus error",
    "SIGILL": "illegal instruction",
    "SIGFPE": "floating point exception",
    "SIGABRT": "aborted",
}
CRASH_PY = f"{FUNCTIONS}/crash.py"


def crashed(stub_api, handler, event, env=None, posts=1):
    """Runs one invocation that crashes; returns (request id, returncode, stderr, posts)."""
    request_id = stub_api.add_event(json.dumps(event).encode())
    proc = run_bootstrap(stub_api.address, handler, env=env)
    out, err = proc.communicate(timeout=30 * TIME_SCALE)
    return request_id, proc.returncode, err.decode("utf-8", "replace"), stub_api.wait_posts(posts, timeout=1)


def frames(doc):
    """stackTrace entries as (file, function)."""
    found = []
    for entry in doc["stackTrace"]:
        assert entry.startswith('  File "') and entry.endswith("\n"), entry
        file_part, _, rest = entry[len('  File "'):].partition('", line ')
        assert ", in " in rest, entry
        found.append((file_part, rest.rstrip("\n").split(", in ", 1)[1]))
    return found


def check_report(path, headers, body, request_id, name):
    assert path == f"/2018-06-01/runtime/invocation/{request_id}/error"
    assert headers["lambda-runtime-function-error-type"] == "Runtime.ExitError"
    assert headers["content-type"] == "application/vnd.aws.lambda.error+json"
    doc = json.loads(body)
    assert set(doc) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert doc["errorType"] == "Runtime.ExitError"
    assert doc["requestId"] == request_id
    assert doc["errorMessage"] == (f"RequestId: {request_id} Error: Runtime exited with error: "
                                   f"signal: {SIGNALS[name]} ({name})")
    assert not any("<bootstrap>" in f for f, _ in frames(doc)), doc  # the runtime's own frames are left out
    return doc


@pytest.mark.parametrize("name", list(SIGNALS))
def test_fatal_signal_posts_a_report_with_the_traceback(stub_api, name):
    request_id, returncode, err, posts = crashed(stub_api, "crash.handler", {"signal": name})
    assert returncode == -getattr(signal, name), err  # the process still dies of the signal
    assert len(posts) == 1, posts
    doc = check_report(*posts[0], request_id, name)
    # oldest first, as traceback.format_list: the handler, then the function that crashed
    user = [(f, fn) for f, fn in frames(doc) if f == CRASH_PY]
    assert user[:2] == [(CRASH_PY, "handler"), (CRASH_PY, "crash_here")], doc
    assert any(fn.startswith("_") for f, fn in user[2:]), doc
    # one log event on stderr: lines joined with \r, indentation as no-break spaces
    line = next(l for l in err.split("\n") if l.startswith("[ERROR] Runtime.ExitError: "))
    assert line.split("\r")[0] == f"[ERROR] Runtime.ExitError: {doc['errorMessage']}"
    assert line.split("\r")[1] == "Traceback (most recent call last):"
    assert f"\r\u00a0\u00a0File \"{CRASH_PY}\", line " in line and ", in handler\r" in line


def test_crash_in_another_thread_reports_that_threads_frames(stub_api):
    request_id, returncode, err, posts = crashed(stub_api, "crash.in_thread", {"signal": "SIGSEGV"})
    assert returncode == -signal.SIGSEGV
    doc = check_report(*posts[0], request_id, "SIGSEGV")
    names = [fn for _, fn in frames(doc)]
    assert "crash_here" in names and "_segv" in names
    assert "in_thread" not in names  # the main thread's frames are not the crashing thread's
    assert names[-2:] == ["_segv", "string_at"]


def test_deep_stack_is_cut_but_still_a_valid_report(stub_api):
    request_id, returncode, err, posts = crashed(stub_api, "crash.deep", {"depth": 500})
    assert returncode == -signal.SIGSEGV
    doc = check_report(*posts[0], request_id, "SIGSEGV")
    names = [fn for _, fn in frames(doc)]
    assert 50 <= len(names) <= 100 and names[-2:] == ["_segv", "string_at"]  # faulthandler keeps the newest 100


def test_crash_during_init_posts_an_init_error(stub_api):
    stub_api.add_event(b"{}")
    proc = run_bootstrap(stub_api.address, "crash_at_import.handler")
    out, err = proc.communicate(timeout=30 * TIME_SCALE)
    assert proc.returncode == -signal.SIGSEGV
    posts = stub_api.wait_posts(1, timeout=1)
    assert len(posts) == 1
    path, headers, body = posts[0]
    assert path == "/2018-06-01/runtime/init/error"
    assert headers["lambda-runtime-function-error-type"] == "Runtime.ExitError"
    doc = json.loads(body)
    assert doc["errorMessage"] == "Runtime exited with error: signal: segmentation fault (SIGSEGV)"
    assert doc["requestId"] == ""
    assert (f"{FUNCTIONS}/crash_at_import.py", "<module>") in frames(doc)
    assert (f"{FUNCTIONS}/crash_at_import.py", "_load_native_part") in frames(doc)


def test_crash_between_invocations_is_logged_not_posted(stub_api):
    stub_api.add_event(json.dumps({"after": 0.3}).encode())
    proc = run_bootstrap(stub_api.address, "crash.later")
    out, err = proc.communicate(timeout=30 * TIME_SCALE)
    err = err.decode()
    assert proc.returncode == -signal.SIGSEGV
    posts = stub_api.wait_posts(2, timeout=1)
    assert [p[0].rsplit("/", 1)[1] for p in posts] == ["response"]  # only the invocation's answer
    line = next(l for l in err.split("\n") if l.startswith("[ERROR] Runtime.ExitError: "))
    assert line.startswith("[ERROR] Runtime.ExitError: Runtime exited with error: signal: segmentation fault")
    assert ", in wait_then_crash\r" in line


def test_a_forked_child_that_crashes_reports_nothing(stub_api):
    request_id, returncode, err, posts = crashed(stub_api, "crash.child_crashes", {})
    # the handler's own process goes on; its child's crash is not the invocation's end
    assert len(posts) == 1 and posts[0][0].endswith(f"/{request_id}/response"), posts
    assert json.loads(posts[0][2]) == {"child_signal": signal.SIGSEGV}


def test_json_log_format(stub_api):
    request_id, returncode, err, posts = crashed(stub_api, "crash.handler", {"signal": "SIGSEGV"},
                                                 env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    doc = check_report(*posts[0], request_id, "SIGSEGV")
    records = [json.loads(l) for l in err.split("\n") if l.startswith('{"timestamp"')]
    assert len(records) == 1, err
    record = records[0]
    assert record["level"] == "ERROR" and record["requestId"] == request_id
    assert record["stackTrace"] == doc["stackTrace"] and record["errorMessage"] == doc["errorMessage"]
    assert len(record["timestamp"]) == 19 and record["timestamp"][10] == "T"


def test_handler_that_takes_faulthandler_for_itself(stub_api):
    # faulthandler.enable(sys.stderr) in user code moves the traceback to stderr: the report still
    # names the signal and the invocation, without frames.
    request_id, returncode, err, posts = crashed(stub_api, "crash.user_faulthandler", {})
    assert returncode == -signal.SIGSEGV
    doc = check_report(*posts[0], request_id, "SIGSEGV")
    assert doc["stackTrace"] == []
    assert "Fatal Python error: Segmentation fault" in err


def test_no_runtime_api_to_take_the_report(stub_api):
    # The report cannot be posted: it is logged, the reason too, and the process still dies of
    # the signal (the platform then reports the invocation).
    stub_api.add_event(json.dumps({"signal": "SIGSEGV", "sleep": 1 * TIME_SCALE}).encode())
    proc = run_bootstrap(stub_api.address, "crash.handler")
    deadline = time.monotonic() + 20 * TIME_SCALE
    while stub_api.events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not stub_api.events, "the runtime never took the event"
    stub_api.close()  # gone by the time the handler crashes
    out, err = proc.communicate(timeout=30 * TIME_SCALE)
    err = err.decode()
    assert proc.returncode == -signal.SIGSEGV
    assert "[ERROR] Runtime.ExitError: RequestId: " in err
    assert "bootstrap: could not post the crash report: connect failed (errno 111)" in err


def test_the_caller_under_the_emulator(function):
    # As under AWS's RIE, a runtime that dies after posting is reported by the platform itself:
    # 502 Runtime.ExitError naming the signal; the next invoke starts a new runtime. The report
    # (with the traceback) is in the function's log.
    f = function("crash.handler")
    assert f.invoke({"a": 1}).json() == {"a": 1}
    r = f.invoke({"signal": "SIGSEGV"})
    assert r.status == 502, r
    assert r.json()["errorType"] == "Runtime.ExitError"
    assert r.json()["errorMessage"].endswith("Runtime exited with error: signal: segmentation fault")
    assert f.wait_for_output("[ERROR] Runtime.ExitError: RequestId: "), f.output()[-3000:]
    assert ", in crash_here" in f.output()
    assert f.invoke({"a": 2}).json() == {"a": 2}  # a new runtime
