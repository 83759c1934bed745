#!/usr/bin/env python3
"""A local AWS Lambda emulator for custom runtimes (Python standard library only).

It plays the part of AWS's Runtime Interface Emulator (RIE): it serves the invoke
endpoint to clients and the Lambda Runtime API to the runtime process it starts.
The command line mirrors the RIE, so the same command works with either:

    lambda_emulator.py [--runtime-interface-emulator-address HOST:PORT]
                       [--runtime-api-address HOST:PORT] [--eager]
                       [--port-file FILE] BOOTSTRAP [ARGS...]

Differences from the RIE, all deliberate (see emulator/README.md):
  * concurrent invokes are queued and served one at a time (the RIE crashes);
  * response headers are kept (Content-Type, X-Amz-Function-Error, and our own
    X-Amz-Function-Error-Type);
  * X-Amzn-Trace-Id is passed on as Lambda-Runtime-Trace-Id (real Lambda does);
  * an invoke body over the payload limit gets 413 (the RIE truncates silently);
  * the invoke's Content-Type is passed on to /next (default application/json).

Also: fault injection, response streaming and the Extensions API (README).

Layout:
  Config         command line + environment
  Log            START/END/REPORT/INIT lines on stdout
  Spawner        one long-lived thread that forks runtimes (PR_SET_PDEATHSIG)
  Runtime        one runtime process and its life-cycle state
  Invocation     one invoke, from the client's request to its Result
  Extension      one registered extension
  Sandbox        the state machine shared by both servers (one Condition)
  BodyReader     Content-Length and chunked request bodies, with trailers
  Fault/Faults   fault-injection rules (EMULATOR_FAULTS, /_emulator/faults)
  RuntimeApiHandler / InvokeHandler   the two HTTP front ends
  Emulator       wires it all together; start() / stop()
"""

import argparse
import base64
import binascii
import collections
import ctypes
import datetime
import http.server
import json
import math
import os
import queue
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

# 6 MiB + 100 bytes: RAPID's interop.MaxPayloadSize, for events and responses.
MAX_PAYLOAD = 6 * 1024 * 1024 + 100
# How much of an oversized body we are willing to read and throw away so the
# connection stays usable; beyond this we answer and close the connection.
DRAIN_LIMIT = 64 * 1024 * 1024
# Streamed responses: Lambda's documented maximum (EMULATOR_STREAMING_LIMIT overrides).
STREAMING_LIMIT = 200 * 1024 * 1024
STREAM_QUEUE = 64          # chunks in flight between the runtime's POST and the client

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
API_PREFIX = "/2018-06-01"
NEXT_PATH = API_PREFIX + "/runtime/invocation/next"
INIT_ERROR_PATH = API_PREFIX + "/runtime/init/error"
POST_RE = re.compile(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)")
EXT_PREFIX = "/2020-01-01/extension"
EXT_REGISTER_PATH = EXT_PREFIX + "/register"
EXT_NEXT_PATH = EXT_PREFIX + "/event/next"
EXT_INIT_ERROR_PATH = EXT_PREFIX + "/init/error"
EXT_EXIT_ERROR_PATH = EXT_PREFIX + "/exit/error"
EXT_ERROR_TYPE_RE = re.compile(r"Extension\.[A-Z][a-zA-Z]+")
STATUS_PATH = "/_emulator/status"
FAULTS_PATH = "/_emulator/faults"

ERROR_TYPE_RE = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
ERROR_CAUSE_CT = "application/vnd.aws.lambda.error.cause+json"
FORM_CT = "application/x-www-form-urlencoded"

# After /init/error the runtime should exit by itself; after this long it is killed.
INIT_ERROR_GRACE = 1.0
# On emulator shutdown: SIGTERM, then SIGKILL after this long (as Lambda).
SHUTDOWN_GRACE = 2.0
# Lambda's init phase limit (the function timeout applies when it is longer).
INIT_TIMEOUT = 10.0


def valid_error_type(value):
    """RAPID's GetValidRuntimeOrFunctionErrorType: an unanchored search for
    (Runtime|Function).Xyz keeps the value; otherwise Function.Unknown for a
    "Function." prefix, else Runtime.Unknown."""
    value = value or ""
    if ERROR_TYPE_RE.search(value):
        return value
    if value.startswith("Function."):
        return "Function.Unknown"
    return "Runtime.Unknown"


def describe_exit(returncode):
    """Go's os.ProcessState text, as RAPID puts it in Runtime.ExitError."""
    if returncode is None:
        return "unknown"
    if returncode >= 0:
        return "exit status %d" % returncode
    try:
        name = signal.strsignal(-returncode) or ("signal %d" % -returncode)
    except ValueError:
        name = "signal %d" % -returncode
    return "signal: " + name.lower()


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def parse_address(text, default_host):
    """HOST:PORT, :PORT, [V6]:PORT or PORT -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    elif ":" in text:
        host, _, port = text.rpartition(":")
    else:
        host, port = "", text
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad address %r (want HOST:PORT)" % text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("bad port in %r" % text)
    return (host or default_host, port)


def fmt_address(addr):
    host, port = addr[0], addr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# --------------------------------------------------------------------------
# Configuration


class Config:
    def __init__(self, args, environ):
        self.invoke_address = args.invoke_address
        self.api_address = args.api_address
        self.eager = args.eager
        self.port_file = args.port_file
        self.extensions_dir = args.extensions_dir or environ.get("EMULATOR_EXTENSIONS_DIR") or None
        command = list(args.command)
        if not command:
            for candidate in ("/var/task/bootstrap", "/opt/bootstrap", "/var/runtime/bootstrap"):
                if os.path.isfile(candidate):
                    command = [candidate]
                    break
        if not command:
            raise SystemExit("lambda_emulator: no BOOTSTRAP given and none found in "
                             "/var/task, /opt or /var/runtime")
        self.command = command
        # Like the RIE: with arguments after the bootstrap, the last is the handler.
        if len(command) >= 2:
            self.handler = command[-1]
        else:
            self.handler = environ.get("AWS_LAMBDA_FUNCTION_HANDLER") or environ.get("_HANDLER")
        self.environ = dict(environ)
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME") or "test_function"
        self.version = environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "$LATEST"
        self.memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or "3008"
        timeout = environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or "300"
        try:
            self.timeout = float(timeout)
            if not self.timeout > 0:
                raise ValueError
        except ValueError:
            raise SystemExit("lambda_emulator: bad AWS_LAMBDA_FUNCTION_TIMEOUT=%r" % timeout)
        self.function_arn = "arn:aws:lambda:us-east-1:012345678912:function:" + self.function_name
        try:
            self.shutdown_grace = float(environ.get("EMULATOR_SHUTDOWN_GRACE") or SHUTDOWN_GRACE)
            # Lambda gives init 10 s of its own, whatever the function timeout.
            self.init_timeout = float(environ.get("EMULATOR_INIT_TIMEOUT") or max(INIT_TIMEOUT, self.timeout))
            self.streaming_limit = int(environ.get("EMULATOR_STREAMING_LIMIT") or STREAMING_LIMIT)
        except ValueError:
            raise SystemExit("lambda_emulator: bad EMULATOR_SHUTDOWN_GRACE / EMULATOR_INIT_TIMEOUT"
                             " / EMULATOR_STREAMING_LIMIT")
        self.log_stream = "%s/[%s]%s" % (datetime.date.today().strftime("%Y/%m/%d"),
                                         self.version, uuid.uuid4().hex)
        self.api_host_port = None  # set once the Runtime API server is bound

    def timeout_text(self):
        return "Task timed out after %.2f seconds" % self.timeout

    def runtime_env(self):
        """The runtime's environment: everything the emulator has, plus the
        variables the RIE/Lambda set (ours win only where Lambda's always would)."""
        env = dict(self.environ)
        defaults = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": self.memory,
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + self.function_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
        }
        for key, value in defaults.items():
            if not env.get(key):
                env[key] = value
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setdefault(key, "")
        env["AWS_LAMBDA_RUNTIME_API"] = self.api_host_port
        if self.handler:
            env["_HANDLER"] = self.handler
        return env


# --------------------------------------------------------------------------
# Logging


