/* Embeds src/runtime.py into the binary as a NUL-terminated string (bootstrap_runtime_py),
 * so the runtime's Python code is a real file in the repository and needs no file at run
 * time. It sits in a 64 KiB window of its own, so the kernel's fault-around does not map it
 * along with its neighbours: it is read only when no precompiled bytecode fits the Python. */
    .section .rodata
    .global bootstrap_runtime_py
    .hidden bootstrap_runtime_py
    .type bootstrap_runtime_py, %object
    .balign 65536
bootstrap_runtime_py:
    .incbin RUNTIME_PY
    .byte 0
    .size bootstrap_runtime_py, . - bootstrap_runtime_py
    .section .note.GNU-stack, "", %progbits
