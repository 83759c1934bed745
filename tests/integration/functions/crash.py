"""Handlers that end the process with a fatal signal (tests/integration/test_crash.py).
Event {"signal": NAME, ...}; each way is a real fault where the CPU has one."""
import ctypes
import mmap
import os
import platform
import signal
import tempfile
import threading
import time


def _segv():
    ctypes.string_at(0)


def _bus():
    # A mapped page past the end of its file: touching it is SIGBUS on every CPU.
    with tempfile.TemporaryFile() as f:
        f.truncate(mmap.PAGESIZE)
        m = mmap.mmap(f.fileno(), mmap.PAGESIZE)
        f.truncate(0)
        return m[0]


# An illegal instruction, and on x86_64 an integer division by zero (arm64 does not trap on it:
# there SIGFPE is raised by the thread itself).
_CODE = {
    "ill": {"x86_64": b"\x0f\x0b", "aarch64": b"\x00\x00\x00\x00"},  # ud2 / udf #0
    "fpe": {"x86_64": b"\xb8\x01\x00\x00\x00\x31\xc9\x99\xf7\xf9\xc3"},  # 1 / 0 with idiv
}


def _run_code(kind):
    code = _CODE[kind].get(platform.machine())
    if code is None:
        signal.raise_signal(signal.SIGFPE)
        return
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    ctypes.CFUNCTYPE(None)(address)()


def _ill():
    _run_code("ill")


def _fpe():
    _run_code("fpe")


def _abrt():
    os.abort()


CRASHES = {"SIGSEGV": _segv, "SIGBUS": _bus, "SIGILL": _ill, "SIGFPE": _fpe, "SIGABRT": _abrt}


def crash_here(name):
    CRASHES[name]()


def handler(event, context):
    """Crashes with event["signal"] (after event["sleep"] seconds); answers without one."""
    if "signal" not in event:
        return event
    time.sleep(event.get("sleep", 0))
    crash_here(event["signal"])
    return "not crashed"


def in_thread(event, context):
    t = threading.Thread(target=crash_here, args=(event.get("signal", "SIGSEGV"),), name="crasher")
    t.start()
    t.join()
    return "not crashed"


def later(event, context):
    """Leaves a thread that crashes after this invocation has been answered."""
    def wait_then_crash():
        time.sleep(event.get("after", 0.5))
        crash_here("SIGSEGV")

    threading.Thread(target=wait_then_crash, daemon=True).start()
    return "answered"


def child_crashes(event, context):
    pid = os.fork()
    if pid == 0:
        crash_here("SIGSEGV")
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return {"child_signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}


def _recurse(n):
    if n == 0:
        crash_here("SIGSEGV")
    _recurse(n - 1)


def deep(event, context):
    _recurse(event.get("depth", 300))


def user_faulthandler(event, context):
    import faulthandler
    import sys

    faulthandler.enable(sys.stderr)
    crash_here("SIGSEGV")

