"""The project's emulator against AWS's Runtime Interface Emulator: the same requests, with the
same bootstrap and handlers behind each, and the answers compared (status and body) where the two
should agree. Where the emulator differs on purpose (emulator/README.md), DELIBERATE says how, and
the case checks each side's own answer.

Environment: INTEGRATION_RIE (the RIE binary), BOOTSTRAP_BIN.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUNCTIONS = os.path.join(ROOT, "tests", "integration", "functions")
EMULATOR = os.path.join(ROOT, "emulator", "lambda_emulator.py")
RIE = os.environ.get("INTEGRATION_RIE", "")
BOOTSTRAP = os.environ.get("BOOTSTRAP_BIN", os.path.join(ROOT, "bootstrap"))
INVOKE = "/2015-03-31/functions/function/invocations"
LIMIT = 6 * 1024 * 1024 + 100


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One emulator ("emulator" or "rie") serving one handler through the bootstrap."""

    def __init__(self, kind, handler, env=None):
        self.kind = kind
        self.port = _free_port()
        program = [RIE] if kind == "rie" else [sys.executable, EMULATOR]
        args = program + ["--runtime-interface-emulator-address", "127.0.0.1:%d" % self.port,
                          "--runtime-api-address", "127.0.0.1:%d" % _free_port(), BOOTSTRAP, handler]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_LAMBDA_", "EMULATOR_", "_HANDLER", "PYTHON"))}
        full_env.update({"LAMBDA_TASK_ROOT": FUNCTIONS, "AWS_LAMBDA_FUNCTION_NAME": "compared"})
        full_env.update(env or {})
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, env=full_env, cwd=FUNCTIONS, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("%s did not start: %s" % (kind, self.output()))
                time.sleep(0.02)

    def invoke(self, body=b"{}", headers=None, method="POST", path=INVOKE, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def output(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@pytest.fixture
def both():
    if not RIE or not os.path.exists(RIE):
        pytest.fail("INTEGRATION_RIE must name the RIE binary (make test-emulator-vs-rie installs it)")
    started = []

    def start(handler, env=None):
        pair = {kind: Server(kind, handler, env) for kind in ("emulator", "rie")}
        started.extend(pair.values())
        return pair

    yield start
    for s in started:
        s.stop()


def _body(data):
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def same(pair, *requests, **kwargs):
    """Sends each request to both; the (status, body) sequences must be equal."""
    answers = {}
    for kind, server in pair.items():
        answers[kind] = [(status, _body(data)) for status, data in
                         (server.invoke(*req, **kwargs) for req in requests)]
    assert answers["emulator"] == answers["rie"], answers
    return answers["rie"]


RID = "0f0e0d0c-0b0a-4908-8706-050403020100"


def test_invoke_and_get(both):
    pair = both("echo.handler")
    same(pair, (b'{"a": [1, 2.5, null], "s": "\\u00e9"}',), (b"{}", {}, "GET"))


def test_unknown_path_is_404(both):
    pair = both("echo.handler")
    for kind, server in pair.items():
        assert server.invoke(path="/2015-03-31/functions/other/invocations")[0] == 404, kind


def test_handler_error_and_unmarshal_error(both):
    pair = both("errors.raise_value_error")
    (status, body), = same(pair, (b"{}", {"X-Amzn-RequestId": RID}))
    assert status == 200 and body["errorType"] == "ValueError" and body["requestId"] == RID
    pair = both("echo.handler")
    (status, body), = same(pair, (b"{not json", {"X-Amzn-RequestId": RID}))
    assert body["errorType"] == "Runtime.UnmarshalError"


def test_init_error_every_time(both):
    pair = both("echo.missing")
    answers = same(pair, (b"{}",), (b"{}",))
    assert [status for status, _ in answers] == [502, 502]
    assert answers[0][1]["errorType"] == "Runtime.HandlerNotFound"


def test_crash_and_restart(both):
    pair = both("echo.exit_now")
    answers = same(pair, (b'{"code": 3}', {"X-Amzn-RequestId": RID}))
    assert answers[0] == (502, {"errorType": "Runtime.ExitError",
                                "errorMessage": "RequestId: %s Error: Runtime exited with error: exit status 3" % RID})
    for kind, server in pair.items():  # a new runtime (its pid is each side's own)
        assert server.invoke(b'{"code": null}')[0] == 200, kind


def test_timeout_then_next(both):
    pair = both("echo.sleep", env={"AWS_LAMBDA_FUNCTION_TIMEOUT": "1"})
    answers = same(pair, (b'{"seconds": 3}',))
    assert answers == [(200, "Task timed out after 1.00 seconds")]
    for kind, server in pair.items():
        status, data = server.invoke(b'{"seconds": 0}')
        assert status == 200 and json.loads(data)["slept"] == 0, (kind, status, data)


def test_response_over_the_limit_then_next(both):
    pair = both("echo.big")
    answers = {}
    for kind, server in pair.items():
        answers[kind] = [server.invoke(b'{"size": 7340032}'), server.invoke(b'{"size": 3}')]
        assert answers[kind][1] == (200, b'"xxx"'), kind
    # DELIBERATE: the emulator words it as Lambda does, with the response's size; this RIE leaves it out
    assert json.loads(answers["emulator"][0][1]) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes)."}
    assert json.loads(answers["rie"][0][1]) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}
    assert answers["emulator"][0][0] == answers["rie"][0][0] == 200


