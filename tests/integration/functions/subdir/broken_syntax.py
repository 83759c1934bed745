# A syntax error, imported lazily by compiling.lazy_syntax_error.
def broken(:
    pass
