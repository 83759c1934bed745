"""Building a package from its sdist for the layer's target (layers/deps-layer).

A package with no wheel for the target is built into one, for the target's CPU and
Python, with the same compiler and glibc floor as the runtime zips:
  1. its native libraries (NATIVE below) are built by layers/native/<lib>.sh at glibc
     2.26 with build/zig/bin/<arch>-cc (cached), linked against the runtime zip's
     <arch>/lib, and go into the layer's <arch>/lib;
  2. pip downloads the sdist (no binary, no dependencies);
  3. its build requirements (pyproject.toml's [build-system]) are installed for an
     interpreter of the target's Python version running on this machine
     (layers/deps-python.sh: the from-source runtime's, or Debian's);
  4. the build backend runs on that interpreter with the target's sysconfig data,
     rewritten to compile with zig for the target CPU (CC, LDSHARED, CFLAGS, ...) and
     _PYTHON_HOST_PLATFORM set, so EXT_SUFFIX, the wheel's tags and the code are the
     target's: cp3X-cp3X-linux_<machine>;
  5. the wheel goes to the local wheelhouse, where the next pip run finds it.
build() raises SdistError with the package, the step and the tail of its output.
"""
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile

import deps_pip

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

Built = collections.namedtuple("Built", "name version sdist_name sdist_sha256 wheel")

# Native libraries of the packages known to need one that the runtime does not have:
# project name -> layers/native/<lib>.sh scripts.
NATIVE = {
    "mysqlclient": ["libmariadb"],
}
# pyproject.toml without [build-system] (PEP 517's default)
DEFAULT_REQUIRES = ["setuptools>=40.8.0"]
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"

# Runs a PEP 517 backend: `hook.py requires|build BACKEND OUTDIR`, in the sdist's directory.
HOOK = r'''
import importlib, json, sys
what, spec, out = sys.argv[1:4]
module, _, attr = spec.partition(":")
backend = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    backend = getattr(backend, part)
if what == "requires":
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    with open(out, "w") as f:
        json.dump(list(hook({}) if hook else []), f)
else:
    print("built", backend.build_wheel(out, {}))
'''


class SdistError(Exception):
    pass


def run(cmd, log, what, env=None, cwd=None):
    deps_pip.run_logged(cmd, log, what, env=env, cwd=cwd, error=SdistError)


