"""Managed Instances in the emulator (emulator/lambda_emu/concurrent.py): AWS_LAMBDA_MAX_CONCURRENCY=N
lets the runtime park up to N /next at once and serve N invocations at once; answers go to their
clients when posted; a timeout answers its client without killing the runtime (410 for the late
post). The Runtime API is driven by hand (fake_runtime.py "manual"), as in test_emulator.py."""

import json
import subprocess
import sys
import threading

import pytest

from test_emulator import EMULATOR, emulator, pid_alive  # noqa: F401  (emulator: the fixture)


def concurrent_emulator(emulator, n=2, env=None):
    emu = emulator("manual", env={"AWS_LAMBDA_MAX_CONCURRENCY": str(n), **(env or {})})
    emu.wait_for(lambda: (emu.status()["runtime"] or {}).get("pid"), what="the eager start")
    return emu


class Parked:
    """A /next request in a thread of its own."""

    def __init__(self, emu, timeout=10.0):
        self.response = None
        self.thread = threading.Thread(target=self._run, args=(emu, timeout), daemon=True)
        self.thread.start()

    def _run(self, emu, timeout):
        try:
            self.response = emu.api("GET", "/invocation/next", timeout=timeout)
        except OSError:
            pass

    def get(self, timeout=10.0):
        self.thread.join(timeout)
        return self.response


class Client:
    """An invoke in a thread of its own."""

    def __init__(self, emu, body):
        self.response = None
        self.thread = threading.Thread(target=lambda: setattr(self, "response", emu.invoke(body, timeout=15)),
                                       daemon=True)
        self.thread.start()

    def get(self, timeout=15.0):
        self.thread.join(timeout)
        return self.response


def wait_idle(emu, n):
    emu.wait_for(lambda: emu.status()["idle_workers"] == n, what="%d parked /next" % n)


def test_n_invocations_at_once_answered_when_posted(emulator):
    emu = concurrent_emulator(emulator, 2)
    parked = [Parked(emu), Parked(emu)]
    wait_idle(emu, 2)
    assert emu.api("GET", "/invocation/next").json()["errorType"] == "Runtime.TooManyIdleRuntimes"
    clients = [Client(emu, {"n": 0}), Client(emu, {"n": 1})]
    nexts = [p.get() for p in parked]
    assert sorted(json.loads(r.body)["n"] for r in nexts) == [0, 1]  # both dispatched at once
    ids = {json.loads(r.body)["n"]: r.headers["lambda-runtime-aws-request-id"] for r in nexts}
    st = emu.status()
    assert st["concurrency"] == 2 and sorted(st["inflight"]) == sorted(ids.values())
    # each answer reaches its client as soon as it is posted, no /next needed
    assert emu.api("POST", "/invocation/%s/response" % ids[1], b'{"r": 1}').status == 202
    assert clients[1].get().json() == {"r": 1}
    assert clients[0].response is None
    assert emu.api("POST", "/invocation/%s/response" % ids[0], b'{"r": 0}').status == 202
    assert clients[0].get().json() == {"r": 0}
    # a second post for the same id, or an unknown id: 400
    r = emu.api("POST", "/invocation/%s/response" % ids[0], b"{}")
    assert r.status == 400 and r.json()["errorType"] == "InvalidRequestID"


def test_invokes_beyond_the_parked_workers_wait(emulator):
    emu = concurrent_emulator(emulator, 2)
    first = Parked(emu)
    wait_idle(emu, 1)
    clients = [Client(emu, {"n": i}) for i in range(2)]
    emu.wait_for(lambda: emu.status()["queued"] == 1, what="one invoke waiting")
    rid = first.get().headers["lambda-runtime-aws-request-id"]
    second = Parked(emu)
    r = second.get()  # the waiting invoke goes to the next /next
    assert r.status == 200
    for request_id in (rid, r.headers["lambda-runtime-aws-request-id"]):
        assert emu.api("POST", "/invocation/%s/response" % request_id, b"{}").status == 202
    assert all(c.get().status == 200 for c in clients)


def test_timeout_answers_the_client_and_keeps_the_runtime(emulator):
    emu = concurrent_emulator(emulator, 2, env={"AWS_LAMBDA_FUNCTION_TIMEOUT": "0.5"})
    pid = emu.status()["runtime"]["pid"]
    parked = Parked(emu)
    wait_idle(emu, 1)
    client = Client(emu, {"slow": True})
    rid = parked.get().headers["lambda-runtime-aws-request-id"]
    r = client.get()
    assert r.status == 200 and r.body == b"Task timed out after 0.50 seconds"
    assert r.headers["x-amz-function-error-type"] == "Sandbox.Timedout"
    assert pid_alive(pid) and emu.status()["inits"] == 1  # not killed: other workers serve on
    late = emu.api("POST", "/invocation/%s/response" % rid, b"{}")
    assert late.status == 410 and late.json() == {"errorMessage": "Invoke timeout", "errorType": "InvokeTimeout"}


def test_runtime_environment(emulator):
    emu = emulator("echo", env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"})  # eager, as the RIE in this mode
    emu.wait_for(lambda: (emu.status()["runtime"] or {}).get("state") == "Ready", what="the eager start")
    env = emu.invoke({"do": "headers"}).json()["env"]
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] == "3"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "lambda-managed-instances"


@pytest.mark.parametrize("setting", ["0", "x", "1025"])
def test_bad_setting_is_refused(setting):
    r = subprocess.run([sys.executable, EMULATOR, "true"], env={"AWS_LAMBDA_MAX_CONCURRENCY": setting},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "bad AWS_LAMBDA_MAX_CONCURRENCY=%r (want 1 to 1024)" % setting in r.stderr
