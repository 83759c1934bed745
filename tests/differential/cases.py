"""The cases of the differential: every case tests/integration has, table-driven and generated
events, every init-error kind, logging from handlers and threads. Each runs unchanged under
awslambdaric and under the bootstrap."""

import base64
import json


class Case:
    def __init__(self, id, handler, events=None, env=None, root="diff", init_error=False, timeout=20, mask=()):
        self.id = id
        self.handler = handler
        self.events = events if events is not None else [ev({})]
        self.env = env or {}
        self.root = root
        self.init_error = init_error
        self.timeout = timeout
        self.mask = mask  # dotted paths into the JSON result that change from run to run

    def __repr__(self):
        return self.id


def ev(value=None, raw=None, content_type="application/json", **headers):
    """One event: a JSON value (or raw bytes) and /next headers (None removes one)."""
    body = raw if raw is not None else json.dumps(value).encode()
    h = {"Content-Type": content_type}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return {"body": body, "headers": h}


UNICODE = "héllo wörld — 你好 🎉 \u00a3"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
CLIENT_CONTEXT = {"custom": {"k": "v"}, "env": {"platform": "test"},
                  "client": {"app_title": "App", "installation_id": "i-1"},
                  "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "tracestate": "x=1", "baggage": 5, "other": "dropped"}}
COGNITO = {"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"}
SIX_MB = 6 * 1024 * 1024


def _integration():
    """tests/integration/test_core.py, case by case (functions from tests/integration/functions)."""
    i = "integration"
    return [
        Case("it-whoami", "echo.event_type", [ev({"a": 1}), ev(raw=b"\x00\x01binary\xff",
                                                             content_type="application/octet-stream")], root=i),
        Case("it-echo-unicode", "echo.handler", [ev({"text": UNICODE, "nested": {"list": [1, 2.5, None, True]}})],
             root=i),
        Case("it-echo-5mb", "echo.handler", [ev({"blob": "a" * (5 * 1024 * 1024), "tail": "end"})], root=i,
             timeout=60),
        Case("it-bytes-in-out", "echo.echo_bytes", [ev(raw=bytes(range(256)), content_type="application/octet-stream")],
             root=i),
        Case("it-unmarshal-error", "echo.handler", [ev(raw=b"{not json")], root=i),
        Case("it-marshal-error", "results.not_serializable", root=i),
        Case("it-decimals", "results.decimals", root=i),
        Case("it-specials", "results.specials", root=i),
        Case("it-none", "results.none", root=i),
        Case("it-string", "results.a_string", root=i),
        Case("it-handler-exception", "errors.raise_value_error", root=i),
        Case("it-custom-error", "errors.raise_custom", root=i),
        Case("it-init-bad-handler", "bad_handler", root=i, init_error=True),
        Case("it-init-no-module", "no_such_module.handler", root=i, init_error=True),
        Case("it-init-import-error", "import_error.handler", root=i, init_error=True),
        Case("it-init-missing-handler", "echo.missing", root=i, init_error=True),
        Case("it-init-builtin", "sys.handler", root=i, init_error=True),
        Case("it-init-escape", "../escape.handler", root=i, init_error=True),
        Case("it-init-syntax", "syntax_error.handler", root=i, init_error=True),
        Case("it-init-raises", "init_raises.handler", root=i, init_error=True),
        Case("it-lazy-syntax-error", "compiling.lazy_syntax_error", root=i),
        Case("it-context", "context_info.handler", [
            ev({}, Lambda_Runtime_Client_Context=json.dumps({"custom": {"k": "v"}, "env": {"platform": "test"},
                                                            "client": {"app_title": "App"}}),
               Lambda_Runtime_Cognito_Identity=json.dumps(COGNITO), Lambda_Runtime_Aws_Tenant_Id="tenant-7"),
            ev({})], root=i, mask=["remaining.value"]),
        Case("it-trace-id", "echo.trace_id", [ev({}, Lambda_Runtime_Trace_Id=TRACE), ev({})], root=i),
        Case("it-handler-slash-path", "subdir/nested/mod.handler", root=i),
        Case("it-handler-dotted-path", "pkg.mod.handler", root=i),
        Case("it-text-logs", "logs.handler", root=i),
        Case("it-json-logs", "logs.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
             root=i),
        Case("it-json-log-exception", "logs.log_exception", env={"AWS_LAMBDA_LOG_FORMAT": "json"}, root=i),
        Case("it-json-error-log", "errors.raise_value_error", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}, root=i),
        Case("it-response-too-large", "echo.big", [ev({"size": 7 * 1024 * 1024}), ev({"size": 10})], root=i,
             timeout=60),
        Case("it-sequential", "echo.counter", [ev({"n": n}) for n in range(20)], root=i),
        # test_shutdown.py: a function with shutdown hooks (the bootstrap registers for SIGTERM)
        Case("it-shutdown-hooks", "shutdown_hooks.handler", env={"INSTALL_SIGTERM_HANDLER": "1"}, root=i),
        # test_streaming.py: what awslambdaric does with the same handlers (it cannot stream)
        Case("it-streaming-ticks", "streaming.ticks", [ev({"count": 2, "interval": 0})], root=i),
        Case("it-streaming-fails-midway", "streaming.fails_midway", root=i),
        Case("it-streaming-before-first-chunk", "streaming.fails_before_first_chunk", root=i),
        Case("it-streaming-http-response", "streaming.http_response", root=i),
    ] + [Case("it-streaming-plain-" + kind, "streaming.plain_values", [ev({"kind": kind})], root=i)
         for kind in ("str", "bytes", "dict", "list", "tuple")]


