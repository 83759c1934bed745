"""Response streaming: the runtime's POST handler puts bytes chunks on
inv.stream, then one ("end", error) tuple, error being None or
(error_type, error_body) with the body as the runtime gave it (base64 text)."""

import queue
import time


def pump_stream(inv, deadline, write_chunk=None, write_end=None):
    """Moves a streamed response from inv.stream to the writers (None: drop it).
    Returns False if the deadline passed first. Writer errors only stop writing:
    the queue is still drained so the runtime's POST is never stuck."""
    writing = write_chunk is not None
    while True:
        left = deadline - time.monotonic()
        try:
            item = inv.stream.get(timeout=left) if left > 0 else inv.stream.get_nowait()
        except queue.Empty:
            if writing:
                try:
                    write_end(None, timed_out=True)
                except OSError:
                    pass
            return False
        if isinstance(item, tuple):
            if writing:
                try:
                    write_end(item[1])
                except OSError:
                    pass
            return True
        if writing and item:
            try:
                write_chunk(item)
            except OSError:
                writing = False


def drain_stream(inv, deadline):
    return pump_stream(inv, deadline)
