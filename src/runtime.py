"""The Python half of bootstrap: handler import, event dispatch, context and logging.

The C side (src/python.c) calls init() once and invoke() per event; everything here
behaves as the managed Python runtime (awslambdaric) does. Start-up cost matters, so only
builtin modules are imported up front (posix rather than os, _json rather than json):
json, traceback, os and logging support are loaded the first time they are needed.
"""

import gc
import posix
import sys
import time

# Frames from this file are dropped from the stack traces users see.
_RUNTIME_FILE = __file__

_CONTENT_TYPE_JSON = "application/json"
_JSON_BYTES = b"application/json"
_BINARY_BYTES = b"application/unknown"

_RESPONSE, _ERROR, _EXIT = 0, 1, 2
_STREAM = 3  # the handler returned an iterator: the C side pulls chunks with stream_next()

# errorType values of the managed runtime.
_MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
_IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
_USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
_HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
_BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
_MARSHAL_ERROR = "Runtime.MarshalError"
_UNMARSHAL_ERROR = "Runtime.UnmarshalError"
_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

_ERROR_LOG_LINE_TERMINATE = "\r"
_ERROR_LOG_INDENT = "\u00a0"
_LOG_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# JSON records and JSON error lines: whole seconds (awslambdaric 4.2's _DATETIME_FORMAT).
_JSON_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# awslambdaric 4.2.2's lambda_unhandled_exception_warning_message, word for word.
_UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, or can be "
    "applied automatically. To determine if the runtime has been updated, check the runtime version in the "
    "INIT_START log entry. If this error correlates with a change in the runtime version, you may be able to "
    "mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class FaultException(Exception):
    """A failure of the runtime's own making, reported with a Runtime.* error type."""

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


# --- settings read once --------------------------------------------------------------

# The process environment as os.environ keeps it: os.environ wraps this very dict, so
# changes made here (with putenv) are what user code sees, whether or not it imported os.
_environ_bytes = posix.environ
_FS_ENCODING = sys.getfilesystemencoding()


def getenv(name, default=None):
    value = _environ_bytes.get(name.encode(_FS_ENCODING, "surrogateescape"))
    return default if value is None else value.decode(_FS_ENCODING, "surrogateescape")


def setenv(name, value):
    key = name.encode(_FS_ENCODING, "surrogateescape")
    data = value.encode(_FS_ENCODING, "surrogateescape")
    posix.putenv(key, data)
    _environ_bytes[key] = data


def unsetenv(name):
    key = name.encode(_FS_ENCODING, "surrogateescape")
    posix.unsetenv(key)
    _environ_bytes.pop(key, None)