def _events():
    """Table-driven and generated events, through probe.event (which reports types exactly)."""
    raw_json = {
        "unicode": json.dumps({"s": UNICODE}, ensure_ascii=False).encode(),
        "escaped-unicode": b'{"s": "\\u00e9\\u4f60\\ud83c\\udf89"}',
        "lone-surrogate": b'{"s": "a\\ud800b", "t": "\\udfff"}',
        "big-ints": b'[18446744073709551616, -1606938044258990275541962092341162602522202993782792835301376, '
                    + str(10 ** 400).encode() + b"]",
        "floats": b"[-0.0, 1e308, 1e309, -1e309, 5e-324, 1e-400, 0.1, 1E+2, 1.0, 100000000000000000000.0]",
        "nan-inf": b"[NaN, Infinity, -Infinity]",
        "deep-100": b"[" * 100 + b"]" * 100,
        "deep-5000": b"[" * 5000 + b"]" * 5000,
        "duplicate-keys": b'{"a": 1, "a": 2}',
        "whitespace": b" \n\t {\"a\" : [ 1 , 2 ] } \n",
        "scalar-string": b'"just a string"',
        "scalar-number": b"42",
        "scalar-null": b"null",
        "scalar-true": b"true",
        "empty-body": b"",
        "only-whitespace": b"   ",
        "trailing-garbage": b'{"a": 1} x',
        "invalid-utf8": b'{"s": "\xff\xfe"}',
        "utf8-bom": b'\xef\xbb\xbf{"a": 1}',
        "control-char-in-string": b'{"s": "a\x01b"}',
        "nul-escape": b'{"s": "a\\u0000b"}',
        "big-number-key": b'{"1": 1, "": 2}',
        "nan-in-string": b'{"s": "NaN Infinity"}',
        "malformed-trailing-comma": b'[1, 2,]',
        "malformed-object-comma": b'{"a": 1,}',
        "malformed-missing-delimiter": b'{"a": [1 2]}',
        "malformed-bad-escape": b'{"s": "\\x"}',
        "malformed-bad-unicode-escape": b'{"s": "\\u12"}',
        "malformed-unterminated": b'{"s": "abc',
        "malformed-open-array": b"[",
        "malformed-multiline": b'{\n  "a": 1,\n  "b": x\n}',
    }
    cases = [Case("event-" + name, "probe.event", [ev(raw=body)]) for name, body in raw_json.items()]
    content_types = {
        "octet-stream": ("application/octet-stream", b"\x00\x01\x02binary"),
        "text-plain": ("text/plain", "plain text é".encode()),
        "json-charset": ("application/json; charset=utf-8", b'{"a": 1}'),
        "json-uppercase": ("Application/JSON", b'{"a": 1}'),
        "json-spaces": (" application/json", b'{"a": 1}'),
        "vendor-json": ("application/vnd.api+json", b'{"a": 1}'),
        "form": ("application/x-www-form-urlencoded", b"a=1&b=2"),
        "empty-octet": ("application/octet-stream", b""),
        "no-content-type": (None, b'{"a": 1}'),
        "empty-content-type": ("", b'{"a": 1}'),
    }
    for name, (ct, body) in content_types.items():
        cases.append(Case("content-type-" + name, "probe.event", [ev(raw=body, content_type=ct)]))
    cases.append(Case("event-6mb", "probe.echo_size",
                      [ev(raw=b'{"blob": "' + b"a" * (SIX_MB - 12) + b'"}')], timeout=60))
    cases.append(Case("event-6mb-binary", "probe.echo_size",
                      [ev(raw=b"b" * SIX_MB, content_type="application/octet-stream")], timeout=60))
    cases.append(Case("response-near-6mb", "probe.big_result", [ev({"size": SIX_MB - 2})], timeout=60))
    cases.append(Case("response-over-6mb-then-next", "probe.big_result",
                      [ev({"size": SIX_MB + 200}), ev({"size": 3})], timeout=60))
    return cases


