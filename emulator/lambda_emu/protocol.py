"""Limits, paths and the small rules both servers share (RAPID's, where it has one)."""

import json
import re
import signal


# 6 MiB + 100 bytes: RAPID's interop.MaxPayloadSize, for events and responses.
MAX_PAYLOAD = 6 * 1024 * 1024 + 100
# How much of an oversized body we are willing to read and throw away so the
# connection stays usable; beyond this we answer and close the connection.
DRAIN_LIMIT = 64 * 1024 * 1024
# Streamed responses: Lambda's documented maximum (EMULATOR_STREAMING_LIMIT overrides).
STREAMING_LIMIT = 200 * 1024 * 1024
STREAM_QUEUE = 64          # chunks in flight between the runtime's POST and the client
# A streamed response over the limit: how long the rest is still read before the cut (seconds).
STREAM_LINGER = 0.5

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
API_PREFIX = "/2018-06-01"
NEXT_PATH = API_PREFIX + "/runtime/invocation/next"
INIT_ERROR_PATH = API_PREFIX + "/runtime/init/error"
POST_RE = re.compile(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)")
EXT_PREFIX = "/2020-01-01/extension"
EXT_REGISTER_PATH = EXT_PREFIX + "/register"
EXT_NEXT_PATH = EXT_PREFIX + "/event/next"
EXT_INIT_ERROR_PATH = EXT_PREFIX + "/init/error"
EXT_EXIT_ERROR_PATH = EXT_PREFIX + "/exit/error"
EXT_ERROR_TYPE_RE = re.compile(r"Extension\.[A-Z][a-zA-Z]+")
STATUS_PATH = "/_emulator/status"
FAULTS_PATH = "/_emulator/faults"

ERROR_TYPE_RE = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
ERROR_CAUSE_CT = "application/vnd.aws.lambda.error.cause+json"
FORM_CT = "application/x-www-form-urlencoded"

# After /init/error the runtime should exit by itself; after this long it is killed.
INIT_ERROR_GRACE = 1.0
# On emulator shutdown: SIGTERM, then SIGKILL after this long (as Lambda).
SHUTDOWN_GRACE = 2.0
# Lambda's init phase limit (the function timeout applies when it is longer).
INIT_TIMEOUT = 10.0
# AWS_LAMBDA_MAX_CONCURRENCY's largest value here (the bootstrap's own limit).
MAX_CONCURRENCY = 1024


def valid_error_type(value):
    """RAPID's GetValidRuntimeOrFunctionErrorType: an unanchored search for
    (Runtime|Function).Xyz keeps the value; otherwise Function.Unknown for a
    "Function." prefix, else Runtime.Unknown."""
    value = value or ""
    if ERROR_TYPE_RE.search(value):
        return value
    if value.startswith("Function."):
        return "Function.Unknown"
    return "Runtime.Unknown"


def describe_exit(returncode):
    """Go's os.ProcessState text, as RAPID puts it in Runtime.ExitError."""
    if returncode is None:
        return "unknown"
    if returncode >= 0:
        return "exit status %d" % returncode
    try:
        name = signal.strsignal(-returncode) or ("signal %d" % -returncode)
    except ValueError:
        name = "signal %d" % -returncode
    return "signal: " + name.lower()


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()
