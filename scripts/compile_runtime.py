"""Compiles src/runtime.py for the interpreter running this script, for embedding.

Output: the 4-byte magic number of that Python's bytecode, then the marshalled code object.
Compiling the runtime at every cold start would cost milliseconds; unmarshalling costs
well under one. The bootstrap falls back to compiling the embedded source for a Python
whose bytecode was not built in.
Usage: python3.X -I -S scripts/compile_runtime.py SOURCE FILENAME OUTPUT
"""
import importlib.util
import marshal
import sys

source, filename, output = sys.argv[1:4]
with open(source, encoding="utf-8") as f:
    code = compile(f.read(), filename, "exec", dont_inherit=True, optimize=0)
with open(output, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + marshal.dumps(code))
