"""The command line (the RIE's) and main()."""

import argparse
import os
import signal
import sys
import threading

from .config import Config, parse_address
from .emulator import Emulator


def build_parser():
    p = argparse.ArgumentParser(
        prog="lambda_emulator.py",
        description="Local AWS Lambda emulator (RIE-compatible command line).")
    p.add_argument("--runtime-interface-emulator-address", dest="invoke_address",
                   type=lambda s: parse_address(s, "127.0.0.1"), default=("127.0.0.1", 9000),
                   help="invoke endpoint address (default 127.0.0.1:9000; port 0 = any free port)")
    p.add_argument("--runtime-api-address", dest="api_address",
                   type=lambda s: parse_address(s, "127.0.0.1"), default=("127.0.0.1", 9001),
                   help="Runtime API address (default 127.0.0.1:9001; port 0 = any free port)")
    p.add_argument("--eager", action="store_true",
                   help="start the runtime now instead of on the first invoke")
    p.add_argument("--port-file", help="write the bound addresses here as JSON once serving")
    p.add_argument("--extensions-dir", metavar="DIR",
                   help="start every executable in DIR as an external extension at each init "
                        "(as Lambda does with /opt/extensions; default: none)")
    p.add_argument("--log-level", help="accepted for RIE compatibility; ignored")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="BOOTSTRAP [ARGS...]")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    config = Config(args, os.environ)
    emulator = Emulator(config)
    try:
        emulator.start()
    except OSError as exc:
        sys.stderr.write("emulator: cannot listen: %s\n" % exc)
        return 1
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(0.5):
        pass
    emulator.log.note("stopping")
    emulator.stop(close_servers=False)
    return 0
