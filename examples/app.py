"""Example handler: greets, echoes the event and shows what the runtime passed in."""
import os
import platform
import sys


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {
        "message": f"Hello, {name}!",
        "event": event,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "python": platform.python_version(),
        "arch": platform.machine(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "sys_path_head": sys.path[:3],
    }
