"""Wiring: the sandbox, the faults and both servers; start() / stop()."""

import json
import os
import threading

from .config import fmt_address
from .faults import Faults
from .http_io import Server
from .invoke import InvokeHandler
from .log import Log
from .runtime_api import RuntimeApiHandler
from .concurrent import ConcurrentSandbox
from .sandbox import Sandbox
from .spawn import Spawner


class Emulator:
    def __init__(self, config, log=None):
        self.config = config
        self.log = log or Log()
        self.spawner = Spawner()
        sandbox = ConcurrentSandbox if config.concurrency > 1 else Sandbox
        self.sandbox = sandbox(config, self.log, self.spawner)
        self.faults = Faults(self.log)
        if config.environ.get("EMULATOR_FAULTS"):
            try:
                self.faults.add(json.loads(config.environ["EMULATOR_FAULTS"]))
            except (ValueError, TypeError) as exc:
                raise SystemExit("lambda_emulator: bad EMULATOR_FAULTS: %s" % exc)
        self.api_server = None
        self.invoke_server = None
        self.threads = []

    def start(self):
        cfg = self.config
        self.api_server = Server(cfg.api_address, RuntimeApiHandler, self)
        self.invoke_server = Server(cfg.invoke_address, InvokeHandler, self)
        api = fmt_address(self.api_server.server_address)
        invoke = fmt_address(self.invoke_server.server_address)
        cfg.api_host_port = api
        for name, server in (("runtime-api", self.api_server), ("invoke", self.invoke_server)):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                 name=name, daemon=True)
            t.start()
            self.threads.append(t)
        if cfg.port_file:
            tmp = cfg.port_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"invoke": invoke, "runtime_api": api, "pid": os.getpid(),
                           "invoke_port": self.invoke_server.server_address[1],
                           "runtime_api_port": self.api_server.server_address[1]}, f)
            os.replace(tmp, cfg.port_file)
        self.log.line("emulator: runtime API on %s" % api)
        self.log.line("emulator: listening on %s" % invoke)
        if cfg.eager:
            self.sandbox.start_runtime()

    def stop(self, close_servers=True):
        """Stops the runtime (SIGTERM, SIGKILL after 2 s), then the servers.
        main() skips closing the servers: the process is about to exit."""
        self.sandbox.shutdown()
        if not close_servers:
            return
        for server in (self.invoke_server, self.api_server):
            if server is not None:
                server.shutdown()
                server.server_close()
