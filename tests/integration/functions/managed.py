"""Handlers for Managed Instances (tests/integration/test_managed.py). Init appends this process's
pid to $MANAGED_INIT_LOG, so a test can count how often init ran and in which process."""
import atexit
import ctypes
import logging
import os
import threading
import time

if os.environ.get("MANAGED_INIT_LOG"):
    with open(os.environ["MANAGED_INIT_LOG"], "a") as f:
        f.write(f"{os.getpid()}\n")

if os.environ.get("MANAGED_INIT_THREAD"):
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()

logger = logging.getLogger()
logger.setLevel(logging.INFO)


@atexit.register
def _on_exit():
    print(f"atexit ran in {os.getpid()}", flush=True)


def handler(event, context):
    action = event.get("do", "echo")
    if action == "sleep":
        time.sleep(event.get("seconds", 1))
    elif action == "log":
        for n in range(event.get("lines", 5)):
            logger.info("line %d of %s", n, context.aws_request_id)
            time.sleep(event.get("pause", 0.01))
    elif action == "exit":
        os._exit(event.get("code", 3))
    elif action == "segfault":
        ctypes.string_at(0)
    return {"pid": os.getpid(), "ppid": os.getppid(), "request_id": context.aws_request_id}