_log_format_json = (getenv("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
_log_level = {None: "", "TRACE": "DEBUG"}.get(
    getenv("AWS_LAMBDA_LOG_LEVEL"), getenv("AWS_LAMBDA_LOG_LEVEL") or ""
).upper()
# Python 3.12+ managed runtimes write non-ASCII characters as they are.
_ensure_ascii = sys.version_info < (3, 12)

_current_request_id = None
_current_tenant_id = None


# --- JSON through the _json accelerator (import json costs ~10 ms of start-up) --------

_INFINITY = float("inf")


class _DecoderSettings:
    """What _json.make_scanner reads: json.JSONDecoder's defaults, but NaN and Infinity
    refused as simplejson.loads (awslambdaric's) refuses them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        raise _Constant(name)


class _Constant(Exception):
    """NaN, Infinity or -Infinity in an event: simplejson 4 refuses them."""


_scan_once = None  # set by _load_json
_WHITESPACE = " \t\n\r"
_CONSTANTS = _BRACKETS = None  # set by _scanning_patterns, for the first malformed event


def _scanning_patterns():
    """Patterns that skip JSON strings; compiled when first needed (re costs start-up time)."""
    global _CONSTANTS, _BRACKETS
    if _CONSTANTS is None:
        import re

        string = r'"(?:[^"\\]|\\.)*"'
        _CONSTANTS = re.compile(string + r"|(-?Infinity|NaN)")
        _BRACKETS = re.compile(string + r"|[][{}]")


class JSONDecodeError(ValueError):
    """simplejson's decode error (awslambdaric decodes events with simplejson): the same
    messages, a range for "Extra data"."""

    def __init__(self, msg, doc, pos, end=None):
        where = "line %d column %d" % _line_column(doc, pos)
        if end is None:
            text = "%s: %s (char %d)" % (msg, where, pos)
        else:
            text = "%s: %s - line %d column %d (char %d - %d)" % ((msg, where) + _line_column(doc, end) + (pos, end))
        super().__init__(text)
        self.msg, self.doc, self.pos, self.end = msg, doc, pos, end


def _line_column(doc, pos):
    line = doc.count("\n", 0, pos) + 1
    return line, pos - doc.rfind("\n", 0, pos)


def _before(doc, pos):
    """Index of the last non-whitespace character before pos (-1: none)."""
    return len(doc[:pos].rstrip(_WHITESPACE)) - 1


def _innermost(doc, pos):
    """The innermost bracket open at pos, "[" or "{" (strings skipped)."""
    stack = []
    _scanning_patterns()
    for m in _BRACKETS.finditer(doc, 0, pos):
        c = m.group()
        if c in "[{":
            stack.append(c)
        elif c in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _simplejson_error(msg, doc, pos):
    """Turns the stdlib scanner's decode error into simplejson's for the same input."""
    prev = _before(doc, pos)
    after_comma = prev >= 0 and doc[prev] == ","
    if msg == "Expecting value":
        if after_comma and doc[pos:pos + 1] == "]":
            return JSONDecodeError("Illegal trailing comma before end of array", doc, prev)
        if pos >= len(doc) and prev >= 0 and doc[prev] == "[":
            msg += " or ']'"
    if msg == "Expecting property name enclosed in double quotes":
        if after_comma and doc[pos:pos + 1] == "}":
            return JSONDecodeError("Illegal trailing comma before end of object", doc, prev)
        if not after_comma:
            msg += " or '}'"
    elif msg == "Expecting ',' delimiter":
        msg += " or ']'" if _innermost(doc, pos) == "[" else " or '}'"
    elif msg == "Invalid control character at":
        msg = "Invalid control character %r at" % doc[pos]
    elif msg == "Invalid \\escape":
        return JSONDecodeError("Invalid \\X escape sequence %r" % doc[pos + 1:pos + 2], doc, pos + 1)
    elif msg == "Invalid \\uXXXX escape":
        return JSONDecodeError("Invalid \\uXXXX escape sequence", doc, pos - 1)
    return JSONDecodeError(msg, doc, pos)


def json_loads(text):
    """simplejson.loads(text) (awslambdaric's) for a str, through the stdlib's scanner: the
    same results and error messages; NaN and Infinity are refused, as simplejson 4 does."""
    if _scan_once is None:
        _load_json()
    # A BOM is skipped; positions still count it (simplejson's).
    bom = 1 if text.startswith("\ufeff") else 0
    start = len(text) - len(text[bom:].lstrip(_WHITESPACE))
    try:
        value, end = _scan_once(text, start)
    except StopIteration as err:
        raise _simplejson_error("Expecting value", text, err.value) from None
    except _Constant:
        # The scanner does not say where: the first constant outside a string is the one.
        _scanning_patterns()
        at = next(m.start(1) for m in _CONSTANTS.finditer(text) if m.group(1))
        raise JSONDecodeError("Expecting value", text, at) from None
    except RecursionError as err:
        raise RecursionError(str(err).replace(" from a unicode string", " from a string")) from None
    except SystemError:
        # _json builds its error from json.decoder.JSONDecodeError, but only when json.decoder
        # is already imported; without it the scanner fails with no exception set.
        if "json.decoder" in sys.modules:
            raise
        import json.decoder  # noqa: F401

        return json_loads(text)
    except ValueError as err:
        if type(err).__name__ != "JSONDecodeError":
            raise
        raise _simplejson_error(err.msg, text, err.pos) from None
    if end != len(text) and text[end:].lstrip(_WHITESPACE):
        end = len(text) - len(text[end:].lstrip(_WHITESPACE))
        raise JSONDecodeError("Extra data", text, end, len(text))
    return value


class _HasDecimal(Exception):
    pass


def _not_serializable(o):
    if isinstance(o, bytes):  # simplejson (awslambdaric's encoder) writes bytes as UTF-8 text
        return o.decode("utf-8")
    if "decimal" in sys.modules and isinstance(o, sys.modules["decimal"].Decimal):
        raise _HasDecimal()
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


_json = _encode_string = _encoder = None  # set by _load_json


_markers = {}  # the encoder's circular-reference bookkeeping; empty between calls


def _load_json():
    """Imports the accelerator at the first event, not during init: its millisecond is then
    off the path to the first /next (and an init that fails never pays it)."""
    global _json, _scan_once, _encode_string, _encoder
    import _json as accelerator

    _encode_string = accelerator.encode_basestring_ascii if _ensure_ascii else accelerator.encode_basestring
    _scan_once = accelerator.make_scanner(_DecoderSettings())
    _encoder = accelerator.make_encoder(_markers, _not_serializable, _encode_string, None, ": ", ", ", False,
                                        False, True)
    _json = accelerator


def json_dumps(value):
    """json.dumps(value, allow_nan=True) with Decimal written as a number, as awslambdaric does."""
    if _encoder is None:
        _load_json()
    try:
        return "".join(_encoder(value, 0))
    except _HasDecimal:
        _markers.clear()
        return _json_dumps_with_decimals(value)
    except BaseException:
        _markers.clear()  # an encoding that failed half way leaves its entries behind
        raise


def _bytes_keys_decoded(value):
    """The result with bytes dict keys decoded as UTF-8, as simplejson writes them (the stdlib
    encoder refuses them). Only called once the encoder has refused a bytes key."""
    if isinstance(value, dict):
        return {k.decode("utf-8") if isinstance(k, bytes) else k: _bytes_keys_decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_asdict"):
        return [_bytes_keys_decoded(v) for v in value]
    return value


class _RawNumber(float):
    __slots__ = ("text",)


def _json_dumps_with_decimals(value):
    # The pure-Python encoder takes a float formatter, which lets a Decimal be written
    # exactly (str(d)) instead of through float.
    from json import encoder as json_encoder
    import decimal

    def default(o):
        if isinstance(o, bytes):
            return o.decode("utf-8")
        if isinstance(o, decimal.Decimal):
            raw = _RawNumber(0.0)
            raw.text = "NaN" if o.is_nan() else str(o)
            return raw
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

    def floatstr(o, _repr=float.__repr__):
        if isinstance(o, _RawNumber):
            return o.text
        if o != o:
            return "NaN"
        if o == _INFINITY:
            return "Infinity"
        if o == -_INFINITY:
            return "-Infinity"
        return _repr(o)

    iterencode = json_encoder._make_iterencode(
        {}, default, _encode_string, None, floatstr, ": ", ", ", False, False, True
    )
    return "".join(iterencode(value, 0))


# --- errors and stack traces --------------------------------------------------------


def make_error(error_message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback's frames from the first one outside this file, as (file, line, name, text)."""
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _RUNTIME_FILE:
            return frames[i:]
    return []


def _format_frames(frames):
    import traceback

    return traceback.format_list(frames)


def _working_directory():
    """os.getcwd(), or "" when the handler removed its working directory: an error report
    must not fail on it."""
    try:
        return posix.getcwd()
    except OSError:
        return ""


def _xray_fault(error_type, message, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {
        "working_directory": _working_directory(),
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": list({path for path, _, _, _ in frames}),
    }


def _exception_result(exc, request_id=None):
    frames = _user_frames(exc.__traceback__)
    error_type = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not take the runtime down
        message = f"<unprintable {error_type} object>"
    result = make_error(message, error_type, _format_frames(frames), request_id)
    return result, _xray_fault(error_type, message, frames)


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
        _log_sink.log_error([_safe_json(record)])
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
    _log_sink.log_error(lines)


def _safe_json(value):
    try:
        return json_dumps(value)
    except Exception:
        return json_dumps({k: str(v) for k, v in value.items()})


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


def _create_log_sink():
    fd = getenv("_LAMBDA_TELEMETRY_LOG_FD")
    if fd is not None:
        unsetenv("_LAMBDA_TELEMETRY_LOG_FD")
        try:
            return _FramedLogSink(int(fd))
        except (ValueError, OSError):
            pass
    return _StandardLogSink()


_log_sink = _StandardLogSink()


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
            record.aws_request_id = _current_request_id or ""
            record.tenant_id = _current_tenant_id
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

    handler = LambdaLoggerHandler(_log_sink)
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
            if _json is None:
                _load_json()
            encoder = _json.make_encoder(
                {}, str, _json.encode_basestring, None, ": ", ", ", False, False, True
            )
            return "".join(encoder(result, 0)) + "\n"

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


def _warn(message):
    """logging.warning(message) through the Lambda handler, as the managed runtime logs it."""
    import logging

    logging.warning(message)


# --- the context object --------------------------------------------------------------


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return (
            f"Client([installation_id={self.installation_id},app_title={self.app_title},"
            f"app_version_name={self.app_version_name},app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}])"
        )


class ClientContext:
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


def _object_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field) if isinstance(values, dict) else None)
    return obj


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext:
    """The handler's second argument, with the managed runtime's attributes and types."""

    # Set by the platform before the process starts and the same for every invocation.
    log_group_name = getenv("AWS_LAMBDA_LOG_GROUP_NAME")
    log_stream_name = getenv("AWS_LAMBDA_LOG_STREAM_NAME")
    function_name = getenv("AWS_LAMBDA_FUNCTION_NAME")
    memory_limit_in_mb = getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    function_version = getenv("AWS_LAMBDA_FUNCTION_VERSION")
    _w3c_fields = {}
    # A streamed response's metadata, set through the methods below (class defaults: nothing
    # is stored per invocation unless a handler streams).
    _stream_content_type = None
    _stream_http = None
    _stream_started = False

    def __init__(self, request_id, client_context, cognito_identity, deadline_ms, invoked_function_arn,
                 tenant_id):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        if isinstance(client_context, dict) and "w3c" in client_context:
            w3c = client_context.pop("w3c")
            if isinstance(w3c, dict):
                self._w3c_fields = {k: w3c[k] for k in _W3C_FIELDS if isinstance(w3c.get(k), str)}
        self.client_context = None
        if client_context is not None:
            self.client_context = _object_from_dict(ClientContext, client_context)
            self.client_context.client = _object_from_dict(Client, self.client_context.client)
        identity = CognitoIdentity()
        identity.cognito_identity_id = None
        identity.cognito_identity_pool_id = None
        if isinstance(cognito_identity, dict):
            identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self.identity = identity
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self):
        return dict(self._w3c_fields)

    def log(self, msg):
        _log_sink.log(str(msg))

    def set_stream_content_type(self, content_type):
        """The Content-Type of the response a handler streams (by returning an iterator);
        application/octet-stream if not set. Call it before the first chunk is produced."""
        self._check_stream_not_started()
        if not isinstance(content_type, str) or "\r" in content_type or "\n" in content_type:
            raise ValueError(f"invalid content type {content_type!r}")
        self._stream_content_type = content_type

    def set_stream_http_response(self, status_code=200, headers=None, cookies=None):
        """Makes the streamed response an HTTP response for a Function URL (or any
        http-integration caller): status code, headers (a dict) and cookies (a list of
        Set-Cookie values) go out in a JSON prelude before the body. Call it before the first
        chunk is produced."""
        self._check_stream_not_started()
        if type(status_code) is not int or not 100 <= status_code <= 599:
            raise ValueError(f"invalid HTTP status code {status_code!r}")
        if headers is not None and not isinstance(headers, dict):
            raise TypeError("headers must be a dict")
        if cookies is not None and (isinstance(cookies, (str, bytes)) or not all(isinstance(c, str) for c in cookies)):
            raise TypeError("cookies must be a list of str")
        self._stream_http = (status_code, dict(headers or {}), list(cookies or []))

    def _check_stream_not_started(self):
        if self._stream_started:
            raise RuntimeError("the streamed response has started: set its content type or HTTP response "
                               "before the first chunk")

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity},tenant_id={self.tenant_id}])"
        )


