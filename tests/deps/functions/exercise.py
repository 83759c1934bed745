"""Imports and exercises each package of tests/deps/requirements.txt; the event names them.

Every answer is computed, and the same on every CPU and Python: the tests compare them
with fixed expectations and across cells."""
import importlib
import platform
import sys


def numpy_answer():
    import numpy as np
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    inv = np.linalg.inv(np.array([[4.0, 7.0], [2.0, 6.0]]))  # BLAS/LAPACK (numpy.libs)
    return {"sum": float(a.sum()), "matmul": (a @ a.T).tolist()[0], "inv00": round(float(inv[0][0]), 6)}


def orjson_answer():
    import orjson
    doc = {"a": [1, 2.5, None, True], "b": "é"}
    return {"dumps": orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode(), "loads": orjson.loads(b'{"x":[1,2]}')}


def pydantic_answer():
    import pydantic

    class Item(pydantic.BaseModel):
        name: str
        price: float
        tags: list[str] = []

    item = Item(name="pen", price="1.5", tags=["a"])  # str -> float by pydantic-core
    try:
        Item(name="x", price="not a number")
        error = None
    except pydantic.ValidationError as e:
        error = e.errors()[0]["type"]
    return {"dump": item.model_dump(), "error": error}


def cryptography_answer():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.fernet import Fernet
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"lambda")
    aes = AESGCM(b"k" * 32)
    sealed = aes.encrypt(b"n" * 12, b"secret", None)
    f = Fernet(Fernet.generate_key())
    return {"sha256": digest.finalize().hex(), "aesgcm": sealed.hex(),
            "fernet": f.decrypt(f.encrypt(b"round trip")).decode()}


def lxml_answer():
    from lxml import etree
    root = etree.fromstring(b"<r><i n='1'>a</i><i n='2'>b</i></r>")
    xslt = etree.XSLT(etree.fromstring(
        b"<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
        b"<xsl:template match='/'><o><xsl:value-of select='count(//i)'/></o></xsl:template></xsl:stylesheet>"))
    return {"xpath": root.xpath("//i[@n='2']/text()"), "xslt": str(xslt(root)).strip()}


def pillow_answer():
    import io
    from PIL import Image, ImageDraw, features
    img = Image.new("RGB", (32, 16), "white")
    ImageDraw.Draw(img).rectangle([4, 4, 12, 12], fill=(255, 0, 0))
    out = {}
    for fmt in ("PNG", "JPEG", "WEBP", "TIFF"):  # zlib, libjpeg, libwebp, libtiff (pillow.libs)
        buf = io.BytesIO()
        img.save(buf, fmt)
        back = Image.open(io.BytesIO(buf.getvalue()))
        back.load()
        out[fmt] = list(back.size)
    out["pixel"] = list(img.getpixel((8, 8)))
    out["webp"] = bool(features.check("webp"))
    return out


def psycopg2_answer():
    import psycopg2
    from psycopg2 import extensions
    try:  # no server: libpq (psycopg2_binary.libs) answers with its own error
        psycopg2.connect(host="127.0.0.1", port=1, dbname="x", user="x", connect_timeout=2)
        error = None
    except psycopg2.OperationalError as e:
        error = "connection refused" if "refused" in str(e) else str(e)[:80]
    return {"libpq": extensions.libpq_version() >= 100000, "quote": extensions.adapt("it's").getquoted().decode(),
            "error": error}


def mysqlclient_answer():
    import MySQLdb
    from MySQLdb import _mysql
    try:  # no server: libmariadb (<arch>/lib) answers with its own error
        MySQLdb.connect(host="127.0.0.1", port=1, user="x", connect_timeout=2)
        error = None
    except MySQLdb.OperationalError as e:
        error = e.args[0]
    return {"client": _mysql.get_client_info().split(".")[0], "escape": _mysql.escape_string(b"a'b").decode(),
            "error": error}


ANSWERS = {"numpy": numpy_answer, "orjson": orjson_answer, "pydantic": pydantic_answer,
           "cryptography": cryptography_answer, "lxml": lxml_answer, "Pillow": pillow_answer,
           "psycopg2-binary": psycopg2_answer, "mysqlclient": mysqlclient_answer}


def handler(event, context):
    out = {"python": "%d.%d" % sys.version_info[:2], "machine": platform.machine(), "answers": {}, "errors": {}}
    for name in event.get("packages", list(ANSWERS)):
        try:
            out["answers"][name] = ANSWERS[name]()
        except Exception as e:  # reported per package, so one failure does not hide the others
            out["errors"][name] = f"{type(e).__name__}: {e}"
    return out
