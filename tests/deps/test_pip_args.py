"""What layers/deps_pip.py tells pip and reads back from it (no network, no cell)."""
import json
import os
import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "layers"))
import deps_pip  # noqa: E402


def test_platform_tags_stop_at_the_targets_glibc():
    al2_arm = deps_pip.platform_tags("arm64", "provided.al2")
    assert al2_arm == [f"manylinux_2_{m}_aarch64" for m in range(26, 16, -1)] + ["manylinux2014_aarch64"]
    al2023_x86 = deps_pip.platform_tags("x86_64", "provided.al2023")
    assert al2023_x86[0] == "manylinux_2_34_x86_64" and "manylinux_2_35_x86_64" not in al2023_x86
    assert al2023_x86[-3:] == ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    assert "manylinux_2_5_x86_64" in al2023_x86


def test_python_tags_are_the_targets():
    assert deps_pip.python_tag_args("3.13") == ["--python-version", "3.13", "--implementation", "cp",
                                                "--abi", "cp313", "--abi", "abi3", "--abi", "none"]
    # the runtime's micro version: 3.9 alone is 3.9.0, which Requires-Python "!=3.9.0" excludes
    assert deps_pip.python_tag_args("3.9", "3.9.2")[:2] == ["--python-version", "3.9.2"]
    assert deps_pip.tags_tried("3.9", "x86_64", "provided.al2") == (
        "cp39-{cp39,abi3,none}-{manylinux_2_26_x86_64 ... manylinux1_x86_64} (25 platform tags), py3-none-any")


def test_the_marker_environment_is_the_targets():
    env = deps_pip.target_environment("3.9", "3.9.2", "arm64")
    assert (env["python_version"], env["python_full_version"], env["platform_machine"], env["sys_platform"]) == \
        ("3.9", "3.9.2", "aarch64", "linux")


def test_the_requirement_pip_found_no_wheel_for():
    out = ("ERROR: Could not find a version that satisfies the requirement mysqlclient==2.2.7 (from versions: none)\n"
           "ERROR: No matching distribution found for mysqlclient==2.2.7\n")
    assert deps_pip.missing_requirement(out) == "mysqlclient==2.2.7"
    assert deps_pip.missing_requirement("ERROR: ResolutionImpossible: ...") is None
    assert deps_pip.requirement_name("Foo_Bar.baz>=1.0; python_version<'3.10'") == "foo-bar-baz"


def test_index_options_come_from_the_requirements_file(tmp_path):
    req = tmp_path / "r.txt"
    req.write_text("--find-links /srv/sdists  # ours\n-i https://example.invalid/simple\nnumpy\n# --extra-index-url x\n")
    assert deps_pip.index_options(str(req)) == ["--find-links", "/srv/sdists", "-i", "https://example.invalid/simple"]


def test_pip_target_env_replaces_the_marker_environment(tmp_path):
    """The runner patches pip's markers: a probe through pip's own vendored packaging."""
    venv = deps_pip.pip_venv(os.path.join(ROOT, "build", "pip"), str(tmp_path / "log"))
    probe = ("import json, sys, runpy\n"
             "sys.argv = ['pip_target_env.py', sys.argv[1], '--', 'help']\n"
             "import pip._internal.cli.main as m\n"
             "def fake(args):\n"
             "    from pip._vendor.packaging.markers import Marker\n"
             "    print(json.dumps([Marker(s).evaluate() for s in ('python_version < \"3.10\"', "
             "'platform_machine == \"aarch64\"')]))\n"
             "    return 0\n"
             "m.main = fake\n"
             f"runpy.run_path({os.path.join(ROOT, 'layers', 'pip_target_env.py')!r}, run_name='__main__')\n")
    env = json.dumps(deps_pip.target_environment("3.9", "3.9.2", "arm64"))
    proc = subprocess.run([venv, "-c", probe, env], capture_output=True, text=True)
    assert proc.stdout.strip() == "[true, true]", proc.stderr


def test_make_deps_layer_names_the_arguments_it_lacks():
    env = {k: v for k, v in os.environ.items()  # not what a make running this test was given
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "REQUIREMENTS", "TARGET", "OUT")}
    proc = subprocess.run(["make", "--no-print-directory", "deps-layer", "PYTHON=3.9", "ARCH=arm64"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert proc.stderr.startswith("deps-layer: give REQUIREMENTS= TARGET= OUT= (usage: make deps-layer "
                                  "REQUIREMENTS=<file> PYTHON=3.X ARCH=x86_64|arm64"), proc.stderr


def test_a_work_directory_it_did_not_make_is_left_alone(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "precious").write_text("keep me")
    (tmp_path / "req.txt").write_text("six\n")
    (tmp_path / "runtime.zip").write_bytes(b"")
    proc = subprocess.run(["/usr/bin/python3.11", os.path.join(ROOT, "layers", "deps-layer"),
                           f"REQUIREMENTS={tmp_path / 'req.txt'}", "PYTHON=3.9", "ARCH=x86_64", "TARGET=provided.al2",
                           f"OUT={tmp_path / 'x.zip'}", f"RUNTIME={tmp_path / 'runtime.zip'}", "BOOTSTRAP=/bin/true",
                           f"WORK={tmp_path / 'work'}"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr == f"deps-layer: error: WORK={tmp_path / 'work'} is not empty and not a deps-layer work directory\n"
    assert (tmp_path / "work" / "precious").read_text() == "keep me"
