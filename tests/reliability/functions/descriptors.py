"""Handlers that take the runtime's own descriptors away (tests/reliability/test_descriptors.py).
Event {"do": ACTION, ...}. An atexit hook makes the runtime register as an extension, so its
connection is among the descriptors taken."""
import atexit
import ctypes
import os
import resource
import threading
import time

_replaced = {}  # fd -> (dev, ino) of the file put in its place


@atexit.register
def _on_exit():
    print("atexit hook ran", flush=True)


def _runtime_fds(kinds):
    """The process's descriptors above 2 whose target is one of kinds (socket, pipe, memfd)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor
        kind = target.split(":")[0].lstrip("/")
        if fd > 2 and kind in kinds:
            found.append((fd, target))
    return found


def handler(event, context):
    return ACTIONS[event["do"]](event, context)


def echo(event, context):
    return {"pid": os.getpid(), "value": event.get("value")}


def closerange(event, context):
    os.closerange(3, 1 << 16)
    return "closed"


def dup2_over(event, context):
    """Puts a file of the handler's own (event["path"]) in the place of every runtime descriptor
    of the given kinds."""
    fd = os.open(event["path"], os.O_RDWR | os.O_CREAT, 0o600)
    st = os.fstat(fd)
    taken = [target for target_fd, target in _runtime_fds(event["kinds"]) if target_fd != fd]
    for target_fd, target in _runtime_fds(event["kinds"]):
        if target_fd != fd:
            os.dup2(fd, target_fd)
            _replaced[target_fd] = (st.st_dev, st.st_ino)
    os.close(fd)
    return sorted(t.split(":")[0].lstrip("/") for t in taken)


def check_replaced(event, context):
    """The files put in place are still the handler's (the runtime closed none of them), and the
    runtime wrote nothing into them."""
    kept = []
    for fd, identity in _replaced.items():
        st = os.fstat(fd)
        kept.append((st.st_dev, st.st_ino) == identity)
    return {"all_kept": all(kept) and bool(kept), "size": os.path.getsize(event["path"]), "pid": os.getpid()}


def exhaust(event, context):
    """No descriptor left for the runtime to recreate what it lost."""
    os.closerange(3, 1 << 16)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    held = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    _replaced["held"] = held
    return len(held)


def closerange_later(event, context):
    """A thread closes everything after this invocation has been answered (the runtime idle)."""
    def later():
        time.sleep(event.get("after", 0.3))
        os.closerange(3, 1 << 16)

    threading.Thread(target=later, daemon=True).start()
    return "later"


def stream_and_close(event, context):
    def body():
        yield b"first "
        os.closerange(3, 1 << 16)
        yield b"second"

    return body()


def segfault(event, context):
    ctypes.string_at(0)


ACTIONS = {name: fn for name, fn in list(globals().items())
           if callable(fn) and not name.startswith("_") and name not in ("handler",)}
