"""Per-arch layers (issue 3): layer roots composed from the cell's runtime layer and the
native-extension fixture, then served by the real bootstrap. Runs in the layer cells only
(mk/integration.mk leaves it out of the pyenv and host cells, which have no layer)."""

import json
import os

import pytest

from conftest import EXPECT_ARCH, EXPECT_PYTHON, FUNCTIONS, TIME_SCALE, run_bootstrap

RUNTIME_LAYER = os.environ["BOOTSTRAP_LAYER_ROOT"]
NATIVE_EXT = os.environ["NATIVE_EXT_ROOT"]
ARCH = EXPECT_ARCH
OTHER_ARCH = {"x86_64": "arm64", "arm64": "x86_64"}[ARCH]


def link_tree(src, dst):
    """dst/ gets a symlink for every entry of src/ (so files can be added to dst alone)."""
    os.makedirs(dst, exist_ok=True)
    if os.path.isdir(src):
        for name in os.listdir(src):
            os.symlink(os.path.join(src, name), os.path.join(dst, name))


def compose_root(tmp_path, lib_from=(), python_from=()):
    """A layer root like Lambda's /opt: the cell's runtime layer plus the given files."""
    root = tmp_path / "opt"
    arch_dir = root / ARCH
    arch_dir.mkdir(parents=True)
    os.symlink(os.path.join(RUNTIME_LAYER, ARCH, "runtime"), arch_dir / "runtime")
    link_tree(os.path.join(RUNTIME_LAYER, ARCH, "lib"), arch_dir / "lib")
    (arch_dir / "python").mkdir()
    for path in lib_from:
        os.symlink(path, arch_dir / "lib" / os.path.basename(path))
    for path in python_from:
        os.symlink(path, arch_dir / "python" / os.path.basename(path))
    return root


def greet_files(arch):
    """(the libraries for <arch>/lib, the extension module for <arch>/python)"""
    return ([os.path.join(NATIVE_EXT, arch, "lib", name) for name in ("libgreet.so.1", "libgreetname.so.1")],
            os.path.join(NATIVE_EXT, arch, "python", "greet.abi3.so"))


def init_error(stub_api, handler, root, env=None):
    """Runs the bootstrap on `root` and returns (exit code, error type header, error document)."""
    proc = run_bootstrap(stub_api.address, handler, env={"BOOTSTRAP_LAYER_ROOT": str(root), **(env or {})})
    proc.communicate(timeout=30 * TIME_SCALE)
    posts = stub_api.wait_posts(1)
    assert posts, "no init error was posted"
    path, headers, body = posts[0]
    assert path == "/2018-06-01/runtime/init/error"
    return proc.returncode, headers["lambda-runtime-function-error-type"], json.loads(body)


def test_native_extension_with_its_library_in_arch_lib(function, tmp_path):
    libs, ext = greet_files(ARCH)
    root = compose_root(tmp_path, lib_from=libs, python_from=[ext])
    f = function("native.handler", env={"BOOTSTRAP_LAYER_ROOT": str(root)})
    r = f.invoke({})
    assert r.status == 200, (r, f.output())
    body = r.json()
    assert body["greeting"] == f"Hello from libgreet on {ARCH}!"
    assert body["module"] == str(root / ARCH / "python" / "greet.abi3.so")
    assert body["ld_library_path"].split(":")[0] == str(root / ARCH / "lib")


def test_missing_native_library_is_explained(stub_api, tmp_path):
    _, ext = greet_files(ARCH)
    root = compose_root(tmp_path, python_from=[ext])  # libgreet.so.1 left out
    code, error_type, doc = init_error(stub_api, "native.handler", root)
    assert code == 1
    assert error_type == "Runtime.ImportModuleError"
    message = doc["errorMessage"]
    assert message.startswith("Unable to import module 'native': libgreet.so.1: cannot open shared object file")
    # the doctor's finding names the file and the library it could not find
    assert message.count("libgreet.so.1") >= 2, message
    assert "greet.abi3.so" in message


def test_wrong_arch_extension_is_explained(stub_api, tmp_path):
    libs, _ = greet_files(ARCH)
    _, wrong_ext = greet_files(OTHER_ARCH)
    root = compose_root(tmp_path, lib_from=libs, python_from=[wrong_ext])
    code, error_type, doc = init_error(stub_api, "native.handler", root)
    assert code == 1
    assert error_type == "Runtime.ImportModuleError"
    assert f"built for {OTHER_ARCH}" in doc["errorMessage"], doc["errorMessage"]
    assert f"runs on {ARCH}" in doc["errorMessage"]


def test_no_layer_for_this_arch(stub_api, tmp_path):
    root = tmp_path / "opt"
    os.makedirs(root / OTHER_ARCH / "lib")
    code, error_type, doc = init_error(stub_api, "echo.handler", root)
    assert code == 1
    assert error_type == "Runtime.LayerNotFound"
    assert doc["errorMessage"] == f"no layer for {ARCH} under {root} (found: {OTHER_ARCH})"


