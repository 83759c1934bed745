"""The deliberate differences between the bootstrap and awslambdaric: each with its reason
(README.md, "Differences from awslambdaric", says the same in prose). A difference the
differential finds is accepted only when one of these explains it; each of these must still
occur somewhere in the run (test_differential.py pins them), so a difference that goes away
is noticed too.

A rule matches a difference (case, path, oracle value, subject value) by the case id (a set of
ids, or None for any case), a regular expression on the path, and optionally a predicate on
the two values.
"""

import re


class Deliberate:
    def __init__(self, key, reason, paths, cases=None, when=None, since=None, only=None):
        self.key = key
        self.since = since  # (3, 12): only from that Python version on
        self.only = only    # {(3, 12)}: only on these Python versions
        self.reason = reason
        self.paths = re.compile(paths)
        self.cases = cases
        self.when = when

    def applies_to(self, version):
        v = tuple(int(x) for x in version.split("."))
        return (self.since is None or v >= self.since) and (self.only is None or v in self.only)

    def explains(self, case_id, path, oracle, subject):
        if self.cases is not None and case_id not in self.cases:
            return False
        if not self.paths.fullmatch(path):
            return False
        return self.when is None or self.when(oracle, subject)


def _error_post(oracle, subject):
    return subject == "application/vnd.aws.lambda.error+json" and oracle in ("application/json", None)


def _prefixed_type(oracle, subject):
    return isinstance(subject, str) and subject.split(".", 1)[0] in ("Function", "Runtime") and (
        oracle is None or subject.split(".", 1)[1] == oracle or subject == oracle)


STREAMING = {"result-streaming-generator", "it-streaming-ticks", "it-streaming-fails-midway",
             "it-streaming-http-response", "it-streaming-before-first-chunk"}
BAD_HANDLER_NAMES = {"init-empty", "init-leading-dot", "init-dotdot", "init-absolute", "it-init-escape"}
# Init failures raised while the module is imported (not a Runtime.* fault of the runtime's own).
IMPORT_RAISES = {"it-init-raises", "init-import-raises-unicode", "init-import-raises-deep"}

