"""Tests for emulator/lambda_emulator.py, against tests/emulator/fake_runtime.py.

Every emulator runs on loopback with OS-chosen ports (read from --port-file),
every wait is bounded, and every emulator is stopped at teardown.
"""

import base64
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EMULATOR = str(ROOT / "emulator" / "lambda_emulator.py")
FAKE = str(ROOT / "tests" / "emulator" / "fake_runtime.py")
INVOKE = "/2015-03-31/functions/function/invocations"
API = "/2018-06-01/runtime"
MAX_PAYLOAD = 6 * 1024 * 1024 + 100


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Resp(%d, %r, %r)" % (self.status, self.headers, self.body[:300])


def request(addr, method, path, body=None, headers=None, timeout=10.0, conn=None):
    own = conn is None
    if own:
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        if own:
            conn.close()


sys.path.insert(0, str(ROOT / "emulator"))
import lambda_emulator  # noqa: E402  (for the in-process mode and the unit checks)

sys.path.pop(0)


class Emu:
    """One emulator. By default it runs inside the test process (no interpreter
    start-up per test); process=True runs the real CLI in a subprocess, which the
    tests of the command line, the port file and signals need."""

    def __init__(self, tmp_path, behaviour="echo", env=None, eager=False, command=None, process=False):
        self.tmp = tmp_path / ("emu-%s" % uuid.uuid4().hex[:8])
        self.tmp.mkdir()
        self.port_file = self.tmp / "ports.json"
        self.out_path = self.tmp / "stdout"
        self.err_path = self.tmp / "stderr"
        full_env = dict(os.environ)
        for key in list(full_env):
            if key.startswith(("AWS_LAMBDA_", "EMULATOR_")) or key in ("_HANDLER", "FAKE_MARKER"):
                del full_env[key]
        full_env.update(env or {})
        argv = ["--runtime-interface-emulator-address", "127.0.0.1:0",
                "--runtime-api-address", "127.0.0.1:0",
                "--port-file", str(self.port_file)]
        if eager:
            argv.append("--eager")
        argv += command or [sys.executable, FAKE, behaviour]
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = self.emulator = None
        if process:
            self.proc = subprocess.Popen([sys.executable, EMULATOR] + argv, env=full_env,
                                         stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        else:
            config = lambda_emulator.Config(lambda_emulator.build_parser().parse_args(argv), full_env)
            self.emulator = lambda_emulator.Emulator(config, lambda_emulator.Log(self.out, self.err))
            self.emulator.start()
        deadline = time.monotonic() + 10
        while not self.port_file.exists():
            if (self.proc and self.proc.poll() is not None) or time.monotonic() > deadline:
                raise AssertionError("emulator did not start:\n" + self.output() + self.errors())
            time.sleep(0.02)
        ports = json.loads(self.port_file.read_text())
        self.invoke_addr = ports["invoke"]
        self.api_addr = ports["runtime_api"]

    def output(self):
        return self.out_path.read_text(errors="replace")

    def errors(self):
        return self.err_path.read_text(errors="replace")

    def invoke(self, body=b"{}", headers=None, timeout=10.0, method="POST", path=INVOKE, conn=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return request(self.invoke_addr, method, path, body, hdrs, timeout, conn)

    def api(self, method, path, body=None, headers=None, timeout=10.0, conn=None):
        return request(self.api_addr, method, API + path, body, headers, timeout, conn)

    def ext_api(self, method, path, body=None, headers=None, timeout=10.0):
        return request(self.api_addr, method, "/2020-01-01/extension" + path, body, headers, timeout)

    def status(self):
        return request(self.invoke_addr, "GET", "/_emulator/status").json()

    def wait_for(self, predicate, timeout=5.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("timed out waiting for %s\n%s%s" % (what, self.output(), self.errors()))

    def stop(self, timeout=8.0):
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
            returncode = 0
        elif self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            returncode = self.proc.returncode
        else:
            returncode = None
        if not self.out.closed:
            self.out.close()
            self.err.close()
        return returncode


@pytest.fixture
def emulator(tmp_path):
    started = []

    def start(*args, **kwargs):
        emu = Emu(tmp_path, *args, **kwargs)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Happy path, headers, environment


def test_echo_keepalive_and_logs(emulator):
    emu = emulator("echo", process=True)
    host, port = emu.invoke_addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    ids = []
    for i in range(3):
        r = emu.invoke({"n": i}, conn=conn)
        assert r.status == 200, r
        assert json.loads(r.body) == {"n": i}
        assert r.headers["content-type"] == "application/json"
        assert "x-amz-function-error" not in r.headers
        ids.append(r.headers["x-amzn-requestid"])
    conn.close()
    out = emu.output()
    assert "emulator: listening on %s" % emu.invoke_addr in out
    assert out.count("INIT_START") == 1
    for rid in ids:
        assert "START RequestId: %s Version: $LATEST" % rid in out
        assert "END RequestId: %s" % rid in out
        assert re.search(r"REPORT RequestId: %s\t.*Duration: [\d.]+ ms\tBilled Duration" % rid, out)
    assert "Init Duration" in out.split("REPORT RequestId: " + ids[0])[1].splitlines()[0]
    assert "Init Duration" not in out.split("REPORT RequestId: " + ids[1])[1].splitlines()[0]


def test_get_invoke_unknown_path_and_binary_event(emulator):
    emu = emulator("echo")
    assert emu.invoke(b'{"g":1}', method="GET").body == b'{"g":1}'
    assert emu.invoke(b"{}", path="/nope").status == 404
    assert emu.api("GET", "/nope").status == 404
    blob = bytes(range(256)) * 3
    r = emu.invoke(blob, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200 and r.body == blob
    assert r.headers["content-type"] == "application/octet-stream"


def test_next_headers_and_environment(emulator):
    emu = emulator("headers", env={"AWS_LAMBDA_FUNCTION_NAME": "my-fn", "MY_PASSTHROUGH": "yes",
                                   "AWS_LAMBDA_FUNCTION_TIMEOUT": "30"})
    ctx = {"custom": {"k": "v"}, "client": {"app_title": "t"}}
    cognito = '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}'
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    before = time.time() * 1000
    r = emu.invoke({"x": 1}, headers={
        "X-Amzn-Trace-Id": trace,
        "X-Amz-Client-Context": base64.b64encode(json.dumps(ctx).encode()).decode(),
        "X-Amz-Cognito-Identity": cognito,
        "X-Amz-Tenant-Id": "tenant-7",
    })
    assert r.status == 200, r
    doc = r.json()
    h, env = doc["headers"], doc["env"]
    rid = h["lambda-runtime-aws-request-id"]
    assert str(uuid.UUID(rid)) == rid and r.headers["x-amzn-requestid"] == rid
    assert before + 29000 < int(h["lambda-runtime-deadline-ms"]) < time.time() * 1000 + 30001
    assert h["lambda-runtime-invoked-function-arn"] == \
        "arn:aws:lambda:us-east-1:012345678912:function:my-fn"
    assert h["lambda-runtime-trace-id"] == trace
    assert json.loads(h["lambda-runtime-client-context"]) == ctx
    assert h["lambda-runtime-cognito-identity"] == cognito
    assert h["lambda-runtime-aws-tenant-id"] == "tenant-7"
    assert h["content-type"] == "application/json"

    assert env["AWS_LAMBDA_RUNTIME_API"] == emu.api_addr
    assert env["_HANDLER"] == "headers"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "my-fn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "3008"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/my-fn"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["AWS_ACCESS_KEY_ID"] == "" and "AWS_SECRET_ACCESS_KEY" in env
    assert env["MY_PASSTHROUGH"] == "yes"

    # Without the optional client headers, the optional /next headers are absent.
    h = emu.invoke(b"{}", headers={"Content-Type": "application/x-www-form-urlencoded"}).json()["headers"]
    for name in ("lambda-runtime-trace-id", "lambda-runtime-client-context",
                 "lambda-runtime-cognito-identity", "lambda-runtime-aws-tenant-id"):
        assert name not in h
    assert h["content-type"] == "application/json"  # curl -d's default is not passed on
    assert emu.invoke(b"{}", headers={"X-Amz-Client-Context": "%%%"}).status == 400


# ---------------------------------------------------------------------------
# Function errors


@pytest.mark.parametrize("sent,kept", [
    ("Function.MyError", "Function.MyError"),
    ("Runtime.NoSuchHandler", "Runtime.NoSuchHandler"),
    ("ValueError", "Runtime.Unknown"),
    ("Function.lowercase", "Function.Unknown"),
    (None, "Runtime.Unknown"),
])
def test_error_type_validation(sent, kept):
    assert lambda_emulator.valid_error_type(sent) == kept


def test_function_error_passthrough(emulator):
    emu = emulator("echo")
    r = emu.invoke({"do": "error", "message": "bad thing", "error_type": "Function.MyError"})
    assert r.status == 200, r
    assert r.headers["x-amz-function-error"] == "Unhandled"
    assert r.headers["x-amz-function-error-type"] == "Function.MyError"
    doc = r.json()
    assert doc["errorMessage"] == "bad thing" and doc["requestId"] == r.headers["x-amzn-requestid"]
    r = emu.invoke({"do": "error", "error_type": "ValueError"})
    assert r.headers["x-amz-function-error-type"] == "Runtime.Unknown"
    # The X-Ray error-cause content type: errorCause is stripped, as RAPID does.
    body = json.dumps({"errorMessage": "m", "errorType": "E", "stackTrace": [],
                       "errorCause": {"paths": [], "exceptions": []}})
    r = emu.invoke({"do": "error", "raw_body": body,
                    "content_type": "application/vnd.aws.lambda.error.cause+json"})
    assert r.json() == {"errorMessage": "m", "errorType": "E", "stackTrace": []}
    assert emu.invoke({"after": 1}).json() == {"after": 1}
    assert emu.status()["inits"] == 1


# ---------------------------------------------------------------------------
# Timeouts, crashes, init errors


def test_timeout_then_recovery(emulator):
    emu = emulator("echo", env={"AWS_LAMBDA_FUNCTION_TIMEOUT": "0.5"})
    assert emu.invoke({"warm": 1}).status == 200
    pid = emu.status()["runtime"]["pid"]
    t0 = time.monotonic()
    r = emu.invoke({"do": "sleep", "seconds": 5})
    elapsed = time.monotonic() - t0
    assert r.status == 200 and r.body == b"Task timed out after 0.50 seconds", r
    assert r.headers["x-amz-function-error"] == "Unhandled"
    assert 0.45 < elapsed < 6  # generous: the CI box may be loaded
    assert not pid_alive(pid)
    assert "Task timed out after 0.50 seconds" in emu.output()
    r = emu.invoke({"after": "timeout"})
    assert r.status == 200 and r.json() == {"after": "timeout"}
    st = emu.status()
    assert st["inits"] == 2 and st["runtime"]["pid"] != pid


CRASHES = [
    ({"do": "exit", "code": 3}, "Runtime exited with error: exit status 3"),
    ({"do": "signal", "signo": 9}, "Runtime exited with error: signal: killed"),
    ({"do": "signal", "signo": 11}, "Runtime exited with error: signal: segmentation fault"),
    # As the RIE: a response followed by an exit is lost, even with status 0.
    ({"do": "respond_then_exit", "code": 0}, "Runtime exited without providing a reason"),
]


def test_crash_then_recovery(emulator):
    emu = emulator("echo")
    for n, (event, text) in enumerate(CRASHES):
        r = emu.invoke(event)
        assert r.status == 502, r
        rid = r.headers["x-amzn-requestid"]
        assert r.json() == {"errorType": "Runtime.ExitError",
                            "errorMessage": "RequestId: %s Error: %s" % (rid, text)}
        assert r.headers["x-amz-function-error-type"] == "Runtime.ExitError"
        assert "END RequestId: " + rid in emu.output()
        r = emu.invoke({"ok": n})
        assert r.status == 200 and r.json() == {"ok": n}
        assert emu.status()["inits"] == n + 2


def test_response_held_until_next(emulator):
    # As the RIE: the client gets the response once the runtime asks for the next event.
    emu = emulator("echo")
    emu.invoke({"warm": 1})
    t0 = time.monotonic()
    r = emu.invoke({"do": "slow_next", "seconds": 0.3})
    assert r.status == 200 and time.monotonic() - t0 >= 0.28


def test_init_error_twice(emulator):
    emu = emulator("init_error")
    for _ in range(2):
        r = emu.invoke({})
        assert r.status == 502, r
        assert r.json()["errorType"] == "Runtime.ImportModuleError"
        assert r.json()["errorMessage"] == "Unable to import module 'app'"
        assert r.headers["x-amz-function-error-type"] == "Runtime.ImportModuleError"
    out = emu.output()
    assert out.count("INIT_START") == 2
    assert "Status: error\tError Type: Runtime.ImportModuleError" in out
    assert emu.status()["inits"] == 2


def test_init_timeout(emulator):
    emu = emulator("init_hang", env={"EMULATOR_INIT_TIMEOUT": "0.5", "AWS_LAMBDA_FUNCTION_TIMEOUT": "3"})
    t0 = time.monotonic()
    r = emu.invoke({})
    assert r.status == 200 and r.body == b"Task timed out after 3.00 seconds", r
    assert 0.45 < time.monotonic() - t0 < 2.5
    assert "Phase: init\tStatus: timeout" in emu.output()
    assert emu.status()["runtime"]["state"] in ("Killed", "Exited")


def test_init_crash_and_bad_entrypoint(emulator):
    emu = emulator("init_crash")
    for _ in range(2):
        r = emu.invoke({})
        assert r.status == 502
        assert r.json()["errorType"] == "Runtime.ExitError"
        assert r.json()["errorMessage"].endswith("Runtime exited with error: exit status 2")
    emu = emulator(command=["/nonexistent/bootstrap", "app.handler"])
    r = emu.invoke({})
    assert r.status == 502 and r.json()["errorType"] == "Runtime.InvalidEntrypoint", r


# ---------------------------------------------------------------------------
# Payload limits


def test_request_too_large(emulator):
    emu = emulator("echo")
    r = emu.invoke(b"x" * (MAX_PAYLOAD + 1), headers={"Content-Type": "application/octet-stream"})
    assert r.status == 413, r
    exact = b"y" * MAX_PAYLOAD
    r = emu.invoke(exact, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200 and r.body == exact
    assert emu.status()["invocations"] == 1


def test_response_too_large(emulator):
    emu = emulator("echo")
    r = emu.invoke({"do": "huge", "size": 7000002})
    assert r.status == 200, r
    assert r.headers["x-amz-function-error"] == "Unhandled"
    assert r.json() == {"errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": "Response payload size (7000002 bytes) exceeded maximum "
                                        "allowed payload size (6291556 bytes)."}
    # The runtime's POST got 413 RequestEntityTooLarge and it carried on.
    last = emu.invoke({"do": "last_post"}).json()
    assert last["status"] == 413
    assert json.loads(last["body"])["errorType"] == "RequestEntityTooLarge"
    assert emu.invoke({"do": "huge", "size": MAX_PAYLOAD}).body == b"x" * MAX_PAYLOAD
    # A runtime that dies on the 413 (as awslambdaric does) gives 502, as the RIE.
    r = emu.invoke({"do": "huge", "size": 7000002, "exit": True})
    assert r.status == 502 and r.json()["errorType"] == "Runtime.ExitError"


# ---------------------------------------------------------------------------
# Runtime API state machine, driven by hand (the runtime process just sleeps)


def test_runtime_api_by_hand(emulator):
    emu = emulator("manual", eager=True)
    results = {}

    def client(key, body):
        results[key] = emu.invoke(body, timeout=10)

    t = threading.Thread(target=client, args=("a", {"a": 1}))
    t.start()
    nxt = emu.api("GET", "/invocation/next")
    assert nxt.status == 200 and nxt.body == b'{"a": 1}'
    rid = nxt.headers["lambda-runtime-aws-request-id"]

    r = emu.api("POST", "/invocation/%s/response" % uuid.uuid4(), b"{}")
    assert r.status == 400 and r.json()["errorType"] == "InvalidRequestID"
    r = emu.api("GET", "/invocation/next")
    assert r.status == 403 and r.json()["errorType"] == "InvalidStateTransition"
    r = emu.api("POST", "/init/error", b"{}")
    assert r.status == 403

    # Chunked response body, with keep-alive.
    host, port = emu.api_addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", API + "/invocation/%s/response" % rid, body=iter([b'{"chunk', b'ed": ', b'true}']),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 202 and json.loads(resp.read()) == {"status": "OK"}
    r = emu.api("POST", "/invocation/%s/response" % rid, b"{}", conn=conn)
    assert r.status == 403 and r.json()["errorType"] == "InvalidStateTransition"
    r = emu.api("POST", "/invocation/%s/error" % rid, b"{}", conn=conn)
    assert r.status == 403

    # The client is answered once the runtime comes back for the next event.
    assert "a" not in results
    nxt2 = {}
    t2 = threading.Thread(target=lambda: nxt2.update(r=emu.api("GET", "/invocation/next", conn=conn)))
    t2.start()
    t.join(10)
    assert results["a"].status == 200 and results["a"].json() == {"chunked": True}

    t3 = threading.Thread(target=client, args=("b", {"b": 2}))
    t3.start()
    t2.join(10)
    rid2 = nxt2["r"].headers["lambda-runtime-aws-request-id"]
    r = emu.api("POST", "/invocation/%s/error" % rid, b"{}")   # stale id
    assert r.status == 400
    r = emu.api("POST", "/invocation/%s/error" % rid2, b'{"errorMessage":"x"}',
                {"Lambda-Runtime-Function-Error-Type": "Function.Bad"})
    assert r.status == 202
    # Finish b: the next /next releases it (it then blocks; run it in a thread).
    def park():
        try:
            emu.api("GET", "/invocation/next", timeout=5)
        except OSError:
            pass  # dropped when the emulator stops
    threading.Thread(target=park, daemon=True).start()
    t3.join(10)
    assert results["b"].status == 200
    assert results["b"].headers["x-amz-function-error-type"] == "Function.Bad"
    conn.close()


def test_concurrent_invokes_are_queued(emulator):
    emu = emulator("echo")
    results = []
    lock = threading.Lock()

    def client(i):
        r = emu.invoke({"do": "sleep", "seconds": 0.2, "n": i}, timeout=15)
        with lock:
            results.append(r)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert len(results) == 3
    assert sorted(r.json()["n"] for r in results if r.status == 200) == [0, 1, 2]
    assert time.monotonic() - t0 >= 0.6  # served one at a time
    st = emu.status()
    assert st["inits"] == 1 and st["invocations"] == 3


# ---------------------------------------------------------------------------
# Start-up and shutdown


def test_lazy_start(emulator, tmp_path):
    marker = tmp_path / "lazy-marker"
    emu = emulator("echo", env={"FAKE_MARKER": str(marker)})
    time.sleep(0.3)
    assert not marker.exists() and emu.status()["runtime"] is None
    assert emu.invoke({"x": 1}).status == 200
    assert marker.read_text().count("start") == 1


def test_eager_start(emulator, tmp_path):
    marker = tmp_path / "eager-marker"
    emu = emulator("echo", env={"FAKE_MARKER": str(marker)}, eager=True)
    emu.wait_for(lambda: (emu.status()["runtime"] or {}).get("state") == "Ready", what="eager init")
    assert marker.read_text().count("start") == 1
    r = emu.invoke({"x": 1})
    assert r.status == 200
    assert emu.status()["inits"] == 1


@pytest.mark.parametrize("ignore_term", [False, True])
def test_sigterm_stops_runtime(emulator, ignore_term):
    env = {"EMULATOR_SHUTDOWN_GRACE": "0.5"}
    if ignore_term:
        env["FAKE_IGNORE_TERM"] = "1"
    emu = emulator("echo", env=env, eager=True, process=True)
    emu.wait_for(lambda: (emu.status()["runtime"] or {}).get("state") == "Ready", what="eager init")
    pid = emu.status()["runtime"]["pid"]
    t0 = time.monotonic()
    assert emu.stop() == 0
    took = time.monotonic() - t0
    assert not pid_alive(pid)
    killed = "did not exit 0.5 s after SIGTERM; killing it" in emu.errors()
    assert killed == ignore_term, emu.errors()
    if ignore_term:
        assert took > 0.45  # SIGKILL only after the grace


# ---------------------------------------------------------------------------
# Fault injection


def raw_next(emu, timeout=5.0):
    """GET /next on a fresh connection; -> Resp, or the exception's class name."""
    try:
        return emu.api("GET", "/invocation/next", timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__


def test_next_faults(emulator):
    emu = emulator("manual", eager=True)
    faults = [
        {"endpoint": "next", "fault": "status", "status": 502},
        {"endpoint": "next", "fault": "no_request_id"},
        {"endpoint": "next", "fault": "short_body"},
        {"endpoint": "next", "fault": "reset_mid_body"},
        {"endpoint": "next", "fault": "reset"},
        {"endpoint": "next", "fault": "big_headers", "size": 65536, "split": True},
    ]
    r = emu.invoke(faults, path="/_emulator/faults")
    assert r.status == 200 and len(r.json()) == 6
    event = {"pad": "e" * 2000}
    results = {}
    t = threading.Thread(target=lambda: results.update(r=emu.invoke(event)))
    t.start()

    r = raw_next(emu)
    assert r.status == 502 and r.json()["errorType"] == "InjectedFault"
    r = raw_next(emu)
    assert r.status == 200 and "lambda-runtime-aws-request-id" not in r.headers
    assert json.loads(r.body) == event
    assert raw_next(emu) == "IncompleteRead"
    assert raw_next(emu) in ("IncompleteRead", "ConnectionResetError")
    assert raw_next(emu) in ("RemoteDisconnected", "ConnectionResetError")
    r = raw_next(emu)  # 64 KiB of extra headers, and this time the event is delivered
    assert r.status == 200 and json.loads(r.body) == event
    padding = [k for k in r.headers if k.startswith("x-emulator-padding")]
    assert len(padding) == 64
    rid = r.headers["lambda-runtime-aws-request-id"]
    assert emu.invoke(b"", method="GET", path="/_emulator/faults").json() == []

    # A post fault that still records the post: the runtime sees 413, the client the body.
    emu.invoke({"endpoint": "response", "fault": "status", "status": 413}, path="/_emulator/faults")
    r = emu.api("POST", "/invocation/%s/response" % rid, b'{"done":1}')
    assert r.status == 413
    threading.Thread(target=raw_next, args=(emu,), daemon=True).start()
    t.join(10)
    assert results["r"].status == 200 and results["r"].json() == {"done": 1}


def test_post_faults_and_deadline(emulator):
    emu = emulator("manual", eager=True)
    emu.invoke([{"endpoint": "next", "fault": "deadline", "value": "bogus"},
                {"endpoint": "response", "fault": "reset"},
                {"endpoint": "response", "fault": "reset_mid_body"},
                {"endpoint": "response", "fault": "status", "status": 500, "process": False},
                {"endpoint": "response", "fault": "delay", "seconds": 0.3}],
               path="/_emulator/faults")
    results = {}
    t = threading.Thread(target=lambda: results.update(r=emu.invoke({"x": 1})))
    t.start()
    r = raw_next(emu)
    assert r.headers["lambda-runtime-deadline-ms"] == "bogus"
    path = "/invocation/%s/response" % r.headers["lambda-runtime-aws-request-id"]
    big = b'{"y":"' + b"y" * 200000 + b'"}'
    for expected in ("ConnectionResetError", "ConnectionResetError"):
        try:
            emu.api("POST", path, big)
            raise AssertionError("the post should have been reset")
        except (OSError, http.client.HTTPException) as exc:
            assert type(exc).__name__ in (expected, "BrokenPipeError", "RemoteDisconnected")
    r = emu.api("POST", path, b"{}")
    assert r.status == 500  # not recorded: the invocation still waits for a response
    t0 = time.monotonic()
    r = emu.api("POST", path, big)
    assert r.status == 202 and time.monotonic() - t0 >= 0.25
    threading.Thread(target=raw_next, args=(emu,), daemon=True).start()
    t.join(10)
    assert results["r"].status == 200 and results["r"].body == big
    assert emu.invoke({"endpoint": "nope"}, path="/_emulator/faults").status == 400
    assert emu.invoke(b"", method="DELETE", path="/_emulator/faults").json() == []


def test_next_slow_body(emulator):
    emu = emulator("manual", eager=True)
    emu.invoke({"endpoint": "next", "fault": "slow_body", "seconds": 0.5, "pieces": 5},
               path="/_emulator/faults")
    event = {"pad": "s" * 5000}
    results = {}
    t = threading.Thread(target=lambda: results.update(r=emu.invoke(event)))
    t.start()
    t0 = time.monotonic()
    r = raw_next(emu)
    assert r.status == 200 and json.loads(r.body) == event  # all of it, only slowly
    assert time.monotonic() - t0 >= 0.4
    path = "/invocation/%s/response" % r.headers["lambda-runtime-aws-request-id"]
    assert emu.api("POST", path, b'{"ok":1}').status == 202
    threading.Thread(target=raw_next, args=(emu,), daemon=True).start()
    t.join(10)
    assert results["r"].json() == {"ok": 1}


def test_post_reset_after_processing(emulator):
    emu = emulator("manual", eager=True)
    emu.invoke({"endpoint": "response", "fault": "reset_after"}, path="/_emulator/faults")
    results = {}
    t = threading.Thread(target=lambda: results.update(r=emu.invoke({"x": 1})))
    t.start()
    r = raw_next(emu)
    path = "/invocation/%s/response" % r.headers["lambda-runtime-aws-request-id"]
    try:
        emu.api("POST", path, b'{"first":1}')
        raise AssertionError("the answer should have been reset")
    except (OSError, http.client.HTTPException) as exc:
        assert type(exc).__name__ in ("ConnectionResetError", "RemoteDisconnected", "BrokenPipeError")
    r = emu.api("POST", path, b'{"second":1}')  # the retry: the first post counted
    assert r.status == 403 and r.json()["errorType"] == "InvalidStateTransition"
    threading.Thread(target=raw_next, args=(emu,), daemon=True).start()
    t.join(10)
    assert results["r"].json() == {"first": 1}


def test_faults_from_environment(emulator):
    faults = json.dumps([{"endpoint": "next", "fault": "status", "status": 500}])
    emu = emulator("echo", env={"EMULATOR_FAULTS": faults}, process=True)
    r = emu.invoke({"a": 1})
    assert r.status == 502  # the fake runtime exits 3 on a non-200 /next
    assert r.json()["errorMessage"].endswith("exit status 3")
    assert emu.invoke({"a": 2}).json() == {"a": 2}


# ---------------------------------------------------------------------------
# Response streaming


def invoke_raw(emu, event, timeout=10.0):
    """POSTs an invoke and reads the answer by hand, so chunk arrival times and
    trailers are visible. -> (status, headers, [(time, bytes)], trailers, t0)."""
    host, port = emu.invoke_addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    body = json.dumps(event).encode()
    t0 = time.monotonic()
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (INVOKE.encode(), len(body), body))
    f = sock.makefile("rb")
    status = int(f.readline().split()[1])
    headers = {}
    while True:
        line = f.readline().decode().strip()
        if not line:
            break
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    chunks, trailers = [], {}
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                break
            chunks.append((time.monotonic(), f.read(size)))
            assert f.read(2) == b"\r\n"
        while True:
            line = f.readline().decode().strip()
            if not line:
                break
            k, _, v = line.partition(":")
            trailers[k.strip().lower()] = v.strip()
    else:
        chunks.append((time.monotonic(), f.read(int(headers.get("content-length", 0)))))
    sock.close()
    return status, headers, chunks, trailers, t0


def test_streaming_passthrough(emulator):
    emu = emulator("echo")
    status, headers, chunks, trailers, t0 = invoke_raw(
        emu, {"do": "stream", "parts": ["one ", "two ", "three"], "delay": 0.3,
              "content_type": "text/event-stream"})
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    assert headers["x-amz-function-response-mode"] == "streaming"
    assert b"".join(c for _, c in chunks) == b"one two three"
    # Forwarded as they came: the first part long before the last one.
    assert chunks[-1][0] - chunks[0][0] >= 0.45
    assert trailers == {}
    # http.client sees an ordinary chunked body; the runtime's POST got 202.
    r = emu.invoke({"do": "stream", "parts": ["x" * 100000, "y"]})
    assert r.status == 200 and r.body == b"x" * 100000 + b"y"
    assert emu.invoke({"do": "last_post"}).json()["status"] == 202


def test_streaming_errors(emulator):
    emu = emulator("echo", env={"AWS_LAMBDA_FUNCTION_TIMEOUT": "0.6", "EMULATOR_STREAMING_LIMIT": "1000"})
    # An error reported in the trailers after some data.
    body = base64.b64encode(b'{"errorType":"E","errorMessage":"m"}').decode()
    status, _, chunks, trailers, _ = invoke_raw(
        emu, {"do": "stream", "parts": ["partial"], "error_type": "Function.StreamError",
              "error_body": body})
    assert status == 200 and b"".join(c for _, c in chunks) == b"partial"
    assert trailers == {"x-amz-function-error": "Unhandled",
                        "x-amz-function-error-type": "Function.StreamError",
                        "x-amz-function-error-body": body}
    # Over the streaming limit: the runtime's POST gets 413, the client an error trailer.
    _, _, chunks, trailers, _ = invoke_raw(emu, {"do": "stream", "parts": ["a" * 600] * 3})
    assert trailers["x-amz-function-error-type"] == "Function.ResponseSizeTooLarge"
    assert emu.invoke({"do": "last_post"}).json()["status"] == 413
    # The runtime dies mid-stream.
    _, _, chunks, trailers, _ = invoke_raw(emu, {"do": "stream_die", "parts": ["half"]})
    assert b"".join(c for _, c in chunks) == b"half"
    assert trailers["x-amz-function-error-type"] == "Runtime.TruncatedResponse"
    assert emu.invoke({"after": "die"}).json() == {"after": "die"}
    # The deadline passes mid-stream.
    _, _, chunks, trailers, t0 = invoke_raw(emu, {"do": "stream", "parts": ["x", "y"], "delay": 3})
    assert b"".join(c for _, c in chunks) == b"x"
    assert trailers["x-amz-function-error-type"] == "Sandbox.Timedout"
    assert base64.b64decode(trailers["x-amz-function-error-body"]) == b"Task timed out after 0.60 seconds"
    assert time.monotonic() - t0 < 2.5
    assert emu.invoke({"after": "timeout"}).json() == {"after": "timeout"}


# ---------------------------------------------------------------------------
# Extensions API



def extensions_dir(tmp_path, name="myext"):
    d = tmp_path / ("extensions-%s" % uuid.uuid4().hex[:6])
    d.mkdir()
    script = d / name
    script.write_text("#!/bin/sh\nexec %s %s %s\n" % (sys.executable, ROOT / "tests/emulator/fake_extension.py", name))
    script.chmod(0o755)
    return d


def read_events(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_external_extension_invoke_and_shutdown(emulator, tmp_path):
    log = tmp_path / "ext.log"
    d = extensions_dir(tmp_path)
    emu = emulator("echo", env={"FAKE_EXT_LOG": str(log), "EMULATOR_EXTENSIONS_DIR": str(d)})
    ids = []
    for i in range(2):
        r = emu.invoke({"i": i})
        assert r.status == 200 and r.json() == {"i": i}
        ids.append(r.headers["x-amzn-requestid"])
    ext = emu.status()["runtime"]["extensions"]
    assert [e["name"] for e in ext] == ["myext"] and ext[0]["external"]
    events = emu.wait_for(lambda: (lambda ev: ev if len(ev) >= 3 else None)(read_events(log)),
                          what="extension events")
    assert events[0]["registered"] == "myext"
    assert events[0]["answer"] == {"functionName": "test_function", "functionVersion": "$LATEST",
                                   "handler": "echo"}
    assert [e["requestId"] for e in events[1:3]] == ids
    assert events[1]["eventType"] == "INVOKE" and events[1]["invokedFunctionArn"].endswith(":test_function")
    assert "EXTENSION\tName: myext\tState: Registered\tEvents: [INVOKE, SHUTDOWN]" in emu.output()
    emu.stop()
    last = read_events(log)[-1]
    assert last["eventType"] == "SHUTDOWN" and last["shutdownReason"] == "spindown"


def test_extension_crash_in_init(emulator, tmp_path):
    d = extensions_dir(tmp_path)
    emu = emulator("echo", env={"FAKE_EXT_CRASH": "1", "EMULATOR_EXTENSIONS_DIR": str(d)})
    r = emu.invoke({})
    assert r.status == 502 and r.json()["errorType"] == "Extension.Crash", (r, emu.output(), emu.errors())


def test_internal_extension_by_hand(emulator):
    emu = emulator("manual", eager=True)
    emu.wait_for(lambda: (emu.status()["runtime"] or {}).get("pid"), what="runtime")
    def reg(name, events):
        return emu.ext_api("POST", "/register", json.dumps({"events": events}), {"Lambda-Extension-Name": name})

    r = reg("hand", ["INVOKE", "SHUTDOWN"])
    assert r.status == 403 and r.json()["errorType"] == "Extension.InvalidEventType"
    r = reg("hand", ["INVOKE"])
    assert r.status == 200
    ext_id = r.headers["lambda-extension-identifier"]
    assert reg("hand", ["INVOKE"]).json()["errorType"] == "Extension.InvalidExtensionState"

    def ext_next(timeout=5):
        return emu.ext_api("GET", "/event/next", headers={"Lambda-Extension-Identifier": ext_id},
                           timeout=timeout)

    results, nexts = {}, {}
    t = threading.Thread(target=lambda: results.update(a=emu.invoke({"a": 1})))
    t.start()
    rn = threading.Thread(target=lambda: nexts.update(a=emu.api("GET", "/invocation/next")))
    rn.start()
    time.sleep(0.3)
    assert "a" not in nexts  # init is not over until the extension asks for an event
    ev = ext_next()
    rn.join(5)
    assert ev.status == 200 and ev.json()["eventType"] == "INVOKE"
    rid = nexts["a"].headers["lambda-runtime-aws-request-id"]
    assert ev.json()["requestId"] == rid
    assert reg("late", []).json()["errorType"] == "Extension.RegistrationClosed"

    assert emu.api("POST", "/invocation/%s/response" % rid, b'{"ok":1}').status == 202
    threading.Thread(target=lambda: nexts.update(b=emu.api("GET", "/invocation/next")), daemon=True).start()
    t.join(5)
    assert results["a"].status == 200  # the answer does not wait for the extension

    t = threading.Thread(target=lambda: results.update(b=emu.invoke({"b": 2})))
    t.start()
    time.sleep(0.3)
    assert "b" not in nexts  # the next event waits until the extension is back in /event/next
    ev = ext_next()
    assert ev.json()["eventType"] == "INVOKE"
    emu.wait_for(lambda: "b" in nexts, what="second dispatch")
    assert nexts["b"].headers["lambda-runtime-aws-request-id"] == ev.json()["requestId"]
    r = emu.ext_api("GET", "/event/next", headers={"Lambda-Extension-Identifier": "nope"})
    assert r.status == 403 and r.json()["errorType"] == "Extension.UnknownExtensionIdentifier"
