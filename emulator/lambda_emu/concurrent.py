"""Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY=N (N > 1) invocations at once in one sandbox.

As the RIE's Managed Instances mode (internal/lambda-managed-instances): the runtime starts at
once, may park up to N /next requests (its workers), and each invocation goes to a parked /next;
a response or error goes to its client as soon as it is posted; a timed-out invocation answers
its client (Sandbox.Timedout) without killing the runtime, and the runtime's late post for it
gets 410 InvokeTimeout. Unlike the RIE, an invoke with every worker busy waits its turn (FIFO)
instead of failing with 400 Runtime.Unavailable.
"""

import collections

from .model import ApiError, DONE, NextWaiter, QUEUED, RECEIVING, RUNNING, state_error
from .sandbox import Sandbox
from .streaming import drain_stream


class ConcurrentSandbox(Sandbox):
    def __init__(self, config, log, spawner):
        super().__init__(config, log, spawner)
        self.concurrency = config.concurrency
        self.queue = collections.deque()   # invocations waiting for a worker
        self.inflight = {}                 # request id -> invocation a worker has taken
        self.timed_out = set()             # request ids answered with Sandbox.Timedout
        self.waiters = []                  # parked /next requests (NextWaiter)

    # -- invoke side ----------------------------------------------------------

    def invoke(self, inv, stream_sink=None):
        return self._run(inv, stream_sink or drain_stream)

    def _enqueue_locked(self, inv):
        self.queue.append(inv)

    def _end_locked(self, inv, rt, outcome):
        """No worker is killed for one invocation's timeout: the others are serving theirs."""
        if inv in self.queue:
            self.queue.remove(inv)
        if self.inflight.pop(inv.id, None) is not None and outcome == "timeout":
            self.timed_out.add(inv.id)

    def _serving_locked(self, rt):
        return any(inv.runtime is rt for inv in list(self.queue) + list(self.inflight.values()))

    def _cancel_waiters_locked(self, rt):
        for waiter in self.waiters:
            waiter.cancelled = True
        self.waiters = []

    # -- runtime side ---------------------------------------------------------

    def next_invocation(self, sock):
        with self.cond:
            rt = self.runtime
            if rt is None or rt.gone or self.closing:
                raise state_error("Gone" if rt else "NotStarted", "Ready")
            self._mark_ready_locked(rt)
            self.waiters = [w for w in self.waiters if not w.cancelled and w.alive()]
            if len(self.waiters) >= self.concurrency:
                raise ApiError(403, "Runtime.TooManyIdleRuntimes",
                               "more /next requests at once than AWS_LAMBDA_MAX_CONCURRENCY=%d"
                               % self.concurrency)
            waiter = NextWaiter(sock)
            self.waiters.append(waiter)
            try:
                while True:
                    if waiter.cancelled or rt.gone or rt.init_error is not None:
                        return None
                    ready = [i for i in self.queue if i.runtime is rt and i.state == QUEUED]
                    if ready and self._extensions_ready_locked(rt):
                        break
                    self.cond.wait()
            finally:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
            inv = ready[0]
            self.queue.remove(inv)
            self.inflight[inv.id] = inv
            self._dispatch_locked(rt, inv)
            return inv

    def dispatch_failed(self, inv):
        with self.cond:
            if inv.state == RUNNING and self.inflight.pop(inv.id, None) is inv:
                inv.state = QUEUED
                inv.dispatched_at = None
                self.queue.appendleft(inv)
                self.cond.notify_all()

    def begin_post(self, request_id):
        with self.cond:
            inv = self.inflight.get(request_id)
            if inv is None and request_id in self.timed_out:
                self.timed_out.discard(request_id)
                raise ApiError(410, "InvokeTimeout", "Invoke timeout")
            if inv is None or inv.state != RUNNING:
                raise ApiError(400, "InvalidRequestID", "Invalid request ID")
            inv.state = RECEIVING
            return inv

    def _record_post_locked(self, inv, result):
        """The client has its answer at once: the worker may ask for the next one any time."""
        inv.result = result
        inv.state = DONE
        self.inflight.pop(inv.id, None)

    def status(self):
        doc = super().status()
        with self.cond:
            doc.update(concurrency=self.concurrency, queued=len(self.queue), idle_workers=len(self.waiters),
                       inflight=sorted(self.inflight), current=None)
        return doc