def test_event_at_the_limit(both):
    pair = both("echo.handler")
    event = b'{"blob": "' + b"a" * (LIMIT - 12) + b'"}'
    (status, body), = same(pair, (event,))
    assert status == 200 and len(body["blob"]) == LIMIT - 12


def test_context_headers(both):
    pair = both("context_info.handler")
    cc = base64.b64encode(json.dumps({"custom": {"k": "v"}, "client": {"app_title": "A"}}).encode()).decode()
    headers = {"X-Amz-Client-Context": cc, "X-Amz-Tenant-Id": "t-1", "X-Amzn-RequestId": RID,
               "X-Amz-Cognito-Identity": json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "p-1"})}
    answers = {}
    for kind, server in pair.items():
        status, data = server.invoke(b"{}", headers)
        info = json.loads(data)
        info["remaining"] = info["remaining"]["type"]
        # DELIBERATE: log group and stream names (the emulator names them as Lambda does, per function)
        info.pop("log_group_name"), info.pop("log_stream_name")
        answers[kind] = (status, info)
    assert answers["emulator"] == answers["rie"], answers


# --- where the emulator differs on purpose (emulator/README.md): each side's own answer --------

def test_deliberate_oversized_event(both):
    """Real Lambda refuses an event over the limit; the emulator too (413), the RIE cuts it."""
    pair = both("echo.handler")
    event = b'{"blob": "' + b"a" * (LIMIT + 1 - 12) + b'"}'
    assert pair["emulator"].invoke(event)[0] == 413
    status, data = pair["rie"].invoke(event)
    assert status == 200 and json.loads(data)["errorType"] == "Runtime.UnmarshalError"


def test_deliberate_trace_id(both):
    """Lambda passes the caller's X-Amzn-Trace-Id to the runtime, as the emulator does; the RIE drops it."""
    pair = both("echo.trace_id")
    headers = {"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}
    assert json.loads(pair["emulator"].invoke(b"{}", headers)[1]) == {"trace_id": headers["X-Amzn-Trace-Id"]}
    assert json.loads(pair["rie"].invoke(b"{}", headers)[1]) == {"trace_id": None}


def test_deliberate_concurrent_invokes(both):
    """Two invokes at once: the emulator queues them and answers both; the RIE serves one and
    refuses or loses the other (upstream issues #97 and #131)."""
    pair = both("echo.sleep")
    for kind, server in pair.items():
        server.invoke(b'{"seconds": 0}')  # init first
        results = []

        def call():
            try:
                results.append(server.invoke(b'{"seconds": 0.5}', timeout=20)[0])
            except (OSError, http.client.HTTPException) as e:
                results.append(type(e).__name__)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join(30)
        if kind == "emulator":
            assert results == [200, 200], results
        else:
            assert sorted(map(str, results)) != ["200", "200"], results
