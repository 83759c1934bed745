"""Handlers whose results test the JSON marshalling."""
import datetime
import decimal


def decimals(event, context):
    return {"pi": decimal.Decimal("3.14159"), "big": decimal.Decimal("12345678901234567890.123456789"),
            "nan": decimal.Decimal("NaN"), "list": [decimal.Decimal("1.10")]}


def specials(event, context):
    return {"nan": float("nan"), "inf": float("inf"), "none": None, "big_int": 2 ** 100, "float": 0.1}


def none(event, context):
    return None


def a_string(event, context):
    return "just a string"


def not_serializable(event, context):
    return {"when": datetime.datetime(2024, 1, 2, 3, 4, 5)}
