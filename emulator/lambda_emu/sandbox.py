"""The sandbox: one runtime, one invocation at a time, shared by both servers (one Condition).
(Managed Instances' several at a time: concurrent.py, a subclass.)"""

import datetime
import math
import os
import signal
import threading
import time

from .extensions import ExtensionsMixin
from .model import (
    ApiError, DONE, NextWaiter, QUEUED, RECEIVING, RESPONDED, RUNNING, Result, Runtime, state_error)
from .protocol import INIT_ERROR_GRACE, describe_exit
from .streaming import drain_stream


class Sandbox(ExtensionsMixin):
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
            self._cancel_waiters_locked(rt)
            busy = self._serving_locked(rt)
            self.cond.notify_all()
        if self.closing or rt.doomed:
            return
        if not busy:
            if rt.ready_at is None and rt.init_error is None:
                self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                              "Error Type: Runtime.ExitError"
                              % ((time.monotonic() - rt.started) * 1000))
            self.log.note("runtime (pid %d) exited: %s" % (rt.pid, describe_exit(returncode)))

    def _kill_locked(self, rt, wait=1.0):
        """SIGKILL the runtime's process group and wait (bounded) for the reap."""
        if rt.dead:
            return
        rt.doomed = True
        self._cancel_waiters_locked(rt)
        rt.kill(signal.SIGKILL)
        self.cond.notify_all()
        end = time.monotonic() + wait
        while not rt.dead:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.cond.wait(left)

    def _cancel_waiters_locked(self, rt):
        """The runtime is gone: its parked /next (if any) ends."""
        if rt.waiter is not None:
            rt.waiter.cancelled = True

    def _serving_locked(self, rt):
        """An invocation is in the runtime's hands (its end is reported there)."""
        return self.current is not None and self.current.runtime is rt

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
        with self.cond:
            if self.closing:
                return Result.error(503, "ServiceUnavailable", "the emulator is shutting down")
            rt = self.runtime
            if rt is None or rt.gone:
                rt = self._start_runtime_locked()
            inv.runtime = rt
            inv.state = QUEUED
            queued_at = time.monotonic()
            self._enqueue_locked(inv)
            self.cond.notify_all()
            outcome = self._outcome_locked(inv, rt, queued_at, stream_sink)
            state_at_end = inv.state
            self._end_locked(inv, rt, outcome)
            inv.state = DONE
            self.cond.notify_all()

        return self._finish(inv, rt, outcome, state_at_end)

    def _enqueue_locked(self, inv):
        self.current = inv

    def _end_locked(self, inv, rt, outcome):
        """The invocation is over for its client: a timed-out runtime is killed (and re-inited at
        the next invoke), as the RIE does."""
        if outcome in ("timeout", "init-timeout"):
            self._kill_locked(rt)
        if self.current is inv:
            self.current = None

    def _outcome_locked(self, inv, rt, queued_at, stream_sink):
        """Waits (under self.cond) until the invocation is answered, its runtime exits, it times
        out or the emulator closes; forwards a streamed response on the way."""
        cfg = self.config
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
        return outcome

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
            self._mark_ready_locked(rt)
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
            self._dispatch_locked(rt, inv)
            return inv

    def _mark_ready_locked(self, rt):
        """A /next: the runtime's init is over (unless it reported an init error)."""
        if rt.init_error is not None:
            raise state_error("InitError", "Ready")
        if rt.ready_at is None:
            rt.ready_at = time.monotonic()
            self._maybe_close_registration_locked(rt)
            self.cond.notify_all()

    def _dispatch_locked(self, rt, inv):
        """The invocation goes to the runtime: its deadline starts, extensions get INVOKE."""
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
            self._record_post_locked(inv, result)
            self.cond.notify_all()
            return True

    def _record_post_locked(self, inv, result):
        """The client gets it when the runtime comes back to /next (next_invocation)."""
        inv.posted = result
        inv.state = RESPONDED

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
