"""Security (issue 6): handler names stay inside LAMBDA_TASK_ROOT, no shell is ever run, event
payloads are never logged, the environment is passed on unchanged apart from the documented
library path, and every path comes from a documented setting."""

import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import FUNCTIONS, TIME_SCALE, add_faults, harness, run_bootstrap

BOOTSTRAP = harness.BOOTSTRAP
ROOT = harness.ROOT


# --- handler names ------------------------------------------------------------------------

ESCAPES = [
    "../x.h", "../../etc/passwd.h", "a/../../b.h", "./x.h", "x//y.h", "x/.h", "/etc/passwd.h",
    "/x.h", "..\\x.h", "a\\b.h", ".hidden.h", "..h", "...h", "a\x01b.h", "a\nb.h", "a\tb.h",
    "x" * 127 + ".h",  # 129 characters: over Lambda's limit of 128
    "a/" * 64 + "b.h",
]


@pytest.mark.parametrize("name", ESCAPES, ids=lambda n: repr(n)[:40])
def test_handler_name_cannot_leave_the_task_root(stub_api, name):
    proc = run_bootstrap(stub_api.address, name)
    out, err = proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 1
    posts = stub_api.wait_posts(1)
    assert len(posts) == 1
    path, headers, body = posts[0]
    assert path == "/2018-06-01/runtime/init/error"
    assert headers["lambda-runtime-function-error-type"] == "Runtime.MalformedHandlerName"
    doc = json.loads(body)
    assert doc["errorType"] == "Runtime.MalformedHandlerName"
    assert doc["errorMessage"].startswith("Bad handler '")
    assert not re.search(r"[\x00-\x1f\x7f]", doc["errorMessage"])  # shown sanitised
    assert len(doc["errorMessage"]) < 400


def test_handler_name_with_nul_cannot_be_passed():
    # execve's strings end at NUL: a name with a NUL byte cannot reach the process at all
    # (what precedes the NUL is the whole name). handler_parse is fuzzed with NULs too.
    with pytest.raises(ValueError):
        subprocess.run([BOOTSTRAP, "x\x00/../y.h"], timeout=5)
    with pytest.raises(ValueError):
        subprocess.run([BOOTSTRAP], env={"_HANDLER": "x\x00.h"}, timeout=5)


def test_handler_setting_from_the_environment_is_checked_too(stub_api):
    proc = run_bootstrap(stub_api.address, None, env={"_HANDLER": "../escape.handler"}, args=[])
    proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 1
    _, headers, _ = stub_api.wait_posts(1)[0]
    assert headers["lambda-runtime-function-error-type"] == "Runtime.MalformedHandlerName"


def test_symlink_out_of_the_task_root_is_not_followed_by_name(stub_api, tmp_path):
    # "pkg.mod" is a module path, never a file path: a dotted name cannot name ../
    root = tmp_path / "task"
    root.mkdir()
    (tmp_path / "outside.py").write_text("def handler(e, c):\n    return 'outside'\n")
    proc = run_bootstrap(stub_api.address, "outside.handler", env={"LAMBDA_TASK_ROOT": str(root)})
    proc.communicate(timeout=20 * TIME_SCALE)
    _, headers, body = stub_api.wait_posts(1)[0]
    assert headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"


# --- no shell ---------------------------------------------------------------------------------

# fork is imported for Managed Instances' workers (copies of the bootstrap itself, never an exec:
# test_managed_instances_fork_workers_and_exec_nothing).
FORBIDDEN_IMPORTS = {"system", "popen", "execl", "execlp", "execle", "execv", "execvp", "execvpe", "execve",
                     "fexecve", "posix_spawn", "posix_spawnp", "vfork", "wordexp", "clone"}


