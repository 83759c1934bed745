"""Fault injection (emulator/README.md, "Fault injection")."""

import threading

from .protocol import json_bytes


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
