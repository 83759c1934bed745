"""A release zip under an older real glibc (Debian bullseye's 2.31; conftest.py says how).

Its bootstrap serves invocations of a handler that imports and exercises ssl (a TLS handshake),
sqlite3, ctypes, decimal, hashlib, zlib, bz2, lzma, json and uuid, and every shared object in
the process comes from the zip or from bullseye's glibc: nothing depends on the build host's
glibc at run time. A program linked on this machine must fail to start the same way (the
negative control: it shows the old loader really is in charge).
"""

import hashlib
import os
import subprocess
import sys
import zlib

import pytest

from conftest import ARCH, DIST_ROOT, FUNCTIONS, OLD_ROOT, old_glibc_command
from harness import EXPECT_PYTHON, TIME_SCALE

sys.path.insert(0, FUNCTIONS)
from stdlib_check import DATA, HASHES  # noqa: E402  (the handler's inputs, to compute what it must answer)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers"))
from check_layer import shared_objects  # noqa: E402  (the layer check's reading of /proc/self/maps)

ARCH_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}[ARCH]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


def test_stdlib_under_the_old_glibc(function, tls_files):
    cert, key = tls_files
    f = function("stdlib_check.handler")
    results = []
    for _ in range(3):   # the first invoke starts the runtime; the next ones are warm
        r = f.invoke({"cert": cert, "key": key}, timeout=120)
        assert r.status == 200, (r, f.output())
        results.append(r.json())
    out = results[0]
    assert out["glibc"] == "glibc 2.31", out["glibc"]
    assert out["machine"] == ARCH_MACHINE
    if EXPECT_PYTHON:
        assert out["python"] == EXPECT_PYTHON
    assert out["ssl"]["answer"] == "pong" and out["ssl"]["server_got"] == "ping", out["ssl"]
    assert out["ssl"]["version"] in ("TLSv1.2", "TLSv1.3"), out["ssl"]
    assert out["sqlite"][0] == "a,b,\u00e9", out["sqlite"]
    assert out["ctypes"] == [True, 42]
    assert out["decimal"] == ["0.1428571428571428571428571428571428571429", True]
    expected = {name: hashlib.new(name, DATA).hexdigest() for name in HASHES}
    expected["pbkdf2"] = hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000).hex()
    assert out["hashlib"] == expected
    assert out["compression"] == {"zlib": zlib.crc32(DATA), "bz2": True, "lzma": True}
    assert out["json"] == {"k": "\u00e9", "n": [1, 2.5, None]}
    assert out["uuid"][0] == "cfbff0d1-9375-5685-968c-48ce8b15ae17" and out["uuid"][1] == 4
    assert all(r["uuid"][0] == out["uuid"][0] for r in results)

    # Every shared object from the zip or from bullseye's glibc (the list is not empty: bullseye's
    # loader and libc, and libpython, are among them; which stdlib libraries are shared objects of
    # their own and which are linked into the modules is the runtime build's choice).
    libraries = [os.path.realpath(p) for p in shared_objects(out["maps"])]
    foreign = [p for p in libraries if not p.startswith((DIST_ROOT + "/", OLD_ROOT + "/"))]
    assert not foreign, f"loaded from outside the zip and bullseye's glibc: {foreign}"
    names = [os.path.basename(p) for p in libraries]
    for lib in ("ld-2.31.so", "libc-2.31.so", f"libpython{EXPECT_PYTHON or '3'}"):
        assert any(n.startswith(lib) for n in names), f"{lib} not loaded: {names}"


def test_a_program_linked_here_does_not_start_under_the_old_glibc(tmp_path):
    # The negative control: built against this machine's glibc (2.36), it needs GLIBC_2.34
    # (__libc_start_main), which bullseye's loader must refuse, as Amazon Linux 2's would.
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("started"); return 0; }\n')
    exe = str(tmp_path / "hello")
    subprocess.run(os.environ["HOST_CC"].split() + ["-o", exe, str(src)], check=True)
    proc = subprocess.run(old_glibc_command(exe), capture_output=True, text=True, timeout=60 * TIME_SCALE)
    assert proc.returncode != 0 and "started" not in proc.stdout, proc
    assert "GLIBC_2.34' not found" in proc.stderr, proc.stderr