def test_sys_path_order_and_pth_files(function, tmp_path):
    root = compose_root(tmp_path)
    version = EXPECT_PYTHON
    arch_site = root / ARCH / "python" / "lib" / f"python{version}" / "site-packages"
    neutral_site = root / "python" / "lib" / f"python{version}" / "site-packages"
    extra = tmp_path / "from-pth"
    for d in (arch_site, neutral_site, extra):
        d.mkdir(parents=True)
    (arch_site / "extra.pth").write_text(str(extra) + "\n")
    f = function("paths.handler", env={"BOOTSTRAP_LAYER_ROOT": str(root)})
    sys_path = f.invoke({}).json()["sys_path"]
    assert sys_path[:5] == [FUNCTIONS, str(arch_site), str(root / ARCH / "python"), str(neutral_site),
                            str(root / "python")]
    assert str(extra) in sys_path
    stdlib = str(root / ARCH / "runtime" / "lib" / f"python{version}")
    assert sys_path.index(stdlib) > 4


def test_pythonpath_turns_layer_dirs_off(function, tmp_path):
    root = compose_root(tmp_path)
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    f = function("paths.handler", env={"BOOTSTRAP_LAYER_ROOT": str(root), "PYTHONPATH": str(user_dir)})
    sys_path = f.invoke({}).json()["sys_path"]
    assert sys_path[0] == FUNCTIONS
    assert str(user_dir) in sys_path
    assert str(root / ARCH / "python") not in sys_path


def test_environment_gets_the_library_path_and_nothing_else(function, tmp_path):
    root = compose_root(tmp_path)
    f = function("paths.handler", env={"BOOTSTRAP_LAYER_ROOT": str(root), "MY_SETTING": "a=b c",
                                       "LD_LIBRARY_PATH": "/lib64:/usr/lib64"})
    body = f.invoke({}).json()
    assert body["ld_library_path"] == f"{root / ARCH / 'lib'}:/lib64:/usr/lib64"
    assert "MY_SETTING" in body["env_keys"]


# --- the loader (src/loader.c): <arch>/lib in front without restarting the process --------

def loader_function(function, tmp_path, started_path="/lib64:/usr/lib64"):
    libs, ext = greet_files(ARCH)
    root = compose_root(tmp_path, lib_from=libs, python_from=[ext])
    return function("loading.handler", env={"BOOTSTRAP_LAYER_ROOT": str(root), "LD_LIBRARY_PATH": started_path})


def test_arch_lib_comes_before_the_path_the_process_started_with(function, tmp_path):
    # libgreetname.so.1 is also in a directory of the starting LD_LIBRARY_PATH, saying "shadow":
    # the layer's copy must win for the extension's dependency chain and for a bare name.
    shadow = os.path.join(NATIVE_EXT, ARCH, "shadow")
    f = loader_function(function, tmp_path, started_path=f"{shadow}:/lib64")
    r = f.invoke({})
    assert r.status == 200, (r, f.output())
    assert r.json() == {"greeting": f"Hello from libgreet on {ARCH}!", "name_from": ARCH}


def test_bare_name_is_found_in_arch_lib(function, tmp_path):
    f = loader_function(function, tmp_path)
    r = f.invoke({"soname": "libgreetname.so.1"})
    assert r.status == 200, (r, f.output())
    assert r.json() == {"arch": ARCH}


def test_bare_name_found_nowhere_fails_as_usual(function, tmp_path):
    f = loader_function(function, tmp_path)
    r = f.invoke({"soname": "libgreetmissing.so.1"})
    body = r.json()
    assert body["errorType"] == "OSError"
    assert body["errorMessage"].startswith("libgreetmissing.so.1: cannot open shared object file"), body


def test_a_library_keeps_its_runpath_for_its_own_dlopen(function, tmp_path):
    # libgreetloader.so dlopen()s "libgreetplugin.so" found only through its RUNPATH
    # ($ORIGIN/plugins): the C library must still see it, not the bootstrap, as the caller.
    f = loader_function(function, tmp_path)
    r = f.invoke({"library": os.path.join(NATIVE_EXT, ARCH, "runpath", "libgreetloader.so")})
    assert r.status == 200, (r, f.output())
    assert r.json() == {"plugin": f"plugin on {ARCH}"}


# A maps file as /proc/self/maps shows it while another thread is inside the loader (Python
# 3.9's thread exit dlopen()s libgcc_s): the loader's index is mapped then, and is not a
# library. Real shared objects outside the layer roots are reported, deleted ones too.
FAKE_MAPS = """\
7f0000000000-7f0000001000 r--p 00000000 fe:00 1 /etc/ld.so.cache
7f0000001000-7f0000002000 r-xp 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libz.so.1.2.13
7f0000002000-7f0000003000 r-xp 00000000 fe:00 3 {root}/x86_64/lib/libssl.so.3
7f0000003000-7f0000004000 r-xp 00000000 fe:00 4 /lib/x86_64-linux-gnu/libc.so.6
7f0000004000-7f0000005000 r-xp 00000000 fe:00 5 /tmp/gone/_ext.cpython-39-x86_64-linux-gnu.so (deleted)
7f0000005000-7f0000006000 rw-p 00000000 00:00 0 [heap]
7f0000006000-7f0000007000 r--p 00000000 fe:00 6 /usr/share/locale/locale.alias
"""


def test_check_layer_reports_libraries_outside_the_roots_not_the_loader_cache(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "check_layer", os.path.join(os.path.dirname(__file__), "..", "..", "layers", "check_layer.py"))
    check_layer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_layer)
    root = str(tmp_path / "opt")
    maps = tmp_path / "maps"
    maps.write_text(FAKE_MAPS.format(root=root))
    assert check_layer.mapped_outside([root], maps=str(maps)) == [
        "/tmp/gone/_ext.cpython-39-x86_64-linux-gnu.so", "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"]
