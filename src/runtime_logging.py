"""The runtime's log: where lines go (stdout, or Lambda's telemetry pipe with its framing),
how the runtime writes an error, and the root handler logging gets, as the managed runtime
(awslambdaric) has them: text or JSON records carrying the request id.

Imported by runtime.py; embedded and loaded with it (src/python.c), it imports only builtin
modules at start-up: logging is configured when the function first imports it.
"""

import posix
import sys
import time

from runtime_json import json_dumps_log_record, safe_json_dumps

_ERROR_LOG_LINE_TERMINATE = "\r"
_ERROR_LOG_INDENT = "\u00a0"
_LOG_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# JSON records and JSON error lines: whole seconds (awslambdaric 4.2's _DATETIME_FORMAT).
_JSON_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL, as start() reads them.
_log_format_json = False
_log_level = ""

# The invocation the log records belong to: set by runtime.py's invoke().
request_id = None
tenant_id = None


def start(log_format, log_level, telemetry_fd):
    """Called by init() with those environment variables (None: unset): stdout and stderr made
    unbuffered, the sink chosen, and logging configured now or when it is first imported."""
    global _log_format_json, _log_level, sink
    _log_format_json = (log_format or "").upper() == "JSON"
    _log_level = {None: "", "TRACE": "DEBUG"}.get(log_level, log_level or "").upper()
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    sink = _create_log_sink(telemetry_fd)
    _install_logging_setup()


# --- errors --------------------------------------------------------------------------


def _indent_nbsp(line):
    stripped = line.lstrip(" ")
    return _ERROR_LOG_INDENT * (len(line) - len(stripped)) + stripped


def log_error(error_result):
    """Writes an error to the log as one event: lines joined with \\r (or one JSON line)."""
    if _log_format_json:
        record = {
            "timestamp": time.strftime(_JSON_DATETIME_FORMAT, time.gmtime()),
            "level": "ERROR",
            **error_result,
        }
        sink.log_error([safe_json_dumps(record)])
        return
    description = "[ERROR]"
    if error_result.get("errorType"):
        description += " " + error_result["errorType"]
    if error_result.get("errorMessage"):
        if error_result.get("errorType"):
            description += ":"
        description += " " + error_result["errorMessage"]
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                lines.extend(_indent_nbsp(line) for line in element.splitlines())
    sink.log_error(lines)


# --- log sinks ----------------------------------------------------------------------


class _StandardLogSink:
    def log(self, msg, frame_type=None):
        sys.stdout.write(msg)

    def log_error(self, lines):
        _write_log(_ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _write_log(text):
    """The runtime's own log lines go through sys.stdout. When the handler has broken it
    (closed it, or the text cannot be encoded), they go straight to fd 1 instead, so that
    reporting an error never fails on its log line."""
    try:
        sys.stdout.write(text)
    except Exception:
        try:
            posix.write(1, text.encode("utf-8", "backslashreplace"))
        except OSError:
            pass


class _FramedLogSink:
    """The telemetry pipe's framing: type, length, microsecond timestamp, message."""

    TEXT, JSON = 0xA55A0003, 0xA55A0002
    ERROR_TEXT, ERROR_JSON = 0xA55A0017, 0xA55A0016

    def __init__(self, fd):
        import os

        self.file = os.fdopen(fd, "wb", 0)

    def log(self, msg, frame_type=None):
        data = msg.encode("utf-8", "replace")
        header = (frame_type or self.TEXT).to_bytes(4, "big") + len(data).to_bytes(4, "big")
        self.file.write(header + (time.time_ns() // 1000).to_bytes(8, "big") + data)

    def log_error(self, lines):
        self.log("\n".join(lines), self.ERROR_JSON if _log_format_json else self.ERROR_TEXT)


class _Unbuffered:
    """stdout and stderr reach the log at once, as in the managed runtime."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, lines):
        self.stream.writelines(lines)
        self.stream.flush()


def _create_log_sink(telemetry_fd):
    if telemetry_fd is not None:
        try:
            return _FramedLogSink(int(telemetry_fd))
        except (ValueError, OSError):
            pass
    return _StandardLogSink()


sink = _StandardLogSink()  # replaced by start()


# --- logging: configured when the handler first imports it ---------------------------

_RESERVED_LOG_FIELDS = frozenset(
    (
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
        "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
        "relativeCreated", "thread", "threadName", "processName", "process",
        "aws_request_id", "tenant_id", "_frame_type", "taskName",
    )
)


def _configure_logging(logging):
    """Installs the managed runtime's root handler: text or JSON records with the request id."""
    logging.Formatter.converter = time.gmtime

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = request_id or ""
            record.tenant_id = tenant_id
            return True

    class LambdaLoggerHandler(logging.Handler):
        def __init__(self, sink):
            super().__init__()
            self.log_sink = sink

        def emit(self, record):
            try:
                msg = self.format(record)
                level = min(50, max(0, record.levelno)) // 10 * 10
                self.log_sink.log(msg, _frame_type(level))
            except Exception:
                self.handleError(record)

    handler = LambdaLoggerHandler(sink)
    if _log_format_json:
        handler.setFormatter(_json_formatter(logging))
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                _LOG_DATETIME_FORMAT,
            )
        )
    if _log_level in logging._nameToLevel:
        logging.getLogger().setLevel(_log_level)
    handler.addFilter(LambdaLoggerFilter())
    logging.getLogger().addHandler(handler)


def _frame_type(level):
    base = 0xA55A0002 if _log_format_json else 0xA55A0003
    if not (_log_format_json or _log_level):
        return base
    return base + {0: 0, 10: 8, 20: 12, 30: 16, 40: 20, 50: 24}.get(level, 0)


def _json_formatter(logging):
    import traceback

    class JsonFormatter(logging.Formatter):
        def __init__(self):
            super().__init__(datefmt=_JSON_DATETIME_FORMAT)

        def format(self, record):
            record.levelno = min(50, max(0, record.levelno)) // 10 * 10
            record.levelname = logging.getLevelName(record.levelno)
            exc_info = record.exc_info
            result = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                # a dict logged without arguments stays an object in the record
                "message": record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage(),
                "logger": record.name,
                "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
                "errorType": exc_info[0].__name__ if exc_info else None,
                "errorMessage": str(exc_info[1]) if exc_info else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
            }
            if getattr(record, "tenant_id", None) is not None:
                result["tenantId"] = record.tenant_id
            result.update(
                (key, value)
                for key, value in record.__dict__.items()
                if key not in _RESERVED_LOG_FIELDS and key not in result
            )
            result = {k: v for k, v in result.items() if v is not None}
            return json_dumps_log_record(result) + "\n"

    return JsonFormatter()


class _LoggingSetupFinder:
    """Configures logging the moment user code imports it, so a handler that never logs
    does not pay for importing logging at start-up."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(cls)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec else None
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_configure(module):
            exec_module(module)
            _configure_logging(module)

        spec.loader.exec_module = exec_and_configure
        return spec


def _install_logging_setup():
    logging = sys.modules.get("logging")
    if logging is not None:
        _configure_logging(logging)
    else:
        sys.meta_path.insert(0, _LoggingSetupFinder)


def warn(message):
    """logging.warning(message) through the Lambda handler, as the managed runtime logs it."""
    import logging

    logging.warning(message)

