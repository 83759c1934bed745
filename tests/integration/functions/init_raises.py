"""A module whose import raises."""


def _fail():
    raise RuntimeError("failed during init")


_fail()


def handler(event, context):
    return event
