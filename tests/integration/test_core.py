"""The core runtime against the managed Python runtime's behaviour (issue 2)."""

import json
import os
import re
import subprocess
import uuid

import pytest

from conftest import (EXPECT_ARCH, EXPECT_PYTHON, EXPECT_RUNTIME_CODE, FUNCTIONS, RIE, TIME_SCALE,
                      client_context_header, run_bootstrap)

# Tests marked rie also run under AWS's Runtime Interface Emulator (make test-rie): the RIE drops
# response headers (no X-Amz-Function-Error, no Content-Type of the function's), so those checks
# are the emulator's only.

UNICODE = "héllo wörld — 你好 🎉 \u00a3"


def ensure_ascii_expected(python_version):
    major, minor = (int(x) for x in python_version.split("."))
    return (major, minor) < (3, 12)


@pytest.mark.rie
def test_runs_the_expected_python_and_arch(function):
    f = function("echo.whoami")
    r = f.invoke({})
    assert r.status == 200, r
    info = r.json()
    if EXPECT_PYTHON:
        assert info["python"] == EXPECT_PYTHON
    if EXPECT_ARCH:
        assert {"x86_64": "x86_64", "aarch64": "arm64"}[info["machine"]] == EXPECT_ARCH
    assert info["sys_path"][0] == FUNCTIONS


@pytest.mark.skipif(not EXPECT_RUNTIME_CODE, reason="EXPECT_RUNTIME_CODE not set for this cell")
def test_runtime_code_is_the_embedded_bytecode_or_the_source(function):
    # python.c unmarshals the bytecode built in for this Python's magic number, and compiles the
    # embedded runtime.py for a Python it has none for: both must serve (mk/integration.mk says
    # which one each cell gets).
    info = function("echo.whoami").invoke({}).json()
    expected = EXPECT_RUNTIME_CODE == "source"
    docstrings = info["runtime_docstrings"]
    assert set(docstrings) == {"bootstrap_runtime", "runtime_json", "runtime_logging"}, docstrings
    assert all(has_doc == expected for has_doc in docstrings.values()), (EXPECT_RUNTIME_CODE, docstrings)


def test_runtime_modules_are_not_in_sys_modules(function):
    # The runtime is one module to the function, bootstrap_runtime, as before it was split in
    # files: the modules runtime.py imports are loaded with it but leave sys.modules.
    modules = function("echo.whoami").invoke({}).json()["sys_modules"]
    assert "bootstrap_runtime" in modules
    assert not [m for m in modules if m.startswith("runtime")], modules


def test_function_module_named_as_a_runtime_module(function):
    # functions/runtime_json.py: the runtime's runtime_json is not in sys.modules to shadow it.
    assert function("runtime_json.handler").invoke({}).json() == {"mine": True}


@pytest.mark.rie
def test_echo_unicode(function):
    f = function("echo.handler")
    event = {"text": UNICODE, "nested": {"list": [1, 2.5, None, True]}}
    r = f.invoke(event)
    assert r.status == 200
    if not RIE:
        assert r.headers["content-type"] == "application/json"
    assert r.json() == event
    version = function("echo.whoami").invoke({}).json()["python"]
    if ensure_ascii_expected(version):
        assert b"\\u00e9" in r.body and "é".encode() not in r.body
    else:
        assert "é".encode() in r.body


@pytest.mark.rie
def test_echo_5mb_event(function):
    f = function("echo.handler")
    event = {"blob": "a" * (5 * 1024 * 1024), "tail": "end"}
    r = f.invoke(event, timeout=60)
    assert r.status == 200
    assert r.json() == event


def test_event_is_bytes_when_not_json(function):
    f = function("echo.event_type")
    r = f.invoke(raw=b"\x00\x01binary\xff", headers={"Content-Type": "application/octet-stream"})
    assert r.json() == {"type": "bytes", "length": 9}
    r = f.invoke({"a": 1})
    assert r.json() == {"type": "dict", "length": 1}