def toolchain(layer):
    """HOST_PYTHON, INCLUDE (list), SYSCONFIGDATA for the target (layers/deps-python.sh)."""
    log = os.path.join(layer.work, "toolchain.log")
    proc = subprocess.run(["bash", os.path.join(HERE, "deps-python.sh"), layer.python, layer.arch],
                          stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    if proc.returncode:
        raise SdistError("no Python toolchain for the target: " + deps_pip.log_tail(log, 5).strip())
    tc = {"INCLUDE": []}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "INCLUDE":
            tc["INCLUDE"].append(value)
        else:
            tc[key] = value
    return tc


def zig_bin():
    log_env = subprocess.run(["bash", os.path.join(ROOT, "scripts", "zig.sh")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    if log_env.returncode:
        raise SdistError("the zig toolchain (scripts/zig.sh) failed: " + log_env.stderr[-2000:])
    return os.path.join(log_env.stdout.strip(), "bin")


def runtime_libs(layer):
    """The runtime zip's <arch>/lib, unpacked once: what native libraries link against."""
    dest = os.path.join(layer.work, "runtime-lib")
    if not os.path.isdir(dest):
        os.makedirs(dest)
        prefix = f"{layer.arch}/lib/"
        with zipfile.ZipFile(layer.args["RUNTIME"]) as z:
            for name in z.namelist():
                if name.startswith(prefix) and "/" not in name[len(prefix):] and not name.endswith("/"):
                    with open(os.path.join(dest, name[len(prefix):]), "wb") as f:
                        f.write(z.read(name))
    return dest


def native_libs(layer, name, log):
    """Builds the package's native libraries; returns their prefixes, and puts their shared
    libraries (under their sonames) in the layer's <arch>/lib."""
    prefixes = []
    for lib in NATIVE.get(name, []):
        script = os.path.join(HERE, "native", f"{lib}.sh")
        with open(log, "a") as out:
            proc = subprocess.run(["bash", script, layer.arch, runtime_libs(layer)], stdout=subprocess.PIPE,
                                  stderr=out, text=True)
        if proc.returncode:
            raise SdistError(f"building its native library {lib} failed; the end of the output:\n"
                             + deps_pip.log_tail(log))
        prefix = proc.stdout.strip().splitlines()[-1]
        prefixes.append(prefix)
        for so in glob.glob(os.path.join(prefix, "lib", "*.so.*")):
            if not os.path.islink(so):
                shutil.copy2(so, os.path.join(layer.lib, os.path.basename(so)))
    return prefixes


def fetch_sdist(layer, req, env, log):
    dest = os.path.join(layer.work, "sdists")
    os.makedirs(dest, exist_ok=True)
    before = set(os.listdir(dest))
    args = ["download", "--no-deps", "--no-binary=:all:", "--dest", dest, "--python-version", layer.full_version,
            "--implementation", "cp", *deps_pip.index_options(layer.args["REQUIREMENTS"]), req]
    proc = subprocess.run([layer.pip, "-m", "pip", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env)
    with open(log, "a") as out:
        out.write(proc.stdout)
    new = sorted(set(os.listdir(dest)) - before)
    if proc.returncode or len(new) != 1:
        raise SdistError(f"pip could not get its sdist:\n{deps_pip.log_tail(log)}")
    return os.path.join(dest, new[0])


def unpack(sdist, dest):
    if sdist.endswith(".zip"):
        with zipfile.ZipFile(sdist) as z:
            z.extractall(dest)
    else:
        with tarfile.open(sdist) as t:
            # an sdist is untrusted: nothing outside dest, no links, no devices
            for m in t.getmembers():
                path = os.path.normpath(m.name)
                if path.startswith(("/", "..")) or not (m.isfile() or m.isdir()):
                    raise SdistError(f"{os.path.basename(sdist)} holds an unsafe entry: {m.name}")
            t.extractall(dest)
    tops = os.listdir(dest)
    if len(tops) != 1 or not os.path.isdir(os.path.join(dest, tops[0])):
        raise SdistError(f"{os.path.basename(sdist)} does not hold one top-level directory")
    return os.path.join(dest, tops[0])


def build_system(src):
    import tomllib
    path = os.path.join(src, "pyproject.toml")
    if not os.path.exists(path):
        return DEFAULT_REQUIRES, DEFAULT_BACKEND
    with open(path, "rb") as f:
        bs = tomllib.load(f).get("build-system", {})
    return bs.get("requires", DEFAULT_REQUIRES), bs.get("build-backend", DEFAULT_BACKEND)


def install_build_requires(layer, reqs, target_dir, log):
    """Build requirements run on this machine: wheels for its CPU and the target's Python."""
    if not reqs:
        return
    host = os.uname().machine
    host_arch = "arm64" if host == "aarch64" else host
    env = deps_pip.target_environment(layer.python, layer.full_version, host_arch)
    args = ["install", "--target", target_dir, "--only-binary=:all:", "--no-compile", "--upgrade",
            "--no-warn-script-location", *deps_pip.python_tag_args(layer.python, layer.full_version)]
    for p in deps_pip.platform_tags(host_arch, "provided.al2023"):
        args += ["--platform", p]
    rc, out = deps_pip.pip_target(layer.pip, env, args + list(reqs), log)
    if rc:
        raise SdistError(f"installing its build requirements {', '.join(reqs)} failed:\n{out[-3000:]}")


def cross_sysconfig(tc, layer, zig, natives, dest):
    """The target's sysconfig data, compiling with zig for the target: a module named
    _sysconfigdata__lambda_<machine> in dest."""
    scope = {}
    with open(tc["SYSCONFIGDATA"]) as f:
        exec(compile(f.read(), tc["SYSCONFIGDATA"], "exec"), scope)
    v = dict(scope["build_time_vars"])
    cc = os.path.join(zig, f"{layer.arch}-cc")
    cxx = os.path.join(zig, f"{layer.arch}-c++")
    incs = " ".join(f"-I{d}" for d in tc["INCLUDE"] + [os.path.join(p, "include") for p in natives])
    # Python 3.9's Python.h includes <crypt.h> (configure found it); zig's glibc headers have
    # none, libcrypt being a library of its own: a declaration of crypt() stands in, last.
    compat = os.path.join(dest, "compat")
    os.makedirs(compat, exist_ok=True)
    with open(os.path.join(compat, "crypt.h"), "w") as f:
        f.write("/* stand-in: only the declaration Python.h may want */\n"
                "#pragma once\nchar *crypt(const char *key, const char *salt);\n")
    incs += f" -idirafter {compat}"
    cflags = f"-O2 -fPIC -fwrapv -DNDEBUG {incs}"
    libs = " ".join(["-s"] + [f"-L{os.path.join(p, 'lib')}" for p in natives])  # -s: stripped, as wheels are
    v.update({
        "CC": cc, "CXX": cxx, "LDSHARED": f"{cc} -shared", "LDCXXSHARED": f"{cxx} -shared",
        "CFLAGS": cflags, "OPT": "", "BASECFLAGS": "", "CONFIGURE_CFLAGS": "", "CFLAGSFORSHARED": "",
        "PY_CFLAGS": cflags, "PY_CFLAGS_NODIST": "", "PY_CORE_CFLAGS": cflags, "CCSHARED": "-fPIC",
        "LDFLAGS": libs, "PY_LDFLAGS": libs, "CONFIGURE_LDFLAGS": "", "LDFLAGS_NODIST": "",
        "CPPFLAGS": incs, "CONFIGURE_CPPFLAGS": "", "AR": os.path.join(zig, f"{layer.arch}-ar"),
        "INCLUDEPY": tc["INCLUDE"][0], "BLDSHARED": f"{cc} -shared",
    })
    machine = deps_pip.MACHINE[layer.arch]
    name = f"_sysconfigdata__lambda_{machine}"
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, name + ".py"), "w") as f:
        f.write("# the target's sysconfig data, compiling with zig (layers/deps_sdist.py)\n")
        f.write("build_time_vars = " + repr(v) + "\n")
    return name, v


def build(layer, req, name):
    log = os.path.join(layer.work, f"sdist-{name}.log")
    work = os.path.join(layer.work, "sdist-build", name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    natives = native_libs(layer, name, log)
    pkgconfig = ":".join(os.path.join(p, "lib", "pkgconfig") for p in natives) or os.path.join(work, "no-pkgconfig")
    env = deps_pip.pip_env()
    env["PKG_CONFIG_LIBDIR"] = pkgconfig  # nothing of this machine's libraries, only the built ones
    env.pop("PKG_CONFIG_PATH", None)
    sdist = fetch_sdist(layer, req, env, log)
    src = unpack(sdist, os.path.join(work, "src"))
    tc = toolchain(layer)
    zig = zig_bin()
    requires, backend = build_system(src)
    benv_dir = os.path.join(work, "build-env")
    install_build_requires(layer, requires, benv_dir, log)
    cross = os.path.join(work, "cross")
    sc_name, v = cross_sysconfig(tc, layer, zig, natives, cross)
    with open(os.path.join(cross, "pep517_hook.py"), "w") as f:
        f.write(HOOK)
    env.update({
        "PYTHONPATH": f"{benv_dir}:{cross}", "_PYTHON_SYSCONFIGDATA_NAME": sc_name,
        "_PYTHON_HOST_PLATFORM": f"linux-{deps_pip.MACHINE[layer.arch]}",
        "CC": v["CC"], "CXX": v["CXX"], "LDSHARED": v["LDSHARED"], "CFLAGS": v["CFLAGS"], "CPPFLAGS": v["CPPFLAGS"],
        "LDFLAGS": v["LDFLAGS"], "AR": v["AR"], "SOURCE_DATE_EPOCH": "1577836800",
    })
    hook = [tc["HOST_PYTHON"], os.path.join(cross, "pep517_hook.py")]
    extra_json = os.path.join(work, "requires.json")
    run(hook + ["requires", backend, extra_json], log, "its build backend (get_requires_for_build_wheel)",
        env=env, cwd=src)
    with open(extra_json) as f:
        install_build_requires(layer, json.load(f), benv_dir, log)
    out = os.path.join(work, "dist")
    os.makedirs(out)
    run(hook + ["build", backend, out], log, f"building the wheel for {layer.arch} (zig cc, glibc 2.26)",
        env=env, cwd=src)
    wheels = glob.glob(os.path.join(out, "*.whl"))
    want = f"-linux_{deps_pip.MACHINE[layer.arch]}.whl"
    if len(wheels) != 1 or not wheels[0].endswith(want):
        raise SdistError(f"the build made {[os.path.basename(w) for w in wheels]}, not one *{want}")
    wheel = shutil.copy2(wheels[0], layer.wheelhouse)
    version = re.match(r"[^-]+-([^-]+)-", os.path.basename(wheel)).group(1)
    return Built(name, version, os.path.basename(sdist), deps_pip.sha256(sdist), wheel)
