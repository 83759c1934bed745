"""Registers shutdown hooks the way users do: atexit and a SIGTERM handler."""
import atexit
import os
import signal
import sys
import time


def _on_exit():
    print("atexit hook ran", flush=True)


atexit.register(_on_exit)

if os.environ.get("INSTALL_SIGTERM_HANDLER") == "1":
    def _on_sigterm(signum, frame):
        print("sigterm handler ran for signal %d" % signum, flush=True)

    signal.signal(signal.SIGTERM, _on_sigterm)


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"done": True}
