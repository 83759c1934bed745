"""Platform lines (START/END/REPORT/INIT_*) on stdout, the emulator's own notes on stderr."""

import sys
import threading


class Log:
    """Platform lines (START/END/REPORT/INIT_*) go to stdout, like the RIE's;
    the emulator's own notes go to stderr, prefixed "emulator:"."""

    def __init__(self, out=None, err=None):
        self.lock = threading.Lock()
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def line(self, text):
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def note(self, text):
        with self.lock:
            self.err.write("emulator: " + text + "\n")
            self.err.flush()
