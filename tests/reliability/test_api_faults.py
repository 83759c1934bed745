"""Faults of the Runtime API (issue 6): each is served, retried, or reported and exited --
never a hang, a crash or an invocation dropped without a word.

The emulator injects the faults (emulator/README.md, "Fault injection"); /next faults act when
an event is handed out, so each one hits the next invoke."""

import os
import re
import socket
import subprocess
import time

import pytest

from conftest import TIME_SCALE, add_faults, control, emulator_status, run_bootstrap, wait_ready

PAD = "p" * (256 * 1024)  # big enough that "half the body" is many packets


def start(function, **kwargs):
    f = function("misbehave.handler", **kwargs)
    r = f.invoke({"do": "echo", "value": "warm"})
    assert r.status == 200, r
    assert wait_ready(f)
    return f


def served(f, value, pad=""):
    r = f.invoke({"do": "echo", "value": value, "pad": pad}, timeout=30)
    assert r.status == 200, (r, f.output()[-3000:])
    body = r.json()
    assert body["echo"] == value and body["size"] == len(pad)
    return body


def inits(f):
    return emulator_status(f)["inits"]


def faults_left(f):
    return control(f, "GET", "/_emulator/faults")[1]


# --- served after a retry -------------------------------------------------------------


@pytest.mark.parametrize("fault", [
    {"fault": "status", "status": 502},
    {"fault": "status", "status": 503, "count": 3},
    {"fault": "reset"},
    {"fault": "reset_mid_body"},
    {"fault": "short_body"},
], ids=lambda f: f["fault"] + str(f.get("status", "")))
def test_next_fault_is_retried_and_served(function, fault):
    f = start(function)
    add_faults(f, {"endpoint": "next", **fault})
    served(f, 1, PAD)
    assert faults_left(f) == []
    assert inits(f) == 1, "the runtime restarted instead of retrying"
    served(f, 2)


@pytest.mark.parametrize("endpoint,action", [("response", "echo"), ("error", "raise_error")])
@pytest.mark.parametrize("kind", ["reset", "reset_mid_body"])
def test_post_reset_is_retried_and_served(function, endpoint, action, kind):
    f = start(function)
    add_faults(f, {"endpoint": endpoint, "fault": kind})
    r = f.invoke({"do": action, "value": 1, "pad": PAD})
    assert r.status == 200, r
    if endpoint == "response":
        assert r.json()["echo"] == 1
    else:
        assert r.json()["errorType"] == "ValueError"
    assert faults_left(f) == []
    assert inits(f) == 1
    served(f, 2)


@pytest.mark.parametrize("endpoint,action", [("response", "echo"), ("error", "raise_error")])
def test_post_answer_lost_after_it_counted_is_not_duplicated(function, endpoint, action):
    # The platform recorded the post but the connection broke before its answer: the retry gets
    # 403 (already answered), which is logged; the client got the first post, once.
    f = start(function)
    add_faults(f, {"endpoint": endpoint, "fault": "reset_after"})
    r = f.invoke({"do": action, "value": 1})
    assert r.status == 200, r
    if endpoint == "response":
        assert r.json()["echo"] == 1
    else:
        assert r.json()["errorType"] == "ValueError"
    served(f, 2)
    assert inits(f) == 1
    assert f.wait_for_output("answered HTTP 403")
    assert f.output().count("START RequestId") == 3 and f.output().count("END RequestId") == 3


# --- served, the answer handled ---------------------------------------------------------


def test_next_with_64k_of_headers_is_served(function):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "big_headers", "size": 65536},
               {"endpoint": "next", "fault": "big_headers", "size": 65536, "split": True})
    served(f, 1)
    served(f, 2)
    assert faults_left(f) == [] and inits(f) == 1


@pytest.mark.parametrize("header", ["Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context",
                                    "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Aws-Tenant-Id"])
def test_next_with_a_64k_context_header_is_served(function, header):
    f = start(function)
    value = '{"custom": {"k": "%s"}}' % ("c" * 65536) if "Context" in header else "v" * 65536
    add_faults(f, {"endpoint": "next", "fault": "headers", "set": {header: value}})
    served(f, 1)
    served(f, 2)
    assert inits(f) == 1


