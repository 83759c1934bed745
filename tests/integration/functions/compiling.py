"""Source compilation through the runtime's hook on importlib (python.c compile_source):
the code must be what compile(data, path, "exec", dont_inherit=True) gives, errors too."""
from __future__ import annotations  # must not leak into what the hook compiles

import glob
import importlib.machinery
import marshal
import os

CASES = {
    "latin1_cookie": b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
    "bom": b"\xef\xbb\xbfx = 1\n",
    "annotations": b"def f(a: undefined_name): pass\n",
    "docstring": b'"""doc"""\nassert True\n',
    "syntax_error": b"def f(:\n",
    "indentation_error": b"if 1:\nx = 1\n",
    "bad_utf8": b"s = '\xff'\n",
    "null_byte": b"x = 1\0\n",
    "str_source": "x = 'text'\n",
}


def _same_code(a, b):
    """Code objects compare by their bytecode, constants (nested code included), names and
    tables; marshal's bytes would also differ in how often an object happens to be shared."""
    return a == b and a.co_filename == b.co_filename


def _outcome(compile_it):
    try:
        code = compile_it()
        return ["code", code.co_filename, marshal.loads(marshal.dumps(code))]
    except Exception as e:
        return [type(e).__name__, str(e), getattr(e, "lineno", None), getattr(e, "offset", None)]


def handler(event, context):
    hook = importlib.machinery.SourceFileLoader.source_to_code
    path = "/task/m.py"
    loader = importlib.machinery.SourceFileLoader("m", path)
    stdlib = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[: event.get("files", 40)]
    mismatched = []
    for file in stdlib:
        with open(file, "rb") as f:
            data = f.read()
        if not _same_code(loader.source_to_code(data, file), compile(data, file, "exec", dont_inherit=True)):
            mismatched.append(file)
    cases = {}
    for name, data in CASES.items():
        ours = _outcome(lambda: loader.source_to_code(data, path))
        builtin = _outcome(lambda: compile(data, path, "exec", dont_inherit=True))
        cases[name] = {"same": ours == builtin, "ours": ours[0] if ours == builtin else repr(ours[:2])}
    optimized = _outcome(lambda: loader.source_to_code(CASES["docstring"], path, _optimize=2))
    return {
        "hook": type(hook).__name__,
        "compared": len(stdlib),
        "mismatched": mismatched,
        "cases": cases,
        "optimize_2_same": optimized == _outcome(lambda: compile(CASES["docstring"], path, "exec",
                                                                 dont_inherit=True, optimize=2)),
        "optimize_2_differs": optimized != _outcome(lambda: compile(CASES["docstring"], path, "exec",
                                                                    dont_inherit=True)),
    }


def lazy_syntax_error(event, context):
    """Imports a module with a syntax error at invoke time: the traceback must hold no
    importlib frames, as with importlib's own compile."""
    import subdir.broken_syntax  # noqa: F401
