"""A local AWS Lambda emulator for custom runtimes (Python standard library only).

It plays the part of AWS's Runtime Interface Emulator (RIE): it serves the invoke
endpoint to clients and the Lambda Runtime API to the runtime process it starts.
The command line mirrors the RIE's (emulator/lambda_emulator.py is the entry point):

    lambda_emulator.py [--runtime-interface-emulator-address HOST:PORT]
                       [--runtime-api-address HOST:PORT] [--eager]
                       [--port-file FILE] BOOTSTRAP [ARGS...]

Differences from the RIE, all deliberate (see emulator/README.md):
  * concurrent invokes are queued and served one at a time (the RIE crashes);
  * response headers are kept (Content-Type, X-Amz-Function-Error, and our own
    X-Amz-Function-Error-Type);
  * X-Amzn-Trace-Id is passed on as Lambda-Runtime-Trace-Id (real Lambda does);
  * an invoke body over the payload limit gets 413 (the RIE truncates silently);
  * the invoke's Content-Type is passed on to /next (default application/json).

Also: fault injection, response streaming and the Extensions API (README).

Modules, one per concern:
  protocol        limits, paths, RAPID's error-type rule, exit descriptions
  config          Config: command line + environment; HOST:PORT parsing
  log             START/END/REPORT/INIT lines on stdout, notes on stderr
  spawn           Spawner: one long-lived thread that forks runtimes (PR_SET_PDEATHSIG)
  model           Result, ApiError, Runtime, Extension, Invocation
  sandbox         Sandbox: the state machine shared by both servers (one Condition)
  extensions      the Extensions API's state (a mixin of Sandbox)
  streaming       moving a streamed response to the client
  faults          Fault/Faults: fault-injection rules (EMULATOR_FAULTS, /_emulator/faults)
  http_io         BodyReader (Content-Length and chunked, with trailers), Server, BaseHandler
  runtime_api     RuntimeApiHandler: the Runtime API
  extensions_api  the Extensions API's HTTP side (a mixin of RuntimeApiHandler)
  invoke          InvokeHandler: the invoke endpoint and the control endpoints
  emulator        Emulator: wires it all together; start() / stop()
  cli             build_parser() and main()
"""

from .cli import build_parser, main
from .config import Config, fmt_address, parse_address
from .emulator import Emulator
from .log import Log
from .protocol import MAX_PAYLOAD, describe_exit, valid_error_type

__all__ = ["Config", "Emulator", "Log", "MAX_PAYLOAD", "build_parser", "describe_exit",
           "fmt_address", "main", "parse_address", "valid_error_type"]
