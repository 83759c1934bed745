"""The function moved from x86_64/Python 3.9 to arm64/Python 3.13 (README: "Moving a
function from x86_64/3.9 to arm64/3.13"): the same code on both, only the layers change.

It validates an order with pydantic, prices it, renders it with orjson and, when DB_HOST
is set, stores it with MySQLdb (mysqlclient: built from its sdist for each CPU, with
libmariadb in the deps layer's <arch>/lib). Without a database it still loads MySQLdb
and says what its client library is.
"""
import os
import platform
import sys
from decimal import Decimal

import MySQLdb
import orjson
import pydantic


class Line(pydantic.BaseModel):
    sku: str
    quantity: int = pydantic.Field(gt=0)
    unit_price: Decimal


class Order(pydantic.BaseModel):
    customer: str
    lines: list[Line]


def store(order, total):
    conn = MySQLdb.connect(host=os.environ["DB_HOST"], user=os.environ.get("DB_USER", "app"),
                           password=os.environ.get("DB_PASSWORD", ""), database=os.environ.get("DB_NAME", "app"),
                           connect_timeout=5)
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO orders (customer, total) VALUES (%s, %s)", (order.customer, total))
        conn.commit()
        return cur.lastrowid
    finally:
        conn.close()


def handler(event, context):
    try:
        order = Order.model_validate(event)
    except pydantic.ValidationError as e:
        return {"ok": False, "errors": [f"{'.'.join(map(str, err['loc']))}: {err['type']}" for err in e.errors()]}
    total = sum(line.unit_price * line.quantity for line in order.lines)
    receipt = orjson.loads(orjson.dumps({"customer": order.customer, "total": str(total),
                                         "skus": sorted(line.sku for line in order.lines)}))
    return {
        "ok": True,
        "receipt": receipt,
        "sql": MySQLdb.string_literal(order.customer).decode(),
        "mysql_client": MySQLdb.get_client_info().split(".")[0],
        "stored_id": store(order, total) if os.environ.get("DB_HOST") else None,
        "runtime": {"python": "%d.%d" % sys.version_info[:2], "machine": platform.machine()},
    }