def _parse_json_header(value, name):
    # awslambdaric reads these headers with the standard library's json (events with
    # simplejson): its messages and NaN handling, so json itself (only when a header is there).
    try:
        import json

        return json.loads(value)
    except Exception as e:
        raise FaultException(_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {e}")


# --- init ----------------------------------------------------------------------------

_handler = None
_explain = None


def _has_pth_file(directory):
    try:
        return any(name.endswith(".pth") for name in posix.listdir(directory))
    except OSError:
        return False


def _set_sys_path(task_root, site_dirs, site_mode):
    """LAMBDA_TASK_ROOT first, then the layer's package dirs (with their .pth files), then the
    standard library. A user-set PYTHONPATH turns the layer dirs off, as in the managed runtime.

    The interpreter starts without `site` when it can (python.c): importing it and os costs
    half of Python's start-up. For a layer's runtime its one effect worth having is the
    prefix's site-packages, added here; any other Python gets the full site.main()."""
    if sys.flags.no_site and site_mode == "layer":
        prefix_site = f"{sys.prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
        if _has_pth_file(prefix_site):
            import site

            site.addsitedir(prefix_site)
        elif posix.access(prefix_site, posix.F_OK):
            sys.path.append(prefix_site)
        import _sitebuiltins
        import builtins

        builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
        builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    elif sys.flags.no_site:
        import site

        site.main()
    if site_dirs and getenv("PYTHONPATH") is None:
        if any(_has_pth_file(d) for d in site_dirs):
            import site

            for directory in site_dirs:
                site.addsitedir(directory)
        rest = [p for p in sys.path if p not in site_dirs]
        sys.path[:] = list(site_dirs) + rest
    sys.path.insert(0, task_root)


def _shared_object_finding(exc):
    """The doctor's sentence about the shared object an import failed on, if any."""
    if _explain is None:
        return None
    text = str(exc)
    candidates = [getattr(exc, "path", None), getattr(exc, "filename", None)]
    candidates += [word.strip("'\":,()") for word in text.split()]
    for candidate in candidates:
        if candidate and ".so" in candidate and candidate.startswith("/"):
            try:
                finding = _explain(candidate)
            except Exception:
                finding = None
            if finding:
                return finding
    return None


def _install_source_compiler(compile_source):
    """importlib compiles a module's source with the built-in compile(), whose first call
    builds all of ast's node types (about 1.3 ms of a cold start) only to learn that bytes
    are not an AST; compile_source (python.c) compiles the same bytes with Py_CompileString
    and hands anything else to importlib's own function. It is called the way importlib
    calls compile, through _call_with_frames_removed, so tracebacks lose the same frames."""
    from _functools import partial

    bootstrap = sys.modules["_frozen_importlib"]
    loader = sys.modules["_frozen_importlib_external"].SourceLoader
    original = loader.__dict__["source_to_code"]
    loader.source_to_code = staticmethod(partial(bootstrap._call_with_frames_removed, compile_source, original))


def _load_handler(spec, module_name, function_name, malformed):
    if malformed is not None:
        raise FaultException(_MALFORMED_HANDLER_NAME, malformed)
    shown_module = spec.rsplit(".", 1)[0]
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultException(
            _BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {shown_module} as a handler module"
        )
    try:
        __import__(module_name)
        module = sys.modules[module_name]
    except ImportError as e:
        message = f"Unable to import module '{shown_module}': {e}"
        finding = _shared_object_finding(e)
        if finding:
            message += f" ({finding})"
        raise FaultException(_IMPORT_MODULE_ERROR, message)
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(_USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{shown_module}': {e}", trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(_HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{shown_module}'")


def _on_sigterm(signum, frame):
    """Makes Python own SIGTERM, so the C side hears of it through the wakeup fd and can run
    the shutdown (atexit) even while it waits for the next invocation. A handler the user
    installs replaces this one and still runs first."""


def _setup_signals(wakeup_fd):
    if wakeup_fd < 0:
        return
    # _signal, not signal: the signal module imports enum and half of collections with it.
    import _signal

    _signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
    if _signal.getsignal(_signal.SIGTERM) in (_signal.SIG_DFL, None):
        _signal.signal(_signal.SIGTERM, _on_sigterm)


def set_fds(wakeup_fd, crash_fd):
    """New descriptors from the C side, after the handler closed or replaced the old ones
    (os.closerange, os.dup2): the signal wakeup fd and faulthandler's file."""
    if wakeup_fd >= 0:
        import _signal

        _signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
    set_crash_traceback_fd(crash_fd)


def thread_count():
    """Python threads running besides this one (0 unless the function imported threading)."""
    threading = sys.modules.get("threading")
    return threading.active_count() - 1 if threading is not None else 0


def has_shutdown_hooks():
    """1 when the function installed a SIGTERM handler of its own or has atexit hooks: only
    then is registering as an extension (so that Lambda sends SIGTERM) worth its cost."""
    import _signal
    import atexit

    handler = _signal.getsignal(_signal.SIGTERM)
    own_handler = handler not in (_on_sigterm, _signal.SIG_DFL, _signal.SIG_IGN, None)
    return 1 if own_handler or atexit._ncallbacks() > 0 else 0


def shutdown():
    """Runs the atexit handlers and flushes the log, without waiting for threads."""
    _run_exit_functions()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def set_crash_traceback_fd(fd):
    """Points faulthandler at the file the C side reads a crashing thread's traceback from
    (src/crash.c): on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT it writes the thread's frames
    there and passes the signal on to the C handler, which posts them. faulthandler is built
    into every CPython, so this costs no import from disk."""
    if fd < 0:
        faulthandler = sys.modules.get("faulthandler")
        if faulthandler is not None and faulthandler.is_enabled():
            faulthandler.disable()  # its file is gone: never write a traceback into another one
        return
    import faulthandler

    if sys.version_info >= (3, 14):
        faulthandler.enable(fd, False, c_stack=False)  # a C backtrace is not signal-safe to take
    else:
        faulthandler.enable(fd, False)


def init(spec, module_name, function_name, malformed, task_root, site_dirs, explain, wakeup_fd=-1,
         site_mode="full", compile_source=None, crash_fd=-1):
    """Prepares the process and imports the handler. Returns None, or (error type, error
    document, log line) as bytes for /runtime/init/error."""
    global _handler, _explain, _log_sink
    set_crash_traceback_fd(crash_fd)  # first: a crash while importing the handler is reported too
    _explain = explain
    _setup_signals(wakeup_fd)
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    _log_sink = _create_log_sink()
    _install_logging_setup()
    if compile_source is not None:
        _install_source_compiler(compile_source)
    _set_sys_path(task_root, site_dirs, site_mode)
    try:
        _handler = _load_handler(spec, module_name, function_name, malformed)
        return None
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace)
    except Exception as e:
        error, _ = _exception_result(e)
    try:
        _warn(_UNHANDLED_WARNING)
    except Exception:
        pass
    log_error(error)
    summary = f"{error['errorType']}: {error['errorMessage']}"
    return (_platform_error_type(error["errorType"]).encode("utf-8", "replace"),
            _safe_json(error).encode("utf-8", "replace"),
            summary.encode("utf-8", "replace"))


# --- invoke --------------------------------------------------------------------------


# Decoding a large event allocates its containers by the hundred thousand, and each batch
# sets off a garbage collection that walks them all again; a decoded document holds no
# reference cycles, so the collector is paused while it is built (30% off a 6 MB event).
_GC_PAUSE_BYTES = 64 * 1024


def _unmarshal(event, content_type):
    if content_type is not None and content_type != _CONTENT_TYPE_JSON:
        return bytes(event)
    pause_gc = len(event) > _GC_PAUSE_BYTES and gc.isenabled()
    try:
        if pause_gc:
            gc.disable()
        return json_loads(str(event, "utf-8"))
    except Exception as e:
        raise FaultException(_UNMARSHAL_ERROR, f"Unable to unmarshal input: {e}")
    finally:
        if pause_gc:
            gc.enable()


def _marshal(response):
    if isinstance(response, bytes):
        return response, _BINARY_BYTES
    try:
        try:
            return json_dumps(response).encode("utf-8"), _JSON_BYTES
        except TypeError as e:
            if not str(e).endswith(" not bytes"):
                raise
        return json_dumps(_bytes_keys_decoded(response)).encode("utf-8"), _JSON_BYTES
    except Exception as e:
        if hasattr(type(response), "__next__"):
            return None, None  # an iterator (a generator, say): a streamed response
        message = str(e)
        if message.startswith("keys must be "):  # simplejson names the key's type unqualified
            head, _, name = message.rpartition(" not ")
            message = head + " not " + name.rpartition(".")[2]
        raise FaultException(_MARSHAL_ERROR, f"Unable to marshal response: {message}")


def _platform_error_type(error_type):
    """The Lambda-Runtime-Function-Error-Type value: the platform keeps only names shaped
    (Runtime|Function).Xy..., so an exception class name is sent as Function.<Name>."""
    def kept(name):
        return len(name) > 1 and "A" <= name[0] <= "Z" and name[1].isascii() and name[1].isalpha()

    for prefix in ("Runtime.", "Function."):
        if error_type.startswith(prefix) and kept(error_type[len(prefix):]):
            return error_type
    return "Function." + error_type if kept(error_type) else "Function.Unknown"


def _error_tuple(error, xray, kind=_ERROR, exit_code=0):
    log_error(error)
    body = _safe_json(error).encode("utf-8", "replace")
    cause = _safe_json(xray).encode("utf-8", "replace") if xray is not None else None
    error_type = _platform_error_type(error["errorType"]).encode("utf-8", "replace")
    return kind, body, error_type, cause, exit_code


_TRACE_ID_KEY = b"_X_AMZN_TRACE_ID"


def _set_trace_id(trace_id):
    if trace_id is not None:
        data = trace_id.encode(_FS_ENCODING, "surrogateescape")
        posix.putenv(_TRACE_ID_KEY, data)
        _environ_bytes[_TRACE_ID_KEY] = data
    elif _TRACE_ID_KEY in _environ_bytes:
        posix.unsetenv(_TRACE_ID_KEY)
        del _environ_bytes[_TRACE_ID_KEY]


def invoke(request_id, event, content_type, deadline_ms, function_arn, trace_id, client_context,
           cognito_identity, tenant_id):
    """Runs the handler for one event. Returns (kind, payload, content or error type,
    X-Ray cause or None, exit code), all text as bytes."""
    global _current_request_id, _current_tenant_id
    _current_request_id = request_id
    _current_tenant_id = tenant_id
    _set_trace_id(trace_id)
    try:
        context = LambdaContext(
            request_id,
            _parse_json_header(client_context, "Client Context") if client_context else None,
            _parse_json_header(cognito_identity, "Cognito Identity") if cognito_identity else None,
            deadline_ms,
            function_arn if function_arn is not None else "",  # awslambdaric's client gives ""
            tenant_id,
        )
        result = _handler(_unmarshal(event, content_type), context)
        payload, result_type = _marshal(result)
        if payload is None:
            return _start_stream(result, context)
        return _RESPONSE, payload, result_type, None, 0
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace, request_id)
        return _error_tuple(error, _xray_fault("LambdaValidationError", e.msg, []))
    except Exception as e:
        error, xray = _exception_result(e, request_id)
        return _error_tuple(error, xray)
    except (SystemExit, KeyboardInterrupt) as e:
        # The managed runtime lets these end the process; report it first so the
        # invocation does not end as a bare Runtime.ExitError.
        if isinstance(e, KeyboardInterrupt):
            code = 130
        else:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        error, xray = _exception_result(e, request_id)
        error["errorType"] = "Runtime.ExitError"
        error["errorMessage"] = f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
        _run_exit_functions()
        return _error_tuple(error, xray, _EXIT, code)
    finally:
        # The event's memory belongs to the C side and is reused: nothing may keep a view of it.
        event.release()


