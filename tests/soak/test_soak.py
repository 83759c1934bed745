"""Soak (issue 6): SOAK_INVOCATIONS invocations (make soak: 100,000; make test: 5,000) through the
emulator, payloads of random size from 0 B to 6 MB, failing handlers mixed in. Every invocation
must get exactly its own answer (none lost, none duplicated, none mixed up) and the runtime's
RSS must stay flat once warm. The numbers are printed at the end (pytest -s shows them).

Payload sizes: 70 % 0-1 KiB, 25 % 1 KiB-256 KiB, 5 % 256 KiB-6 MB (uniform within each band),
plus a 6 MB one first so the buffers reach their largest size during warm-up.
Mix: 85 % ok, 8 % the handler raises, 3 % invalid JSON (Runtime.UnmarshalError), 2 % result
not serialisable (Runtime.MarshalError), 2 % result over 6 MB (Function.ResponseSizeTooLarge,
at most 1 in 50 of the large ones), and sys.exit(2) at four fixed points (the emulator starts a
new runtime, as Lambda does).
"""

import json
import os
import random
import re
import time
import zlib

from reliability_conftest import TIME_SCALE, emulator_status

N = int(os.environ.get("SOAK_INVOCATIONS", "5000"))
MAX_EVENT = 6 * 1000 * 1000  # the invoke body must stay under 6,291,556 bytes with its JSON
SEED = int(os.environ.get("SOAK_SEED", "6"))
SAMPLE_EVERY = max(10, N // 400)
# RSS growth allowed from a runtime's second quarter of life to its last
RSS_SLACK_KB = 4 * 1024
RSS_PEAK_KB = 96 * 1024


def vm_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


def plan(n, rng):
    exits = {n * k // 5 for k in range(1, 5)}
    for i in range(n):
        if i == 0:
            size = MAX_EVENT
        else:
            band = rng.random()
            if band < 0.70:
                size = rng.randint(0, 1024)
            elif band < 0.95:
                size = rng.randint(1024, 256 * 1024)
            else:
                size = rng.randint(256 * 1024, MAX_EVENT)
        if i in exits:
            action = "exit"
        else:
            r = rng.random()
            action = ("ok" if r < 0.85 else "raise" if r < 0.93 else "unmarshal" if r < 0.96
                      else "marshal" if r < 0.98 else "too_big")
        yield i, action, size


def test_soak(function):
    rng = random.Random(SEED)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(4096))
    source = (text * (MAX_EVENT // len(text) + 2))[:MAX_EVENT + 4096]
    f = function("soak.handler", timeout=120)
    answers = {}  # i -> outcome
    request_ids = set()
    rss = {}  # pid -> [(i, kb)]
    exits = 0
    t0 = time.monotonic()
    bytes_sent = 0
    pid = None
    for i, action, size in plan(N, rng):
        rid = "soak-%07d" % i
        start = rng.randint(0, 4096)
        pad = source[start:start + size]
        headers = {"X-Amzn-RequestId": rid, "Content-Type": "application/json"}
        if action == "unmarshal":
            body = ('{"i": %d, "do": "ok", "pad": "%s"' % (i, pad)).encode()  # no closing brace
        else:
            if action == "too_big" and size > 1000:
                pad = pad[:1000]
            body = json.dumps({"i": i, "do": action, "pad": pad}).encode()
        bytes_sent += len(body)
        r = f.invoke(raw=body, headers=headers, timeout=120)
        assert r.headers.get("x-amzn-requestid") == rid, (i, r)
        assert i not in answers
        if action == "ok":
            assert r.status == 200 and "x-amz-function-error" not in r.headers, (i, r)
            got = r.json()
            assert got == {"i": i, "len": len(pad), "crc": zlib.crc32(pad.encode()), "request_id": rid}, (i, got)
        elif action == "exit":
            assert r.status == 502, (i, r)
            assert r.json()["errorType"] == "Runtime.ExitError"
            assert r.json()["errorMessage"].endswith("exit status 2")
            exits += 1
        else:
            assert r.status == 200 and r.headers.get("x-amz-function-error") == "Unhandled", (i, r)
            expected = {"raise": "ValueError", "unmarshal": "Runtime.UnmarshalError",
                        "marshal": "Runtime.MarshalError", "too_big": "Function.ResponseSizeTooLarge"}[action]
            doc = r.json()
            assert doc["errorType"] == expected, (i, doc)
            if action != "too_big":
                assert doc["requestId"] == rid, (i, doc)
            if action == "raise":
                assert doc["errorMessage"] == "soak failure %d" % i
        answers[i] = action
        request_ids.add(rid)
        if i % SAMPLE_EVERY == 0 or action == "exit":
            status = emulator_status(f)
            runtime = status.get("runtime") or {}
            if runtime.get("pid") and runtime.get("state") == "Ready":
                pid = runtime["pid"]
                kb = vm_rss_kb(pid)
                if kb:
                    rss.setdefault(pid, []).append((i, kb))
    elapsed = time.monotonic() - t0

    status = emulator_status(f)
    f.stop()
    log = open(f.log_path, encoding="utf-8", errors="replace").read()
    starts = re.findall(r"^START RequestId: (\S+)", log, re.M)
    reports = re.findall(r"^REPORT RequestId: (\S+)", log, re.M)
    refused = re.findall(r"the platform refused the result of (\S+): .* answered HTTP (\d+)", log)

    # none lost, none duplicated
    assert len(answers) == N and len(request_ids) == N
    assert status["invocations"] == N
    assert len(starts) == N and set(starts) == request_ids, "an invocation was handed out twice or never"
    assert len(reports) == N and set(reports) == request_ids
    assert all(code == "413" for _, code in refused), refused  # 403 would be a second post
    assert len(refused) == sum(1 for a in answers.values() if a == "too_big")
    assert exits == 4 and status["inits"] == 5
    assert "Runtime.InternalError" not in log

    # RSS flat: for every runtime that lived long enough, the floor (lowest RSS, between the large
    # events) of its last quarter against that of its second quarter; the peak (a sample taken
    # right after a 6 MB event) is bounded, and reported.
    lines = []
    for p, samples in rss.items():
        if len(samples) < 8:
            continue
        q = len(samples) // 4
        early = [kb for _, kb in samples[q:2 * q]]
        late = [kb for _, kb in samples[3 * q:]]
        floor_growth = min(late) - min(early)
        peak_growth = max(late) - max(early)
        lines.append("pid %d: %d samples over invocations %d-%d, RSS floor %d -> %d KiB (%+d), peak %d -> %d KiB (%+d)"
                     % (p, len(samples), samples[0][0], samples[-1][0], min(early), min(late), floor_growth,
                        max(early), max(late), peak_growth))
        assert floor_growth <= RSS_SLACK_KB, lines[-1]  # a leak raises the floor
        assert max(kb for _, kb in samples) <= RSS_PEAK_KB, lines[-1]  # 6 MB events: a few copies, no more
    summary = ("soak: %d invocations in %.0f s (%.0f/s), %.1f MB of events, %d runtimes, 0 lost, 0 duplicated\n  %s"
               % (N, elapsed, N / elapsed, bytes_sent / 1e6, status["inits"], "\n  ".join(lines) or "no RSS samples"))
    print(summary)
    if os.environ.get("SOAK_SUMMARY"):
        with open(os.environ["SOAK_SUMMARY"], "w") as out:
            out.write(summary + "\n")
    assert lines, "no runtime lived long enough to judge its RSS"
