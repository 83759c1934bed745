"""The Python half of bootstrap: handler import, event dispatch, context and streaming.

The C side (src/python.c) calls init() once and invoke() per event; everything here
behaves as the managed Python runtime (awslambdaric) does. Start-up cost matters, so only
builtin modules are imported up front (posix rather than os, _json rather than json):
json, traceback, os and logging support are loaded the first time they are needed.
JSON is in runtime_json.py, the log in runtime_logging.py: python.c embeds and loads them
with this file, and they are not in sys.modules once it has run.
"""

import gc
import posix
import sys
import time

import runtime_json
import runtime_logging
from runtime_json import bytes_keys_decoded, json_dumps, json_loads, safe_json_dumps
from runtime_logging import log_error

# Frames from the runtime's files are dropped from the stack traces users see.
_RUNTIME_FILES = (__file__, runtime_json.__file__, runtime_logging.__file__)

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


# --- errors and stack traces --------------------------------------------------------


def make_error(error_message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback's frames from the first one outside the runtime, as (file, line, name, text)."""
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] not in _RUNTIME_FILES:
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
        runtime_logging.sink.log(str(msg))

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
    global _handler, _explain
    set_crash_traceback_fd(crash_fd)  # first: a crash while importing the handler is reported too
    _explain = explain
    _setup_signals(wakeup_fd)
    telemetry_fd = getenv("_LAMBDA_TELEMETRY_LOG_FD")
    if telemetry_fd is not None:
        unsetenv("_LAMBDA_TELEMETRY_LOG_FD")
    runtime_logging.start(getenv("AWS_LAMBDA_LOG_FORMAT"), getenv("AWS_LAMBDA_LOG_LEVEL"), telemetry_fd)
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
        runtime_logging.warn(_UNHANDLED_WARNING)
    except Exception:
        pass
    log_error(error)
    summary = f"{error['errorType']}: {error['errorMessage']}"
    return (_platform_error_type(error["errorType"]).encode("utf-8", "replace"),
            safe_json_dumps(error).encode("utf-8", "replace"),
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
        message = f"Unable to unmarshal input: {e}"
    finally:
        if pause_gc:
            gc.enable()
    # raised outside the except clause: the decode error (with the whole event as its doc and
    # in its frames) is not kept as this one's __context__ (the soak saw RSS grow by ~18 MB)
    raise FaultException(_UNMARSHAL_ERROR, message)


def _marshal(response):
    if isinstance(response, bytes):
        return response, _BINARY_BYTES
    try:
        try:
            return json_dumps(response).encode("utf-8"), _JSON_BYTES
        except TypeError as e:
            if not str(e).endswith(" not bytes"):
                raise
        return json_dumps(bytes_keys_decoded(response)).encode("utf-8"), _JSON_BYTES
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
    body = safe_json_dumps(error).encode("utf-8", "replace")
    cause = safe_json_dumps(xray).encode("utf-8", "replace") if xray is not None else None
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
    runtime_logging.request_id = request_id
    runtime_logging.tenant_id = tenant_id
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
    request_id = runtime_logging.request_id
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
    body = safe_json_dumps(error)
    if len(body) > _STREAM_ERROR_MAX:
        body = safe_json_dumps(dict(error, errorMessage=error["errorMessage"][:4096], stackTrace=[]))
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
