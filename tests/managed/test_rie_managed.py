"""The bootstrap under AWS's RIE in Managed Instances mode (issue 14): N invocations at once from
workers forked after one init, the RIE's own answers to a worker that dies, and shutdown."""

import json
import re
import signal
import time

from conftest import TIME_SCALE, at_once
from rie_sandbox import served_at_once as shared_served_at_once

HANDLER = "managed.handler"


def served_at_once(rie, events):
    """events at once, sent again while the RIE refuses one (rie_sandbox.served_at_once)."""
    return shared_served_at_once(rie.invoke, events, 10 * TIME_SCALE)


def back_to(rie, n):
    """The pids of n workers serving n invocations at once (a replaced worker too)."""
    answers = served_at_once(rie, [{"do": "sleep", "seconds": 0.2}] * n)
    assert all(a.status == 200 for a in answers), answers
    return {a.json()["pid"] for a in answers}


def test_four_one_second_invocations_finish_in_under_two_seconds(managed_rie):
    rie = managed_rie(HANDLER, 4)
    answers = served_at_once(rie, [{"do": "sleep", "seconds": 1}] * 4)
    elapsed = max(a.elapsed for a in answers)  # of the batch served whole
    assert all(a.status == 200 for a in answers), answers
    assert elapsed < (2.0 if TIME_SCALE == 1 else 1.0 + 0.3 * TIME_SCALE), elapsed
    docs = [a.json() for a in answers]
    assert len({d["pid"] for d in docs}) == 4 and len({d["ppid"] for d in docs}) == 1  # 4 workers, 1 init


def test_a_fifth_invocation_beyond_the_workers_is_refused_by_the_rie(managed_rie):
    rie = managed_rie(HANDLER, 2)
    answers = at_once(rie.invoke, [{"do": "sleep", "seconds": 1}] * 2 + [{"do": "echo"}])
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 200, 400], answers
    refused = next(a for a in answers if a.status == 400)
    assert refused.json() == {"errorType": "Runtime.Unavailable"}


def test_the_caller_gets_the_report_of_a_worker_that_exits(managed_rie):
    rie = managed_rie(HANDLER, 2)
    r = rie.invoke({"do": "exit", "code": 3})
    assert r.status == 200, r
    doc = r.json()
    assert doc["errorType"] == "Runtime.ExitError" and doc["errorMessage"].endswith("exit status 3"), doc
    assert len(back_to(rie, 2)) == 2  # replaced


def test_the_caller_gets_the_crash_report_with_the_traceback(managed_rie):
    rie = managed_rie(HANDLER, 2)
    r = rie.invoke({"do": "segfault"})
    assert r.status == 200, r
    doc = r.json()
    assert doc["errorMessage"].endswith("signal: segmentation fault (SIGSEGV)"), doc
    assert '  File "/var/task/managed.py", line' in doc["stackTrace"][0] and doc["stackTrace"][0].endswith(", in handler\n")
    assert len(back_to(rie, 2)) == 2


def test_log_records_carry_their_own_request_id(managed_rie):
    rie = managed_rie(HANDLER, 3)  # the RIE's Managed Instances mode defaults to JSON logs
    answers = served_at_once(rie, [{"do": "log", "lines": 10, "pause": 0.01}] * 3)
    docs = [a.json() for a in answers]
    assert all("request_id" in d for d in docs), (docs, rie.output()[-3000:])
    ids = {d["request_id"] for d in docs}
    records = [json.loads(l) for l in rie.output().split("\n") if l.startswith('{"timestamp"')]
    lines = [r for r in records if r.get("message", "").startswith("line ")]
    # every line names the request it was logged for (a refused batch's served part logged too)
    assert all(r["message"].endswith("of " + r["requestId"]) for r in lines), rie.output()[-3000:]
    assert len([r for r in lines if r["requestId"] in ids]) == 30, rie.output()[-3000:]


def test_shutdown_runs_each_workers_hooks(managed_rie):
    # The RIE's shutdown sends SIGTERM to the runtime's process group (the supervisor and its
    # workers at once): each worker runs its hooks, none is mistaken for a crash and replaced.
    rie = managed_rie(HANDLER, 2)
    rie.stop_rie()
    out = rie.output()
    ran = re.findall(r"atexit ran in (\d+)", out)
    assert len(ran) == 2, out[-3000:]
    assert "ended (" not in out, out[-3000:]
