"""The differential harness: one case, run under awslambdaric (the oracle) and under the
bootstrap (the subject), each against a recording Runtime API of its own that hands out the
same events; then what each Runtime API received and what each runtime printed are
normalised and compared.

What is compared (an Observation):
  posts    every POST the runtime made: path, Content-Type, the error-type and X-Ray headers,
           the body (JSON parsed when it is JSON, else the bytes)
  exit     the exit status when the runtime ended by itself ("serving" when it was still
           waiting for the next event at the end of the case)
  stdout   the runtime's stdout, split into log events, with timestamps normalised
  stderr   the same for stderr
What the handler sees (event, context, environment, logging set-up) comes back in the body
of the probe handlers (functions/probe.py), so it is compared as part of `posts`.

Only the harness's own plumbing is taken out before comparing (PLUMBING below); everything
else that differs is a difference, to be fixed or listed in deliberate.py.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "emulator"))
from lambda_emu.http_io import BadBody, BodyReader  # noqa: E402  (the emulator's body reader)

sys.path.pop(0)

# RAPID (Go's net/http) takes header lines up to 1 MiB; awslambdaric sends X-Ray causes up to
# that size (a RecursionError's cause is ~100 KB), which http.server's 64 KiB would refuse.
http.client._MAXLINE = 1 << 20
# Results nest as deep as the runtimes can encode them (cases.py goes to 5,000 levels).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 50000))

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONS = {"diff": os.path.join(HERE, "functions"),
             "integration": os.path.join(ROOT, "tests", "integration", "functions")}
ORACLE_LAUNCHER = os.path.join(HERE, "oracle", "bootstrap.py")
MAX_PAYLOAD = 6 * 1024 * 1024 + 100  # RAPID's interop.MaxPayloadSize
FUNCTION_NAME = "differential"
DEADLINE_MS = 4102444800000  # 2100-01-01: remaining time is always positive and large

# Environment variables that only one side's launcher needs (which libpython to load, the
# awslambdaric launcher's own): not something a handler on Lambda would see.
PLUMBING = {"BOOTSTRAP_LIBPYTHON", "BOOTSTRAP_LAYER_ROOT", "PYTHONHOME", "DIFF_SIDE"}


class Recorder:
    """A Runtime API that hands out `events` one by one and records every request.
    Answers as RAPID does: 202 for a post, 413 RequestEntityTooLarge for a response over
    MAX_PAYLOAD; an extension may register (recorded) and then waits in event/next."""

    def __init__(self, events):
        self.events = list(events)
        self.posts = []
        self.extensions = []
        self.nexts = 0
        self.cond = threading.Condition()
        self.closed = False
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/2020-01-01/extension/event/next":
                    # A registered extension waits here for SHUTDOWN, which never comes.
                    while not recorder.closed:
                        time.sleep(0.05)
                    self.close_connection = True
                    return
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self.reply(404, b"404 page not found\n")
                with recorder.cond:
                    recorder.nexts += 1
                    recorder.cond.notify_all()
                    while not recorder.events and not recorder.closed:
                        recorder.cond.wait(0.5)
                    if not recorder.events:
                        self.close_connection = True
                        return
                    headers, body = recorder.events.pop(0)
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                try:
                    reader = BodyReader(self.rfile, self.headers)
                    body, total = reader.read(MAX_PAYLOAD)
                except BadBody as exc:
                    body, total, reader = ("<truncated: %s>" % exc).encode(), -1, None
                    self.close_connection = True
                if self.path == "/2020-01-01/extension/register":
                    with recorder.cond:
                        recorder.extensions.append({"name": self.headers.get("Lambda-Extension-Name"),
                                                    "events": json.loads(body or b"{}").get("events")})
                    self.send_response(200)
                    self.send_header("Lambda-Extension-Identifier", "ext-%d" % len(recorder.extensions))
                    self.send_header("Content-Type", "application/json")
                    answer = json.dumps({"functionName": FUNCTION_NAME, "functionVersion": "$LATEST",
                                         "handler": ""}).encode()
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                if not self.path.startswith("/2018-06-01/runtime/"):
                    return self.reply(404, b"404 page not found\n")
                post = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "total": total, "trailers": reader.trailers if reader else {}}
                too_large = self.path.endswith("/response") and total > MAX_PAYLOAD
                with recorder.cond:
                    recorder.posts.append(post)
                    recorder.cond.notify_all()
                if too_large:
                    return self.reply(413, json.dumps({
                        "errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % MAX_PAYLOAD,
                        "errorType": "RequestEntityTooLarge"}).encode())
                self.reply(202, b'{"status":"OK"}')

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))
            return True

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


def next_headers(request_id, extra=None):
    headers = {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(DEADLINE_MS),
        "Lambda-Runtime-Invoked-Function-Arn":
            "arn:aws:lambda:us-east-1:012345678912:function:" + FUNCTION_NAME,
        "Content-Type": "application/json",
    }
    for k, v in (extra or {}).items():
        if v is None:
            headers.pop(k, None)
        else:
            headers[k] = v
    return headers


class Side:
    """How to start one runtime: the oracle (awslambdaric in a venv) or the subject."""

    def __init__(self, name, argv, env):
        self.name = name
        self.argv = argv
        self.env = env


def oracle_side(venv_python, version):
    # The managed runtime's /var/runtime/bootstrap sets AWS_EXECUTION_ENV before it starts
    # bootstrap.py; awslambdaric keys its 3.12+ behaviours (ensure_ascii, thread polling) off it.
    return Side("awslambdaric", [venv_python, ORACLE_LAUNCHER],
                {"AWS_EXECUTION_ENV": "AWS_Lambda_python%s" % version})


def subject_side(bootstrap, libpython):
    return Side("bootstrap", [bootstrap], {"BOOTSTRAP_LIBPYTHON": libpython,
                                           "BOOTSTRAP_LAYER_ROOT": "/nonexistent-layer-root"})


def base_env(task_root, api, handler, extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_LAMBDA_RUNTIME_API": api,
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + FUNCTION_NAME,
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
    }
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def run_side(side, case, time_scale=1.0):
    """Runs one case on one side; -> the raw observation (dict)."""
    events = [(next_headers("req-%04d" % i, ev.get("headers")), ev["body"])
              for i, ev in enumerate(case.events)]
    recorder = Recorder(events)
    task_root = FUNCTIONS[case.root]
    env = base_env(task_root, recorder.address, case.handler, case.env)
    env.update(side.env)
    env["DIFF_SIDE"] = side.name
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    # Both read the handler from _HANDLER, as on Lambda (no command-line argument).
    proc = subprocess.Popen(side.argv, env=env, cwd=task_root, stdin=subprocess.DEVNULL,
                            stdout=out, stderr=err, start_new_session=True)
    want_posts = len(events) if not case.init_error else 1
    timeout = case.timeout * time_scale
    try:
        # Done when every event has been answered and the runtime is back in /next (its logs for
        # the last event are written), or when it has exited.
        recorder.wait(lambda: proc.poll() is not None
                      or (len(recorder.posts) >= want_posts and recorder.nexts > len(events)),
                      timeout)
        if proc.poll() is None and case.init_error:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        exit_status = proc.poll()
        if exit_status is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            exit_status = "serving" if recorder.nexts > len(events) else "hung"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        recorder.close()
    out.seek(0)
    err.seek(0)
    return {"posts": recorder.posts, "extensions": recorder.extensions, "exit": exit_status, "stdout": out.read(), "stderr": err.read(),
            "task_root": task_root}


# --- normalisation -------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_DIGITS = re.compile(r"\d")


def _timestamps(text):
    # Keep the shape (with or without milliseconds), drop the value.
    return _TIMESTAMP.sub(lambda m: _DIGITS.sub("0", m.group(0)), text)


def _body(raw, content_type):
    # awslambdaric posts init errors without a Content-Type: JSON is tried then too.
    if not content_type or content_type.split(";")[0].strip() in ("application/json",
                                                                 "application/vnd.aws.lambda.error+json"):
        try:
            return {"json": json.loads(raw, parse_constant=lambda c: {"constant": c})}
        except ValueError:
            pass
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"bytes": raw.hex()}


def _xray(value):
    if value is None:
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return {"invalid": value}
    if isinstance(doc, dict) and isinstance(doc.get("paths"), list):
        doc["paths"] = sorted(doc["paths"])
    return doc


def _strip_plumbing(doc):
    """Probe results carry the environment: the harness's own variables are not compared, and
    the Runtime API's address is each side's own recorder."""
    if isinstance(doc, dict) and isinstance(doc.get("json"), dict):
        env = doc["json"].get("env")
        if isinstance(env, dict):
            for key in PLUMBING:
                env.pop(key, None)
            if "AWS_LAMBDA_RUNTIME_API" in env:
                env["AWS_LAMBDA_RUNTIME_API"] = "<the recorder>"
    return doc


def _mask(doc, paths):
    """Replaces the values at the dotted paths of a JSON body (values that differ from run to
    run, such as a remaining time in ms) with "<masked>"."""
    for path in paths:
        node, keys = doc.get("json"), path.split(".")
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and keys[-1] in node:
            node[keys[-1]] = "<masked>"
    return doc


def normalise(raw, mask=()):
    posts = []
    for post in raw["posts"]:
        h = post["headers"]
        ct = h.get("content-type")
        posts.append({
            "path": post["path"],
            "content_type": ct,
            "error_type": h.get("lambda-runtime-function-error-type"),
            "xray_cause": _xray(h.get("lambda-runtime-function-xray-error-cause")),
            "response_mode": h.get("lambda-runtime-function-response-mode"),
            "trailers": post["trailers"] or None,
            # the size says something only where the body is not compared
            "size": post["total"] if post["total"] > MAX_PAYLOAD else None,
            "body": (_mask(_strip_plumbing(_body(post["body"], ct)), mask) if post["total"] <= MAX_PAYLOAD
                     else "<too large>"),
        })
    return {
        "posts": posts,
        "extensions": raw["extensions"],
        "exit": raw["exit"],
        "stdout": _log_events(raw["stdout"]),
        "stderr": _log_events(raw["stderr"]),
    }


def _log_events(data):
    text = _timestamps(data.decode("utf-8", "backslashreplace"))
    return [line for line in text.split("\n") if line != ""]


# --- comparison ----------------------------------------------------------------------------

def differences(oracle, subject, path=""):
    """-> [(path, oracle value, subject value)] for every leaf that differs."""
    if isinstance(oracle, dict) and isinstance(subject, dict):
        found = []
        for key in list(oracle) + [k for k in subject if k not in oracle]:
            found += differences(oracle.get(key, "<absent>"), subject.get(key, "<absent>"),
                                 "%s.%s" % (path, key) if path else str(key))
        return found
    if isinstance(oracle, list) and isinstance(subject, list) and len(oracle) == len(subject):
        found = []
        for i, (a, b) in enumerate(zip(oracle, subject)):
            found += differences(a, b, "%s[%d]" % (path, i))
        return found
    if oracle == subject or (isinstance(oracle, float) and isinstance(subject, float)
                             and oracle != oracle and subject != subject):
        return []
    return [(path, oracle, subject)]


def show(value, limit=400):
    text = json.dumps(value, ensure_ascii=True, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)
