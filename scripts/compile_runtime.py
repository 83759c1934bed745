"""Compiles the runtime's Python files (src/runtime.py and the modules it imports, runtime_json.py
and runtime_logging.py) for the interpreter running this script, for embedding.

Output: the 4-byte magic number of that Python's bytecode, then one marshalled dict of code
objects keyed by the file name each carries (PREFIX + the file's base name, e.g.
<bootstrap>/runtime_json.py): one marshal.loads at start-up for them all, which shares the
names the files have in common instead of building them once a file. Compiling the runtime at
every cold start would cost milliseconds; unmarshalling costs well under one. The bootstrap falls
back to compiling the embedded sources for a Python whose bytecode was not built in.

Smaller is faster to unmarshal at every cold start, so the code is compiled without
docstrings (optimize=2: the files have no assert statements, and rely on no docstring) and,
from 3.11, without column positions (-X no_debug_ranges, passed by mk/bootstrap.mk: the
runtime's own frames never reach a user's stack trace): 64 KB -> 54 KB for 3.11.
Usage: python3.X -I -S -X no_debug_ranges scripts/compile_runtime.py OUTPUT PREFIX SOURCE...
"""
import importlib.util
import marshal
import os
import sys

output, prefix, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
codes = {}
for path in sources:
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if any(line.lstrip().startswith("assert ") for line in source.splitlines()):
        sys.exit(f"{path}: optimize=2 would drop its assert statements")
    filename = prefix + os.path.basename(path)
    codes[filename] = compile(source, filename, "exec", dont_inherit=True, optimize=2)
with open(output, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + marshal.dumps(codes))
