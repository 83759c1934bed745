"""Integration harness: the real bootstrap behind the project's emulator (or a stub Runtime API).

The matrix cell under test comes from the environment (set by mk/integration.mk):
  BOOTSTRAP_BIN          the bootstrap binary (default ./bootstrap)
  BOOTSTRAP_LAYER_ROOT   the layer root it uses (unset: the system's libpython)
  EXPECT_PYTHON          "3.9", "3.11", ...: the Python the handler must see
  EXPECT_ARCH            "x86_64" or "arm64" (platform.machine() spelling is mapped)
  TIME_SCALE             multiplier for timeouts (qemu is ~20x slower)
  EXPECT_RUNTIME_CODE    "bytecode" when the bootstrap embeds bytecode for this Python, "source" when
                         it must compile its embedded runtime*.py (the fallback); unset: not checked
  INTEGRATION_RIE        AWS's Runtime Interface Emulator: the Function fixture starts the bootstrap
                         under it instead of the project's emulator (run the `rie` subset: -m rie)
"""

import base64
import http.client
import http.server
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUNCTIONS = os.path.join(os.path.dirname(__file__), "functions")
EMULATOR = os.path.join(ROOT, "emulator", "lambda_emulator.py")
PYTHON = "/usr/bin/python3.11"
BOOTSTRAP = os.path.abspath(os.environ.get("BOOTSTRAP_BIN", os.path.join(ROOT, "bootstrap")))
TIME_SCALE = float(os.environ.get("TIME_SCALE", "1"))
EXPECT_PYTHON = os.environ.get("EXPECT_PYTHON")
EXPECT_ARCH = os.environ.get("EXPECT_ARCH")
EXPECT_RUNTIME_CODE = os.environ.get("EXPECT_RUNTIME_CODE")
RIE = os.environ.get("INTEGRATION_RIE")


def pytest_configure(config):
    config.addinivalue_line("markers", "rie: also runs under AWS's Runtime Interface Emulator (INTEGRATION_RIE)")


@pytest.hookimpl(trylast=True)  # after -m has deselected
def pytest_collection_modifyitems(config, items):
    # Under the RIE only the marked subset can run (the rest needs the emulator's control endpoints,
    # its headers, or a binary event): asking for anything else is a mistake, not a skip.
    if RIE:
        unmarked = [item.nodeid for item in items if item.get_closest_marker("rie") is None]
        if unmarked:
            raise pytest.UsageError("INTEGRATION_RIE runs only the tests marked rie (-m rie); selected: %s"
                                    % ", ".join(unmarked[:5]))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_core_dumps():
    """preexec_fn: the crash tests end runtimes with SIGSEGV and friends; no core files. And the
    runtime starts with default signal dispositions, as Lambda starts it: a make test run in the
    background of a non-interactive shell ignores SIGINT and SIGQUIT, and an ignored signal is
    inherited through exec (the SIGINT shutdown tests then wait forever)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def runtime_env(extra=None):
    """The environment a runtime gets: ours minus anything that would change the cell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_LAMBDA_LOG", "_HANDLER", "PYTHON"))}
    env["LAMBDA_TASK_ROOT"] = FUNCTIONS
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Response({self.status}, {self.headers}, {self.body[:300]!r})"


class Function:
    """An emulator serving one handler through the real bootstrap: the project's emulator, or
    AWS's RIE when INTEGRATION_RIE is set (same command line)."""

    def __init__(self, handler, env=None, timeout=None, eager=False):
        self.workdir = tempfile.mkdtemp(prefix="bootstrap-it-")
        self.port_file = os.path.join(self.workdir, "ports.json")
        self.log_path = os.path.join(self.workdir, "emulator.log")
        extra = dict(env or {})
        if timeout is not None:
            extra["AWS_LAMBDA_FUNCTION_TIMEOUT"] = str(timeout)
        if RIE:
            # The RIE has no port file and no eager start: fixed free ports, readiness by connecting.
            self.port = _free_port()
            args = [RIE, "--runtime-interface-emulator-address", "127.0.0.1:%d" % self.port,
                    "--runtime-api-address", "127.0.0.1:%d" % _free_port(), BOOTSTRAP, handler]
        else:
            args = [PYTHON, EMULATOR, "--runtime-interface-emulator-address", "127.0.0.1:0",
                    "--runtime-api-address", "127.0.0.1:0", "--port-file", self.port_file]
            if eager:
                args.append("--eager")
            args += [BOOTSTRAP, handler]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, env=runtime_env(extra), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=FUNCTIONS, start_new_session=True, preexec_fn=no_core_dumps)
        deadline = time.time() + 10 * TIME_SCALE
        while not self._ready():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start:\n" + self.output())
            time.sleep(0.02)
        self.conn = None

    def _ready(self):
        if RIE:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        if not os.path.exists(self.port_file):
            return False
        with open(self.port_file) as f:
            self.port = json.load(f)["invoke_port"]
        return True

    def invoke(self, payload=None, raw=None, headers=None, timeout=None):
        body = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
        timeout = (timeout or 30) * TIME_SCALE
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self.conn.request("POST", "/2015-03-31/functions/function/invocations", body=body,
                                  headers=headers or {})
                r = self.conn.getresponse()
                return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_output(self, text, timeout=5):
        deadline = time.time() + timeout * TIME_SCALE
        while text not in self.output():
            if time.time() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture
def function():
    """function(handler, env=..., timeout=...) starts an emulator; all are stopped after the test."""
    started = []

    def start(handler, **kwargs):
        f = Function(handler, **kwargs)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


# --- a stub Runtime API, for what the emulator hides (headers, exit codes) -------------


class StubRuntimeApi:
    """Serves queued events on /next and records every post to the Runtime API. Anything else
    (the Extensions API the runtime registers with) gets 404, as from a Runtime API without it."""

    def __init__(self):
        self.events = []  # (headers, body) to hand out
        self.posts = []  # (path, headers, body)
        self.posted = threading.Condition()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def not_runtime_api(self):
                if self.path.startswith("/2018-06-01/runtime/"):
                    return False
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def do_GET(self):
                if self.not_runtime_api():
                    return
                with stub.posted:
                    while not stub.events:
                        if not stub.posted.wait(10):
                            self.send_error(500)
                            return
                    headers, body = stub.events.pop(0)
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                if self.not_runtime_api():
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with stub.posted:
                    stub.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    stub.posted.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_event(self, body=b"{}", request_id=None, **headers):
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        headers.setdefault("Lambda-Runtime-Aws-Request-Id", request_id or str(uuid.uuid4()))
        headers.setdefault("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
        headers.setdefault("Content-Type", "application/json")
        with self.posted:
            self.events.append((headers, body))
            self.posted.notify_all()
        return headers["Lambda-Runtime-Aws-Request-Id"]

    def wait_posts(self, count, timeout=10):
        deadline = time.time() + timeout * TIME_SCALE
        with self.posted:
            while len(self.posts) < count:
                left = deadline - time.time()
                if left <= 0 or not self.posted.wait(left):
                    break
            return list(self.posts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_api():
    api = StubRuntimeApi()
    yield api
    api.close()


def run_bootstrap(api_address, handler, env=None, timeout=20, args=None):
    """Starts the bootstrap directly against a Runtime API; returns the Popen."""
    e = runtime_env(env)
    e["AWS_LAMBDA_RUNTIME_API"] = api_address
    cmd = [BOOTSTRAP] + (args if args is not None else [handler])
    return subprocess.Popen(cmd, env=e, cwd=FUNCTIONS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=no_core_dumps)


def client_context_header(value):
    return base64.b64encode(json.dumps(value).encode()).decode()
