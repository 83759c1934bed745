"""Handlers that raise."""


class CustomError(Exception):
    pass


def _inner():
    raise ValueError("something went wrong")


def raise_value_error(event, context):
    _inner()


def raise_custom(event, context):
    raise CustomError("custom failure\nwith a second line")
