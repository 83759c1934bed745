"""CLI tests of `bootstrap --check` and doctor_explain_file on fixtures built by
tests/doctor/make-fixtures.sh.  Run through `make test-doctor`, which builds the
binary under ASan/UBSan and sets DOCTOR_BIN and DOCTOR_FIXTURES."""
import json
import os
import random
import shutil
import subprocess

import pytest

BIN = os.environ.get("DOCTOR_BIN", "")
FX = os.environ.get("DOCTOR_FIXTURES", "")
pytestmark = pytest.mark.skipif(not (BIN and FX), reason="run through make test-doctor")

# Sanitizer findings must not hide behind exit code 1 ("problems found").
ENV = dict(os.environ, ASAN_OPTIONS="exitcode=99:detect_leaks=1", UBSAN_OPTIONS="exitcode=98")
ENV.pop("LD_LIBRARY_PATH", None)


def run(*args, cwd=None, env=None):
    proc = subprocess.run([BIN, *args], cwd=cwd or FX, env=env or ENV, capture_output=True,
                          text=True, timeout=60)
    assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr, proc.stderr
    return proc


def check(*args, cwd=None):
    return run("--check", *args, cwd=cwd)


BAD_X86_AL2 = """\
{p}: lib/libcut.so (malformed ELF)
  malformed: not a valid ELF file: truncated ELF header (40 bytes). Fix: replace it with a complete copy (the upload or build may have cut it short)
{p}: lib/libhalf.so (malformed ELF)
  malformed: not a valid ELF file: segment 2 extends past the end of the file (truncated?). Fix: replace it with a complete copy (the upload or build may have cut it short)
{p}: lib/liblfs.so.1
  not-elf: named like a shared library but is not an ELF file (it starts with "version https://git-lfs"). Fix: replace it with the real library file
{p}: python/lib/python3.9/site-packages/speedy/_speedups.cpython-311-x86_64-linux-gnu.so (ELF64 x86_64)
  wrong-python: extension module for CPython 3.11, but it sits in the site-packages of Python 3.9. Fix: pip install --platform manylinux2014_x86_64 --python-version 3.9 --only-binary=:all: --target python/lib/python3.9/site-packages speedy
{p}: x86_64/lib/libarm.so (ELF64 arm64)
  wrong-arch: built for arm64, but files under x86_64/ are loaded on x86_64. Fix: rebuild it for x86_64 (x86_64-linux-gnu-gcc, or on an x86_64 machine)
{p}: x86_64/lib/libthreads.so (ELF64 x86_64)
  glibc-too-new: needs GLIBC_2.34 (for pthread_create) but provided.al2 has glibc 2.26. Fix: rebuild it against glibc 2.26 or older (e.g. in a manylinux2014 container or the public.ecr.aws/lambda/provided:al2 image)
{p}: x86_64/lib/libusesfoo.so (ELF64 x86_64)
  missing-dependency: needs libfoo.so.1, which is neither on the search path (x86_64/lib, lib, x86_64/runtime/lib, the function's lib) nor in provided.al2. Fix: add libfoo.so.1 built for x86_64 to x86_64/lib/ of a layer (or lib/ of the function)
doctor: 7 problems in 7 files (6 ELF of 9 files checked; target provided.al2, glibc 2.26, x86_64, Python 3.9)
"""


@pytest.mark.parametrize("path", ["bad-x86", "bad-x86.zip"])
def test_bad_x86_layer_against_al2(path):
    proc = check("--target", "provided.al2", path)
    assert proc.stdout == BAD_X86_AL2.format(p=path)
    assert proc.returncode == 1


def test_bad_x86_layer_against_al2023_has_no_glibc_finding():
    proc = check("bad-x86")
    assert proc.returncode == 1
    assert "glibc-too-new" not in proc.stdout  # al2023 has glibc 2.34
    assert proc.stdout.splitlines()[-1] == (
        "doctor: 6 problems in 6 files (6 ELF of 9 files checked; "
        "target provided.al2023, glibc 2.34, x86_64, Python 3.9)")


def test_glibc_option_overrides_the_target_glibc():
    proc = check("--glibc", "2.17", "bad-x86")
    assert ("  glibc-too-new: needs GLIBC_2.34 (for pthread_create) but the target has glibc 2.17. "
            "Fix: rebuild it against glibc 2.17 or older (e.g. in a manylinux2014 container)\n") in proc.stdout