def _run_exit_functions():
    import atexit

    try:
        atexit._run_exitfuncs()
    except Exception:
        pass


# --- streamed responses --------------------------------------------------------------
#
# A handler that returns an iterator (a generator, typically) streams its response: each
# bytes or str it yields is sent as it comes (Lambda-Runtime-Function-Response-Mode: streaming).
# A str, bytes, dict or list result is never a stream (JSON is tried first), and nothing about
# streaming costs a plain result anything. The C side takes the chunks one at a time with
# stream_next() while it sends, so a slow reader holds the generator back.

_STREAM_CONTENT_TYPE = "application/octet-stream"
_HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
_HTTP_PRELUDE_END = b"\0" * 8
# The error document goes into one trailer line: a larger one loses its stack trace.
_STREAM_ERROR_MAX = 16384
_END = object()

_stream = None  # the handler's iterator while its response is streamed
_stream_head = []  # what goes out before the iterator's next chunk (prelude, first chunk), last first
_stream_end = None  # how a failed stream ended: (error type, base64 error document, exit code or -1)


def _chunk_bytes(chunk):
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a streamed response is made of bytes or str, not {type(chunk).__name__}")


def _http_prelude(context):
    status_code, headers, cookies = context._stream_http
    content_type = context._stream_content_type
    if content_type is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    prelude = {"statusCode": status_code, "headers": headers, "cookies": cookies}
    return json_dumps(prelude).encode("utf-8") + _HTTP_PRELUDE_END