class Log:
    """Platform lines (START/END/REPORT/INIT_*) go to stdout, like the RIE's;
    the emulator's own notes go to stderr, prefixed "emulator:"."""

    def __init__(self, out=None, err=None):
        self.lock = threading.Lock()
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def line(self, text):
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def note(self, text):
        with self.lock:
            self.err.write("emulator: " + text + "\n")
            self.err.flush()


# --------------------------------------------------------------------------
# Process spawning


def _make_pdeathsig_preexec():
    """preexec_fn asking the kernel to SIGKILL the runtime if we die (Linux).
    prctl is resolved here, in the parent; the child only calls into libc."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
    pr_set_pdeathsig = 1

    def preexec():
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


_pdeathsig_preexec = _make_pdeathsig_preexec()


class Spawner:
    """Forks every runtime from one long-lived thread: PR_SET_PDEATHSIG fires
    when the *thread* that forked the child exits, so forking from a short-lived
    HTTP handler thread would kill the runtime when its connection closed."""

    def __init__(self):
        self.requests = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="spawner", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            argv, env, reply = self.requests.get()
            try:
                proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                        start_new_session=True, close_fds=True,
                                        preexec_fn=_pdeathsig_preexec)
                reply.put((proc, None))
            except Exception as exc:  # OSError for a bad bootstrap
                reply.put((None, exc))

    def spawn(self, argv, env):
        reply = queue.Queue(maxsize=1)
        self.requests.put((argv, env, reply))
        proc, exc = reply.get()
        if exc is not None:
            raise exc
        return proc


# --------------------------------------------------------------------------
# Model


class Result:
    """What the invoke client gets. streamed=True: it has already been sent."""

    __slots__ = ("status", "body", "content_type", "function_error", "streamed")

    def __init__(self, status, body, content_type="application/json", function_error=None,
                 streamed=False):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.function_error = function_error  # validated error type, or None
        self.streamed = streamed

    @classmethod
    def error(cls, status, error_type, message):
        return cls(status, json_bytes({"errorType": error_type, "errorMessage": message}),
                   "application/json", error_type)


class ApiError(Exception):
    """A Runtime API error reply: status + {"errorMessage","errorType"}."""

    def __init__(self, status, error_type, message):
        super().__init__(message)
        self.status = status
        self.body = json_bytes({"errorMessage": message, "errorType": error_type})


def state_error(state, target):
    return ApiError(403, "InvalidStateTransition",
                    "State transition from %s to %s failed for runtime" % (state, target))


class Runtime:
    """One runtime process (one init)."""

    def __init__(self, generation):
        self.generation = generation
        self.proc = None
        self.pid = None
        self.started = time.monotonic()
        self.ready_at = None          # first /next: init is done
        self.init_error = None        # Result posted to /runtime/init/error
        self.exec_error = None        # OSError from exec
        self.returncode = None
        self.dead = False             # reaped
        self.doomed = False           # we killed it; being reaped
        self.waiter = None            # the /next request blocked on this runtime
        self.init_reported = False    # Init Duration already printed in a REPORT
        self.invocations = 0
        self.extensions = []          # Extension objects registered during this init
        self.ext_procs = {}           # name -> Popen, external extensions we started
        self.ext_expected = set()     # external extensions that must register
        self.registration_closed = False

    @property
    def gone(self):
        return self.dead or self.doomed

    def state_name(self):
        if self.dead:
            return "Exited"
        if self.doomed:
            return "Killed"
        if self.init_error is not None:
            return "InitError"
        if self.ready_at is None:
            return "Initializing"
        return "Ready"

    def kill(self, sig=signal.SIGKILL):
        if self.pid is None or self.dead:
            return
        try:
            os.killpg(self.pid, sig)
        except OSError:
            pass

    def max_memory_mb(self, default):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return str(max(1, math.ceil(int(line.split()[1]) / 1024)))
        except (OSError, ValueError, TypeError, IndexError):
            pass
        return default


class NextWaiter:
    """A /next request parked until an invocation arrives."""

    __slots__ = ("sock", "cancelled")

    def __init__(self, sock):
        self.sock = sock
        self.cancelled = False

    def alive(self):
        """False when the runtime has closed this connection (a stale /next)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if not readable:
                return True
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False


class Extension:
    """One registered extension (Extensions API 2020-01-01)."""

    def __init__(self, name, events, external, runtime):
        self.id = str(uuid.uuid4())
        self.name = name
        self.events = set(events)
        self.external = external
        self.runtime = runtime
        self.ready = False            # parked in /event/next, waiting for an event
        self.pending = collections.deque()
        self.waiter = None
        self.dropped = False          # its runtime (sandbox) was reset

    def describe(self):
        return {"name": self.name, "id": self.id, "events": sorted(self.events),
                "external": self.external, "ready": self.ready}


QUEUED, RUNNING, RECEIVING, RESPONDED, DONE = "queued", "running", "receiving", "responded", "done"


class Invocation:
    def __init__(self, body, content_type="application/json", request_id=None, trace_id=None,
                 client_context=None, cognito_identity=None, tenant_id=None):
        self.id = request_id or str(uuid.uuid4())
        self.body = body
        self.content_type = content_type or "application/json"
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.state = None
        self.runtime = None
        self.posted = None            # Result the runtime posted, held until its next /next
        self.result = None
        self.dispatched_at = None
        self.deadline = None          # monotonic
        self.deadline_ms = None       # epoch ms, sent to the runtime
        self.start_logged = False
        self.stream = None            # queue.Queue of chunks for a streamed response
        self.stream_content_type = None
        self.stream_taken = False
        self.streamed = False         # the client already has its (streamed) answer

    def next_headers(self, function_arn):
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", self.id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
            ("Lambda-Runtime-Client-Context", self.client_context),
            ("Lambda-Runtime-Cognito-Identity", self.cognito_identity),
            ("Lambda-Runtime-Aws-Tenant-Id", self.tenant_id),
        ]
        return [(k, v) for k, v in headers if v]


# --------------------------------------------------------------------------
# The sandbox: one runtime, one invocation at a time


