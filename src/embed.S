/* Embeds src/runtime.py into the binary as a NUL-terminated string (bootstrap_runtime_py),
 * so the runtime's Python code is a real file in the repository and needs no file at run time. */
    .section .rodata
    .global bootstrap_runtime_py
    .type bootstrap_runtime_py, %object
    .balign 16
bootstrap_runtime_py:
    .incbin RUNTIME_PY
    .byte 0
    .size bootstrap_runtime_py, . - bootstrap_runtime_py
    .section .note.GNU-stack, "", %progbits