def _results():
    kinds = ["namedtuple", "bytes_nested", "bytes_key", "bytes_invalid", "decimal_key", "decimal", "floats", "big_ints", "unicode", "lone_surrogate", "tuple", "bytes", "bytearray",
             "set", "nested", "none", "true", "str", "int_subclass", "str_subclass", "dict_int_keys", "object"]
    cases = [Case("result-" + k.replace("_", "-"), "probe.returns", [ev({"kind": k})]) for k in kinds]
    cases.append(Case("result-nested-deep", "probe.returns", [ev({"kind": "nested", "depth": 5000})]))
    cases.append(Case("result-streaming-generator", "raises.raise_in_generator"))
    return cases


def _context():
    cc = json.dumps(CLIENT_CONTEXT)
    return [
        Case("context-full", "probe.context", [ev({}, Lambda_Runtime_Client_Context=cc,
                                                  Lambda_Runtime_Cognito_Identity=json.dumps(COGNITO),
                                                  Lambda_Runtime_Aws_Tenant_Id="tenant-7",
                                                  Lambda_Runtime_Trace_Id=TRACE)]),
        Case("context-bare", "probe.context", [ev({})]),
        Case("context-trace-then-none", "probe.context", [ev({}, Lambda_Runtime_Trace_Id=TRACE), ev({})]),
        Case("context-no-deadline", "probe.context", [ev({}, Lambda_Runtime_Deadline_Ms=None)]),
        Case("context-no-arn", "probe.context", [ev({}, Lambda_Runtime_Invoked_Function_Arn=None)]),
        Case("context-bad-client-context", "probe.context", [ev({}, Lambda_Runtime_Client_Context="{not json")]),
        Case("context-bad-cognito", "probe.context", [ev({}, Lambda_Runtime_Cognito_Identity="[1,")]),
        Case("context-client-context-not-object", "probe.context", [ev({}, Lambda_Runtime_Client_Context="[1, 2]")]),
        Case("context-empty-client", "probe.context",
             [ev({}, Lambda_Runtime_Client_Context=json.dumps({"client": None, "custom": None}))]),
        Case("context-base64-looking", "probe.context",
             [ev({}, Lambda_Runtime_Client_Context=base64.b64encode(b"{}").decode())]),
        Case("environment", "probe.environment"),
        Case("environment-json-logs", "probe.environment", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
        Case("logging-setup-default", "probe.logging_setup"),
        Case("logging-setup-json", "probe.logging_setup", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
        Case("logging-setup-level", "probe.logging_setup", env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}),
        Case("logging-setup-trace-level", "probe.logging_setup", env={"AWS_LAMBDA_LOG_LEVEL": "TRACE"}),
    ]


def _errors():
    handlers = ["value_error", "custom_multiline", "no_message", "unicode_message", "chained", "recursion"]
    cases = [Case("error-" + h.replace("_", "-"), "raises." + h) for h in handlers]
    cases += [Case("error-json-" + h.replace("_", "-"), "raises." + h, env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
              for h in ("value_error", "custom_multiline", "no_message")]
    cases.append(Case("error-not-callable", "attrs.not_callable"))
    cases.append(Case("callable-instance", "attrs.instance"))
    cases.append(Case("error-system-exit", "raises.system_exit"))
    cases.append(Case("error-keyboard-interrupt", "raises.keyboard_interrupt"))
    return cases


def _init_errors():
    names = {
        "no-dot": "nodot",
        "empty": ".",
        "trailing-dot": "probe.",
        "leading-dot": ".probe",
        "no-module": "missing_module.handler",
        "missing-function": "probe.missing_function",
        "builtin-sys": "sys.handler",
        "builtin-dotted": "builtins.x.handler",
        "syntax": "syntax_error.handler",
        "import-raises-unicode": "init_unicode.handler",
        "import-raises-deep": "init_keyerror.handler",
        "import-exits": "init_exit.handler",
        "dotdot": "../probe.event",
        "absolute": "/etc/passwd.handler",
        "slash-missing": "nowhere/mod.handler",
    }
    cases = []
    for name, handler in names.items():
        root = "integration" if name == "syntax" else "diff"
        cases.append(Case("init-" + name, handler, root=root, init_error=True))
    cases.append(Case("init-json-no-module", "missing_module.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"},
                      init_error=True))
    cases.append(Case("init-json-syntax", "syntax_error.handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"},
                      root="integration", init_error=True))
    return cases


def _logging():
    cases = []
    for fmt in ("text", "JSON"):
        for level in (None, "DEBUG", "INFO", "WARN", "ERROR", "TRACE"):
            env = {"AWS_LAMBDA_LOG_FORMAT": None if fmt == "text" else fmt, "AWS_LAMBDA_LOG_LEVEL": level}
            cases.append(Case("logs-%s-%s" % (fmt.lower(), (level or "unset").lower()), "logs.everything", env=env))
        cases.append(Case("logs-threads-%s" % fmt.lower(), "logs.from_threads",
                          env={"AWS_LAMBDA_LOG_FORMAT": None if fmt == "text" else fmt}))
    cases.append(Case("logs-level-seen-by-handler", "logs.at_import_level"))
    return cases


CASES = _integration() + _events() + _results() + _context() + _errors() + _init_errors() + _logging()
