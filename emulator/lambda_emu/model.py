"""What the sandbox keeps: Result, ApiError, Runtime, Extension, Invocation."""

import collections
import math
import os
import select
import signal
import socket
import time
import uuid

from .protocol import json_bytes


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
