"""Run inside a layer's Python (embedtest or the layer's interpreter) to check it.

  check_layer.py ROOTS [--stdlib] [--tree DIR] [--absent MODULE]
                 [--expect EXPR VALUE] [MODULE ...]

ROOTS: colon-separated layer roots; every shared object the process maps must
come from one of them, except glibc and libgcc_s (the target's). --stdlib: import
every top-level stdlib module and exercise json, ssl (a TLS handshake with a local
server: LAYER_TLS_CERT/LAYER_TLS_KEY), ctypes, decimal, sqlite3, hashlib, compression. --tree DIR: import every top-level package/module in DIR
(a layer's python/) and every extension module under it. --absent MODULE: MODULE
must fail to import (negative checks). --expect EXPR VALUE: after the imports,
str(eval(EXPR)) must equal VALUE. MODULE: more modules to import.
Python 3.9-compatible. Prints one line; exits non-zero on the first problem list.
"""
import os
import re
import sys

# The target's own libraries (verify.sh passes lib.sh's SYSTEM_SONAMES).
SYSTEM = tuple(os.environ.get("LAYER_SYSTEM_SONAMES", "").split()) or (
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6",
    "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1", "libresolv.so.2",
    "libanl.so.1", "libgcc_s.so.1")
# Not on Linux, opening a browser, printing, or trimmed on purpose.
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "msilib",
        "_msi", "winreg", "winsound", "_winapi", "nt", "msvcrt", "_overlapped",
        "_winreg", "ensurepip", "pydoc_data", "sitecustomize", "usercustomize", "__main__",
        "test", "_bootsubprocess", "__phello__", "__hello__", "_scproxy", "_wmi",
        "_pyrepl", "_android_support", "_ios_support", "_apple_support"}


# Modules a build left out on purpose (verify.sh passes LAYER_SKIP_MODULES through).
SKIP.update(os.environ.get("LAYER_SKIP_MODULES", "").split())


def stdlib_modules():
    import pkgutil
    import sysconfig
    std = sysconfig.get_paths()["stdlib"]
    dyn = os.path.join(std, "lib-dynload")
    names = set(sys.builtin_module_names)
    for m in pkgutil.iter_modules([std, dyn]):
        names.add(m.name)
    # Modules the layer must have even if their file is gone (verify.sh passes
    # LAYER_EXPECT_MODULES: e.g. every extension module its build produced).
    names.update(os.environ.get("LAYER_EXPECT_MODULES", "").split())
    return sorted(n for n in names if n not in SKIP and not n.startswith("_test"))


def exercise():
    import bz2, ctypes, decimal, hashlib, json, lzma, sqlite3, ssl, uuid, zlib
    assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
    ctx = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    libc = ctypes.CDLL("libc.so.6")
    assert libc.strlen(b"lambda") == 6
    # A libffi closure called from C (qsort's comparator): a libffi whose assembly entry
    # points are exported and reached through the PLT crashes here (arm64, zig-built).
    cmp = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    nums = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
    libc.qsort(nums, 5, ctypes.sizeof(ctypes.c_int), cmp(lambda a, b: a[0] - b[0]))
    assert list(nums) == [1, 2, 3, 4, 5], list(nums)
    import _decimal  # the C implementation, needs libmpdec
    assert str(decimal.Decimal(1) / decimal.Decimal(8)) == "0.125"
    db = sqlite3.connect(":memory:")
    assert db.execute("select 6*7").fetchone() == (42,)
    assert hashlib.sha256(b"").hexdigest().startswith("e3b0c442")
    assert hashlib.md5(b"").hexdigest() == "d41d8cd98f00b204e9800998ecf8427e"
    hashlib.blake2b(b"x")
    for mod in (zlib, bz2, lzma):
        assert mod.decompress(mod.compress(b"x" * 100)) == b"x" * 100
    if sys.version_info >= (3, 14):  # compression.zstd: _zstd, linked with libzstd.a
        from compression import zstd
        assert zstd.decompress(zstd.compress(b"x" * 100)) == b"x" * 100
    uuid.uuid4()
    tls = tls_handshake()
    return "%s (%s handshake), sqlite %s, %s" % (
        ssl.OPENSSL_VERSION, tls, sqlite3.sqlite_version,
        getattr(decimal, "__libmpdec_version__", "mpdec"))


def tls_handshake():
    """A TLS round trip with a local server (verify.sh makes the certificate for
    localhost): the client verifies the chain and the name, and must refuse another name."""
    import socket
    import ssl
    import threading
    cert, key = os.environ.get("LAYER_TLS_CERT"), os.environ.get("LAYER_TLS_KEY")
    if not cert or not key:
        raise RuntimeError("LAYER_TLS_CERT/LAYER_TLS_KEY not set: no certificate for the handshake")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)
    srv = socket.socket()
    srv.settimeout(10)
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)
    port = srv.getsockname()[1]

    def serve():
        for _ in range(2):
            conn, _addr = srv.accept()
            conn.settimeout(10)
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as s:
                    s.sendall(s.recv(64).upper())
            except (ssl.SSLError, OSError):
                pass  # the second client hangs up on purpose

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"ping")
                got, version = s.recv(64), s.version()
        assert got == b"PING", got
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            try:
                client_ctx.wrap_socket(raw, server_hostname="not-localhost.invalid").close()
                raise AssertionError("a certificate for localhost was accepted for another name")
            except ssl.SSLCertVerificationError:
                pass
    finally:
        thread.join(10)
        srv.close()
    return version


