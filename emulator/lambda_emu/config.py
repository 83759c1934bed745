"""The command line and the environment: Config, and HOST:PORT parsing."""

import argparse
import datetime
import os
import uuid

from .protocol import INIT_TIMEOUT, MAX_CONCURRENCY, SHUTDOWN_GRACE, STREAMING_LIMIT


def parse_address(text, default_host):
    """HOST:PORT, :PORT, [V6]:PORT or PORT -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    elif ":" in text:
        host, _, port = text.rpartition(":")
    else:
        host, port = "", text
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad address %r (want HOST:PORT)" % text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("bad port in %r" % text)
    return (host or default_host, port)


def fmt_address(addr):
    host, port = addr[0], addr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class Config:
    def __init__(self, args, environ):
        self.invoke_address = args.invoke_address
        self.api_address = args.api_address
        self.eager = args.eager
        self.port_file = args.port_file
        self.extensions_dir = args.extensions_dir or environ.get("EMULATOR_EXTENSIONS_DIR") or None
        command = list(args.command)
        if not command:
            for candidate in ("/var/task/bootstrap", "/opt/bootstrap", "/var/runtime/bootstrap"):
                if os.path.isfile(candidate):
                    command = [candidate]
                    break
        if not command:
            raise SystemExit("lambda_emulator: no BOOTSTRAP given and none found in "
                             "/var/task, /opt or /var/runtime")
        self.command = command
        # Like the RIE: with arguments after the bootstrap, the last is the handler.
        if len(command) >= 2:
            self.handler = command[-1]
        else:
            self.handler = environ.get("AWS_LAMBDA_FUNCTION_HANDLER") or environ.get("_HANDLER")
        self.environ = dict(environ)
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME") or "test_function"
        self.version = environ.get("AWS_LAMBDA_FUNCTION_VERSION") or "$LATEST"
        self.memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or "3008"
        timeout = environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or "300"
        try:
            self.timeout = float(timeout)
            if not self.timeout > 0:
                raise ValueError
        except ValueError:
            raise SystemExit("lambda_emulator: bad AWS_LAMBDA_FUNCTION_TIMEOUT=%r" % timeout)
        self.function_arn = "arn:aws:lambda:us-east-1:012345678912:function:" + self.function_name
        try:
            self.shutdown_grace = float(environ.get("EMULATOR_SHUTDOWN_GRACE") or SHUTDOWN_GRACE)
            # Lambda gives init 10 s of its own, whatever the function timeout.
            self.init_timeout = float(environ.get("EMULATOR_INIT_TIMEOUT") or max(INIT_TIMEOUT, self.timeout))
            self.streaming_limit = int(environ.get("EMULATOR_STREAMING_LIMIT") or STREAMING_LIMIT)
        except ValueError:
            raise SystemExit("lambda_emulator: bad EMULATOR_SHUTDOWN_GRACE / EMULATOR_INIT_TIMEOUT"
                             " / EMULATOR_STREAMING_LIMIT")
        # Managed Instances: N invocations at once (concurrent.py); the RIE starts such a
        # runtime at once.
        concurrency = environ.get("AWS_LAMBDA_MAX_CONCURRENCY") or "1"
        try:
            self.concurrency = int(concurrency)
            if not 1 <= self.concurrency <= MAX_CONCURRENCY:
                raise ValueError
        except ValueError:
            raise SystemExit("lambda_emulator: bad AWS_LAMBDA_MAX_CONCURRENCY=%r (want 1 to %d)"
                             % (concurrency, MAX_CONCURRENCY))
        if self.concurrency > 1:
            self.eager = True
        self.log_stream = "%s/[%s]%s" % (datetime.date.today().strftime("%Y/%m/%d"),
                                         self.version, uuid.uuid4().hex)
        self.api_host_port = None  # set once the Runtime API server is bound

    def timeout_text(self):
        return "Task timed out after %.2f seconds" % self.timeout

    def runtime_env(self):
        """The runtime's environment: everything the emulator has, plus the
        variables the RIE/Lambda set (ours win only where Lambda's always would)."""
        env = dict(self.environ)
        defaults = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": self.memory,
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + self.function_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
        }
        for key, value in defaults.items():
            if not env.get(key):
                env[key] = value
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setdefault(key, "")
        env["AWS_LAMBDA_RUNTIME_API"] = self.api_host_port
        if self.concurrency > 1:
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
        if self.handler:
            env["_HANDLER"] = self.handler
        return env
