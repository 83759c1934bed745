"""Handlers that give back what they got."""
import os
import sys


def handler(event, context):
    return event


def event_type(event, context):
    return {"type": type(event).__name__, "length": len(event) if hasattr(event, "__len__") else None}


def echo_bytes(event, context):
    return event if isinstance(event, bytes) else str(event).encode()


def whoami(event, context):
    import platform

    return {
        "python": "%d.%d" % sys.version_info[:2],
        "machine": platform.machine(),
        "pid": os.getpid(),
        "sys_path": sys.path,
        "executable": sys.executable,
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH"),
        # The runtime's own modules (bootstrap_runtime and those it imports): a docstring survives
        # only when compiled from the embedded source (the embedded bytecode is compiled with
        # optimize=2, without it).
        "runtime_docstrings": {name: bool(module.__doc__) for name, module in _runtime_modules().items()},
        "sys_modules": sorted(sys.modules),
    }


def _runtime_modules():
    runtime = sys.modules["bootstrap_runtime"]
    found = {"bootstrap_runtime": runtime}
    for name, value in vars(runtime).items():
        if type(value) is type(sys) and str(getattr(value, "__file__", "")).startswith("<bootstrap>/"):
            found[name] = value
    return found


def counter(event, context):
    return {"n": event["n"], "request_id": context.aws_request_id}


def trace_id(event, context):
    return {"trace_id": os.environ.get("_X_AMZN_TRACE_ID", None)}


def big(event, context):
    return "x" * event["size"]


def sleep(event, context):
    import time

    time.sleep(event["seconds"])
    return {"slept": event["seconds"], "pid": os.getpid()}


def exit_now(event, context):
    """Ends the process at once (no Python clean-up), as a crash in native code would."""
    if event.get("code") is not None:
        os._exit(event["code"])
    return {"pid": os.getpid()}
