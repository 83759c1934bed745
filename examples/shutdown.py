"""Shutdown hooks: before Lambda shuts an execution environment down, the runtime gets SIGTERM
(bootstrap registers itself as an internal extension, which is what makes Lambda send it). It
then runs the function's own SIGTERM handler and its atexit hooks, and exits; Lambda allows
about 500 ms for that. No extension layer and no runtime-specific API are needed.

    make run RUN_HANDLER=shutdown.handler
    curl http://127.0.0.1:9000/2015-03-31/functions/function/invocations -d '{"order": 1}'
    # then Ctrl-C the emulator: it sends SIGTERM as Lambda does, and the log shows both hooks
"""
import atexit
import signal
import time

_pending = []  # e.g. metrics or records batched across invocations


def _flush():
    # atexit: runs on a normal shutdown, after the SIGTERM handler (and on sys.exit).
    print(f"atexit: flushed {len(_pending)} pending record(s)", flush=True)
    _pending.clear()


def _on_sigterm(signum, frame):
    # Runs in the main thread as soon as SIGTERM arrives (during an invocation too, which then
    # finishes normally). Keep it short; the runtime exits after it and the atexit hooks.
    print(f"SIGTERM: closing connections at {time.strftime('%H:%M:%S')}", flush=True)


atexit.register(_flush)
signal.signal(signal.SIGTERM, _on_sigterm)


def handler(event, context):
    _pending.append(event)
    return {"pending": len(_pending)}
