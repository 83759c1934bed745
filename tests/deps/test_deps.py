"""A dependency layer built by make deps-layer from tests/deps/requirements.txt, for one
cell (Python, CPU): its record, the handler that imports and exercises every package
under the bootstrap with the runtime zip from make dist, and the doctor refusing the
layer for the wrong CPU or Python before anything is deployed."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile

import pytest

from conftest import CELL_ARCH, CELL_PYTHON, DEPS_ZIP, RUNTIME_ZIP, check, deps_layer, require_cell

require_cell()

MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}[CELL_ARCH]
OTHER_ARCH = {"x86_64": "arm64", "arm64": "x86_64"}[CELL_ARCH]
OTHER_PYTHON = "3.13" if CELL_PYTHON != "3.13" else "3.9"
REQUESTED = ["numpy", "orjson", "pydantic", "cryptography", "lxml", "Pillow", "psycopg2-binary", "mysqlclient"]

# The handler's answers (tests/deps/functions/exercise.py): the same on every CPU and Python.
EXPECTED = {
    "numpy": {"sum": 66.0, "matmul": [14.0, 38.0, 62.0], "inv00": 0.6},
    "orjson": {"dumps": '{"a":[1,2.5,null,true],"b":"é"}', "loads": {"x": [1, 2]}},
    "pydantic": {"dump": {"name": "pen", "price": 1.5, "tags": ["a"]}, "error": "float_parsing"},
    "cryptography": {"sha256": hashlib.sha256(b"lambda").hexdigest(),
                     "aesgcm": "eb5e84c274c05d9495f07d96898b0b24fc7dd1f75a92", "fernet": "round trip"},
    "lxml": {"xpath": ["b"], "xslt": '<?xml version="1.0"?>\n<o>2</o>'},
    "Pillow": {"PNG": [32, 16], "JPEG": [32, 16], "WEBP": [32, 16], "TIFF": [32, 16], "pixel": [255, 0, 0],
               "webp": True},
    "psycopg2-binary": {"libpq": True, "quote": "'it''s'", "error": "connection refused"},
    "mysqlclient": {"client": "3", "escape": "a\\'b", "error": 2002},  # 2002: CR_CONNECTION_ERROR
}


def record():
    with zipfile.ZipFile(DEPS_ZIP) as z:
        return json.loads(z.read(f"{CELL_ARCH}/deps-layer.json"))


def test_the_record_names_every_package_and_how_it_was_obtained():
    doc = record()
    assert (doc["python"], doc["arch"], doc["target"]) == (CELL_PYTHON, CELL_ARCH, "provided.al2023")
    by_name = {p["name"].lower().replace("_", "-"): p for p in doc["packages"]}
    for name in REQUESTED + ["pydantic-core", "cffi"]:
        assert name.lower() in by_name, name
    nodot = CELL_PYTHON.replace(".", "")
    for p in doc["packages"]:
        assert re.fullmatch(r"[0-9a-f]{64}", p["sha256"]), p
        assert p["version"] and p["artifact"].lower().startswith(p["name"].lower().replace("-", "_")[:4]), p
        if p["name"] == "mysqlclient":
            assert p["obtained"] == "built from sdist" and p["artifact"].endswith(".tar.gz"), p
            continue
        py, abi, plats = p["obtained"].removeprefix("wheel ").split("-")
        assert py in (f"cp{nodot}", "py3", "py2.py3") or (abi == "abi3" and py.startswith("cp3")), p
        assert abi in (f"cp{nodot}", "abi3", "none"), p
        for plat in plats.split("."):
            m = re.fullmatch(r"manylinux_2_(\d+)_(\w+)|manylinux(?:1|2010|2014)_(\w+)|(any)", plat)
            assert m, p
            assert (m.group(2) or m.group(3) or MACHINE) == MACHINE, p  # the cell's CPU (or any)
            assert int(m.group(1) or 0) <= 34, p  # al2023's glibc


def test_every_elf_file_is_for_the_cell_and_native_libraries_are_in_arch_lib():
    elf = {"x86_64": 62, "arm64": 183}[CELL_ARCH]
    with zipfile.ZipFile(DEPS_ZIP) as z:
        names = z.namelist()
        assert all(n.startswith(f"{CELL_ARCH}/") for n in names)
        assert f"{CELL_ARCH}/lib/libmariadb.so.3" in names
        for n in names:
            head = z.open(n).read(20)
            if head[:4] == b"\x7fELF":
                assert int.from_bytes(head[18:20], "little") == elf, n


def test_the_handler_exercises_every_package(layer_root, function):
    f = function(layer_root, "exercise.handler")
    status, body = f.invoke({"packages": REQUESTED})
    assert status == 200, (body, f.output())
    out = json.loads(body)
    assert out["errors"] == {}, f.output()
    assert (out["python"], out["machine"]) == (CELL_PYTHON, MACHINE)
    assert out["answers"] == EXPECTED


def test_the_doctor_refuses_a_layer_built_for_the_other_cpu(tmp_path):
    """What `pip install -t <arch>/python` on a laptop of the other CPU gives: the same
    packages, under this CPU's directory."""
    wrong = tmp_path / "wrong-arch.zip"
    with zipfile.ZipFile(DEPS_ZIP) as src, zipfile.ZipFile(wrong, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            info.filename = OTHER_ARCH + info.filename[len(CELL_ARCH):]
            dst.writestr(info, data)
    proc = check("--target", "provided.al2023", "--arch", OTHER_ARCH, "--python", CELL_PYTHON, str(wrong))
    assert proc.returncode == 1, proc.stdout
    assert (f"wrong-arch: built for {CELL_ARCH}, but files under {OTHER_ARCH}/ are loaded on {OTHER_ARCH}"
            in proc.stdout), proc.stdout
    assert f"{OTHER_ARCH}/python/numpy/" in proc.stdout and f"{OTHER_ARCH}/lib/libmariadb.so.3" in proc.stdout


def test_the_doctor_refuses_a_layer_built_for_another_python():
    other_runtime = RUNTIME_ZIP.replace(f"py{CELL_PYTHON}-", f"py{OTHER_PYTHON}-")
    if os.path.exists(other_runtime):  # with that Python's runtime, as it would be deployed
        proc = check("--target", "provided.al2023", other_runtime, DEPS_ZIP)
    else:  # the layer alone, told which Python the function runs
        proc = check("--target", "provided.al2023", "--python", OTHER_PYTHON, DEPS_ZIP)
    assert proc.returncode == 1, proc.stdout
    nodot = CELL_PYTHON.replace(".", "")
    assert re.search(rf"{CELL_ARCH}/python/\S+\.cpython-{nodot}-{MACHINE}-linux-gnu\.so .*\n"
                     rf"  wrong-python: extension module for CPython {CELL_PYTHON}, but the layer runs "
                     rf"Python {OTHER_PYTHON}\.", proc.stdout), proc.stdout


def test_the_layer_passes_the_doctor_with_its_runtime():
    proc = check("--target", "provided.al2023", RUNTIME_ZIP, DEPS_ZIP)
    assert proc.returncode == 0, proc.stdout


# ------------------------------------------------------------- deps-layer's own contract

def test_markers_are_the_targets(tmp_path):
    """pip evaluates markers for the target's Python and CPU, not for the machine's."""
    req = tmp_path / "req.txt"
    req.write_text('six; python_version < "3.11"\n'
                   'idna; python_version >= "3.11"\n'
                   'packaging; platform_machine == "aarch64"\n'
                   'pyparsing; platform_machine == "x86_64"\n')
    out = tmp_path / "markers.zip"
    proc = deps_layer(REQUIREMENTS=req, PYTHON=CELL_PYTHON, ARCH=CELL_ARCH, TARGET="provided.al2023", OUT=out,
                      RUNTIME=RUNTIME_ZIP, BOOTSTRAP=os.environ["HOST_BOOTSTRAP"], WORK=tmp_path / "work")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as z:
        names = {p["name"] for p in json.loads(z.read(f"{CELL_ARCH}/deps-layer.json"))["packages"]}
    old = tuple(map(int, CELL_PYTHON.split("."))) < (3, 11)
    assert names == {"six" if old else "idna", "packaging" if CELL_ARCH == "arm64" else "pyparsing"}


def test_a_package_that_cannot_be_had_names_itself_the_tags_and_the_compiler_output(tmp_path):
    """No wheel, and its sdist does not compile: the error says which, for which tags, with
    the compiler's words; OUT, which existed before, is gone."""
    sdists = tmp_path / "sdists"
    src = tmp_path / "broken_ext-0.1"
    (src / "broken").mkdir(parents=True)
    (src / "broken" / "__init__.py").write_text("")
    (src / "broken" / "fast.c").write_text('#error "broken_ext cannot be compiled here"\n')
    (src / "setup.py").write_text(
        "from setuptools import setup, Extension\n"
        "setup(name='broken-ext', version='0.1', packages=['broken'],\n"
        "      ext_modules=[Extension('broken.fast', ['broken/fast.c'])])\n")
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: broken-ext\nVersion: 0.1\n")
    sdists.mkdir()
    shutil.make_archive(str(sdists / "broken_ext-0.1"), "gztar", tmp_path, "broken_ext-0.1")
    req = tmp_path / "req.txt"
    req.write_text(f"--find-links {sdists}\nbroken-ext==0.1\n")
    out = tmp_path / "layer.zip"
    out.write_bytes(b"an older layer")
    proc = deps_layer(REQUIREMENTS=req, PYTHON=CELL_PYTHON, ARCH=CELL_ARCH, TARGET="provided.al2", OUT=out,
                      RUNTIME=RUNTIME_ZIP, BOOTSTRAP=os.environ["HOST_BOOTSTRAP"], WORK=tmp_path / "work")
    assert proc.returncode == 1
    nodot = CELL_PYTHON.replace(".", "")
    assert proc.stderr.startswith(
        f"deps-layer: error: broken-ext: no wheel for cp{nodot}-{{cp{nodot},abi3,none}}-"
        f"{{manylinux_2_26_{MACHINE} ... "), proc.stderr
    assert "building it from its sdist failed" in proc.stderr
    assert 'error: "broken_ext cannot be compiled here"' in proc.stderr, proc.stderr
    assert not out.exists() and not list(tmp_path.glob("layer.zip.tmp*"))


def test_bad_arguments_are_named(tmp_path):
    proc = deps_layer(REQUIREMENTS=tmp_path / "none.txt", PYTHON="3.9", ARCH="arm64", TARGET="provided.al2",
                      OUT=tmp_path / "x.zip")
    assert proc.returncode == 1 and proc.stderr == f"deps-layer: error: no requirements file {tmp_path}/none.txt\n"
    proc = deps_layer(REQUIREMENTS=tmp_path, PYTHON="2.7", ARCH="arm64", TARGET="provided.al2", OUT="x.zip")
    assert "PYTHON must be a CPython 3.9 or newer like 3.13, not '2.7'" in proc.stderr
    proc = deps_layer(REQUIREMENTS=tmp_path, PYTHON="3.9", ARCH="sparc", TARGET="provided.al2", OUT="x.zip")
    assert "ARCH must be x86_64 or arm64, not 'sparc'" in proc.stderr
    proc = deps_layer(PYTHON="3.9")
    assert "missing REQUIREMENTS=, ARCH=, TARGET=, OUT=" in proc.stderr
