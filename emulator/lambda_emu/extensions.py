"""The Extensions API's state: starting extensions, registration, their events.

A mixin of Sandbox: it shares the sandbox's Condition and runtime."""

import os
import signal
import threading
import time

from .model import ApiError, Extension, NextWaiter, Result, state_error
from .protocol import INIT_ERROR_GRACE, describe_exit


class ExtensionsMixin:
    """Sandbox methods for extensions; they run under self.cond like the rest."""

    def _start_extensions_locked(self, rt, env):
        """Starts every executable in --extensions-dir, as Lambda does with
        /opt/extensions; each must register under its file name."""
        directory = self.config.extensions_dir
        if not directory:
            return
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            self.log.note("extensions dir %s: %s" % (directory, exc))
            return
        for name in names:
            path = os.path.join(directory, name)
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                continue
            try:
                proc = self.spawner.spawn([path], env)
            except OSError as exc:
                self.log.note("cannot start extension %s: %s" % (path, exc))
                continue
            rt.ext_procs[name] = proc
            rt.ext_expected.add(name)
            threading.Thread(target=self._reap_extension, args=(rt, name, proc),
                             name="extension-%s" % name, daemon=True).start()

    def _reap_extension(self, rt, name, proc):
        returncode = proc.wait()
        with self.cond:
            self.cond.notify_all()
            if rt.gone or self.closing:
                return
            rt.ext_expected.discard(name)
            for ext in rt.extensions:
                if ext.name == name:
                    self._drop_extension_locked(ext)
            crashed_in_init = not rt.registration_closed and rt.init_error is None
            if crashed_in_init:
                rt.init_error = Result.error(
                    502, "Extension.Crash", "Extension %s exited during init: %s"
                    % (name, describe_exit(returncode)))
                self.cond.notify_all()
        self.log.note("extension %s (pid %d) exited: %s" % (name, proc.pid, describe_exit(returncode)))
        if crashed_in_init:
            self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                          "Error Type: Extension.Crash" % ((time.monotonic() - rt.started) * 1000))
            with self.cond:
                self._kill_locked(rt)

    def _drop_extension_locked(self, ext):
        ext.dropped = True
        ext.ready = False
        if ext.waiter is not None:
            ext.waiter.cancelled = True
        self.cond.notify_all()

    def _reset_extensions_locked(self, rt):
        """The sandbox is reset with its runtime: registrations end, and the
        extension processes we started are killed."""
        for ext in rt.extensions:
            self._drop_extension_locked(ext)
            self.extensions.pop(ext.id, None)
        for proc in rt.ext_procs.values():
            if proc.returncode is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass

    def _extensions_ready_locked(self, rt):
        """Every started extension has registered and every registered one is
        parked in /event/next (so an event may be handed out)."""
        if not rt.ext_expected.issubset(ext.name for ext in rt.extensions):
            return False
        return all(ext.ready for ext in rt.extensions if not ext.dropped)

    def _maybe_close_registration_locked(self, rt):
        if rt.ready_at is not None and self._extensions_ready_locked(rt):
            rt.registration_closed = True

    def register_extension(self, name, events):
        """POST /extension/register -> Extension, or raises ApiError (403, as RAPID)."""
        with self.cond:
            rt = self.runtime
            if not name:
                raise ApiError(403, "Extension.InvalidExtensionName", "Empty extension name")
            if rt is None or rt.gone or rt.registration_closed or self.closing:
                raise ApiError(403, "Extension.RegistrationClosed", "Extension registration closed already")
            external = name in rt.ext_procs
            for event in events:
                if event not in ("INVOKE", "SHUTDOWN"):
                    raise ApiError(403, "Extension.InvalidEventType", "%s: invalid event type" % event)
                if event == "SHUTDOWN" and not external:
                    raise ApiError(403, "Extension.InvalidEventType",
                                   "SHUTDOWN: event not supported for internal extensions")
            if any(ext.name == name for ext in rt.extensions):
                raise ApiError(403, "Extension.InvalidExtensionState",
                               "Extension with this name already registered")
            ext = Extension(name, events, external, rt)
            rt.extensions.append(ext)
            self.extensions[ext.id] = ext
            self.cond.notify_all()
        self.log.line("EXTENSION\tName: %s\tState: Registered\tEvents: [%s]"
                      % (name, ", ".join(sorted(ext.events))))
        return ext

    def extension_next(self, ext_id, sock):
        """GET /extension/event/next: blocks until an event for this extension.
        -> the event (dict), None when the extension was reset, or ApiError."""
        with self.cond:
            ext = self.extensions.get(ext_id)
            if ext is None or ext.dropped:
                raise ApiError(403, "Extension.UnknownExtensionIdentifier", "Unknown extension %s" % ext_id)
            if ext.waiter is not None:
                if ext.waiter.alive():
                    raise ApiError(403, "Extension.InvalidExtensionState",
                                   "State transition from Ready to Ready failed for extension %s" % ext.name)
                ext.waiter.cancelled = True
            waiter = NextWaiter(sock)
            ext.waiter = waiter
            ext.ready = True
            self._maybe_close_registration_locked(ext.runtime)
            self.cond.notify_all()
            while True:
                if waiter.cancelled or ext.dropped:
                    if ext.waiter is waiter:
                        ext.waiter = None
                    return None
                if ext.pending:
                    ext.ready = False
                    ext.waiter = None
                    return ext.pending.popleft()
                self.cond.wait()

    def extension_init_error(self, ext_id, result):
        with self.cond:
            ext = self.extensions.get(ext_id)
            if ext is None or ext.dropped:
                raise ApiError(403, "Extension.UnknownExtensionIdentifier", "Unknown extension %s" % ext_id)
            rt = ext.runtime
            if rt.gone or rt.registration_closed or rt.init_error is not None:
                raise state_error(rt.state_name(), "InitError")
            rt.init_error = result
            self.cond.notify_all()
        self.log.line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\t"
                      "Error Type: %s" % ((time.monotonic() - rt.started) * 1000, result.function_error))
        timer = threading.Timer(INIT_ERROR_GRACE, self._init_error_watchdog, (rt,))
        timer.daemon = True
        timer.start()

    def extension_known(self, ext_id):
        with self.cond:
            ext = self.extensions.get(ext_id)
            return ext is not None and not ext.dropped
