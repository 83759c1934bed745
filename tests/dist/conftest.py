"""The old-glibc run of a release zip (mk/dist.mk: make check-dist-oldglibc), on the integration
harness (tests/integration/conftest.py, loaded as `harness`, as tests/reliability does).

Environment (set by mk/dist.mk, one zip per run):
  DIST_ROOT        the runtime zip unpacked as Lambda would, into what is /opt there
  OLD_GLIBC_ROOT   bullseye's libc6 + libgcc-s1 for the zip's CPU (scripts/oldglibc.sh)
  EXPECT_ARCH      x86_64 | arm64;  EXPECT_PYTHON  3.X;  TIME_SCALE  (arm64 runs under qemu)
  HOST_CC          a C compiler for EXPECT_ARCH with this machine's glibc (the negative control)

The bootstrap the harness starts is a wrapper that runs DIST_ROOT/bootstrap with bullseye's
loader: x86_64 through its ld-linux with --library-path and --inhibit-cache (the loader never
looks at this machine's /lib or its ld.so.cache), arm64 under qemu with QEMU_LD_PREFIX.
"""

import importlib.util
import os
import stat
import sys
import tempfile

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONS = os.path.join(_HERE, "functions")
DIST_ROOT = os.path.realpath(os.environ["DIST_ROOT"])
OLD_ROOT = os.path.realpath(os.environ["OLD_GLIBC_ROOT"])
ARCH = os.environ["EXPECT_ARCH"]
TRIPLET = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[ARCH]
OLD_LIBS = [os.path.join(OLD_ROOT, d, TRIPLET) for d in ("lib", "usr/lib")]


def old_glibc_command(program):
    """The argv prefix that runs `program` with bullseye's loader and libraries only."""
    if ARCH == "x86_64":
        loader = os.path.join(OLD_ROOT, "lib", TRIPLET, "ld-linux-x86-64.so.2")
        return [loader, "--inhibit-cache", "--library-path", ":".join(OLD_LIBS), program]
    return ["env", "QEMU_LD_PREFIX=" + OLD_ROOT, program]


def _write_wrapper():
    path = os.path.join(tempfile.mkdtemp(prefix="oldglibc-"), "bootstrap")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join("'%s'" % a for a in old_glibc_command(
            os.path.join(DIST_ROOT, "bootstrap"))))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


# The harness reads BOOTSTRAP_BIN when it is loaded.
os.environ["BOOTSTRAP_BIN"] = _write_wrapper()
_spec = importlib.util.spec_from_file_location("harness", os.path.join(_HERE, "..", "integration", "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules["harness"] = harness
_spec.loader.exec_module(harness)


@pytest.fixture
def function():
    started = []

    def start(handler, env=None, **kwargs):
        f = harness.Function(handler, env={"LAMBDA_TASK_ROOT": FUNCTIONS, "BOOTSTRAP_LAYER_ROOT": DIST_ROOT,
                                           **(env or {})}, **kwargs)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()