def test_bad_arm64_layer():
    proc = check("--target", "provided.al2", "bad-arm64")
    assert proc.stdout == """\
bad-arm64: arm64/lib/libthreads.so (ELF64 arm64)
  glibc-too-new: needs GLIBC_2.34 (for pthread_create) but provided.al2 has glibc 2.26. Fix: rebuild it against glibc 2.26 or older (e.g. in a manylinux2014 container or the public.ecr.aws/lambda/provided:al2 image)
bad-arm64: arm64/lib/libx86.so (ELF64 x86_64)
  wrong-arch: built for x86_64, but files under arm64/ are loaded on arm64. Fix: rebuild it for arm64 (aarch64-linux-gnu-gcc, or on an arm64 machine)
bad-arm64: arm64/python/lib/python3.9/site-packages/_x.cpython-39-x86_64-linux-gnu.so (ELF64 arm64)
  wrong-platform: file name is tagged for x86_64-linux-gnu, so Python on arm64 will not import it (it looks for aarch64-linux-gnu). Fix: pip install --platform manylinux2014_aarch64 --python-version 3.9 --only-binary=:all: --target arm64/python/lib/python3.9/site-packages <package>
doctor: 3 problems in 3 files (4 ELF of 4 files checked; target provided.al2, glibc 2.26, arm64, Python 3.9)
"""
    assert proc.returncode == 1


@pytest.mark.parametrize("args,summary", [
    (["clean-x86"], "5 ELF of 7 files checked; target provided.al2023, glibc 2.34, x86_64, Python 3.9"),
    (["--target", "provided.al2", "clean-x86"],
     "5 ELF of 7 files checked; target provided.al2, glibc 2.26, x86_64, Python 3.9"),
    (["clean-x86.zip"], "5 ELF of 7 files checked; target provided.al2023, glibc 2.34, x86_64, Python 3.9"),
    (["clean-dual"], "4 ELF of 5 files checked; target provided.al2023, glibc 2.34, arm64+x86_64, Python 3.9"),
    (["--arch", "arm64", "clean-dual"],
     "2 ELF of 3 files checked; target provided.al2023, glibc 2.34, arm64, Python 3.9"),
    (["fn-arm-bootstrap"], "1 ELF of 2 files checked; target provided.al2023, glibc 2.34, arm64, Python unknown"),
])
def test_clean_paths_exit_0(args, summary):
    proc = check(*args)
    assert proc.stdout == f"doctor: no problems ({summary})\n"
    assert proc.returncode == 0


def test_python_option_makes_a_39_module_wrong():
    proc = check("--python", "3.11", "clean-x86")
    # a module in python3.9/site-packages follows its directory, not --python
    assert proc.returncode == 0
    assert proc.stdout.endswith("x86_64, Python 3.11)\n")


def test_native_file_in_neutral_dir_of_a_dual_arch_layer():
    proc = check("neutral-dual")
    assert proc.stdout == """\
neutral-dual: lib/libonlyx86.so (ELF64 x86_64)
  wrong-arch: built for x86_64, but it sits outside the <arch>/ directories of a layer that serves arm64 and x86_64. Fix: move it under x86_64/ and put an arm64 build under arm64/
doctor: 1 problem in 1 file (3 ELF of 3 files checked; target provided.al2023, glibc 2.34, arm64+x86_64, Python unknown)
"""
    assert proc.returncode == 1


def test_bootstrap_for_the_wrong_arch_in_a_function_zip():
    proc = check("--arch", "x86_64", "fn-arm-bootstrap.zip")
    assert proc.stdout == """\
fn-arm-bootstrap.zip: bootstrap (ELF64 arm64)
  wrong-arch: bootstrap is built for arm64 but the function runs on x86_64. Fix: build it for x86_64 (make ARCH=x86_64)
doctor: 1 problem in 1 file (1 ELF of 2 files checked; target provided.al2023, glibc 2.34, x86_64, Python unknown)
"""
    assert proc.returncode == 1


