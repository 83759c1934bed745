"""simplejson-compatible JSON for the runtime: events decoded and results encoded as
awslambdaric (which uses simplejson) does, through the standard library's _json accelerator.

Importing json costs ~10 ms of start-up, so only _json is used, and it is imported at the first
event (json, json.decoder, re and decimal only for the rare cases that need them). Imported by
runtime.py; embedded and loaded with it (src/python.c), it imports only builtin modules.
"""

import sys

# Python 3.12+ managed runtimes write non-ASCII characters as they are.
_ensure_ascii = sys.version_info < (3, 12)

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

        # unrolled ("[^"\\]*" runs between escapes): an alternation under * would push a
        # backtracking frame per character of a string, megabytes of memory for a large event
        string = r'"[^"\\]*(?:\\.[^"\\]*)*"'
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
    """Index of the last non-whitespace character before pos (-1: none), without copying doc."""
    pos -= 1
    while pos >= 0 and doc[pos] in _WHITESPACE:
        pos -= 1
    return pos


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
    failure = None  # (message, position) of the stdlib's JSONDecodeError
    retry = False   # json.decoder was imported: scan again, outside the except clause
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

        retry = True
    except ValueError as err:
        if type(err).__name__ != "JSONDecodeError":
            raise
        failure = (err.msg, err.pos)
    if retry:
        return json_loads(text)
    if failure:
        # raised here, not in the except clause: the stdlib's error (its doc, its traceback's
        # frames with the whole event) must not stay chained to ours as its __context__
        raise _simplejson_error(failure[0], text, failure[1])
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


def bytes_keys_decoded(value):
    """The result with bytes dict keys decoded as UTF-8, as simplejson writes them (the stdlib
    encoder refuses them). Only called once the encoder has refused a bytes key."""
    if isinstance(value, dict):
        return {k.decode("utf-8") if isinstance(k, bytes) else k: bytes_keys_decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_asdict"):
        return [bytes_keys_decoded(v) for v in value]
    return value


def safe_json_dumps(document):
    """json_dumps(document) for an error document or log record (a dict), with its values
    written through str() when one cannot be encoded: reporting an error must not fail."""
    try:
        return json_dumps(document)
    except Exception:
        return json_dumps({k: str(v) for k, v in document.items()})


def json_dumps_log_record(record):
    """A JSON log record as the managed runtime's formatter writes it: non-ASCII characters as
    they are, and any value JSON has no type for through str()."""
    if _json is None:
        _load_json()
    encoder = _json.make_encoder({}, str, _json.encode_basestring, None, ": ", ", ", False, False, True)
    return "".join(encoder(record, 0))


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

