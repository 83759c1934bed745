"""Exercises the standard library's native parts and reports what was loaded from where.

The old-glibc run (tests/dist/test_oldglibc.py) invokes it under a release zip's bootstrap with
every library loaded by an older glibc; the test compares each answer with what it expects.
Imported at init, as a user's handler would: an import that fails is an init error.
"""

import bz2
import ctypes
import decimal
import hashlib
import json
import lzma
import os
import platform
import socket
import sqlite3
import ssl
import sys
import threading
import uuid
import zlib

HASHES = ("md5", "sha1", "sha256", "sha3_256", "blake2b")
DATA = ("Lambda \u00e9\u00e8 \u4f60\u597d " * 2000).encode()


def tls_round_trip(cert, key):
    """A TLS handshake with a server in this process (its certificate is the only CA trusted)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    served = {}

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            served["got"] = tls.recv(16)
            tls.sendall(b"pong")

    thread = threading.Thread(target=serve)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=cert)
    with socket.create_connection(listener.getsockname(), timeout=60) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"ping")
            answer = tls.recv(16)
            version, cipher = tls.version(), tls.cipher()[0]
    thread.join(60)
    listener.close()
    return {"answer": answer.decode(), "server_got": served.get("got", b"").decode(), "version": version,
            "cipher": cipher, "openssl": ssl.OPENSSL_VERSION}


def handler(event, context):
    db = sqlite3.connect(":memory:")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [("a",), ("b",), ("\u00e9",)])
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x * 2)  # a libffi closure
    decimal.getcontext().prec = 40
    return {
        "glibc": os.confstr("CS_GNU_LIBC_VERSION"),
        "python": "%d.%d" % sys.version_info[:2],
        "machine": platform.machine(),
        "ssl": tls_round_trip(event["cert"], event["key"]),
        "sqlite": [db.execute("select group_concat(v, ',') from t").fetchone()[0], sqlite3.sqlite_version],
        "ctypes": [ctypes.CDLL(None).getpid() == os.getpid(), callback(21)],
        # (the C implementation, libmpdec's, not the pure-Python fallback)
        "decimal": [str(decimal.Decimal(1) / decimal.Decimal(7)),
                    "_decimal" in sys.modules and decimal.Decimal is sys.modules["_decimal"].Decimal],
        "hashlib": dict({name: hashlib.new(name, DATA).hexdigest() for name in HASHES},
                        pbkdf2=hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000).hex()),
        "compression": {
            "zlib": zlib.decompress(zlib.compress(DATA, 9)) == DATA and zlib.crc32(DATA),
            "bz2": bz2.decompress(bz2.compress(DATA)) == DATA,
            "lzma": lzma.decompress(lzma.compress(DATA)) == DATA,
        },
        "json": json.loads(json.dumps({"k": "\u00e9", "n": [1, 2.5, None]})),
        "uuid": [str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")), uuid.uuid4().version],
        "maps": open("/proc/self/maps").read().splitlines(),  # check_layer.shared_objects reads them
    }