def test_bootstrap_linked_on_bookworm_is_too_new_for_al2():
    proc = check("--target", "provided.al2", "fn-x86-bootstrap")
    assert ("fn-x86-bootstrap: bootstrap (ELF64 x86_64)\n"
            "  glibc-too-new: needs GLIBC_2.34 (for __libc_start_main) but provided.al2 has glibc 2.26.") in proc.stdout
    assert proc.returncode == 1


def test_libstdcxx_newer_than_the_targets():
    proc = check("--target", "provided.al2", "cxx-x86")
    assert proc.stdout == """\
cxx-x86: x86_64/lib/libusescxx.so (ELF64 x86_64)
  glibcxx-too-new: needs GLIBCXX_3.4.30 but the libstdc++ of provided.al2 stops at GLIBCXX_3.4.24. Fix: link it with -static-libstdc++, or ship a newer libstdc++.so.6 in lib/
doctor: 1 problem in 1 file (1 ELF of 1 files checked; target provided.al2, glibc 2.26, x86_64, Python unknown)
"""
    assert proc.returncode == 1
    # a layer that ships its own libstdc++.so.6 is loaded with that one
    assert check("--target", "provided.al2", "cxx-shipped").returncode == 0


def test_function_and_layer_checked_together_resolve_across_mounts(tmp_path):
    """A function's library may need one that a layer ships in /opt/x86_64/lib."""
    fn = tmp_path / "fn"
    layer = tmp_path / "layer" / "x86_64" / "lib"
    (fn / "lib").mkdir(parents=True)
    layer.mkdir(parents=True)
    (fn / "handler.py").write_text("def handler(e, c): return e\n")
    shutil.copy(os.path.join(FX, "bad-x86/x86_64/lib/libusesfoo.so"), fn / "lib/libusesfoo.so")
    alone = check(str(fn))
    assert "missing-dependency: needs libfoo.so.1" in alone.stdout
    shutil.copy(os.path.join(FX, "obj/libfoo.so.1.0.x86_64"), layer / "libfoo.so.1")
    both = check(str(fn), str(tmp_path / "layer"))
    assert both.returncode == 0, both.stdout


def test_json_document():
    proc = check("--json", "--target", "provided.al2", "bad-x86.zip")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["target"] == {"arch": ["x86_64"], "name": "provided.al2", "glibc": "2.26",
                             "glibcxx": "3.4.24", "arch_source": "the layer's <arch>/ directories",
                             "python": "3.9", "python_source": "python/lib/python3.9"}
    assert doc["paths"] == [{"path": "bad-x86.zip", "kind": "layer", "format": "zip"}]
    assert doc["summary"] == {"files_checked": 9, "elf_files": 6, "problems": 7, "files_with_problems": 7}
    assert doc["exit_code"] == 1
    kinds = {f["file"]: [p["kind"] for p in f["problems"]] for f in doc["files"]}
    assert kinds == {
        "lib/libcut.so": ["malformed"],
        "lib/libhalf.so": ["malformed"],
        "lib/liblfs.so.1": ["not-elf"],
        "python/lib/python3.9/site-packages/speedy/_speedups.cpython-311-x86_64-linux-gnu.so": ["wrong-python"],
        "x86_64/lib/libarm.so": ["wrong-arch"],
        "x86_64/lib/libthreads.so": ["glibc-too-new"],
        "x86_64/lib/libusesfoo.so": ["missing-dependency"],
    }
    arm = next(f for f in doc["files"] if f["file"] == "x86_64/lib/libarm.so")
    assert arm["elf"] == "ELF64 arm64"
    assert arm["problems"][0]["fix"] == "rebuild it for x86_64 (x86_64-linux-gnu-gcc, or on an x86_64 machine)"


def test_json_clean():
    doc = json.loads(check("--json", "clean-x86").stdout)
    assert doc["files"] == [] and doc["exit_code"] == 0 and doc["summary"]["problems"] == 0


