"""Imports a C extension whose shared-library dependency lives only in <arch>/lib."""
import os

import greet


def handler(event, context):
    return {"greeting": greet.hello(), "module": greet.__file__,
            "ld_library_path": os.environ.get("LD_LIBRARY_PATH")}
