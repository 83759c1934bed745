"""Each image's root filesystem (as umoci unpacks it) run as / with AWS's RIE in a bubblewrap
sandbox: the function's zip unpacked at /var/task, a layer at /opt, the RIE at
/usr/local/bin/aws-lambda-rie (where AWS's base images keep it), the image's own environment
(its config's Env) and nothing of this machine's. The RIE finds the runtime itself (run with no
bootstrap argument it looks in /var/task, /opt, then /var/runtime), as Lambda does; arm64 runs
under qemu-user (binfmt_misc), the RIE too."""

import io
import os
import shutil
import socket
import subprocess
import zipfile

import pytest

from conftest import ARCHS, TAG, read_json_blob, ref
from rie_sandbox import SandboxedRie, served_at_once

HERE = os.path.dirname(os.path.abspath(__file__))
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


def zip_tree(tree):
    """tree as the bytes of a .zip, as a function or layer is uploaded."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for dirpath, _dirs, names in os.walk(tree):
            for name in sorted(names):
                if name.endswith(".pyc"):
                    continue
                path = os.path.join(dirpath, name)
                z.write(path, os.path.relpath(path, tree))
    return out.getvalue()


def unzip_to(data, dest):
    """What Lambda does with a function's or a layer's zip before mounting it."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(dest)
    return str(dest)


class ImageRie(SandboxedRie):
    def __init__(self, rootfs, arch, config, task, opt, handler, env_extra=None):
        rie = os.environ.get(f"RIE_{arch}", "")
        if not os.access(rie, os.X_OK):
            pytest.fail(f"RIE_{arch}={rie!r} is not an executable RIE (make test-image builds it)")
        # The unpacked root is this test's own copy: bound read-write only so that bwrap can make
        # its mount points, then read-only, as Lambda's root file system is.
        sandbox = ["--bind", rootfs, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                   "--ro-bind", task, "/var/task", "--ro-bind", opt, "/opt",
                   "--ro-bind", rie, "/usr/local/bin/aws-lambda-rie", "--remount-ro", "/",
                   "--chdir", config.get("WorkingDir", "/")]
        env = dict(e.split("=", 1) for e in config.get("Env", []))
        env.update({"_HANDLER": handler, "AWS_LAMBDA_FUNCTION_TIMEOUT": "60", **(env_extra or {})})
        scale = float(os.environ.get(f"TIME_SCALE_{arch}", "1"))
        super().__init__(sandbox, ["/usr/local/bin/aws-lambda-rie"], env, time_scale=scale)
        self.wait_until(self._listening, 10, "the RIE listening")

    def _listening(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True


@pytest.fixture(params=sorted(ARCHS))
def image_rie(request, layout, unpacked, tmp_path):
    """start(env_extra=None) -> (arch, the RIE running that arch's image)."""
    arch, started = request.param, []

    def start(env_extra=None):
        root = str(tmp_path / "rootfs")
        shutil.copytree(unpacked(arch), root, symlinks=True)
        config = read_json_blob(layout, read_json_blob(layout, ref(layout, f"{TAG}-{arch}"))["config"])["config"]
        task = unzip_to(zip_tree(os.path.join(HERE, "function")), tmp_path / "task")
        opt = unzip_to(zip_tree(os.path.join(HERE, "layer")), tmp_path / "opt")
        started.append(ImageRie(root, arch, config, task, opt, "app.handler", env_extra))
        return arch, started[-1]

    yield start
    for rie in started:
        rie.cleanup()


def test_the_image_runs_a_function_from_its_zip(image_rie):
    arch, rie = image_rie()
    r = rie.invoke({"name": "Lambda"}, timeout=60 * rie.time_scale)
    assert r.status == 200, (r, rie.output()[-3000:])
    doc = r.json()
    assert doc.get("greeting") == "Hello, Lambda, from a layer!", (doc, rie.output()[-3000:])
    # The image's own Python, found next to the bootstrap, not under /opt (the layer's place).
    assert doc["python"] == TAG
    assert doc["prefix"] == f"/var/runtime/{arch}/runtime"
    assert doc["machine"] == MACHINES[arch]
    assert f"/var/runtime/{arch}/lib" in doc["ld_library_path"].split(":")
    # The function's code at /var/task, first on sys.path.
    assert (doc["task_root"], doc["cwd"], doc["sys_path_0"]) == ("/var/task", "/var/task", "/var/task")
    # What the OS layer brings: the CA bundle where the runtime's OpenSSL looks, a shell,
    # zoneinfo, /etc/services; /tmp writable and the rest read-only.
    assert doc["ca_certificates"] > 100
    assert doc["shell"] == "42"
    assert doc["paris_summer_offset_hours"] == 2
    assert doc["https_port"] == 443
    assert doc["os"] == "bookworm"
    assert doc["sqlite"].startswith("3.")
    assert doc["tmp_ok"] is True and doc["runtime_writable"] is False


def test_a_handler_error_reaches_the_caller(image_rie):
    arch, rie = image_rie()
    r = rie.invoke({"fail": True}, timeout=60 * rie.time_scale)
    assert r.status == 200, (r, rie.output()[-3000:])
    doc = r.json()
    assert doc["errorType"] == "ValueError" and doc["errorMessage"] == "asked to fail", doc
    assert any('File "/var/task/app.py"' in line for line in doc["stackTrace"]), doc
    # The runtime keeps serving after it.
    assert rie.invoke({"name": "again"}, timeout=60 * rie.time_scale).json()["greeting"] == "Hello, again, from a layer!"


def test_managed_instances_two_workers_of_one_init(image_rie):
    """The RIE's Managed Instances mode looks for the runtime only in /var/runtime, /var/task and
    /opt, and starts it at once: the image's bootstrap is found there and serves two invocations at
    once from two workers forked after one init (what a runtime version's
    Compatibility.ManagedInstances = Supported promises)."""
    arch, rie = image_rie({"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    rie.wait_until(lambda: "workers forked after init" in rie.output(), 60, "the runtime's workers")
    # (both workers forked, but under qemu the second may not be in /next yet: the RIE then
    # refuses its invocation with Runtime.Unavailable, and the pair is sent again)
    answers = served_at_once(lambda e: rie.invoke(e, timeout=60 * rie.time_scale), [{"sleep": 1}, {"sleep": 1}],
                             10 * rie.time_scale)
    assert all(a.status == 200 for a in answers), (answers, rie.output()[-3000:])
    docs = [a.json() for a in answers]
    assert len({d["pid"] for d in docs}) == 2 and len({d["ppid"] for d in docs}) == 1, docs