@pytest.mark.parametrize("args,message", [
    ([], "no PATH to check"),
    (["--arch", "sparc", "x"], "--arch must be x86_64 or arm64, not 'sparc'"),
    (["--python", "three", "x"], "--python must look like 3.11, not 'three'"),
    (["--glibc", "2", "x"], "--glibc must look like 2.26, not '2'"),
    (["--target", "provided.al2", "--glibc", "2.17", "x"], "give --target or --glibc, not both"),
    (["--arch"], "--arch needs a value"),
    (["--frobnicate", "x"], "unknown option '--frobnicate'"),
    (["--target", "provided.al1", "clean-x86"], "unknown target 'provided.al1' (known: provided.al2, provided.al2023)"),
    (["does-not-exist"], "cannot read does-not-exist: No such file or directory"),
    (["broken.zip"], "cannot read broken.zip as a zip file: Not a zip archive"),
])
def test_usage_and_unreadable_input_exit_2(args, message):
    proc = check(*args)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"bootstrap --check: {message}"
    assert proc.stdout == ""


def test_help():
    proc = check("--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: bootstrap --check")


def test_hostile_files_never_crash(tmp_path):
    """Random bytes behind the ELF magic, and mutated real libraries."""
    layer = tmp_path / "layer" / "x86_64" / "lib"
    layer.mkdir(parents=True)
    rnd = random.Random(4)
    real = open(os.path.join(FX, "obj/threads.x86_64.so"), "rb").read()
    for i in range(40):
        junk = b"\x7fELF" + bytes([rnd.choice([1, 2]), rnd.choice([1, 2]), 1]) + rnd.randbytes(rnd.randrange(0, 3000))
        (layer / f"libjunk{i}.so").write_bytes(junk)
        mutated = bytearray(real)
        for _ in range(rnd.randrange(1, 30)):
            mutated[rnd.randrange(16, len(mutated))] = rnd.randrange(256)
        (layer / f"libmut{i}.so").write_bytes(bytes(mutated))
    proc = check(str(tmp_path / "layer"))
    assert proc.returncode in (0, 1)
    assert proc.stdout.splitlines()[-1].startswith("doctor: ")
    assert "(80 ELF of 80 files checked;" in proc.stdout


def test_symlink_loops_end(tmp_path):
    lib = tmp_path / "layer" / "x86_64" / "lib"
    lib.mkdir(parents=True)
    shutil.copy(os.path.join(FX, "bad-x86/x86_64/lib/libusesfoo.so"), lib / "libusesfoo.so")
    os.symlink("libfoo.so.1", lib / "libfoo.so.1")
    os.symlink("../lib/loop", lib / "loop")
    proc = check(str(tmp_path / "layer"))
    assert proc.returncode == 1
    assert "missing-dependency: needs libfoo.so.1" in proc.stdout


def test_empty_directory(tmp_path):
    proc = check(str(tmp_path))
    assert proc.stdout == ("doctor: no problems (0 ELF of 0 files checked; target provided.al2023, "
                           "glibc 2.34, x86_64, Python unknown)\n")
    assert proc.returncode == 0


# ------------------------------------------------------ doctor_explain_file

def explain(name, arch="x86_64", python="3.9", env=None):
    proc = run("--explain", f"explain/{name}", arch, python, env=env)
    return proc.returncode, proc.stdout.rstrip("\n")


def test_explain_wrong_arch():
    assert explain("_mysql.so", "arm64") == (1, "explain/_mysql.so is built for x86_64 but this function runs on arm64")


def test_explain_wrong_python():
    assert explain("_fast.cpython-311-x86_64-linux-gnu.so") == (
        1, "explain/_fast.cpython-311-x86_64-linux-gnu.so is an extension module for Python 3.11 "
           "but this function runs Python 3.9")


def test_explain_glibc_newer_than_this_system():
    libc = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
    assert explain("libusesfuture.so") == (
        1, f"explain/libusesfuture.so needs GLIBC_2.99 (for future_call) but this system has glibc {libc}")


def test_explain_missing_dependency():
    assert explain("libusesfoo.so") == (
        1, "explain/libusesfoo.so needs libfoo.so.1, which is not on the library search path")
    env = dict(ENV, LD_LIBRARY_PATH="explain/armlib")
    assert explain("libusesfoo.so", env=env) == (
        1, "explain/libusesfoo.so needs libfoo.so.1, which is not on the library search path "
           "(explain/armlib/libfoo.so.1 is built for arm64)")


