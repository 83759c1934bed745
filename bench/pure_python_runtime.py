"""A Lambda runtime loop in pure Python, standard library only.

This is the `pure_python` baseline of the benchmark: what a custom runtime
without a C core costs (the shape of awslambdaric's loop, minus its C HTTP
client). It is run as `/usr/bin/python3.11 bench/pure_python_runtime.py`
with the Lambda environment (AWS_LAMBDA_RUNTIME_API, _HANDLER,
LAMBDA_TASK_ROOT). It is a measuring stick, not a product: no logging
setup, no X-Ray, no streaming.
"""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"


class Context:
    """The attributes handlers read most, as awslambdaric's context has them."""

    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def load_handler(spec, task_root):
    """Imports `module.function` from the task root, as _HANDLER names it."""
    module_name, _, func_name = spec.rpartition(".")
    sys.path.insert(0, task_root)
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, func_name)


def error_body(exc):
    return json.dumps({
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    })


def post(conn, path, body, extra_headers=None):
    headers = {"Content-Type": "application/json"}
    headers.update(extra_headers or {})
    conn.request("POST", path, body=body.encode(), headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def invoke_once(conn, handler):
    """One GET /next -> handler -> POST; False when the loop should stop."""
    conn.request("GET", API_PREFIX + "/invocation/next")
    resp = conn.getresponse()
    event_bytes = resp.read()
    if resp.status != 200:
        return False
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    context = Context(resp.headers)
    try:
        result = json.dumps(handler(json.loads(event_bytes), context))
    except Exception as exc:  # the handler's failure is reported, not fatal
        status = post(conn, f"{API_PREFIX}/invocation/{request_id}/error", error_body(exc),
                      {"Lambda-Runtime-Function-Error-Type": "Runtime.HandlerError"})
        return status < 500
    status = post(conn, f"{API_PREFIX}/invocation/{request_id}/response", result)
    return status < 500


def main():
    host, _, port = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001").rpartition(":")
    conn = http.client.HTTPConnection(host, int(port))
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    spec = os.environ.get("_HANDLER") or (sys.argv[1] if len(sys.argv) > 1 else "")
    try:
        handler = load_handler(spec, task_root)
    except Exception as exc:
        post(conn, API_PREFIX + "/init/error", error_body(exc),
             {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        return 1
    # Runs until the Runtime API goes away (the driver kills us before that).
    while invoke_once(conn, handler):
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