# A shared object's file name: libssl.so.3, libpython3.9.so.1.0, _ssl.cpython-39-x86_64-linux-gnu.so,
# ld-2.31.so. Not /etc/ld.so.cache, the loader's index: it is mapped while a library lookup
# runs, and Python 3.9's threads exit through pthread_exit, which dlopen()s libgcc_s, so a
# thread that has just been joined can still have it mapped when the main thread reads maps.
SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)*$")


def shared_objects(lines):
    """The shared objects of /proc/<pid>/maps lines, by path, sorted (a deleted one by its old
    path). Also used by tests/dist/test_oldglibc.py on the maps a handler returns."""
    paths = set()
    for line in lines:
        parts = line.split(None, 5)
        path = parts[5].strip() if len(parts) == 6 else ""
        if path.endswith(" (deleted)"):
            path = path[:-len(" (deleted)")]
        if SHARED_OBJECT.search(os.path.basename(path)):
            paths.add(path)
    return sorted(paths)


def mapped_outside(roots, maps="/proc/self/maps"):
    with open(maps) as f:
        libraries = shared_objects(f)
    return [path for path in libraries if os.path.basename(path) not in SYSTEM and
            not any(os.path.realpath(path).startswith(r + os.sep) for r in roots)]


def tree_modules(top):
    names = set()
    for entry in os.listdir(top):
        path = os.path.join(top, entry)
        if entry.startswith((".", "_")) or entry.endswith((".dist-info", ".egg-info")):
            continue
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.add(entry)
        elif entry.endswith(".py") or entry.endswith(".so"):
            names.add(entry.split(".")[0])
    for dirpath, dirnames, files in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in files:
            if f.endswith(".so"):
                rel = os.path.relpath(os.path.join(dirpath, f.split(".")[0]), top)
                names.add(rel.replace(os.sep, "."))
    return sorted(names)


def take(args, flag):
    vals = []
    while flag in args:
        i = args.index(flag)
        vals.append(args[i + 1])
        del args[i:i + 2]
    return vals


def main():
    args = sys.argv[1:]
    roots = [os.path.realpath(r) for r in args.pop(0).split(":") if r]
    problems = []
    info = ""
    if "--stdlib" in args:
        args.remove("--stdlib")
        import importlib
        mods = stdlib_modules()
        for name in mods:
            try:
                importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 - report every failure
                problems.append("import %s: %s: %s" % (name, type(e).__name__, e))
        try:
            info = exercise()
        except Exception as e:  # noqa: BLE001
            problems.append("exercise: %s: %s" % (type(e).__name__, e))
        info = "%d stdlib modules; %s" % (len(mods), info)
        prefix = os.path.realpath(sys.prefix)
        if not any(prefix.startswith(r + os.sep) for r in roots):
            problems.append("sys.prefix %s is outside the layer" % sys.prefix)
    for top in take(args, "--tree"):
        args.extend(tree_modules(top))
    expects = []
    while "--expect" in args:
        i = args.index("--expect")
        expects.append((args[i + 1], args[i + 2]))
        del args[i:i + 3]
    for name in take(args, "--absent"):
        try:
            __import__(name)
            problems.append("import %s: succeeded, should have failed" % name)
        except ImportError as e:
            info += " %s absent (%s)" % (name, e)
    for name in args:
        try:
            m = __import__(name, fromlist=["_"])
            info += " %s=%s" % (name, getattr(m, "__file__", "builtin"))
        except Exception as e:  # noqa: BLE001
            problems.append("import %s: %s: %s" % (name, type(e).__name__, e))
    env = {}
    for expr, want in expects:
        try:
            for name in args:
                env[name.split(".")[0]] = __import__(name.split(".")[0])
            got = str(eval(expr, env))
            if got != want:
                problems.append("%s = %r, expected %r" % (expr, got, want))
            else:
                info += " %s=%r" % (expr, got)
        except Exception as e:  # noqa: BLE001
            problems.append("%s: %s: %s" % (expr, type(e).__name__, e))
    for path in mapped_outside(roots):
        problems.append("loaded from outside the layers: %s" % path)
    if problems:
        print("check_layer: FAIL (Python %s)\n  " % sys.version.split()[0] + "\n  ".join(problems))
        sys.exit(1)
    print("check_layer: ok: Python %s %s: %s" % (sys.version.split()[0], os.uname().machine, info))


if __name__ == "__main__":
    main()
