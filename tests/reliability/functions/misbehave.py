"""One handler, many ways to misbehave: event {"do": ACTION, ...}. "echo" answers normally,
so a test can check that the runtime still serves after each misbehaviour."""
import os
import signal
import sys
import tempfile
import threading
import time


def _recurse(n):
    return _recurse(n + 1) + 1


def _ticker():
    while True:
        time.sleep(0.05)


ACTIONS = {}


def action(fn):
    ACTIONS[fn.__name__] = fn
    return fn


@action
def echo(event, context):
    return {"echo": event.get("value"), "pid": os.getpid(), "cwd": os.getcwd(),
            "threads": threading.active_count(), "request_id": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(), "size": len(event.get("pad", ""))}


@action
def sys_exit_0(event, context):
    sys.exit(0)


@action
def sys_exit_3(event, context):
    sys.exit(3)


@action
def os_exit_3(event, context):
    os._exit(3)


@action
def segfault(event, context):
    import ctypes

    ctypes.string_at(0)


@action
def recursion(event, context):
    _recurse(0)


@action
def memory_error(event, context):
    return len(bytearray(1 << 50))  # no machine has a petabyte: MemoryError at once


@action
def raise_memory_error(event, context):
    raise MemoryError()


@action
def big_result(event, context):
    return "x" * event.get("size", 10 * 1024 * 1024)


@action
def lone_surrogate_result(event, context):
    return {"s": "a\ud800b"}


@action
def lone_surrogate_error(event, context):
    raise ValueError("bad \udc80 value")


@action
def lone_surrogate_print(event, context):
    print("printing \ud800 here")
    return "printed"


@action
def leave_thread(event, context):
    threading.Thread(target=_ticker, name="left-running").start()  # not a daemon
    return threading.active_count()


@action
def close_stdout(event, context):
    sys.stdout.close()
    return "closed"


@action
def close_fd1(event, context):
    os.close(1)
    return "closed"


@action
def redirect_stdout(event, context):
    import io

    sys.stdout = io.StringIO()
    sys.stderr = io.StringIO()
    return "redirected"


@action
def redirect_fd1(event, context):
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return "redirected"


@action
def chdir(event, context):
    os.chdir(event.get("to", "/"))
    return os.getcwd()


@action
def chdir_deleted_then_raise(event, context):
    d = tempfile.mkdtemp()
    os.chdir(d)
    os.rmdir(d)
    raise RuntimeError("cwd is gone")


@action
def alarm(event, context):
    signal.alarm(event.get("seconds", 1))
    return "alarm set"


@action
def alarm_raises(event, context):
    def on_alarm(signum, frame):
        raise TimeoutError("alarm fired")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, event.get("seconds", 0.2))
    time.sleep(event.get("sleep", 5))
    return "not interrupted"


@action
def alarm_raises_later(event, context):
    def on_alarm(signum, frame):
        raise TimeoutError("alarm fired")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, event.get("seconds", 0.2))
    return "alarm set"


@action
def raise_error(event, context):
    raise ValueError("handler failed")


@action
def keyboard_interrupt(event, context):
    raise KeyboardInterrupt()


def handler(event, context):
    return ACTIONS[event["do"]](event, context)


@action
def lone_surrogate_error_high(event, context):
    raise ValueError("bad \ud800 value")


@action
def sleep(event, context):
    time.sleep(event.get("seconds", 1))
    return "slept"


@action
def whoami(event, context):
    return {"python": "%d.%d" % sys.version_info[:2], "pid": os.getpid()}


@action
def close_fds(event, context):
    os.closerange(3, 1024)  # the daemon idiom: every descriptor the runtime holds is gone
    return "closed"


@action
def self_reference(event, context):
    d = {}
    d["d"] = d
    return d
