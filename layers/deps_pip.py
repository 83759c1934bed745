"""pip for a dependency layer (layers/deps-layer): the pinned pip, the target's tags and
marker environment, and what a failed resolution says.

pip runs from a venv under build/ made from /usr/bin/python3.11 with pip pinned to
PIP_VERSION, never the system's pip. It installs for the target, not for the machine:
  --platform      manylinux_2_<floor>_<machine> down to the oldest manylinux tag, where the
                  floor is the target's glibc (provided.al2: 2.26, provided.al2023: 2.34);
                  linux_<machine> too, for the wheels this tool built from sdists, which are
                  only ever found in the local wheelhouse (PyPI takes no linux_ wheels)
  --python-version/--implementation/--abi   the target Python: cp3X, abi3, none
  markers         the target's python_version, platform_machine, ... (layers/pip_target_env.py)
"""
import hashlib
import json
import os
import re
import subprocess
import sys

PIP_VERSION = "26.3"
TOOL_PYTHON = "/usr/bin/python3.11"
HERE = os.path.dirname(os.path.abspath(__file__))

# glibc of each Lambda target image (shared/reference/deployment-targets.md)
TARGET_GLIBC_MINOR = {"provided.al2": 26, "provided.al2023": 34}
# Lambda's arch names -> the machine in wheel tags and markers
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}


class PipError(Exception):
    pass


def platform_tags(arch, target):
    """Every manylinux tag a wheel for this target may carry, newest first."""
    machine, floor = MACHINE[arch], TARGET_GLIBC_MINOR[target]
    oldest = 5 if arch == "x86_64" else 17  # manylinux1 (x86_64 only) / manylinux2014
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(floor, oldest - 1, -1)]
    tags.append(f"manylinux2014_{machine}")
    if arch == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tags


def python_tag_args(python, full_version=None):
    """pip's options for the target Python; full_version ("3.9.2") for Requires-Python."""
    nodot = python.replace(".", "")
    return ["--python-version", full_version or python, "--implementation", "cp",
            "--abi", f"cp{nodot}", "--abi", "abi3", "--abi", "none"]


def tags_tried(python, arch, target):
    """The tags, as the error messages name them."""
    nodot = python.replace(".", "")
    plats = platform_tags(arch, target)
    return (f"cp{nodot}-{{cp{nodot},abi3,none}}-{{{plats[0]} ... {plats[-1]}}} ({len(plats)} platform tags), "
            f"py3-none-any")


def target_environment(python, full_version, arch):
    """PEP 508 marker values of the Lambda runtime."""
    return {
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "os_name": "posix",
        "platform_machine": MACHINE[arch],
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full_version,
        "platform_python_implementation": "CPython",
        "python_version": python,
        "sys_platform": "linux",
    }


def pip_venv(build_dir, log):
    """The venv's python with the pinned pip (created once; a stamp names the pin)."""
    venv = os.path.join(build_dir, f"pip-{PIP_VERSION}")
    python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".pinned")
    if os.path.exists(stamp):
        return python
    if not os.access(TOOL_PYTHON, os.X_OK):
        raise PipError(f"{TOOL_PYTHON} is needed to run pip (apt-get install python3.11-venv)")
    run_logged([TOOL_PYTHON, "-m", "venv", "--clear", venv], log, "creating the pip venv")
    run_logged([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                f"pip=={PIP_VERSION}"], log, f"installing pip=={PIP_VERSION}")
    with open(stamp, "w") as f:
        f.write(PIP_VERSION + "\n")
    return python


def run_logged(cmd, log, what, env=None, cwd=None, error=PipError):
    """Runs cmd with its output appended to log; raises `error` with the tail on failure."""
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if proc.returncode:
        raise error(f"{what} failed (exit {proc.returncode}); the end of its output:\n{log_tail(log)}")


def log_tail(log, lines=25):
    with open(log, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def pip_env():
    """The environment pip runs in: the machine's settings (certificates, proxies), but no
    find-links or index settings that would add wheels the layer did not ask for."""
    env = dict(os.environ)
    for key in ("PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_TARGET", "PIP_PLATFORM", "PIP_PYTHON_VERSION",
                "PIP_ONLY_BINARY", "PIP_NO_BINARY", "PIP_REQUIRE_VIRTUALENV", "PYTHONPATH"):
        env.pop(key, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def pip_target(venv_python, environment, args, log):
    """Runs pip with the target's marker environment; returns (exit code, output)."""
    cmd = [venv_python, os.path.join(HERE, "pip_target_env.py"), json.dumps(environment), "--", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=pip_env())
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n" + proc.stdout)
    return proc.returncode, proc.stdout


_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


def missing_requirement(output):
    """The requirement pip found no wheel for ("mysqlclient", "foo>=1.2"), or None."""
    m = _NO_MATCH.search(output)
    return m.group(1) if m else None


def index_options(requirements):
    """The --find-links/--index-url/--extra-index-url lines of a requirements file, as pip
    arguments: where its sdists are to be found too."""
    opts = []
    with open(requirements) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words and words[0] in ("--find-links", "-f", "--index-url", "-i", "--extra-index-url"):
                opts += words[:2]
    return opts


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def requirement_name(req):
    """The normalized project name of a requirement string (PEP 503)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
    return re.sub(r"[-_.]+", "-", name.group(0)).lower() if name else req


if __name__ == "__main__":
    sys.exit("layers/deps_pip.py is a module of layers/deps-layer")
