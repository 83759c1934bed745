"""Handlers that fail in the ways user code fails."""
import sys


class CustomError(Exception):
    pass


class NoMessage(Exception):
    pass


def nested():
    def inner():
        raise ValueError("deep failure")

    inner()


def value_error(event, context):
    nested()


def custom_multiline(event, context):
    raise CustomError("first line\nsecond line")


def no_message(event, context):
    raise NoMessage()


def unicode_message(event, context):
    raise RuntimeError("ünïcödé — 你好 🎉")


def chained(event, context):
    try:
        {}["k"]
    except KeyError as e:
        raise TypeError("while handling") from e


def recursion(event, context):
    return recursion(event, context)


def keyboard_interrupt(event, context):
    raise KeyboardInterrupt()


def system_exit(event, context):
    sys.exit(3)


def raise_in_generator(event, context):
    yield b"never streams in awslambdaric"
    raise ValueError("mid-stream")


def bad_context_json(event, context):
    return "unreachable when the client context is not JSON"