@pytest.mark.parametrize("value", ["not-a-number", "", "-5", "99999999999999999999999", "1e12", "12abc"])
def test_next_with_invalid_deadline_is_served_with_no_time_left(function, value):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "deadline", "value": value})
    body = served(f, 1)
    # An unusable deadline counts as already passed: get_remaining_time_in_millis() is 0.
    assert body["remaining"] == 0
    assert served(f, 2)["remaining"] > 0


def test_slow_next_is_waited_for(function):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "delay", "seconds": 1.5},
               {"endpoint": "next", "fault": "slow_body", "seconds": 1.5, "pieces": 6})
    t0 = time.monotonic()
    served(f, 1, PAD)
    served(f, 2, PAD)
    assert time.monotonic() - t0 >= 2.8
    assert inits(f) == 1


@pytest.mark.parametrize("endpoint,action", [("response", "echo"), ("error", "raise_error")])
def test_slow_post_answer_is_waited_for(function, endpoint, action):
    f = start(function)
    add_faults(f, {"endpoint": endpoint, "fault": "delay", "seconds": 1.5})
    t0 = time.monotonic()
    r = f.invoke({"do": action, "value": 1})
    assert r.status == 200 and time.monotonic() - t0 >= 1.4
    assert inits(f) == 1
    served(f, 2)


@pytest.mark.parametrize("status", [413, 400])
def test_post_refused_is_logged_and_the_loop_goes_on(function, status):
    # The platform records the post but answers 4xx (as real Lambda does with 413 when it has
    # already turned the invoke into Function.ResponseSizeTooLarge): logged, no exit.
    f = start(function)
    add_faults(f, {"endpoint": "response", "fault": "status", "status": status})
    r = f.invoke({"do": "echo", "value": 1})
    assert r.status == 200 and r.json()["echo"] == 1
    assert f.wait_for_output(f"answered HTTP {status}")
    assert "bootstrap: the platform refused the result of" in f.output()
    served(f, 2)
    assert inits(f) == 1


def test_error_post_refused_is_logged_and_the_loop_goes_on(function):
    f = start(function)
    add_faults(f, {"endpoint": "error", "fault": "status", "status": 400})
    r = f.invoke({"do": "raise_error"})
    assert r.status == 200 and r.json()["errorType"] == "ValueError"
    assert f.wait_for_output("answered HTTP 400")
    served(f, 2)
    assert inits(f) == 1


def test_real_413_for_a_10mb_result(function):
    f = start(function)
    r = f.invoke({"do": "big_result", "size": 10 * 1024 * 1024}, timeout=60)
    assert r.status == 200
    assert r.json()["errorType"] == "Function.ResponseSizeTooLarge"
    assert r.headers.get("x-amz-function-error") == "Unhandled"
    served(f, 2)
    assert inits(f) == 1
    assert "answered HTTP 413" in f.output()


# --- reported and exited: the platform reports the invoke, the next one is served --------


def exited_with(f, r, text):
    assert r.status == 502, r
    assert r.json()["errorType"] == "Runtime.ExitError"
    assert "exit status 1" in r.json()["errorMessage"]
    assert f.wait_for_output(text), f.output()[-3000:]


def test_next_500_exits_with_a_clear_message(function):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "status", "status": 500})
    r = f.invoke({"do": "echo", "value": 1})
    exited_with(f, r, "bootstrap: exiting: GET http://")
    assert "answered HTTP 500" in f.output()
    served(f, 2)
    assert inits(f) == 2


def test_next_502_forever_exits_after_retries(function):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "status", "status": 502, "count": -1})
    t0 = time.monotonic()
    r = f.invoke({"do": "echo", "value": 1})
    assert time.monotonic() - t0 < 10 * TIME_SCALE
    exited_with(f, r, "answered HTTP 502")
    control(f, "DELETE", "/_emulator/faults")
    served(f, 2)