def test_binary_imports_no_process_spawning_function():
    out = subprocess.run(["nm", "-D", "--undefined-only", BOOTSTRAP], capture_output=True, text=True,
                         check=True).stdout
    imported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    assert "curl_easy_init" not in imported and "dlsym" in imported  # the right kind of file
    assert not imported & FORBIDDEN_IMPORTS, imported & FORBIDDEN_IMPORTS


def test_runtime_py_spawns_nothing():
    paths = glob.glob(os.path.join(ROOT, "src", "runtime*.py"))
    assert os.path.join(ROOT, "src", "runtime_json.py") in paths  # runtime.py and the modules it imports
    source = "".join(open(path).read() for path in paths)
    for pattern in (r"\bsubprocess\b", r"\b(os|posix)\.(system|popen|exec\w*|spawn\w*|fork\w*|posix_spawn\w*)",
                    r"\bimport pty\b", r"\bshell\s*=\s*True"):
        assert not re.search(pattern, source), pattern


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is in scripts/packages/reliability.txt")
def test_no_process_is_started_at_run_time(stub_api, tmp_path):
    """strace -f: across init, a success, an error, a marshal error and an exit, the only exec
    is the bootstrap itself (a layer lib/ included) and no child process is ever created."""
    layer = tmp_path / "opt"
    (layer / harness_arch() / "lib").mkdir(parents=True)
    (layer / harness_arch() / "lib" / "libunused.so.1").write_bytes(b"")  # the loader is on
    for action in ("echo", "raise_error", "lone_surrogate_print", "sys_exit_3"):
        stub_api.add_event(json.dumps({"do": action}).encode())
    trace = tmp_path / "trace"
    env = harness.runtime_env({"LAMBDA_TASK_ROOT": FUNCTIONS, "AWS_LAMBDA_RUNTIME_API": stub_api.address,
                               "BOOTSTRAP_LAYER_ROOT": str(layer)})
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o", str(trace),
                           BOOTSTRAP, "misbehave.handler"], env=env, cwd=FUNCTIONS, capture_output=True,
                          timeout=60 * TIME_SCALE)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert len(stub_api.wait_posts(4)) == 4
    calls = [line for line in trace.read_text().splitlines() if "execve(" in line or "fork(" in line
             or "clone" in line]
    execs = [c for c in calls if "execve(" in c]
    assert len(execs) == 1 and BOOTSTRAP in execs[0], calls
    # threads (clone with CLONE_THREAD) are fine; new processes are not
    processes = [c for c in calls if ("clone" in c and "CLONE_THREAD" not in c) or "fork(" in c]
    assert processes == [], processes


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is in scripts/packages/reliability.txt")
def test_managed_instances_fork_workers_and_exec_nothing(stub_api, tmp_path):
    """With AWS_LAMBDA_MAX_CONCURRENCY=2 the processes created are the two workers (plus one
    replacing a worker that exits), copies of the bootstrap: none of them execs anything."""
    for action in ("echo", "os_exit_3", "echo", "echo"):
        stub_api.add_event(json.dumps({"do": action}).encode())
    trace = tmp_path / "trace"
    env = harness.runtime_env({"LAMBDA_TASK_ROOT": FUNCTIONS, "AWS_LAMBDA_RUNTIME_API": stub_api.address,
                               "AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o", str(trace),
                             BOOTSTRAP, "misbehave.handler"], env=env, cwd=FUNCTIONS, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert len(stub_api.wait_posts(4, timeout=30)) == 4
    finally:
        proc.terminate()
        proc.wait(30 * TIME_SCALE)
    calls = [line for line in trace.read_text().splitlines() if "execve(" in line or "fork(" in line
             or "clone" in line]
    execs = [c for c in calls if "execve(" in c]
    assert len(execs) == 1 and BOOTSTRAP in execs[0], calls
    processes = [c for c in calls if ("clone" in c and "CLONE_THREAD" not in c) or "fork(" in c]
    assert len(processes) == 3, processes


def harness_arch():
    return {"aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


# --- event payloads are never logged -------------------------------------------------------

MARKER = "SECRET-PAYLOAD-MARKER-7f3a"


def assert_not_logged(f):
    f.stop()
    with open(f.log_path, encoding="utf-8", errors="replace") as log_file:
        log = log_file.read()
    assert "START RequestId" in log  # the log is there...
    assert MARKER not in log  # ...the payload is not


@pytest.mark.parametrize("log_env", [{}, {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}],
                         ids=["text", "json-debug"])
def test_payload_never_logged(function, log_env):
    f = function("misbehave.handler", env=log_env)
    for event in ({"do": "echo", "value": MARKER}, {"do": "raise_error", "value": MARKER},
                  {"do": "recursion", "value": MARKER}, {"do": "lone_surrogate_print", "value": MARKER}):
        assert f.invoke(event).status == 200
    # not JSON at all, with the marker in it: Runtime.UnmarshalError
    r = f.invoke(raw=b'{"do": "echo", "value": "' + MARKER.encode() + b'" oops',
                 headers={"Content-Type": "application/json"})
    assert r.json()["errorType"] == "Runtime.UnmarshalError"
    r = f.invoke(raw=b"\xff\xfe" + MARKER.encode(), headers={"Content-Type": "application/json"})
    assert r.json()["errorType"] == "Runtime.UnmarshalError"
    # a result over the limit made of the payload: refused (413), the refusal logged
    r = f.invoke({"do": "big_result", "size": 7 * 1024 * 1024, "value": MARKER}, timeout=60)
    assert r.json()["errorType"] == "Function.ResponseSizeTooLarge"
    # faults: a post refused with 400, a /next without request id (exit), a reset post
    add_faults(f, {"endpoint": "response", "fault": "status", "status": 400})
    f.invoke({"do": "echo", "value": MARKER})
    add_faults(f, {"endpoint": "next", "fault": "no_request_id"})
    assert f.invoke({"do": "echo", "value": MARKER}).status == 502
    add_faults(f, {"endpoint": "response", "fault": "reset_mid_body"})
    f.invoke({"do": "echo", "value": MARKER})
    # and an exit mid-invocation
    assert f.invoke({"do": "sys_exit_3", "value": MARKER}).status == 502
    assert_not_logged(f)


def test_payload_with_marker_in_the_request_id_position_is_not_logged(function):
    # the marker in every client-controlled header that is not part of the context
    f = function("misbehave.handler")
    r = f.invoke({"do": "raise_error"}, headers={"X-Amz-Client-Context": base64.b64encode(
        json.dumps({"custom": {"m": MARKER}}).encode()).decode()})
    assert r.status == 200
    assert_not_logged(f)


# --- the environment the handler sees ---------------------------------------------------


def decoded_environ(body):
    return {base64.b64decode(k): base64.b64decode(v) for k, v in body["environ"].items()}


def run_env_dump(stub_api, env, cwd=FUNCTIONS):
    """Runs env_dump.handler with exactly `env` (bytes keys/values) and returns its answer."""
    stub_api.add_event(b"{}")
    env = dict(env)
    env[b"AWS_LAMBDA_RUNTIME_API"] = stub_api.address.encode()
    proc = subprocess.Popen([BOOTSTRAP, "env_dump.handler"], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        posts = stub_api.wait_posts(1, timeout=20)
    finally:
        proc.kill()
        out, err = proc.communicate()
    assert posts, err.decode(errors="replace")
    path, _, body = posts[0]
    assert path.endswith("/response"), body
    return json.loads(body), env


def base_env(extra=None):
    env = {k.encode(): v.encode() for k, v in harness.runtime_env({"LAMBDA_TASK_ROOT": FUNCTIONS}).items()}
    env.pop(b"LD_LIBRARY_PATH", None)
    env.update(extra or {})
    return env


ODD_VALUES = {
    b"WITH_NEWLINE": b"line1\nline2",
    b"WITH_EQUALS": b"a=b=c",
    b"EMPTY": b"",
    b"NOT_UTF8": b"\xff\xfe\x80",
    b"UNICODE": "héllo — 你好".encode(),
    b"LONG": b"v" * 100000,
    b"SPACES ": b" leading and trailing ",
}


@pytest.mark.parametrize("with_layer_lib", [True, False], ids=["layer-lib", "no-layer-lib"])
def test_environment_passed_on_unchanged(stub_api, tmp_path, with_layer_lib):
    arch = harness_arch()
    layer = tmp_path / "opt"
    (layer / arch).mkdir(parents=True)
    if with_layer_lib:
        (layer / arch / "lib").mkdir()
    given = base_env({**ODD_VALUES, b"BOOTSTRAP_LAYER_ROOT": str(layer).encode(),
                      b"LD_LIBRARY_PATH": b"/lib64:/usr/lib64"})
    body, given = run_env_dump(stub_api, given)
    seen = decoded_environ(body)
    expected = dict(given)
    if with_layer_lib:  # the one documented change
        expected[b"LD_LIBRARY_PATH"] = str(layer / arch / "lib").encode() + b":/lib64:/usr/lib64"
    assert seen == expected


def test_former_reexec_guard_is_an_ordinary_variable(stub_api, tmp_path):
    # Older versions re-executed and dropped BOOTSTRAP_REEXEC; now nothing is special about it.
    given = base_env({b"BOOTSTRAP_REEXEC": b"1", b"KEEP": b"me"})
    body, given = run_env_dump(stub_api, given)
    assert decoded_environ(body) == given


# --- every path from a documented setting ---------------------------------------------------


def test_paths_come_only_from_settings(stub_api, tmp_path):
    """A layer-shaped tree in the working directory, and one at the layer root: only the one
    named by BOOTSTRAP_LAYER_ROOT is used; sys.path holds the task root, that layer's dirs and
    the standard library, all absolute, never the working directory."""
    arch = harness_arch()
    cwd = tmp_path / "cwd"
    for base in (cwd, cwd / "opt"):
        (base / arch / "lib").mkdir(parents=True)
        (base / arch / "python").mkdir(parents=True)
        (base / "python").mkdir(parents=True, exist_ok=True)
    layer = tmp_path / "layer"
    (layer / arch / "python").mkdir(parents=True)
    (layer / "python").mkdir(parents=True)
    body, _ = run_env_dump(stub_api, base_env({b"BOOTSTRAP_LAYER_ROOT": str(layer).encode()}), cwd=str(cwd))
    sys_path = body["sys_path"]
    assert sys_path[0] == FUNCTIONS
    assert str(layer / arch / "python") in sys_path and str(layer / "python") in sys_path
    allowed = (FUNCTIONS, str(layer), body["prefix"])
    for entry in sys_path:
        assert os.path.isabs(entry), sys_path
        assert entry.startswith(allowed), (entry, sys_path)
        assert not entry.startswith(str(cwd)), sys_path
    seen = decoded_environ(body)
    assert b"LD_LIBRARY_PATH" not in seen  # no <arch>/lib under this root: nothing added


def test_default_layer_root_is_opt_not_the_working_directory(stub_api, tmp_path):
    arch = harness_arch()
    cwd = tmp_path / "cwd"
    (cwd / arch / "lib").mkdir(parents=True)
    (cwd / arch / "python").mkdir(parents=True)
    env = base_env()
    env.pop(b"BOOTSTRAP_LAYER_ROOT", None)
    if os.path.isdir(os.path.join("/opt", arch)):
        pytest.skip("this machine has a real /opt/%s layer" % arch)
    body, _ = run_env_dump(stub_api, env, cwd=str(cwd))
    assert not any(p.startswith(str(cwd)) for p in body["sys_path"])
    assert b"LD_LIBRARY_PATH" not in decoded_environ(body)