class Sandbox:
    def __init__(self, config, log, spawner):
        self.config = config
        self.log = log
        self.spawner = spawner
        self.cond = threading.Condition()
        self.runtime = None
        self.generation = 0
        self.current = None           # the Invocation holding the turn
        self.ticket_next = 0          # FIFO turn-taking for concurrent invokes
        self.ticket_serving = 0
        self.closing = False
        self.inits = 0
        self.invocations = 0
        self.extensions = {}          # id -> Extension, current registrations

    # -- runtime life-cycle -------------------------------------------------

    def start_runtime(self):
        with self.cond:
            if self.runtime is None or self.runtime.gone:
                self._start_runtime_locked()

    def _start_runtime_locked(self):
        self.generation += 1
        rt = Runtime(self.generation)
        self.runtime = rt
        self.inits += 1
        env = self.config.runtime_env()
        self._start_extensions_locked(rt, env)
        # Spawning under the lock: the child's first /next must see this runtime.
        try:
            proc = self.spawner.spawn(self.config.command, env)
        except OSError as exc:
            rt.exec_error = exc
            rt.dead = True
            self._reset_extensions_locked(rt)
            self.log.line("INIT_START Runtime Version: lambda-emulator")
            self.log.line("INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\t"
                          "Error Type: Runtime.InvalidEntrypoint")
            self.log.note("cannot start %s: %s" % (self.config.command[0], exc))
            return rt
        rt.proc = proc
        rt.pid = proc.pid
        self.log.line("INIT_START Runtime Version: lambda-emulator\tPID: %d\tCommand: %s"
                      % (proc.pid, " ".join(self.config.command)))
        threading.Thread(target=self._monitor, args=(rt,), name="monitor-%d" % proc.pid,
                         daemon=True).start()
        return rt

    def _monitor(self, rt):
        # Wait without reaping, kill what is left of the process group while the
        # zombie leader still pins the group id, then reap.
        try:
            os.waitid(os.P_PID, rt.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        rt.kill(signal.SIGKILL)
        returncode = rt.proc.wait()
        with self.cond:
            rt.returncode = returncode
            rt.dead = True
            if not self.closing:  # on shutdown, extensions still get their SHUTDOWN event
                self._reset_extensions_locked(rt)
            if rt.waiter is not None:
                rt.waiter.cancelled = True
            busy = self.current is not None and self.current.runtime is rt
            self.cond.notify_all()
        if self.closing or rt.doomed:
            return
        if not busy:
            if rt.ready_at is None and rt.init_error is None:
                self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                              "Error Type: Runtime.ExitError"
                              % ((time.monotonic() - rt.started) * 1000))
            self.log.note("runtime (pid %d) exited: %s" % (rt.pid, describe_exit(returncode)))

    # -- extensions -----------------------------------------------------------

    def _start_extensions_locked(self, rt, env):
        """Starts every executable in --extensions-dir, as Lambda does with
        /opt/extensions; each must register under its file name."""
        directory = self.config.extensions_dir
        if not directory:
            return
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            self.log.note("extensions dir %s: %s" % (directory, exc))
            return
        for name in names:
            path = os.path.join(directory, name)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                continue
            try:
                proc = self.spawner.spawn([path], env)
            except OSError as exc:
                self.log.note("cannot start extension %s: %s" % (path, exc))
                continue
            rt.ext_procs[name] = proc
            rt.ext_expected.add(name)
            threading.Thread(target=self._reap_extension, args=(rt, name, proc),
                             name="extension-%s" % name, daemon=True).start()

    def _reap_extension(self, rt, name, proc):
        returncode = proc.wait()
        with self.cond:
            self.cond.notify_all()
            if rt.gone or self.closing:
                return
            rt.ext_expected.discard(name)
            for ext in rt.extensions:
                if ext.name == name:
                    self._drop_extension_locked(ext)
            crashed_in_init = not rt.registration_closed and rt.init_error is None
            if crashed_in_init:
                rt.init_error = Result.error(
                    502, "Extension.Crash", "Extension %s exited during init: %s"
                    % (name, describe_exit(returncode)))
                self.cond.notify_all()
        self.log.note("extension %s (pid %d) exited: %s" % (name, proc.pid, describe_exit(returncode)))
        if crashed_in_init:
            self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                          "Error Type: Extension.Crash" % ((time.monotonic() - rt.started) * 1000))
            with self.cond:
                self._kill_locked(rt)

    def _drop_extension_locked(self, ext):
        ext.dropped = True
        ext.ready = False
        if ext.waiter is not None:
            ext.waiter.cancelled = True
        self.cond.notify_all()

    def _reset_extensions_locked(self, rt):
        """The sandbox is reset with its runtime: registrations end, and the
        extension processes we started are killed."""
        for ext in rt.extensions:
            self._drop_extension_locked(ext)
            self.extensions.pop(ext.id, None)
        for proc in rt.ext_procs.values():
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass

    def _extensions_ready_locked(self, rt):
        """Every started extension has registered and every registered one is
        parked in /event/next (so an event may be handed out)."""
        if not rt.ext_expected.issubset(ext.name for ext in rt.extensions):
            return False
        return all(ext.ready for ext in rt.extensions if not ext.dropped)

    def _maybe_close_registration_locked(self, rt):
        if rt.ready_at is not None and self._extensions_ready_locked(rt):
            rt.registration_closed = True

    def register_extension(self, name, events):
        """POST /extension/register -> Extension, or raises ApiError (403, as RAPID)."""
        with self.cond:
            rt = self.runtime
            if not name:
                raise ApiError(403, "Extension.InvalidExtensionName", "Empty extension name")
            if rt is None or rt.gone or rt.registration_closed or self.closing:
                raise ApiError(403, "Extension.RegistrationClosed", "Extension registration closed already")
            external = name in rt.ext_procs
            for event in events:
                if event not in ("INVOKE", "SHUTDOWN"):
                    raise ApiError(403, "Extension.InvalidEventType", "%s: invalid event type" % event)
                if event == "SHUTDOWN" and not external:
                    raise ApiError(403, "Extension.InvalidEventType",
                                   "SHUTDOWN: event not supported for internal extensions")
            if any(ext.name == name for ext in rt.extensions):
                raise ApiError(403, "Extension.InvalidExtensionState",
                               "Extension with this name already registered")
            ext = Extension(name, events, external, rt)
            rt.extensions.append(ext)
            self.extensions[ext.id] = ext
            self.cond.notify_all()
        self.log.line("EXTENSION\tName: %s\tState: Registered\tEvents: [%s]"
                      % (name, ", ".join(sorted(ext.events))))
        return ext

    def extension_next(self, ext_id, sock):
        """GET /extension/event/next: blocks until an event for this extension.
        -> the event (dict), None when the extension was reset, or ApiError."""
        with self.cond:
            ext = self.extensions.get(ext_id)
            if ext is None or ext.dropped:
                raise ApiError(403, "Extension.UnknownExtensionIdentifier", "Unknown extension %s" % ext_id)
            if ext.waiter is not None:
                if ext.waiter.alive():
                    raise ApiError(403, "Extension.InvalidExtensionState",
                                   "State transition from Ready to Ready failed for extension %s" % ext.name)
                ext.waiter.cancelled = True
            waiter = NextWaiter(sock)
            ext.waiter = waiter
            ext.ready = True
            self._maybe_close_registration_locked(ext.runtime)
            self.cond.notify_all()
            while True:
                if waiter.cancelled or ext.dropped:
                    if ext.waiter is waiter:
                        ext.waiter = None
                    return None
                if ext.pending:
                    ext.ready = False
                    ext.waiter = None
                    return ext.pending.popleft()
                self.cond.wait()

    def extension_init_error(self, ext_id, result):
        with self.cond:
            ext = self.extensions.get(ext_id)
            if ext is None or ext.dropped:
                raise ApiError(403, "Extension.UnknownExtensionIdentifier", "Unknown extension %s" % ext_id)
            rt = ext.runtime
            if rt.gone or rt.registration_closed or rt.init_error is not None:
                raise state_error(rt.state_name(), "InitError")
            rt.init_error = result
            self.cond.notify_all()
        self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                      "Error Type: %s" % ((time.monotonic() - rt.started) * 1000, result.function_error))
        timer = threading.Timer(INIT_ERROR_GRACE, self._init_error_watchdog, (rt,))
        timer.daemon = True
        timer.start()

    def extension_known(self, ext_id):
        with self.cond:
            ext = self.extensions.get(ext_id)
            return ext is not None and not ext.dropped

    def _kill_locked(self, rt, wait=1.0):
        """SIGKILL the runtime's process group and wait (bounded) for the reap."""
        if rt.dead:
            return
        rt.doomed = True
        if rt.waiter is not None:
            rt.waiter.cancelled = True
        rt.kill(signal.SIGKILL)
        self.cond.notify_all()
        end = time.monotonic() + wait
        while not rt.dead:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.cond.wait(left)

    def _init_error_watchdog(self, rt):
        with self.cond:
            if rt.dead or rt.doomed:
                return
            self._kill_locked(rt)
        self.log.note("runtime (pid %s) did not exit after /init/error; killed it" % rt.pid)

    # -- invoke side ----------------------------------------------------------

    def invoke(self, inv, stream_sink=None):
        """Run one invocation to completion (FIFO with other invokes); -> Result.
        stream_sink(inv, deadline) -> bool forwards a streamed response to the
        client (False: the deadline passed); without one the stream is drained."""
        with self.cond:
            if self.closing:
                return Result.error(503, "ServiceUnavailable", "the emulator is shutting down")
            ticket = self.ticket_next
            self.ticket_next += 1
            while self.ticket_serving != ticket:
                self.cond.wait()
        try:
            return self._run(inv, stream_sink or drain_stream)
        finally:
            with self.cond:
                if self.current is inv:
                    self.current = None
                self.ticket_serving += 1
                self.cond.notify_all()

    def _run(self, inv, stream_sink):
        cfg = self.config
        with self.cond:
            if self.closing:
                return Result.error(503, "ServiceUnavailable", "the emulator is shutting down")
            rt = self.runtime
            if rt is None or rt.gone:
                rt = self._start_runtime_locked()
            inv.runtime = rt
            inv.state = QUEUED
            queued_at = time.monotonic()
            self.current = inv
            self.cond.notify_all()
            outcome = None
            while outcome is None:
                now = time.monotonic()
                wait_until = None
                if inv.stream is not None and not inv.stream_taken:
                    # A streamed response: forward it outside the lock, then carry on
                    # watching the runtime (the client's answer is already sent).
                    inv.stream_taken = True
                    inv.streamed = True
                    self.cond.release()
                    try:
                        in_time = stream_sink(inv, inv.deadline)
                    finally:
                        self.cond.acquire()
                    if not in_time:
                        outcome = "timeout"
                    continue
                if inv.state == DONE:
                    outcome = "done"
                elif rt.dead:
                    outcome = "exit"
                elif self.closing:
                    outcome = "closing"
                elif inv.state == QUEUED:
                    # Init (or a runtime that never comes back to /next) gets the
                    # function timeout too; after /init/error we wait for the exit.
                    if rt.init_error is None:
                        if rt.ready_at is None:
                            wait_until = rt.started + cfg.init_timeout
                        else:
                            wait_until = queued_at + cfg.timeout
                        if now >= wait_until:
                            outcome = "init-timeout" if rt.ready_at is None else "timeout"
                elif now >= inv.deadline:
                    outcome = "timeout"
                else:
                    wait_until = inv.deadline
                if outcome is None:
                    self.cond.wait(None if wait_until is None else wait_until - now)

            state_at_end = inv.state
            if outcome in ("timeout", "init-timeout"):
                self._kill_locked(rt)
            inv.state = DONE
            if self.current is inv:
                self.current = None
            self.cond.notify_all()

        return self._finish(inv, rt, outcome, state_at_end)

    def _finish(self, inv, rt, outcome, state_at_end):
        """Builds the Result and prints the platform lines (outside the lock)."""
        cfg = self.config
        log = self.log
        end = time.monotonic()
        self.log_start(inv)

        if outcome == "done":
            result = inv.result
        elif outcome == "closing":
            result = Result.error(503, "ServiceUnavailable", "the emulator is shutting down")
        elif outcome in ("timeout", "init-timeout"):
            text = cfg.timeout_text()
            log.line("%s %s %s" % (datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                   inv.id, text))
            if outcome == "init-timeout":
                log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: timeout"
                         % ((end - rt.started) * 1000))
            result = Result(200, text.encode(), "text/plain; charset=utf-8", "Sandbox.Timedout")
        elif state_at_end == QUEUED and rt.init_error is not None:
            result = rt.init_error
        elif state_at_end == QUEUED and rt.exec_error is not None:
            exc = rt.exec_error
            message = "RequestId: %s Error: fork/exec %s: %s" % (
                inv.id, cfg.command[0], (exc.strerror or str(exc)).lower())
            log.line(message + "\nRuntime.InvalidEntrypoint")
            result = Result.error(502, "Runtime.InvalidEntrypoint", message)
        else:  # the runtime exited before it was ready for the next event
            if rt.returncode == 0:
                reason = "Runtime exited without providing a reason"
            else:
                reason = "Runtime exited with error: " + describe_exit(rt.returncode)
            message = "RequestId: %s Error: %s" % (inv.id, reason)
            log.line(message + "\nRuntime.ExitError")
            if state_at_end == QUEUED and rt.ready_at is None:
                log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                         "Error Type: Runtime.ExitError" % ((end - rt.started) * 1000))
            result = Result.error(502, "Runtime.ExitError", message)

        # END / REPORT, as the RIE prints them (Init Duration once per init).
        if inv.dispatched_at is not None:
            duration = min(end - inv.dispatched_at, cfg.timeout) * 1000
        else:
            duration = 0.0
        init = ""
        if not rt.init_reported:
            rt.init_reported = True
            ready = rt.ready_at if rt.ready_at is not None else end
            init = "Init Duration: %.2f ms\t" % (min(ready - rt.started, cfg.init_timeout) * 1000)
        if inv.streamed:
            result = Result(200, b"", None, result.function_error, streamed=True)
        memory = rt.max_memory_mb(cfg.memory) if not rt.gone else cfg.memory
        log.line("END RequestId: %s" % inv.id)
        log.line("REPORT RequestId: %s\t%sDuration: %.2f ms\tBilled Duration: %d ms\t"
                 "Memory Size: %s MB\tMax Memory Used: %s MB\t"
                 % (inv.id, init, duration, math.ceil(duration), cfg.memory, memory))
        return result

    # -- runtime side ---------------------------------------------------------

    def next_invocation(self, sock):
        """GET /next: blocks until an invocation is ready for this runtime.
        Returns the Invocation, None when the runtime went away meanwhile (the
        caller drops the connection), or raises ApiError."""
        with self.cond:
            rt = self.runtime
            if rt is None or rt.gone or self.closing:
                raise state_error("Gone" if rt else "NotStarted", "Ready")
            inv = self.current
            if inv is not None and inv.runtime is rt:
                if inv.state in (RUNNING, RECEIVING):
                    raise state_error("Invoke", "Ready")
                if inv.state == RESPONDED:
                    # The RIE hands the response to the client only now.
                    inv.result = inv.posted
                    inv.state = DONE
                    self.cond.notify_all()
            if rt.init_error is not None:
                raise state_error("InitError", "Ready")
            if rt.ready_at is None:
                rt.ready_at = time.monotonic()
                self._maybe_close_registration_locked(rt)
                self.cond.notify_all()
            if rt.waiter is not None:
                if rt.waiter.alive():
                    raise state_error("Ready", "Ready")
                rt.waiter.cancelled = True
            waiter = NextWaiter(sock)
            rt.waiter = waiter
            while True:
                # On shutdown the parked /next stays open: the runtime gets
                # SIGTERM/SIGKILL, not a dropped connection (as in Lambda).
                # An init error (say, an extension crashed) means no event either.
                if waiter.cancelled or rt.gone or rt.init_error is not None:
                    if rt.waiter is waiter:
                        rt.waiter = None
                    return None
                inv = self.current
                if (inv is not None and inv.runtime is rt and inv.state == QUEUED
                        and self._extensions_ready_locked(rt)):
                    break
                self.cond.wait()
            rt.waiter = None
            now = time.monotonic()
            inv.state = RUNNING
            inv.dispatched_at = now
            inv.deadline = now + self.config.timeout
            inv.deadline_ms = int(time.time() * 1000 + self.config.timeout * 1000)
            rt.invocations += 1
            self.invocations += 1
            rt.registration_closed = True
            for ext in rt.extensions:
                if "INVOKE" in ext.events and not ext.dropped:
                    event = {"eventType": "INVOKE", "deadlineMs": inv.deadline_ms, "requestId": inv.id,
                             "invokedFunctionArn": self.config.function_arn}
                    if inv.trace_id:
                        event["tracing"] = {"type": "X-Amzn-Trace-Id", "value": inv.trace_id}
                    ext.pending.append(event)
            self.cond.notify_all()
            return inv

    def log_start(self, inv):
        """START, printed before the event goes out (and not under self.cond, so a
        slow stdout reader can never wedge the state machine)."""
        with self.cond:
            if inv.start_logged:
                return
            inv.start_logged = True
        self.log.line("START RequestId: %s Version: %s" % (inv.id, self.config.version))

    def dispatch_failed(self, inv):
        """Writing the /next reply failed: give the event to the next /next."""
        with self.cond:
            if inv.state == RUNNING:
                inv.state = QUEUED
                inv.dispatched_at = None
                self.cond.notify_all()

    def begin_post(self, request_id):
        """Start of POST /invocation/{id}/response|error. RAPID checks the runtime
        state first (403), then the id (400)."""
        with self.cond:
            rt = self.runtime
            inv = self.current
            if (rt is None or rt.gone or inv is None or inv.runtime is not rt
                    or inv.state != RUNNING):
                state = "Invoke" if inv is None or inv.state != RESPONDED else "InvocationResponse"
                raise state_error(state, "InvocationResponse")
            if inv.id != request_id:
                raise ApiError(400, "InvalidRequestID", "Invalid request ID")
            inv.state = RECEIVING
            return inv

    def finish_post(self, inv, result):
        """Records what the runtime posted; False if the invocation ended meanwhile."""
        with self.cond:
            if inv.state != RECEIVING:
                return False
            inv.posted = result
            inv.state = RESPONDED
            self.cond.notify_all()
            return True

    def begin_stream(self, inv, chunks, content_type):
        """A streaming /response has started: hand its chunk queue to the invoke side."""
        with self.cond:
            inv.stream = chunks
            inv.stream_content_type = content_type
            self.cond.notify_all()

    def post_init_error(self, result):
        with self.cond:
            rt = self.runtime
            if rt is None or rt.gone or rt.ready_at is not None or rt.init_error is not None:
                raise state_error(rt.state_name() if rt else "NotStarted", "InitError")
            rt.init_error = result
            self.cond.notify_all()
        self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                      "Error Type: %s" % ((time.monotonic() - rt.started) * 1000,
                                          result.function_error))
        timer = threading.Timer(INIT_ERROR_GRACE, self._init_error_watchdog, (rt,))
        timer.daemon = True
        timer.start()

    # -- introspection / shutdown -------------------------------------------

    def status(self):
        with self.cond:
            rt = self.runtime
            return {
                "runtime": None if rt is None else {
                    "pid": rt.pid,
                    "state": rt.state_name(),
                    "generation": rt.generation,
                    "invocations": rt.invocations,
                    "returncode": rt.returncode,
                    "extensions": [ext.describe() for ext in rt.extensions],
                },
                "inits": self.inits,
                "invocations": self.invocations,
                "queued": self.ticket_next - self.ticket_serving,
                "current": None if self.current is None else {
                    "id": self.current.id, "state": self.current.state},
            }

    def shutdown(self, grace=None):
        """SIGTERM the runtime, SIGKILL after `grace` seconds (default: 2, or
        EMULATOR_SHUTDOWN_GRACE)."""
        if grace is None:
            grace = self.config.shutdown_grace
        with self.cond:
            self.closing = True
            self.cond.notify_all()
            rt = self.runtime
            if rt is None or rt.dead:
                return
            # Extensions that asked for it get SHUTDOWN; the runtime gets SIGTERM.
            deadline_ms = int(time.time() * 1000 + grace * 1000)
            for ext in rt.extensions:
                if "SHUTDOWN" in ext.events and not ext.dropped:
                    ext.pending.append({"eventType": "SHUTDOWN", "shutdownReason": "spindown",
                                        "deadlineMs": deadline_ms})
            self.cond.notify_all()
            rt.kill(signal.SIGTERM)
            end = time.monotonic() + grace

            def running():
                return not rt.dead or any(p.returncode is None for p in rt.ext_procs.values())

            while running() and time.monotonic() < end:
                self.cond.wait(min(0.05, max(0.0, end - time.monotonic())))
            if running():
                self.log.note("runtime did not exit %g s after SIGTERM; killing it" % grace)
                self._reset_extensions_locked(rt)
                self._kill_locked(rt, wait=2.0)