def test_explain_follows_a_dependency_one_level_down():
    libc = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
    env = dict(ENV, LD_LIBRARY_PATH="explain")
    assert explain("chain/libchain.so", env=env) == (
        1, "explain/chain/libchain.so needs libusesfuture.so, and explain/libusesfuture.so needs "
           f"GLIBC_2.99 (for future_call) but this system has glibc {libc}")
    assert explain("chain/libchain.so") == (
        1, "explain/chain/libchain.so needs libusesfuture.so, which is not on the library search path")


def test_explain_malformed():
    assert explain("libhalf.so") == (
        1, "explain/libhalf.so is not a valid ELF file: segment 2 extends past the end of the file (truncated?)")


def test_explain_finds_nothing_on_a_good_file():
    assert explain("_mysql.so", "x86_64", "3.9") == (0, "")
    assert explain("_fast.cpython-311-x86_64-linux-gnu.so", "x86_64", "3.11") == (0, "")
    assert explain("_fast.cpython-311-x86_64-linux-gnu.so", "", "") == (0, "")
    assert explain("no-such-file.so") == (0, "")


def test_py36_x86_module_in_a_39_arm64_layer(tmp_path):
    """The issue's example: *.cpython-36m-x86_64-linux-gnu.so in a 3.9 arm64 layer."""
    sp = tmp_path / "layer/arm64/python/lib/python3.9/site-packages"
    (sp / "MySQLdb").mkdir(parents=True)
    (sp / "mysqlclient-2.1.1.dist-info").mkdir()
    (sp / "mysqlclient-2.1.1.dist-info/RECORD").write_text(
        "MySQLdb/__init__.py,,\nMySQLdb/_mysql.cpython-36m-x86_64-linux-gnu.so,,\n")
    shutil.copy(os.path.join(FX, "obj/plain.x86_64.so"), sp / "MySQLdb/_mysql.cpython-36m-x86_64-linux-gnu.so")
    proc = check("layer", cwd=tmp_path)
    fix = ("pip install --platform manylinux2014_aarch64 --python-version 3.9 --only-binary=:all: "
           "--target arm64/python/lib/python3.9/site-packages mysqlclient")
    assert proc.stdout == f"""\
layer: arm64/python/lib/python3.9/site-packages/MySQLdb/_mysql.cpython-36m-x86_64-linux-gnu.so (ELF64 x86_64)
  wrong-arch: built for x86_64, but files under arm64/ are loaded on arm64. Fix: {fix}
  wrong-python: extension module for CPython 3.6, but it sits in the site-packages of Python 3.9. Fix: {fix}
doctor: 2 problems in 1 file (1 ELF of 2 files checked; target provided.al2023, glibc 2.34, arm64, Python 3.9)
"""
    assert proc.returncode == 1


# ------------------------------------- wheels' bundled libraries (<pkg>.libs)

WHEEL_EXT = "x86_64/python/pkg/_ext.cpython-39-x86_64-linux-gnu.so"
WHEEL_LAYERS = ["wheel-rpath", "wheel-runpath", "wheel-runpath-all", "wheel-own-runpath",
                "wheel-nolibs", "wheel-incomplete"]


@pytest.mark.parametrize("path", ["wheel-rpath", "wheel-rpath.zip", "wheel-runpath-all"])
def test_auditwheel_libs_resolve_through_the_extension_module(path):
    """pkg.libs/libwa needs libwb with no RPATH of its own: the extension's DT_RPATH
    (or, under a DT_RUNPATH, the extension needing them all itself) serves it."""
    proc = check(path)
    assert proc.stdout == ("doctor: no problems (4 ELF of 4 files checked; target provided.al2023, "
                           "glibc 2.34, x86_64, Python unknown)\n")
    assert proc.returncode == 0


@pytest.mark.parametrize("layer", WHEEL_LAYERS)
def test_doctor_agrees_with_the_real_loader(layer):
    """What the doctor says of each layout is what glibc does when the module is loaded."""
    ext = os.path.join(FX, layer, WHEEL_EXT)
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    loads = subprocess.run(["/usr/bin/python3.11", "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", ext],
                           env=env, capture_output=True, text=True, timeout=60)
    clean = check(layer).returncode == 0
    assert clean == (loads.returncode == 0), (layer, loads.stderr)
    assert clean == (layer in ("wheel-rpath", "wheel-runpath-all"))


