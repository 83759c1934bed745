/* Embeds the runtime's Python files (src/runtime.py and the modules it imports) into the binary,
 * each as a NUL-terminated string, bootstrap_<file>_py, so the runtime's Python code is real files
 * in the repository and needs no file at run time. mk/bootstrap.mk passes their paths. Together
 * they sit in a 64 KiB window of their own, so the kernel's fault-around does not map them along
 * with their neighbours: they are read only when no precompiled bytecode fits the Python. */
#define EMBED_SOURCE(symbol, path)                                                                  \
    .global symbol; .hidden symbol; .type symbol, %object;                                          \
symbol: .incbin path; .byte 0; .size symbol, . - symbol

    .section .rodata
    .balign 65536
EMBED_SOURCE(bootstrap_runtime_py, RUNTIME_PY)
EMBED_SOURCE(bootstrap_runtime_json_py, RUNTIME_JSON_PY)
EMBED_SOURCE(bootstrap_runtime_logging_py, RUNTIME_LOGGING_PY)
    .section .note.GNU-stack, "", %progbits
