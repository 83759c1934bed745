"""Starting runtimes and extensions from one long-lived thread (PR_SET_PDEATHSIG)."""

import ctypes
import queue
import signal
import subprocess
import threading


def _make_pdeathsig_preexec():
    """preexec_fn asking the kernel to SIGKILL the runtime if we die (Linux).
    prctl is resolved here, in the parent; the child only calls into libc."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
    pr_set_pdeathsig = 1

    def preexec():
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


_pdeathsig_preexec = _make_pdeathsig_preexec()


class Spawner:
    """Forks every runtime from one long-lived thread: PR_SET_PDEATHSIG fires
    when the *thread* that forked the child exits, so forking from a short-lived
    HTTP handler thread would kill the runtime when its connection closed."""

    def __init__(self):
        self.requests = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="spawner", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            argv, env, reply = self.requests.get()
            try:
                proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                        start_new_session=True, close_fds=True,
                                        preexec_fn=_pdeathsig_preexec)
                reply.put((proc, None))
            except Exception as exc:  # OSError for a bad bootstrap
                reply.put((None, exc))

    def spawn(self, argv, env):
        reply = queue.Queue(maxsize=1)
        self.requests.put((argv, env, reply))
        proc, exc = reply.get()
        if exc is not None:
            raise exc
        return proc
