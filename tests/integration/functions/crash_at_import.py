"""A module whose import crashes (tests/integration/test_crash.py)."""
import ctypes


def _load_native_part():
    ctypes.string_at(0)


_load_native_part()


def handler(event, context):
    return "never"