def _start_stream(iterator, context):
    """Takes the first chunk before anything is sent: by then a generator has run up to its
    first yield (where it may set the content type), and a failure there is an ordinary error."""
    global _stream, _stream_head, _stream_end
    first = next(iterator, _END)
    head = [] if first is _END else [_chunk_bytes(first)]
    context._stream_started = True
    content_type = context._stream_content_type or _STREAM_CONTENT_TYPE
    if context._stream_http is not None:
        head.append(_http_prelude(context))
        content_type = _HTTP_INTEGRATION_CONTENT_TYPE
    _stream, _stream_head, _stream_end = iterator, head, None
    return _STREAM, b"", content_type.encode("utf-8", "replace"), None, 0


def stream_next():
    """The next chunk of the streamed response (bytes), or None at its end; stream_close()
    then tells how it ended."""
    global _stream
    if _stream_head:
        return _stream_head.pop()
    if _stream is None:
        return None
    try:
        chunk = next(_stream, _END)
        if chunk is _END:
            _stream = None
            return None
        return chunk if type(chunk) is bytes else _chunk_bytes(chunk)
    except BaseException as e:  # reported in the trailers, SystemExit included
        _stream_failed(e)
        return None


def _stream_failed(e):
    global _stream, _stream_end
    _stream = None
    request_id = _current_request_id
    error, _ = _exception_result(e, request_id)
    exit_code = -1
    if isinstance(e, (SystemExit, KeyboardInterrupt)):
        if isinstance(e, KeyboardInterrupt):
            exit_code = 130
        else:
            exit_code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        error["errorType"] = "Runtime.ExitError"
        error["errorMessage"] = f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}"
    log_error(error)
    if exit_code >= 0:
        _run_exit_functions()
    body = _safe_json(error)
    if len(body) > _STREAM_ERROR_MAX:
        body = _safe_json(dict(error, errorMessage=error["errorMessage"][:4096], stackTrace=[]))
    import binascii

    _stream_end = (_platform_error_type(error["errorType"]).encode("utf-8", "replace"),
                   binascii.b2a_base64(body.encode("utf-8", "replace"), newline=False), exit_code)


def stream_close():
    """Ends the streamed response, closing the handler's iterator if it was cut short (the
    platform refused it, say). Returns None, or (error type, base64 error document for the
    trailer, exit code or -1) when the handler failed mid-stream."""
    global _stream, _stream_end
    iterator, end = _stream, _stream_end
    _stream, _stream_end = None, None
    _stream_head.clear()
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass
    return end
