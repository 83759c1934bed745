"""Compiles one of the runtime's Python files (src/runtime.py and the modules it imports,
runtime_json.py and runtime_logging.py) for the interpreter running this script, for embedding.

Output: the 4-byte magic number of that Python's bytecode, then the marshalled code object.
Compiling the runtime at every cold start would cost milliseconds; unmarshalling costs
well under one. The bootstrap falls back to compiling the embedded source for a Python
whose bytecode was not built in.

Smaller is faster to unmarshal at every cold start, so the code is compiled without
docstrings (optimize=2: the files have no assert statements, and rely on no docstring) and,
from 3.11, without column positions (-X no_debug_ranges, passed by mk/bootstrap.mk: the
runtime's own frames never reach a user's stack trace): 64 KB -> 54 KB for 3.11.
Usage: python3.X -I -S -X no_debug_ranges scripts/compile_runtime.py SOURCE FILENAME OUTPUT
"""
import importlib.util
import marshal
import sys

path, filename, output = sys.argv[1:4]
with open(path, encoding="utf-8") as f:
    source = f.read()
if any(line.lstrip().startswith("assert ") for line in source.splitlines()):
    sys.exit(f"{path}: optimize=2 would drop its assert statements")
code = compile(source, filename, "exec", dont_inherit=True, optimize=2)
with open(output, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + marshal.dumps(code))