RULES = [
    Deliberate(
        "error-content-type",
        "Error documents are posted as application/vnd.aws.lambda.error+json, the content type the Runtime "
        "API's specification gives them; awslambdaric posts application/json (invocation errors) or no "
        "Content-Type at all (init errors, sent with http.client). RAPID treats all three alike (only "
        "application/vnd.aws.lambda.error.cause+json is special).",
        r"posts\[\d+\]\.content_type", when=_error_post),
    Deliberate(
        "error-type-header",
        "Every error post carries Lambda-Runtime-Function-Error-Type, shaped as the platform keeps it "
        "(Function.<ExceptionClass> or the Runtime.* type). awslambdaric sends none on invocation errors, and "
        "on init errors the bare class name (e.g. RuntimeError), which RAPID replaces with Runtime.Unknown.",
        r"posts\[\d+\]\.error_type", when=_prefixed_type),
    Deliberate(
        "shutdown-extension",
        "A function with shutdown hooks (a SIGTERM handler, or atexit hooks: importing logging adds one) makes "
        "the bootstrap register as an internal extension, so that Lambda sends SIGTERM at shutdown and the "
        "hooks run; awslambdaric never registers, and the hooks never run.",
        r"extensions"),
    Deliberate(
        "no-execution-env",
        "AWS_EXECUTION_ENV is not set: on provided.al2/al2023 Lambda sets none, and the bootstrap does not "
        "pretend to be a managed runtime (SDKs put the value in their User-Agent). awslambdaric's 3.12+ "
        "behaviours that key off it (UTF-8 JSON) key off the Python version in the bootstrap instead.",
        r"posts\[\d+\]\.body\.json\.env\.AWS_EXECUTION_ENV", when=lambda o, s: s == "<absent>"),
    Deliberate(
        "init-stack-without-importlib",
        "The stack trace of an exception raised while the handler's module is imported starts at the "
        "user's module: the bootstrap imports it from its spec, so importlib's frames (import_module and "
        "the <frozen importlib._bootstrap> lines that awslambdaric's traces start with) are not there.",
        r"posts\[0\]\.body\.json\.stackTrace|stdout(\[\d+\])?", cases=IMPORT_RAISES,
        when=lambda o, s: "importlib" in str(o) and "importlib" not in str(s)),
    Deliberate(
        "handler-name-validation",
        "Handler names that are empty or leave LAMBDA_TASK_ROOT ('.x', '../m.f', '/abs/m.f') are refused as "
        "Runtime.MalformedHandlerName before anything is imported; awslambdaric hands them to "
        "importlib.import_module, which fails with ValueError or TypeError.",
        r"posts\[0\]\..*|stdout(\[\d+\])?", cases=BAD_HANDLER_NAMES),
    Deliberate(
        "413-keeps-serving",
        "When the platform refuses a response over 6 MB (413), the bootstrap logs it and serves the next "
        "event; awslambdaric raises out of its loop and the process exits 1, so the next invoke pays a new "
        "init (the caller gets Function.ResponseSizeTooLarge either way).",
        r"posts|exit|stdout|stderr", cases={"it-response-too-large", "response-over-6mb-then-next"}),
    Deliberate(
        "streaming",
        "A handler that returns an iterator (a generator) streams its response "
        "(Lambda-Runtime-Function-Response-Mode: streaming); awslambdaric cannot stream and reports "
        "Runtime.MarshalError.",
        r"posts\[0\]\..*|stdout(\[\d+\])?", cases=STREAMING),
    Deliberate(
        "exit-reported",
        "sys.exit() and KeyboardInterrupt in a handler: the bootstrap posts Runtime.ExitError for the "
        "invocation (with the traceback in the log), runs atexit hooks and exits with the same status "
        "(130 for KeyboardInterrupt); awslambdaric lets the exception end the process without a word, and the "
        "platform reports a bare Runtime.ExitError.",
        r"posts|exit|stdout|stderr", cases={"error-system-exit", "error-keyboard-interrupt"}),
    Deliberate(
        "missing-content-type",
        "A /next without a Content-Type (or with an empty one) is served: JSON when it is absent, raw bytes "
        "when it is empty. awslambdaric's native client crashes (SIGSEGV). Lambda and the RIE always send one.",
        r"posts|exit", cases={"content-type-no-content-type", "content-type-empty-content-type"}),
    Deliberate(
        "client-context-not-object",
        "A client context that is valid JSON but not an object gives a context whose client_context has no "
        "fields; awslambdaric fails the invocation with an AttributeError from inside its own code.",
        r"posts\[0\]\..*|stdout(\[\d+\])?", cases={"context-client-context-not-object"}),
    Deliberate(
        "no-runtime-frames",
        "A handler that fails before its first line runs (it is not callable) gets an empty stackTrace: the "
        "runtime's own frames are never shown. awslambdaric shows its bootstrap.py frame, with its install "
        "path, because it drops its frames only while a user frame follows.",
        r"posts\[0\]\.(body\.json\.stackTrace|xray_cause\.exceptions\[0\]\.stack|xray_cause\.paths)|stdout(\[\d+\])?",
        cases={"error-not-callable"}),
    Deliberate(
        "streaming-context-methods",
        "The context has set_stream_content_type() and set_stream_http_response() for streamed responses.",
        r"posts\[\d+\]\.body\.json\.attributes",
        when=lambda o, s: isinstance(o, list) and isinstance(s, list)
        and sorted(set(s) - set(o)) == ["set_stream_content_type", "set_stream_http_response"]
        and not set(o) - set(s)),
    Deliberate(
        "namedtuple-as-array",
        "A namedtuple in a result is written as an array, as the standard json module writes it; awslambdaric's "
        "simplejson writes it as an object (its _asdict()). Finding namedtuples would take a walk over every "
        "result in Python before encoding: +75 ms on a 6 MB response, +130 % of the encoding itself.",
        r"posts\[0\]\.body\.json(\[\d+\])*", cases={"result-namedtuple"},
        when=lambda o, s: isinstance(o, dict) and isinstance(s, list)),
    Deliberate(
        "xray-cause-limit",
        "An X-Ray error cause of 64 KiB or more is not sent (RAPID compacts causes to 64 KiB anyway); "
        "awslambdaric sends causes up to 1 MiB in one header, e.g. a RecursionError's thousand frames.",
        r"posts\[\d+\]\.xray_cause", when=lambda o, s: s is None and len(str(o)) >= 64 * 1024),
    Deliberate(
        "recursion-headroom",
        "A handler starts fewer frames deep (the bootstrap's loop is in C, awslambdaric's is four Python "
        "frames), so it recurses a little deeper before RecursionError: the traceback's \"[Previous line "
        "repeated N more times]\" counts differ.",
        r"posts\[\d+\]\.body\.json\.stackTrace\[\d+\]|stdout(\[\d+\])?", cases={"error-recursion"},
        when=lambda o, s: "Previous line repeated" in str(o) and "Previous line repeated" in str(s)),
    Deliberate(
        "unencodable-result",
        "From Python 3.12 (UTF-8 JSON), a result holding a lone surrogate is a Runtime.MarshalError and the "
        "process goes on; awslambdaric's encoder accepts it, its UTF-8 encoding then fails outside the "
        "handler's error handling, and the process exits 1.",
        r"posts|exit|stdout|stderr", cases={"result-lone-surrogate"}, since=(3, 12)),
    Deliberate(
        "recursion-message",
        "A result nested deeper than the recursion limit is a Runtime.MarshalError on both; on Python 3.12 the "
        "RecursionError's wording differs (simplejson's encoder says \"while calling a Python object\", the "
        "standard library's \"while encoding a JSON object\"), each encoder hitting the limit in its own place.",
        r"posts\[0\]\.(body\.json\.errorMessage|xray_cause\.exceptions\[0\]\.message)|stdout(\[\d+\])?",
        cases={"result-nested-deep"}, only={(3, 12)},
        when=lambda o, s: "maximum recursion depth exceeded" in str(o) and "maximum recursion depth exceeded" in str(s)),
    Deliberate(
        "init-error-non-latin1",
        "From Python 3.12, an init error whose message is not Latin-1 (say, a non-ASCII exception message) is "
        "posted to /init/error; awslambdaric's http.client refuses the text body, the process exits 1 without "
        "posting it, and the platform reports a bare Runtime.ExitError.",
        r"posts|stderr", cases={"init-import-raises-unicode"}, since=(3, 12)),
]


def explain(case_id, path, oracle, subject, version):
    """The rule that explains this difference, or None."""
    for rule in RULES:
        if rule.applies_to(version) and rule.explains(case_id, path, oracle, subject):
            return rule
    return None