def test_a_runpath_serves_only_its_own_file():
    """Under a DT_RUNPATH the extension's path does not serve libwa's own needs."""
    proc = check("wheel-runpath")
    assert proc.stdout == """\
wheel-runpath: x86_64/python/pkg.libs/libwa-1a1a1a1a.so.1 (ELF64 x86_64)
  missing-dependency: needs libwb-2b2b2b2b.so.1, which is neither on the search path (x86_64/lib, lib, x86_64/runtime/lib, the function's lib) nor in provided.al2023. Fix: add libwb-2b2b2b2b.so.1 built for x86_64 to x86_64/lib/ of a layer (or lib/ of the function)
wheel-runpath: x86_64/python/pkg.libs/libwb-2b2b2b2b.so.1 (ELF64 x86_64)
  missing-dependency: needs libwc-3c3c3c3c.so.1, which is neither on the search path (x86_64/lib, lib, x86_64/runtime/lib, the function's lib) nor in provided.al2023. Fix: add libwc-3c3c3c3c.so.1 built for x86_64 to x86_64/lib/ of a layer (or lib/ of the function)
doctor: 2 problems in 2 files (4 ELF of 4 files checked; target provided.al2023, glibc 2.34, x86_64, Python unknown)
"""
    assert proc.returncode == 1


def test_a_library_with_its_own_runpath_does_not_inherit():
    proc = check("wheel-own-runpath")
    assert proc.returncode == 1
    assert ("wheel-own-runpath: x86_64/python/pkg.libs/libwa-1a1a1a1a.so.1 (ELF64 x86_64)\n"
            "  missing-dependency: needs libwb-2b2b2b2b.so.1, which is neither in its RUNPATH (/nonexistent) "
            "nor on the search path") in proc.stdout


def test_the_rpath_target_missing_is_a_finding():
    proc = check("wheel-nolibs")
    assert proc.stdout == """\
wheel-nolibs: x86_64/python/pkg/_ext.cpython-39-x86_64-linux-gnu.so (ELF64 x86_64)
  missing-dependency: needs libwa-1a1a1a1a.so.1, which is neither in its RPATH ($ORIGIN/../pkg.libs = /opt/x86_64/python/pkg.libs) nor on the search path (x86_64/lib, lib, x86_64/runtime/lib, the function's lib) nor in provided.al2023. Fix: install the package whole, so libwa-1a1a1a1a.so.1 is where its RPATH points, or add libwa-1a1a1a1a.so.1 built for x86_64 to x86_64/lib/ of a layer
doctor: 1 problem in 1 file (1 ELF of 1 files checked; target provided.al2023, glibc 2.34, x86_64, Python unknown)
"""
    assert proc.returncode == 1


def test_a_file_missing_from_the_libs_dir_is_a_finding():
    proc = check("--json", "wheel-incomplete")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert [(f["file"], [p["message"].split(",")[0] for p in f["problems"]]) for f in doc["files"]] == [
        ("x86_64/python/pkg.libs/libwb-2b2b2b2b.so.1", ["needs libwc-3c3c3c3c.so.1"])]


def test_the_libs_dir_resolves_for_a_function_package_too(tmp_path):
    """The same wheel installed into a function zip's root (pip install -t .)."""
    fn = tmp_path / "fn"
    shutil.copytree(os.path.join(FX, "wheel-rpath/x86_64/python"), fn)
    (fn / "app.py").write_text("import pkg\n")
    proc = check(str(fn))
    assert proc.returncode == 0, proc.stdout


def test_explain_follows_the_loaders_rpath():
    assert explain_path(f"wheel-rpath/{WHEEL_EXT}") == (0, "")
    assert explain_path(f"wheel-runpath-all/{WHEEL_EXT}") == (0, "")
    assert explain_path(f"wheel-runpath/{WHEEL_EXT}") == (
        1, f"wheel-runpath/{WHEEL_EXT} needs libwa-1a1a1a1a.so.1, and "
           f"{FX}/wheel-runpath/x86_64/python/pkg/../pkg.libs/libwa-1a1a1a1a.so.1 needs libwb-2b2b2b2b.so.1, "
           "which is not on the library search path")


def explain_path(path, arch="x86_64", python="3.9"):
    proc = run("--explain", path, arch, python)
    return proc.returncode, proc.stdout.rstrip("\n")