def test_next_without_request_id_exits_with_a_clear_message(function):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "no_request_id"})
    r = f.invoke({"do": "echo", "value": 1})
    exited_with(f, r, "without a Lambda-Runtime-Aws-Request-Id header")
    served(f, 2)


@pytest.mark.parametrize("request_id", ["../../init/error", "a b", "x" * 300, "id\u00e9"])
def test_next_with_unusable_request_id_exits(function, request_id):
    f = start(function)
    add_faults(f, {"endpoint": "next", "fault": "headers",
                   "set": {"Lambda-Runtime-Aws-Request-Id": request_id}})
    r = f.invoke({"do": "echo", "value": 1})
    exited_with(f, r, "unusable request id")
    served(f, 2)


def test_post_500_exits_with_a_clear_message(function):
    f = start(function)
    add_faults(f, {"endpoint": "response", "fault": "status", "status": 500})
    r = f.invoke({"do": "echo", "value": 1})
    exited_with(f, r, "bootstrap: lost the Runtime API, exiting")
    served(f, 2)


def test_response_ignored_with_400_ends_in_exit_error(function):
    # The platform refuses the post *and* keeps the invoke open: the runtime's next /next gets
    # 403 (an invoke is still unanswered), so it exits and the platform reports the invoke.
    f = start(function)
    add_faults(f, {"endpoint": "response", "fault": "status", "status": 400, "process": False})
    r = f.invoke({"do": "echo", "value": 1})
    exited_with(f, r, "answered HTTP 403")
    assert "answered HTTP 400" in f.output()
    served(f, 2)


def test_post_reset_forever_exits_after_retries(function):
    f = start(function)
    add_faults(f, {"endpoint": "response", "fault": "reset", "count": -1})
    t0 = time.monotonic()
    r = f.invoke({"do": "echo", "value": 1})
    assert time.monotonic() - t0 < 10 * TIME_SCALE
    exited_with(f, r, "bootstrap: lost the Runtime API, exiting")
    control(f, "DELETE", "/_emulator/faults")
    served(f, 2)


# --- no Runtime API at all --------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_at_start_retries_then_exits():
    address = "127.0.0.1:%d" % free_port()  # nobody listens there
    t0 = time.monotonic()
    proc = run_bootstrap(address, "misbehave.handler")
    out, err = proc.communicate(timeout=30 * TIME_SCALE)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1
    err = err.decode()
    assert address in err and "exiting" in err, err
    assert re.search(r"(Could not|Couldn't|Failed to) connect", err, re.I), err
    assert 1.2 < elapsed < 10 * TIME_SCALE, elapsed  # ~1.3 s of retries, then out


def test_runtime_api_gone_mid_run_exits():
    """One event served, then the Runtime API closes its connections and stops listening."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    address = "127.0.0.1:%d" % listener.getsockname()[1]
    state = {"gets": 0, "gone": threading.Event(), "conns": []}
    body = b'{"do": "echo", "value": 1}'

    def serve(conn):
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                length = 0
                while True:
                    header = reader.readline()
                    if header in (b"\r\n", b""):
                        break
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                reader.read(length)
                if b" /2018-06-01/runtime/" not in line:  # the Extensions API: not here
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif line.startswith(b"GET "):
                    state["gets"] += 1
                    if state["gets"] > 1:
                        state["gone"].set()  # the runtime waits in /next again: vanish
                        return
                    conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n"
                                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                else:
                    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            return
        finally:
            reader.close()
            conn.close()

    def accept():
        while not state["gone"].is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            state["conns"].append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    proc = run_bootstrap(address, "misbehave.handler")
    try:
        assert state["gone"].wait(20 * TIME_SCALE), "the runtime never came back to /next"
        t0 = time.monotonic()
        listener.close()
        for conn in state["conns"]:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        out, err = proc.communicate(timeout=30 * TIME_SCALE)
        assert proc.returncode == 1
        assert "bootstrap: exiting: GET" in err.decode(), err
        assert time.monotonic() - t0 < 10 * TIME_SCALE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