def test_bytes_in_and_out(function):
    f = function("echo.echo_bytes")
    payload = bytes(range(256))
    r = f.invoke(raw=payload, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200
    assert r.body == payload
    assert r.headers["content-type"] == "application/unknown"


@pytest.mark.rie
def test_unmarshal_error(function):
    f = function("echo.handler")
    r = f.invoke(raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 200
    assert RIE or r.headers.get("x-amz-function-error") == "Unhandled"
    body = r.json()
    assert body["errorType"] == "Runtime.UnmarshalError"
    # simplejson's message (awslambdaric decodes events with simplejson)
    assert body["errorMessage"] == ("Unable to unmarshal input: Expecting property name enclosed in double "
                                    "quotes or '}': line 1 column 2 (char 1)")
    assert body["stackTrace"] == []
    assert re.fullmatch(r"[0-9a-f-]{36}", body["requestId"])


@pytest.mark.rie
def test_marshal_error(function):
    f = function("results.not_serializable")
    body = f.invoke({}).json()
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == "Unable to marshal response: Object of type datetime is not JSON serializable"


@pytest.mark.rie
def test_results_json_semantics(function):
    f = function("results.decimals")
    r = f.invoke({})
    assert r.body == (b'{"pi": 3.14159, "big": 12345678901234567890.123456789, "nan": NaN, "list": [1.10]}')
    r = function("results.specials").invoke({})
    assert r.body == (b'{"nan": NaN, "inf": Infinity, "none": null, "big_int": 1267650600228229401496703205376, '
                      b'"float": 0.1}')
    assert function("results.none").invoke({}).body == b"null"
    assert function("results.a_string").invoke({}).body == b'"just a string"'


@pytest.mark.rie
def test_handler_exception(function):
    f = function("errors.raise_value_error")
    r = f.invoke({})
    assert r.status == 200
    if not RIE:
        assert r.headers.get("x-amz-function-error") == "Unhandled"
        assert r.headers.get("x-amz-function-error-type") == "Function.ValueError"
    body = r.json()
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "something went wrong"
    path = os.path.join(FUNCTIONS, "errors.py")
    assert body["stackTrace"] == [
        f'  File "{path}", line 13, in raise_value_error\n    _inner()\n',
        f'  File "{path}", line 9, in _inner\n    raise ValueError("something went wrong")\n',
    ]
    # One log event: the lines are joined with \r, indentation made of no-break spaces.
    log = f.output()
    assert "[ERROR] ValueError: something went wrong\rTraceback (most recent call last):\r" in log
    assert '\r\u00a0\u00a0File "%s", line 13, in raise_value_error\r' % path in log


def test_error_type_header_on_invocation_errors(stub_api):
    request_id = stub_api.add_event(b"{}")
    proc = run_bootstrap(stub_api.address, "errors.raise_custom")
    try:
        posts = stub_api.wait_posts(1)
    finally:
        proc.kill()
        proc.communicate()
    path, headers, body = posts[0]
    assert path == f"/2018-06-01/runtime/invocation/{request_id}/error"
    # the platform keeps only (Runtime|Function).Name-shaped types: the class name is prefixed
    assert headers["lambda-runtime-function-error-type"] == "Function.CustomError"
    assert headers["content-type"] == "application/vnd.aws.lambda.error+json"
    cause = json.loads(headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "CustomError"
    assert cause["exceptions"][0]["stack"][0]["label"] == "raise_custom"
    assert json.loads(body)["errorMessage"] == "custom failure\nwith a second line"


INIT_ERRORS = [
    ("bad_handler", "Runtime.MalformedHandlerName",
     "Bad handler 'bad_handler': not enough values to unpack (expected 2, got 1)"),
    ("no_such_module.handler", "Runtime.ImportModuleError",
     "Unable to import module 'no_such_module': No module named 'no_such_module'"),
    ("import_error.handler", "Runtime.ImportModuleError",
     "Unable to import module 'import_error': No module named 'no_such_dependency_here'"),
    ("echo.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'echo'"),
    ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    ("../escape.handler", "Runtime.MalformedHandlerName",
     "Bad handler '../escape.handler': empty module path component (no '..', './', '//' or trailing '/')"),
]


@pytest.mark.parametrize("handler,error_type,message", INIT_ERRORS)
def test_init_errors(stub_api, handler, error_type, message):
    proc = run_bootstrap(stub_api.address, handler)
    out, err = proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 1
    posts = stub_api.wait_posts(1)
    assert len(posts) == 1
    path, headers, body = posts[0]
    assert path == "/2018-06-01/runtime/init/error"
    assert headers["lambda-runtime-function-error-type"] == error_type
    assert json.loads(body) == {"errorMessage": message, "errorType": error_type, "requestId": "",
                                "stackTrace": []}
    assert f"[ERROR] {error_type}: {message}\r".encode() in out


def test_init_error_syntax(stub_api):
    proc = run_bootstrap(stub_api.address, "syntax_error.handler")
    out, _ = proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 1
    _, headers, body = stub_api.wait_posts(1)[0]
    doc = json.loads(body)
    assert headers["lambda-runtime-function-error-type"] == "Runtime.UserCodeSyntaxError"
    assert doc["errorType"] == "Runtime.UserCodeSyntaxError"
    assert doc["errorMessage"].startswith("Syntax error in module 'syntax_error': ")
    assert "(syntax_error.py, line 3)" in doc["errorMessage"]
    path = os.path.join(FUNCTIONS, "syntax_error.py")
    assert doc["stackTrace"] == [f'  File "{path}" Line 3\n    def handler(event, context)\n']


def test_source_compiler_gives_what_compile_gives(function):
    # The runtime compiles module sources with Py_CompileString instead of compile() (python.c
    # compile_source, ~1.3 ms of every cold start): same code objects, same errors.
    r = function("compiling.handler").invoke({"files": 40})
    assert r.status == 200, r
    body = r.json()
    # (3.9's Py_CompileString ignores coding cookies: there importlib keeps its own compile)
    assert body["hook"] == ("function" if EXPECT_PYTHON == "3.9" else "partial"), body["hook"]
    assert body["compared"] >= 20
    assert body["mismatched"] == []
    assert {name: case["same"] for name, case in body["cases"].items()} == {name: True for name in body["cases"]}, \
        body["cases"]
    assert body["cases"]["latin1_cookie"]["ours"] == "code"
    assert body["cases"]["syntax_error"]["ours"] == "SyntaxError"
    assert body["optimize_2_same"] and body["optimize_2_differs"]


def test_lazy_import_syntax_error_has_no_importlib_frames(function):
    r = function("compiling.lazy_syntax_error").invoke({})
    body = r.json()
    assert body["errorType"] == "SyntaxError", body
    assert "broken_syntax.py, line 2" in body["errorMessage"]
    path = os.path.join(FUNCTIONS, "compiling.py")
    with open(path) as f:
        line = 1 + [text.strip() for text in f].index("import subdir.broken_syntax  # noqa: F401")
    assert body["stackTrace"] == [
        f'  File "{path}", line {line}, in lazy_syntax_error\n    import subdir.broken_syntax  # noqa: F401\n']


def test_init_error_raised_at_import(stub_api):
    proc = run_bootstrap(stub_api.address, "init_raises.handler")
    proc.communicate(timeout=20 * TIME_SCALE)
    assert proc.returncode == 1
    _, headers, body = stub_api.wait_posts(1)[0]
    doc = json.loads(body)
    assert doc["errorType"] == "RuntimeError"
    assert doc["errorMessage"] == "failed during init"
    assert headers["lambda-runtime-function-error-type"] == "Function.RuntimeError"
    assert doc["stackTrace"][-1].endswith('in _fail\n    raise RuntimeError("failed during init")\n')


@pytest.mark.rie
def test_init_error_through_emulator(function):
    f = function("echo.missing")
    for _ in range(2):  # every invoke re-inits and fails the same way
        r = f.invoke({})
        assert r.status == 502
        assert r.json()["errorType"] == "Runtime.HandlerNotFound"


@pytest.mark.rie
def test_context_attributes(function):
    f = function("context_info.handler", env={"AWS_LAMBDA_FUNCTION_NAME": "my-function"}, timeout=30)
    cc = {"custom": {"k": "v"}, "env": {"platform": "test"}, "client": {"app_title": "App"}}
    identity = {"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"}
    r = f.invoke({}, headers={"X-Amz-Client-Context": client_context_header(cc),
                              "X-Amz-Cognito-Identity": json.dumps(identity),
                              "X-Amz-Tenant-Id": "tenant-7"})
    info = r.json()
    assert re.fullmatch(r"[0-9a-f-]{36}", info["aws_request_id"]["value"])
    assert info["function_name"] == {"type": "str", "value": "my-function"}
    assert info["function_version"] == {"type": "str", "value": "$LATEST"}
    assert info["invoked_function_arn"] == {"type": "str",
                                            "value": "arn:aws:lambda:us-east-1:012345678912:function:my-function"}
    assert info["memory_limit_in_mb"]["type"] == "str"
    # (the RIE names every function's log group /aws/lambda/Functions)
    assert info["log_group_name"] == {"type": "str",
                                      "value": "/aws/lambda/Functions" if RIE else "/aws/lambda/my-function"}
    assert info["log_stream_name"]["type"] == "str"
    assert info["tenant_id"] == {"type": "str", "value": "tenant-7"}
    assert info["remaining"]["type"] == "int"
    assert 25000 < info["remaining"]["value"] <= 30000
    assert info["identity_type"] == "CognitoIdentity"
    assert info["cognito_identity_id"] == "us-east-1:abc"
    assert info["cognito_identity_pool_id"] == "us-east-1:pool"
    assert info["client_context_type"] == "ClientContext"
    assert info["client_context_custom"] == {"k": "v"}
    assert info["client_context_env"] == {"platform": "test"}
    assert info["client_app_title"] == "App"
    assert info["has_log"] is True

    plain = f.invoke({}).json()
    assert plain["tenant_id"] == {"type": "NoneType", "value": None}
    assert plain["client_context_type"] == "NoneType"
    assert plain["identity_type"] == "CognitoIdentity" and plain["cognito_identity_id"] is None


@pytest.mark.rie
def test_trace_id_set_and_unset(function):
    f = function("echo.trace_id")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    # The RIE does not pass the client's X-Amzn-Trace-Id on (Lambda and the project's emulator do)
    assert f.invoke({}, headers={"X-Amzn-Trace-Id": trace}).json() == {"trace_id": None if RIE else trace}
    assert f.invoke({}).json() == {"trace_id": None}


@pytest.mark.rie
@pytest.mark.parametrize("handler,where", [("subdir/nested/mod.handler", "subdir.nested.mod"),
                                           ("pkg.mod.handler", "pkg.mod")])
def test_handler_paths(function, handler, where):
    assert function(handler).invoke({}).json() == {"where": where}


@pytest.mark.rie
def test_stdout_and_text_logs(function):
    f = function("logs.handler")
    r = f.invoke({})
    assert r.json() == "logged"
    assert f.wait_for_output("from context.log")
    log = f.output()
    assert "hello from print\n" in log
    assert "hello from stderr\n" in log
    m = re.search(r"\[WARNING\]\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t([0-9a-f-]{36})\ta warning from logging\n",
                  log)
    assert m, log
    assert "an info from logging" not in log  # the root logger's default level is WARNING


def test_json_logs_and_level(function):
    f = function("logs.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    f.invoke({})
    assert f.wait_for_output("an info from logging")
    records = [json.loads(line) for line in f.output().splitlines() if line.startswith('{"timestamp"')]
    by_message = {r["message"]: r for r in records}
    warning = by_message["a warning from logging"]
    assert warning["level"] == "WARNING"
    assert warning["logger"] == "app"
    assert re.fullmatch(r"[0-9a-f-]{36}", warning["requestId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", warning["timestamp"])  # whole seconds, as awslambdaric 4.2
    assert by_message["an info from logging"]["level"] == "INFO"
    assert "a debug from logging" not in by_message


def test_json_log_of_exception(function):
    f = function("logs.log_exception", env={"AWS_LAMBDA_LOG_FORMAT": "json"})
    f.invoke({})
    assert f.wait_for_output("caught it")
    record = next(json.loads(line) for line in f.output().splitlines() if '"caught it"' in line)
    assert record["errorType"] == "KeyError"
    assert record["errorMessage"] == "'missing'"
    assert record["order"] == 42
    assert record["location"].endswith("logs.py:log_exception:22")
    assert any("raise KeyError" in line for line in record["stackTrace"])


def test_json_error_log(function):
    f = function("errors.raise_value_error", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    f.invoke({})
    assert f.wait_for_output('"errorType": "ValueError"')
    record = next(json.loads(line) for line in f.output().splitlines() if '"errorType": "ValueError"' in line)
    assert record["level"] == "ERROR"
    assert record["errorMessage"] == "something went wrong"
    assert len(record["stackTrace"]) == 2


@pytest.mark.rie
def test_response_too_large_then_served(function):
    f = function("echo.big")
    r = f.invoke({"size": 7 * 1024 * 1024}, timeout=60)
    assert r.status == 200
    body = r.json()
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    pid_before = f.wait_for_output("refused the result") and None
    r = f.invoke({"size": 10})
    assert r.status == 200
    assert r.json() == "x" * 10
    assert "refused the result" in f.output()
    assert "Runtime.ExitError" not in f.output()
    del pid_before


@pytest.mark.rie
def test_thousand_sequential_invocations(function):
    f = function("echo.counter")
    count = int(os.environ.get("SEQUENTIAL_INVOCATIONS", "1000"))
    seen_ids = set()
    for n in range(count):
        r = f.invoke({"n": n})
        assert r.status == 200, r
        body = r.json()
        assert body["n"] == n
        seen_ids.add(body["request_id"])
    assert len(seen_ids) == count


@pytest.mark.rie
def test_timeout_then_recovery(function):
    # Under qemu the re-init after the kill takes most of a second: give it room.
    seconds = 1 if TIME_SCALE <= 1 else 5
    f = function("echo.sleep", timeout=seconds)
    r = f.invoke({"seconds": seconds * 3})
    assert r.status == 200
    assert r.body == b"Task timed out after %d.00 seconds" % seconds
    r = f.invoke({"seconds": 0})
    assert r.status == 200, r
    assert r.json()["slept"] == 0


@pytest.mark.rie
def test_crash_then_restart(function):
    """A runtime that dies mid-invoke (os._exit, as a native crash would): 502 Runtime.ExitError,
    then the next invoke gets a new runtime."""
    f = function("echo.exit_now")
    r = f.invoke({"code": 3})
    assert r.status == 502, r
    body = r.json()
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    first = f.invoke({"code": None})
    second = f.invoke({"code": None})
    assert first.status == second.status == 200, (first, second)
    assert first.json()["pid"] == second.json()["pid"]


@pytest.mark.rie
def test_event_over_the_limit(function):
    """An event of 6 MiB + 101 bytes: real Lambda refuses it (413), and so does the project's
    emulator; the RIE cuts it to 6 MiB + 100 bytes without a word, so the handler gets invalid JSON."""
    f = function("echo.handler")
    limit = 6 * 1024 * 1024 + 100
    event = b'{"blob": "' + b"a" * (limit + 1 - 12) + b'"}'
    assert len(event) == limit + 1
    r = f.invoke(raw=event, timeout=60)
    if RIE:
        assert r.status == 200, r
        assert r.json()["errorType"] == "Runtime.UnmarshalError"
    else:
        assert r.status == 413, r
    exact = b'{"blob": "' + b"a" * (limit - 12) + b'"}'
    r = f.invoke(raw=exact, timeout=60)
    assert r.status == 200, r
    assert len(r.json()["blob"]) == limit - 12
