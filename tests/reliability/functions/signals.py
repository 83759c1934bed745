"""Signal handlers installed at import, as users write them; SIGNALS_MODE picks which."""
import atexit
import os
import signal
import time

MODE = os.environ.get("SIGNALS_MODE", "")


def _on_exit():
    print("atexit hook ran", flush=True)


atexit.register(_on_exit)

if MODE == "sigterm_raises":
    def _raise(signum, frame):
        print("sigterm handler raising", flush=True)
        raise RuntimeError("sigterm handler failed")

    signal.signal(signal.SIGTERM, _raise)
elif MODE == "sigterm_exits":
    def _exit(signum, frame):
        raise SystemExit(5)

    signal.signal(signal.SIGTERM, _exit)
elif MODE == "sigusr1":
    def _usr1(signum, frame):
        print("sigusr1 handled", flush=True)

    signal.signal(signal.SIGUSR1, _usr1)
elif MODE == "sigterm_ignored":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
