"""The bootstrap under the project's emulator with AWS_LAMBDA_MAX_CONCURRENCY=N (issue 14): what the
RIE's Managed Instances mode does (tests/managed/test_rie_managed.py), plus the emulator's own
choices: invokes beyond the workers wait their turn, and a timed-out invocation does not take the
runtime down."""

import time

from conftest import TIME_SCALE, at_once as at_once_with, emulator_status, harness

HANDLER = "managed.handler"


def start(function, n, timeout=None):
    f = function(HANDLER, env={"AWS_LAMBDA_MAX_CONCURRENCY": str(n)}, timeout=timeout)
    assert f.wait_for_output(f"AWS_LAMBDA_MAX_CONCURRENCY={n}: {n} workers forked after init", 20), f.output()
    return f


def invoke(f, event, timeout=None):
    """One invocation on a connection of its own (several run at once)."""
    g = harness.Function.__new__(harness.Function)
    g.port, g.conn = f.port, None
    t0 = time.monotonic()
    try:
        r = g.invoke(event, timeout=timeout)
    finally:
        if g.conn is not None:
            g.conn.close()
    r.elapsed = time.monotonic() - t0
    return r


def at_once(f, events):
    return at_once_with(lambda e: invoke(f, e), events)


def test_four_one_second_invocations_finish_in_under_two_seconds(function):
    f = start(function, 4)
    t0 = time.monotonic()
    answers = at_once(f, [{"do": "sleep", "seconds": 1}] * 4)
    elapsed = time.monotonic() - t0
    assert all(r.status == 200 for r in answers), answers
    assert elapsed < (2.0 if TIME_SCALE == 1 else 1.0 + 0.3 * TIME_SCALE), elapsed
    assert len({r.json()["pid"] for r in answers}) == 4
    assert emulator_status(f)["inits"] == 1


def test_invokes_beyond_the_workers_wait_their_turn(function):
    f = start(function, 2)
    answers = at_once(f, [{"do": "sleep", "seconds": 0.5 * TIME_SCALE}] * 4)
    assert all(r.status == 200 for r in answers), answers
    waits = sorted(r.elapsed for r in answers)
    assert waits[1] < 0.9 * TIME_SCALE <= waits[2], waits  # two served at once, two after them


def test_the_caller_gets_the_report_of_a_worker_that_exits_or_crashes(function):
    f = start(function, 2)
    r = invoke(f, {"do": "exit", "code": 3})
    assert r.status == 200 and r.headers["x-amz-function-error-type"] == "Runtime.ExitError", r
    assert r.json()["errorMessage"].endswith("Runtime exited with error: exit status 3")
    r = invoke(f, {"do": "segfault"})
    assert r.status == 200 and r.json()["errorMessage"].endswith("signal: segmentation fault (SIGSEGV)"), r
    assert r.json()["stackTrace"][0].endswith(", in handler\n")
    answers = at_once(f, [{"do": "sleep", "seconds": 0.3}] * 2)  # both workers replaced
    assert len({a.json()["pid"] for a in answers}) == 2
    assert emulator_status(f)["inits"] == 1  # the runtime itself never restarted


def test_a_timeout_answers_its_caller_and_leaves_the_other_workers_alone(function):
    f = start(function, 2, timeout=2 * TIME_SCALE)
    slow, fast = at_once(f, [{"do": "sleep", "seconds": 4 * TIME_SCALE}, {"do": "sleep", "seconds": 0.2}])
    assert slow.status == 200 and slow.body == b"Task timed out after %.2f seconds" % (2 * TIME_SCALE), slow
    assert slow.headers["x-amz-function-error-type"] == "Sandbox.Timedout"
    assert fast.status == 200 and fast.json()["pid"], fast
    # the late answer of the timed-out invocation is refused with 410, and logged by the runtime
    assert f.wait_for_output("answered HTTP 410", 10), f.output()[-2000:]
    assert emulator_status(f)["inits"] == 1
