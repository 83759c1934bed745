"""Handlers that report what they see, losslessly, so two runtimes can be compared:
the event with every value's type, the context's attributes and their types, the environment,
and how logging and the standard streams are set up."""
import collections
import decimal
import logging
import os
import sys


def typed(value, depth=0):
    """The value with its types: floats by repr (so -0.0, nan and inf stay apart), strings by
    ascii() (so lone surrogates show), bytes as hex."""
    if depth > 40:
        return {"deeper": type(value).__name__}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"Decimal": str(value)}
    if isinstance(value, str):
        return {"str": ascii(value)}
    if isinstance(value, (bytes, bytearray)):
        return {type(value).__name__: value.hex()}
    if isinstance(value, dict):
        return {"dict": [[typed(k, depth + 1), typed(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [typed(v, depth + 1) for v in value]}
    return {"other": type(value).__name__}


def event(event, context):
    return {"event": typed(event)}


def _attr(obj, name):
    value = getattr(obj, name, "<missing>")
    return {"type": type(value).__name__,
            "value": value if isinstance(value, (str, int, bool, type(None))) else repr(type(value).__name__)}


def context(event, context):
    remaining = context.get_remaining_time_in_millis()
    cc = context.client_context
    identity = context.identity
    return {
        "attributes": sorted(a for a in dir(context) if not a.startswith("_")),
        "aws_request_id": _attr(context, "aws_request_id"),
        "function_name": _attr(context, "function_name"),
        "function_version": _attr(context, "function_version"),
        "invoked_function_arn": _attr(context, "invoked_function_arn"),
        "memory_limit_in_mb": _attr(context, "memory_limit_in_mb"),
        "log_group_name": _attr(context, "log_group_name"),
        "log_stream_name": _attr(context, "log_stream_name"),
        "tenant_id": _attr(context, "tenant_id"),
        "remaining": {"type": type(remaining).__name__, "positive": remaining > 0},
        "identity": {"type": type(identity).__name__,
                     "id": getattr(identity, "cognito_identity_id", "<missing>"),
                     "pool": getattr(identity, "cognito_identity_pool_id", "<missing>")},
        "client_context": None if cc is None else {
            "type": type(cc).__name__, "custom": cc.custom, "env": cc.env,
            "client": None if cc.client is None else {
                "type": type(cc.client).__name__,
                **{k: getattr(cc.client, k, "<missing>") for k in (
                    "installation_id", "app_title", "app_version_name", "app_version_code",
                    "app_package_name")}}},
        "w3c": context.w3c() if hasattr(context, "w3c") else "<missing>",
        "log_callable": callable(getattr(context, "log", None)),
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID", "<unset>"),
    }


def environment(event, context):
    return {"env": dict(os.environ), "cwd": os.getcwd(), "sys_path_first": sys.path[0],
            "argv": sys.argv[1:], "umask": oct(os.umask(0o022))}


def _describe_handler(h):
    fmt = h.formatter
    return {"level": logging.getLevelName(h.level),
            "format": getattr(getattr(fmt, "_style", None), "_fmt", None) if fmt else None,
            "datefmt": getattr(fmt, "datefmt", None) if fmt else None,
            "filters": len(h.filters)}


def logging_setup(event, context):
    root = logging.getLogger()
    return {
        "root_level": logging.getLevelName(root.level),
        "handlers": [_describe_handler(h) for h in root.handlers],
        "converter": getattr(logging.Formatter.converter, "__name__", None),
        "stdout_line_buffering": getattr(sys.stdout, "line_buffering", None),
        "stdout_encoding": sys.stdout.encoding,
        "stderr_encoding": sys.stderr.encoding,
        "stdout_isatty": sys.stdout.isatty(),
    }


def returns(event, context):
    """Returns what the event asks for: {"kind": ...}."""
    kind = event["kind"]
    values = {
        "decimal": {"pi": decimal.Decimal("3.14159"), "neg": decimal.Decimal("-0.0"),
                    "exp": decimal.Decimal("1E+400"), "nan": decimal.Decimal("NaN"),
                    "snan": decimal.Decimal("-NaN"), "inf": decimal.Decimal("Infinity")},
        "floats": [-0.0, 1e308, 5e-324, float("nan"), float("inf"), float("-inf"), 0.1, 1e16, 1.5e-7],
        "big_ints": [2 ** 64, -(2 ** 200), 10 ** 400],
        "unicode": {"text": "héllo — 你好 🎉 \u00a3 \u2028 \u0000", "key é": "v"},
        "lone_surrogate": {"s": "a\ud800b"},
        "tuple": (1, "two", (3,)),
        "bytes": b"\x00\x01raw\xff",
        "bytearray": bytearray(b"abc"),
        "set": {1, 2},
        "nested": _nest(event.get("depth", 100)),
        "none": None,
        "true": True,
        "str": "plain",
        "int_subclass": _IntLike(7),
        "str_subclass": _StrLike("s"),
        "dict_int_keys": {1: "a", 2.5: "b", None: "c", True: "d"},
        "object": object(),
        "namedtuple": [_Point(1, [_Point(2, decimal.Decimal("3.5"))])],
        "bytes_nested": {"b": "é".encode() + b"x", "list": [b"a"]},
        "bytes_key": {b"k": 1},
        "bytes_invalid": {"b": b"\xff"},
        "decimal_key": {decimal.Decimal("1.5"): 1},
    }
    return values[kind]


_Point = collections.namedtuple("Point", "x y")


class _IntLike(int):
    pass


class _StrLike(str):
    pass


def _nest(depth):
    value = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def echo(event, context):
    return event


def echo_size(event, context):
    """For big events: the size and the ends, not the whole thing back."""
    text = event["blob"] if isinstance(event, dict) else event
    return {"type": type(event).__name__, "length": len(text), "head": text[:16], "tail": text[-16:]}


def big_result(event, context):
    return "x" * event["size"]