# --------------------------------------------------------------------------
# Response streaming: the runtime's POST handler puts bytes chunks on
# inv.stream, then one ("end", error) tuple, error being None or
# (error_type, error_body) with the body as the runtime gave it (base64 text).


def pump_stream(inv, deadline, write_chunk=None, write_end=None):
    """Moves a streamed response from inv.stream to the writers (None: drop it).
    Returns False if the deadline passed first. Writer errors only stop writing:
    the queue is still drained so the runtime's POST is never stuck."""
    writing = write_chunk is not None
    while True:
        left = deadline - time.monotonic()
        try:
            item = inv.stream.get(timeout=left) if left > 0 else inv.stream.get_nowait()
        except queue.Empty:
            if writing:
                try:
                    write_end(None, timed_out=True)
                except OSError:
                    pass
            return False
        if isinstance(item, tuple):
            if writing:
                try:
                    write_end(item[1])
                except OSError:
                    pass
            return True
        if writing and item:
            try:
                write_chunk(item)
            except OSError:
                writing = False


def drain_stream(inv, deadline):
    return pump_stream(inv, deadline)


# --------------------------------------------------------------------------
# Fault injection (see emulator/README.md, "Fault injection")

FAULT_KINDS = {
    "next": {"status", "reset", "delay", "reset_mid_body", "short_body", "no_request_id",
             "deadline", "big_headers", "headers", "slow_body"},
    "response": {"status", "reset", "reset_mid_body", "delay", "reset_after"},
    "error": {"status", "reset", "reset_mid_body", "delay", "reset_after"},
    "init_error": {"status", "reset", "reset_mid_body", "delay"},
}
# /next faults after which the event was not really delivered: it goes back to the queue.
UNDELIVERED = {"status", "reset", "reset_mid_body", "short_body", "no_request_id"}


