"""valgrind memcheck of 1,000 invocations (make test-valgrind; not part of test-reliability).

The bootstrap runs under memcheck behind a stub Runtime API: init, 1,000 invocations (results,
handler errors, unmarshal errors, errors with unencodable text, a 1 MB event now and then).
Then, while it waits in /next, a leak check through vgdb: memory lost while the process runs
is a leak (definite or indirect, outside libpython's own allocations: tests/valgrind.supp).
Then SIGTERM and the shutdown: any memcheck error at any point fails it. (The check is not made
at exit: the serving loop ends with _exit, where main's live pointers are no longer visible.)"""

import json
import os
import re
import signal
import subprocess
import time

from conftest import FUNCTIONS, TIME_SCALE, harness

INVOCATIONS = int(os.environ.get("MEMCHECK_INVOCATIONS", "1000"))
SUPPRESSIONS = os.path.join(harness.ROOT, "tests", "valgrind.supp")


def events(n):
    for i in range(n):
        kind = i % 10
        if kind == 7:
            yield b'{"do": "echo", "value": ' + str(i).encode() + b" broken"  # Runtime.UnmarshalError
        elif kind == 8:
            yield json.dumps({"do": "raise_error", "value": i}).encode()
        elif kind == 9 and i % 100 == 99:
            yield json.dumps({"do": "echo", "value": i, "pad": "m" * (1024 * 1024)}).encode()
        elif kind == 9:
            yield json.dumps({"do": "lone_surrogate_error_high", "value": i}).encode()
        else:
            yield json.dumps({"do": "echo", "value": i}).encode()


def test_1000_invocations_under_memcheck(stub_api, tmp_path):
    log = tmp_path / "memcheck.%p.log"
    env = harness.runtime_env({"LAMBDA_TASK_ROOT": FUNCTIONS, "AWS_LAMBDA_RUNTIME_API": stub_api.address})
    cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=no", "--vgdb=yes",
           "--suppressions=" + SUPPRESSIONS, "--trace-children=yes", "--num-callers=30",
           "--log-file=" + str(log), harness.BOOTSTRAP, "misbehave.handler"]
    proc = subprocess.Popen(cmd, env=env, cwd=FUNCTIONS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        sent = 0
        for body in events(INVOCATIONS):
            stub_api.add_event(body)
            sent += 1
            if sent % 50 == 0:  # keep the queue short: the stub answers /next from it
                assert len(stub_api.wait_posts(sent - 10, timeout=120)) >= sent - 10, "memcheck run stalled"
        posts = stub_api.wait_posts(INVOCATIONS, timeout=300)
        assert len(posts) == INVOCATIONS
        time.sleep(1)  # back in /next
        check = subprocess.run(["vgdb", "--pid=%d" % proc.pid, "leak_check", "full", "kinds", "definite,indirect",
                                "any"], capture_output=True, text=True, timeout=300)
        leak_report = check.stdout + check.stderr
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    kinds = [p[0].rsplit("/", 1)[1] for p in posts]
    assert kinds.count("response") + kinds.count("error") == INVOCATIONS
    reports = {p.name: p.read_text() for p in tmp_path.glob("memcheck.*.log")}
    text = "\n".join(reports.values())
    summary = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    leaks = re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", leak_report)
    print("memcheck: leak check while idle:", re.findall(r"(?:definitely|indirectly|possibly) lost.*|still reachable.*|"
                                                         r"suppressed.*", leak_report))
    print("memcheck:", [line for line in text.splitlines() if "ERROR SUMMARY" in line])
    assert len(leaks) == 2, leak_report[-5000:]  # the check ran and reported both kinds
    assert all(b == "0" for _, b in leaks), leak_report[-20000:]
    assert summary and all(n == "0" for n in summary), text[-20000:]
    assert proc.returncode == 0, (proc.returncode, err[-3000:])