class Fault:
    """One rule: on the matching Runtime API request(s), misbehave as `fault` says.
    Spec (JSON): {"endpoint": "next|response|error|init_error", "fault": KIND,
    "count": 1 (-1 = every time), "skip": 0, ...kind parameters}."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        self.spec = dict(spec)
        self.endpoint = spec.get("endpoint")
        self.kind = spec.get("fault")
        if self.endpoint not in FAULT_KINDS:
            raise ValueError("endpoint must be one of %s" % ", ".join(sorted(FAULT_KINDS)))
        if self.kind not in FAULT_KINDS[self.endpoint]:
            raise ValueError("fault for %s must be one of %s"
                             % (self.endpoint, ", ".join(sorted(FAULT_KINDS[self.endpoint]))))
        self.count = int(spec.get("count", 1))
        self.skip = int(spec.get("skip", 0))
        self.status = int(spec.get("status", 500))
        body = spec.get("body")
        if body is None:
            body = {"errorMessage": "fault injected by the emulator", "errorType": "InjectedFault"}
        self.body = body.encode() if isinstance(body, str) else json_bytes(body)
        self.seconds = float(spec.get("seconds", 1.0))
        self.process = bool(spec.get("process", True))
        self.value = str(spec.get("value", "not-a-number"))
        self.size = int(spec.get("size", 65536))
        self.split = bool(spec.get("split", False))
        self.set_headers = dict(spec.get("set", {}))
        self.remove_headers = [h.lower() for h in spec.get("remove", [])]
        self.pieces = max(1, int(spec.get("pieces", 10)))

    def describe(self):
        d = dict(self.spec)
        d["count"] = self.count
        d["skip"] = self.skip
        return d


class Faults:
    def __init__(self, log):
        self.lock = threading.Lock()
        self.rules = []
        self.log = log

    def add(self, specs):
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list):
            raise ValueError("faults: want a JSON object or a list of them")
        rules = [Fault(spec) for spec in specs]
        with self.lock:
            self.rules.extend(rules)

    def clear(self):
        with self.lock:
            self.rules = []

    def describe(self):
        with self.lock:
            return [rule.describe() for rule in self.rules]

    def take(self, endpoint):
        """The first rule for this endpoint that fires now, or None."""
        with self.lock:
            for rule in self.rules:
                if rule.endpoint != endpoint:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    return None
                if rule.count > 0:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
                self.log.note("fault: %s %s" % (endpoint, rule.kind))
                return rule
        return None


# --------------------------------------------------------------------------
# HTTP plumbing


class BadBody(Exception):
    """Malformed or truncated request body (the connection is unusable)."""


class BodyReader:
    """Reads a request body framed by Content-Length or chunked encoding.
    After a chunked body, .trailers holds the trailer fields."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.trailers = {}
        te = headers.get("Transfer-Encoding", "")
        self.chunked = "chunked" in te.lower()
        self.length = 0
        if not self.chunked:
            cl = headers.get("Content-Length")
            if cl:
                try:
                    self.length = int(cl)
                except ValueError:
                    raise BadBody("bad Content-Length %r" % cl)
                if self.length < 0:
                    raise BadBody("bad Content-Length %r" % cl)

    def chunks(self, bufsize=1 << 20):
        if not self.chunked:
            left = self.length
            while left:
                data = self.rfile.read(min(left, bufsize))
                if not data:
                    raise BadBody("body truncated (%d bytes missing)" % left)
                left -= len(data)
                yield data
            return
        while True:
            line = self.rfile.readline(1026)
            if not line.endswith(b"\n"):
                raise BadBody("truncated chunk header")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadBody("bad chunk size %r" % line[:40])
            if size == 0:
                break
            left = size
            while left:
                data = self.rfile.read(min(left, bufsize))
                if not data:
                    raise BadBody("chunk truncated")
                left -= len(data)
                yield data
            if self.rfile.read(2) != b"\r\n":
                raise BadBody("missing CRLF after chunk")
        while True:  # trailer section
            line = self.rfile.readline(65537)
            if not line.endswith(b"\n"):
                raise BadBody("truncated trailers")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()

    def read(self, limit):
        """-> (body, total): at most `limit` bytes kept, the rest read and dropped
        (up to DRAIN_LIMIT). total is the full size."""
        if not self.chunked and self.length <= limit:
            data = self.rfile.read(self.length) if self.length else b""
            if len(data) != self.length:
                raise BadBody("body truncated (%d of %d bytes)" % (len(data), self.length))
            return data, self.length
        parts = []
        kept = 0
        total = 0
        for data in self.chunks():
            total += len(data)
            if kept < limit:
                take = data[:limit - kept]
                parts.append(take)
                kept += len(take)
            if total > DRAIN_LIMIT:
                raise BadBody("body larger than %d bytes" % DRAIN_LIMIT)
        return b"".join(parts), total


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, emulator):
        self.emulator = emulator
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class BaseHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-emulator"
    sys_version = ""

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        if os.environ.get("EMULATOR_DEBUG"):
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), format % args))

    @property
    def emulator(self):
        return self.server.emulator

    def path_only(self):
        return self.path.split("?", 1)[0]

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        """One write per reply (headers + small body) to keep latency low."""
        reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        if content_type:
            lines.append("Content-Type: " + content_type)
        lines.append("Content-Length: %d" % len(body))
        for name, value in headers:
            lines.append("%s: %s" % (name, value))
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) <= 65536:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)
        self.log_request(status, len(body))

    def reply_json(self, status, obj, headers=()):
        self.reply(status, json_bytes(obj), "application/json", headers)

    def drain(self):
        """Reads and drops the request body so the connection can be reused."""
        try:
            BodyReader(self.rfile, self.headers).read(0)
        except BadBody:
            self.close_connection = True

    def not_found(self):
        self.drain()
        self.reply(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def reset_connection(self):
        """Abort the connection with a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def read_part_of_body(self):
        """Reads about half of the request body (for reset_mid_body faults)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(max(1, length // 2))
            else:
                self.rfile.readline(1026)
        except (OSError, ValueError):
            pass


class RuntimeApiHandler(BaseHandler):
    """The Lambda Runtime API, as RAPID serves it to the runtime."""

    post_fault = None

    def do_GET(self):
        self.post_fault = None
        path = self.path_only()
        if path == NEXT_PATH:
            return self.api_next()
        if path == EXT_NEXT_PATH:
            return self.ext_next()
        self.not_found()

    def do_POST(self):
        self.post_fault = None
        path = self.path_only()
        match = POST_RE.fullmatch(path)
        if match:
            endpoint, handler = match.group(2), (self.api_response if match.group(2) == "response"
                                                 else self.api_error)
            args = (match.group(1),)
        elif path == INIT_ERROR_PATH:
            endpoint, handler, args = "init_error", self.api_init_error, ()
        elif path == EXT_REGISTER_PATH:
            return self.ext_register()
        elif path in (EXT_INIT_ERROR_PATH, EXT_EXIT_ERROR_PATH):
            return self.ext_error(path == EXT_INIT_ERROR_PATH)
        else:
            return self.not_found()
        fault = self.emulator.faults.take(endpoint)
        if fault is not None:
            if fault.kind == "reset":
                return self.reset_connection()
            if fault.kind == "reset_mid_body":
                self.read_part_of_body()
                return self.reset_connection()
            if fault.kind == "status" and not fault.process:
                self.drain()
                return self.reply(fault.status, fault.body)
            self.post_fault = fault  # status / delay / reset_after: applied to the reply
        handler(*args)

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        fault, self.post_fault = self.post_fault, None
        if fault is not None:
            if fault.kind == "reset_after":  # the post counted; its answer is lost
                return self.reset_connection()
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                status, body, content_type = fault.status, fault.body, "application/json"
        super().reply(status, body, content_type, headers)

    def api_next(self):
        self.drain()
        sandbox = self.emulator.sandbox
        try:
            inv = sandbox.next_invocation(self.connection)
        except ApiError as err:
            return self.reply(err.status, err.body)
        if inv is None:  # the runtime was killed or the emulator is stopping
            self.close_connection = True
            return
        headers = inv.next_headers(self.emulator.config.function_arn)
        # /next faults act when an event is handed out, so they hit a known invoke.
        fault = self.emulator.faults.take("next")
        if fault is not None and fault.kind in UNDELIVERED:
            return self.next_fault(inv, headers, fault)
        sandbox.log_start(inv)
        if fault is not None:
            headers = self.next_fault(inv, headers, fault)
        try:
            if fault is not None and fault.kind == "slow_body":
                self.reply_slowly(inv.body, inv.content_type, headers, fault)
            else:
                self.reply(200, inv.body, inv.content_type, headers)
        except OSError:
            self.close_connection = True
            sandbox.dispatch_failed(inv)

    def reply_slowly(self, body, content_type, headers, fault):
        """The headers at once, then the body in `pieces` parts spread over `seconds`."""
        head = ["HTTP/1.1 200 OK", "Content-Type: " + content_type, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in headers]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.wfile.flush()
        step = -(-len(body) // fault.pieces) if body else 0
        for i in range(fault.pieces):
            time.sleep(fault.seconds / fault.pieces)
            part = body[i * step:(i + 1) * step]
            if part:
                self.wfile.write(part)
                self.wfile.flush()
        self.log_request(200, len(body))

    def next_fault(self, inv, headers, fault):
        """Applies a /next fault. Kinds that do not deliver the event put it back
        in the queue (a runtime that retries /next gets it); the others return
        the headers to send."""
        kind = fault.kind
        if kind == "delay":
            time.sleep(fault.seconds)
        elif kind == "deadline":
            headers = [(k, fault.value if k == "Lambda-Runtime-Deadline-Ms" else v) for k, v in headers]
        elif kind == "big_headers":
            if fault.split:
                n = max(1, fault.size // 1024)
                headers = headers + [("X-Emulator-Padding-%d" % i, "p" * 1000) for i in range(n)]
            else:
                headers = headers + [("X-Emulator-Padding", "p" * fault.size)]
        elif kind == "headers":
            headers = [(k, v) for k, v in headers if k.lower() not in fault.remove_headers
                       and k not in fault.set_headers]
            headers += [(k, str(v)) for k, v in fault.set_headers.items()]
        if kind not in UNDELIVERED:
            return headers

        self.emulator.sandbox.dispatch_failed(inv)
        if kind == "status":
            self.reply(fault.status, fault.body)
        elif kind == "reset":
            self.reset_connection()
        elif kind == "no_request_id":
            headers = [(k, v) for k, v in headers if k != "Lambda-Runtime-Aws-Request-Id"]
            self.reply(200, inv.body, inv.content_type, headers)
        else:  # reset_mid_body / short_body: promise the whole body, send half
            head = ["HTTP/1.1 200 OK", "Content-Type: " + inv.content_type,
                    "Content-Length: %d" % len(inv.body)]
            head += ["%s: %s" % kv for kv in headers]
            try:
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                                 + inv.body[:len(inv.body) // 2])
            except OSError:
                pass
            if kind == "reset_mid_body":
                time.sleep(0.05)  # let the partial body reach the runtime before the RST
                self.reset_connection()
            else:
                self.close_connection = True
        return None

    def _begin(self, request_id):
        try:
            return self.emulator.sandbox.begin_post(request_id)
        except ApiError as err:
            self.drain()
            self.reply(err.status, err.body)
            return None

    def _finish(self, inv, result, status=202, body=None):
        if not self.emulator.sandbox.finish_post(inv, result):
            err = state_error("Invoke", "InvocationResponse")
            return self.reply(err.status, err.body)
        self.reply(status, body if body is not None else json_bytes({"status": "OK"}))

    def _read_or_truncated(self, inv, reader, limit):
        try:
            return reader.read(limit)
        except BadBody as exc:
            self.close_connection = True
            result = Result.error(200, "Runtime.TruncatedResponse",
                                  "RequestId: %s Error: %s" % (inv.id, exc))
            try:
                self._finish(inv, result, 400, json_bytes({
                    "errorMessage": "HTTP request detected as truncated",
                    "errorType": "TruncatedHTTPRequest"}))
            except OSError:
                pass
            return None, None

    def api_response(self, request_id):
        inv = self._begin(request_id)
        if inv is None:
            return
        try:
            reader = BodyReader(self.rfile, self.headers)
        except BadBody as exc:
            self.close_connection = True
            return self._finish(inv, Result.error(200, "Runtime.TruncatedResponse", str(exc)),
                                400, json_bytes({"errorMessage": str(exc), "errorType": "BadRequest"}))
        mode = self.headers.get("Lambda-Runtime-Function-Response-Mode")
        if mode and mode != "streaming":
            self.drain()
            return self._finish(
                inv, Result(200, b"", self.headers.get("Content-Type") or "application/json",
                            "Runtime.InvalidResponseModeHeader"),
                400, json_bytes({"errorMessage": "Invalid function response mode",
                                 "errorType": "InvalidFunctionResponseMode"}))
        if mode == "streaming":
            return self.stream_response(inv, reader)
        limit = MAX_PAYLOAD
        body, total = self._read_or_truncated(inv, reader, limit)
        if body is None:
            return
        if total > limit:
            result = Result.error(200, "Function.ResponseSizeTooLarge",
                                  "Response payload size (%d bytes) exceeded maximum allowed "
                                  "payload size (%d bytes)." % (total, limit))
            return self._finish(inv, result, 413, json_bytes({
                "errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % limit,
                "errorType": "RequestEntityTooLarge"}))
        self._finish(inv, Result(200, body, self.headers.get("Content-Type") or "application/json"))

    def stream_response(self, inv, reader):
        """Lambda-Runtime-Function-Response-Mode: streaming: chunks go to the client
        as they arrive; error trailers become the client's error trailers."""
        sandbox = self.emulator.sandbox
        limit = self.emulator.config.streaming_limit
        chunks = queue.Queue(maxsize=STREAM_QUEUE)
        sandbox.begin_stream(inv, chunks, self.headers.get("Content-Type") or "application/octet-stream")

        def put(item):
            while True:
                try:
                    chunks.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    if inv.state == DONE:  # timed out: nobody reads any more
                        return False

        def error_doc(error_type, message):
            return base64.b64encode(json_bytes({"errorType": error_type,
                                                "errorMessage": message})).decode()

        total = 0
        error = None
        status, reply = 202, json_bytes({"status": "OK"})
        try:
            for data in reader.chunks(bufsize=65536):
                total += len(data)
                if total > limit:
                    message = ("Response payload size exceeded maximum allowed payload size "
                               "(%d bytes)." % limit)
                    error = ("Function.ResponseSizeTooLarge",
                             error_doc("Function.ResponseSizeTooLarge", message))
                    status, reply = 413, json_bytes({
                        "errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % limit,
                        "errorType": "RequestEntityTooLarge"})
                    self.close_connection = True
                    break
                if not put(data):
                    self.close_connection = True
                    break
        except BadBody as exc:
            self.close_connection = True
            error = ("Runtime.TruncatedResponse", error_doc("Runtime.TruncatedResponse", str(exc)))
            status, reply = 400, json_bytes({"errorMessage": "HTTP request detected as truncated",
                                             "errorType": "TruncatedHTTPRequest"})
        if error is None and reader.trailers.get("lambda-runtime-function-error-type"):
            error = (valid_error_type(reader.trailers["lambda-runtime-function-error-type"]),
                     reader.trailers.get("lambda-runtime-function-error-body", ""))
        put(("end", error))
        result = Result(200, b"", None, error[0] if error else None, streamed=True)
        try:
            self._finish(inv, result, status, reply)
        except OSError:
            pass

    def api_error(self, request_id):
        inv = self._begin(request_id)
        if inv is None:
            return
        error_type = valid_error_type(self.headers.get("Lambda-Runtime-Function-Error-Type"))
        try:
            reader = BodyReader(self.rfile, self.headers)
        except BadBody as exc:
            self.close_connection = True
            return self._finish(inv, Result.error(200, "Runtime.TruncatedResponse", str(exc)),
                                400, json_bytes({"errorMessage": str(exc), "errorType": "BadRequest"}))
        body, _total = self._read_or_truncated(inv, reader, MAX_PAYLOAD)
        if body is None:
            return
        content_type = self.headers.get("Content-Type") or ""
        if content_type == ERROR_CAUSE_CT:
            # RAPID serves the error without its X-Ray "errorCause".
            try:
                doc = json.loads(body)
                if not isinstance(doc, dict):
                    raise ValueError
                doc.pop("errorCause", None)
                body, content_type = json_bytes(doc), "application/json"
            except ValueError:
                body, content_type = json_bytes("Invalid error body"), "application/octet-stream"
        self._finish(inv, Result(200, body, content_type or "application/json", error_type))

    def api_init_error(self):
        error_type = valid_error_type(self.headers.get("Lambda-Runtime-Function-Error-Type"))
        try:
            body, _total = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody:
            self.close_connection = True
            body = b""
        try:
            json.loads(body)
            content_type = "application/json"
        except ValueError:
            content_type = "application/octet-stream"
        try:
            self.emulator.sandbox.post_init_error(Result(502, body, content_type, error_type))
        except ApiError as err:
            return self.reply(err.status, err.body)
        self.reply_json(202, {"status": "OK"})


    # -- Extensions API (2020-01-01) -----------------------------------------

    def ext_register(self):
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(1 << 20)
            doc = json.loads(body or b"{}")
            if not isinstance(doc, dict):
                raise ValueError("want a JSON object")
            if doc.get("configurationKeys"):
                raise ValueError("configurationKeys are deprecated; use environment variables instead")
            events = doc.get("events") or []
            if not isinstance(events, list):
                raise ValueError("events must be a list")
        except (BadBody, ValueError) as exc:
            return self.reply_json(403, {"errorType": "InvalidRequestFormat", "errorMessage": str(exc)})
        try:
            ext = self.emulator.sandbox.register_extension(self.headers.get("Lambda-Extension-Name", ""),
                                                           [str(e) for e in events])
        except ApiError as err:
            return self.reply(err.status, err.body)
        cfg = self.emulator.config
        answer = {"functionName": cfg.function_name, "functionVersion": cfg.version,
                  "handler": cfg.handler or ""}
        features = [f.strip() for f in self.headers.get("Lambda-Extension-Accept-Feature", "").split(",")]
        if "accountId" in features:
            answer["accountId"] = "012345678912"
        self.reply_json(200, answer, headers=[("Lambda-Extension-Identifier", ext.id)])

    def ext_id(self):
        ext_id = self.headers.get("Lambda-Extension-Identifier")
        if not ext_id:
            self.drain()
            self.reply_json(403, {"errorType": "Extension.MissingHeader",
                                  "errorMessage": "Missing Lambda-Extension-Identifier header"})
        return ext_id

    def ext_next(self):
        self.drain()
        ext_id = self.ext_id()
        if not ext_id:
            return
        try:
            event = self.emulator.sandbox.extension_next(ext_id, self.connection)
        except ApiError as err:
            return self.reply(err.status, err.body)
        if event is None:  # the sandbox was reset
            self.close_connection = True
            return
        self.reply_json(200, event, headers=[("Lambda-Extension-Event-Identifier", str(uuid.uuid4()))])

    def ext_error(self, init):
        ext_id = self.ext_id()
        if not ext_id:
            return
        error_type = self.headers.get("Lambda-Extension-Function-Error-Type") or ""
        error_type = error_type if EXT_ERROR_TYPE_RE.search(error_type) else "Extension.Unknown"
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody:
            self.close_connection = True
            body = b""
        sandbox = self.emulator.sandbox
        if not sandbox.extension_known(ext_id):
            return self.reply_json(403, {"errorType": "Extension.UnknownExtensionIdentifier",
                                         "errorMessage": "Unknown extension %s" % ext_id})
        if init:
            if not body:
                body = json_bytes({"errorType": error_type, "errorMessage": "Extension init error"})
            try:
                sandbox.extension_init_error(ext_id, Result(502, body, "application/json", error_type))
            except ApiError as err:
                return self.reply(err.status, err.body)
        else:
            self.emulator.log.note("extension %s reported exit error %s" % (ext_id, error_type))
        self.reply_json(202, {"status": "OK"})


class InvokeHandler(BaseHandler):
    """The client side: POST (or GET) /2015-03-31/functions/function/invocations."""

    def do_POST(self):
        path = self.path_only()
        if path == INVOKE_PATH:
            return self.invoke()
        if path == FAULTS_PATH:
            return self.add_faults()
        self.not_found()

    def do_GET(self):
        path = self.path_only()
        if path == INVOKE_PATH:
            return self.invoke()
        if path == STATUS_PATH:
            self.drain()
            return self.reply_json(200, self.emulator.sandbox.status())
        if path == FAULTS_PATH:
            self.drain()
            return self.reply_json(200, self.emulator.faults.describe())
        self.not_found()

    def do_DELETE(self):
        if self.path_only() == FAULTS_PATH:
            self.drain()
            self.emulator.faults.clear()
            return self.reply_json(200, [])
        self.not_found()

    def stream_sink(self, inv, deadline):
        """Forwards a streamed response: chunked, with error trailers
        (X-Amz-Function-Error, X-Amz-Function-Error-Type, X-Amz-Function-Error-Body)."""
        head = ["HTTP/1.1 200 OK",
                "Content-Type: " + inv.stream_content_type,
                "Transfer-Encoding: chunked",
                "X-Amzn-RequestId: " + inv.id,
                "X-Amz-Executed-Version: " + self.emulator.config.version,
                "X-Amz-Function-Response-Mode: streaming",
                "Trailer: X-Amz-Function-Error, X-Amz-Function-Error-Type, X-Amz-Function-Error-Body"]
        if self.close_connection:
            head.append("Connection: close")
        timeout_body = base64.b64encode(self.emulator.config.timeout_text().encode()).decode()
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        except OSError:
            self.close_connection = True
            return pump_stream(inv, deadline)

        def write_chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def write_end(error, timed_out=False):
            if timed_out:
                error = ("Sandbox.Timedout", timeout_body)
            if error:
                trailers = ("X-Amz-Function-Error: Unhandled\r\nX-Amz-Function-Error-Type: %s\r\n"
                            "X-Amz-Function-Error-Body: %s\r\n" % error)
            else:
                trailers = ""
            self.wfile.write(("0\r\n%s\r\n" % trailers).encode("latin-1", "replace"))

        def guarded_write_chunk(data):
            try:
                write_chunk(data)
            except OSError:
                self.close_connection = True
                raise

        in_time = pump_stream(inv, deadline, guarded_write_chunk, write_end)
        self.log_request(200, "-")
        return in_time

    def add_faults(self):
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(1 << 20)
            self.emulator.faults.add(json.loads(body))
        except (BadBody, ValueError, TypeError) as exc:
            return self.reply_json(400, {"errorType": "InvalidFault", "errorMessage": str(exc)})
        self.reply_json(200, self.emulator.faults.describe())

    def invoke(self):
        try:
            body, total = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody as exc:
            self.close_connection = True
            return self.reply_json(400, {"Type": "User", "message": str(exc)})
        if total > MAX_PAYLOAD:
            return self.reply_json(
                413, {"Type": "User",
                      "message": "Request must be smaller than %d bytes for the InvokeFunction "
                                 "operation" % MAX_PAYLOAD},
                headers=[("X-Amzn-ErrorType", "RequestTooLargeException")])
        h = self.headers
        client_context = h.get("X-Amz-Client-Context")
        if client_context:
            try:
                client_context = base64.b64decode(client_context, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                return self.reply_json(
                    400, {"Type": "User", "message": "Client context must be a valid Base64-encoded "
                                                     "JSON object."},
                    headers=[("X-Amzn-ErrorType", "InvalidRequestContentException")])
        content_type = h.get("Content-Type")
        if content_type and content_type.split(";")[0].strip().lower() == FORM_CT:
            content_type = None  # curl -d's default, not a choice: treat as JSON
        inv = Invocation(
            body,
            content_type=content_type,
            request_id=h.get("X-Amzn-RequestId"),
            trace_id=h.get("X-Amzn-Trace-Id"),
            client_context=client_context,
            cognito_identity=h.get("X-Amz-Cognito-Identity"),
            tenant_id=h.get("X-Amz-Tenant-Id"),
        )
        invocation_type = (h.get("X-Amz-Invocation-Type") or "RequestResponse").strip()
        if invocation_type == "DryRun":
            return self.reply(204, b"", None, [("X-Amzn-RequestId", inv.id)])
        if invocation_type == "Event":
            threading.Thread(target=self.emulator.sandbox.invoke, args=(inv,), daemon=True).start()
            return self.reply(202, b"", None, [("X-Amzn-RequestId", inv.id)])
        result = self.emulator.sandbox.invoke(inv, self.stream_sink)
        if result.streamed:
            return
        headers = [("X-Amzn-RequestId", inv.id),
                   ("X-Amz-Executed-Version", self.emulator.config.version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            headers.append(("X-Amz-Function-Error-Type", result.function_error))
        self.reply(result.status, result.body, result.content_type, headers)


# --------------------------------------------------------------------------
# Wiring


class Emulator:
    def __init__(self, config, log=None):
        self.config = config
        self.log = log or Log()
        self.spawner = Spawner()
        self.sandbox = Sandbox(config, self.log, self.spawner)
        self.faults = Faults(self.log)
        if config.environ.get("EMULATOR_FAULTS"):
            try:
                self.faults.add(json.loads(config.environ["EMULATOR_FAULTS"]))
            except (ValueError, TypeError) as exc:
                raise SystemExit("lambda_emulator: bad EMULATOR_FAULTS: %s" % exc)
        self.api_server = None
        self.invoke_server = None
        self.threads = []

    def start(self):
        cfg = self.config
        self.api_server = Server(cfg.api_address, RuntimeApiHandler, self)
        self.invoke_server = Server(cfg.invoke_address, InvokeHandler, self)
        api = fmt_address(self.api_server.server_address)
        invoke = fmt_address(self.invoke_server.server_address)
        cfg.api_host_port = api
        for name, server in (("runtime-api", self.api_server), ("invoke", self.invoke_server)):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                 name=name, daemon=True)
            t.start()
            self.threads.append(t)
        if cfg.port_file:
            tmp = cfg.port_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"invoke": invoke, "runtime_api": api, "pid": os.getpid(),
                           "invoke_port": self.invoke_server.server_address[1],
                           "runtime_api_port": self.api_server.server_address[1]}, f)
            os.replace(tmp, cfg.port_file)
        self.log.line("emulator: runtime API on %s" % api)
        self.log.line("emulator: listening on %s" % invoke)
        if cfg.eager:
            self.sandbox.start_runtime()

    def stop(self, close_servers=True):
        """Stops the runtime (SIGTERM, SIGKILL after 2 s), then the servers.
        main() skips closing the servers: the process is about to exit."""
        self.sandbox.shutdown()
        if not close_servers:
            return
        for server in (self.invoke_server, self.api_server):
            if server is not None:
                server.shutdown()
                server.server_close()


def build_parser():
    p = argparse.ArgumentParser(
        prog="lambda_emulator.py",
        description="Local AWS Lambda emulator (RIE-compatible command line).")
    p.add_argument("--runtime-interface-emulator-address", dest="invoke_address",
                   type=lambda s: parse_address(s, "127.0.0.1"), default=("127.0.0.1", 9000),
                   help="invoke endpoint address (default 127.0.0.1:9000; port 0 = any free port)")
    p.add_argument("--runtime-api-address", dest="api_address",
                   type=lambda s: parse_address(s, "127.0.0.1"), default=("127.0.0.1", 9001),
                   help="Runtime API address (default 127.0.0.1:9001; port 0 = any free port)")
    p.add_argument("--eager", action="store_true",
                   help="start the runtime now instead of on the first invoke")
    p.add_argument("--port-file", help="write the bound addresses here as JSON once serving")
    p.add_argument("--extensions-dir", metavar="DIR",
                   help="start every executable in DIR as an external extension at each init "
                        "(as Lambda does with /opt/extensions; default: none)")
    p.add_argument("--log-level", help="accepted for RIE compatibility; ignored")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="BOOTSTRAP [ARGS...]")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    config = Config(args, os.environ)
    emulator = Emulator(config)
    try:
        emulator.start()
    except OSError as exc:
        sys.stderr.write("emulator: cannot listen: %s\n" % exc)
        return 1
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    emulator.log.note("stopping")
    emulator.stop(close_servers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
