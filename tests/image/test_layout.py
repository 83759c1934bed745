"""The OCI image layout `make image` writes: every blob matches its digest, the tag is an index
of a linux/amd64 and a linux/arm64 image, the layout is reproducible, and two other OCI
implementations (Debian's skopeo and umoci) read it."""

import filecmp
import json
import os
import shutil
import stat
import subprocess

import pytest

from conftest import ARCHS, TAG, blob_path, read_json_blob, ref, sha256_file, sha256_gunzipped

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def layout_problems(layout):
    """Everything wrong with the layout's blobs, by walking every descriptor from index.json:
    a blob missing, of another size or digest, a JSON document of another media type, a layer
    whose uncompressed digest is not its config's diff_id, a blob nothing refers to."""
    problems, seen = [], set()
    with open(os.path.join(layout, "oci-layout")) as f:
        if json.load(f) != {"imageLayoutVersion": "1.0.0"}:
            problems.append("oci-layout is not {imageLayoutVersion: 1.0.0}")

    def check(descriptor, where):
        path = blob_path(layout, descriptor["digest"])
        seen.add(os.path.basename(path))
        if not os.path.isfile(path):
            problems.append(f"{where}: blob {descriptor['digest']} missing")
            return False
        if os.path.getsize(path) != descriptor["size"]:
            problems.append(f"{where}: blob {descriptor['digest']} is {os.path.getsize(path)} bytes, "
                            f"the descriptor says {descriptor['size']}")
        if sha256_file(path) != descriptor["digest"]:
            problems.append(f"{where}: blob {descriptor['digest']} has digest {sha256_file(path)}")
            return False
        return True

    def walk(descriptor, where):
        if not check(descriptor, where):
            return
        media = descriptor["mediaType"]
        if media == MEDIA_LAYER:
            return
        doc = read_json_blob(layout, descriptor)
        if doc.get("mediaType", media) != media and media != MEDIA_CONFIG:
            problems.append(f"{where}: the document says {doc.get('mediaType')}, its descriptor {media}")
        if media == MEDIA_INDEX:
            for i, m in enumerate(doc["manifests"]):
                walk(m, f"{where} > manifests[{i}]")
        elif media == MEDIA_MANIFEST:
            config = read_json_blob(layout, doc["config"]) if check(doc["config"], f"{where} > config") else {}
            diff_ids = config.get("rootfs", {}).get("diff_ids", [])
            if len(diff_ids) != len(doc["layers"]):
                problems.append(f"{where}: {len(doc['layers'])} layers, {len(diff_ids)} diff_ids")
            for i, (layer, diff_id) in enumerate(zip(doc["layers"], diff_ids)):
                at = f"{where} > layers[{i}]"
                if layer["mediaType"] != MEDIA_LAYER:
                    problems.append(f"{at}: media type {layer['mediaType']}")
                elif check(layer, at) and sha256_gunzipped(blob_path(layout, layer["digest"])) != diff_id:
                    problems.append(f"{at}: uncompressed, not its diff_id {diff_id}")
        elif media != MEDIA_CONFIG:
            problems.append(f"{where}: unknown media type {media}")

    with open(os.path.join(layout, "index.json")) as f:
        for i, d in enumerate(json.load(f)["manifests"]):
            walk(d, f"index.json[{i}]")
    for name in sorted(set(os.listdir(os.path.join(layout, "blobs", "sha256"))) - seen):
        problems.append(f"blobs/sha256/{name}: referred to by nothing")
    return problems


def test_every_blob_matches_its_digest(layout):
    assert layout_problems(layout) == []


def test_the_check_finds_a_corrupted_layer(layout, tmp_path):
    """The digest check can fail: one byte changed in a layer is found (by it, and by skopeo)."""
    copy = str(tmp_path / "image")
    shutil.copytree(layout, copy)
    manifest = read_json_blob(copy, ref(copy, f"{TAG}-x86_64"))
    layer = blob_path(copy, manifest["layers"][-1]["digest"])
    with open(layer, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    problems = layout_problems(copy)
    assert any(manifest["layers"][-1]["digest"] in p and "has digest" in p for p in problems), problems
    done = subprocess.run(["skopeo", "copy", f"oci:{copy}:{TAG}-x86_64", f"dir:{tmp_path / 'out'}"],
                          capture_output=True, text=True)
    assert done.returncode != 0, "skopeo copied a corrupted image"
    assert "digest" in done.stderr.lower(), done.stderr


def test_the_tag_is_an_index_of_an_amd64_and_an_arm64_image(layout):
    index = read_json_blob(layout, ref(layout, TAG))
    assert index["mediaType"] == MEDIA_INDEX
    platforms = sorted((m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"])
    assert platforms == [("linux", "amd64"), ("linux", "arm64")]
    for arch, oci_arch in ARCHS.items():
        single = ref(layout, f"{TAG}-{arch}")
        entry = next(m for m in index["manifests"] if m["platform"]["architecture"] == oci_arch)
        assert single["digest"] == entry["digest"], f"{TAG}-{arch} is not the index's {oci_arch} image"
        config = read_json_blob(layout, read_json_blob(layout, single)["config"])
        assert (config["os"], config["architecture"]) == ("linux", oci_arch)
        assert config["config"]["Entrypoint"] == ["/var/runtime/bootstrap"]
        assert config["config"]["WorkingDir"] == "/var/task"
        assert "LAMBDA_TASK_ROOT=/var/task" in config["config"]["Env"]


def test_the_layout_is_reproducible(layout, tmp_path):
    """Written again from the same spec (same trees), it is the same bytes."""
    spec = os.environ.get("IMAGE_SPEC", "")
    if not os.path.isfile(spec):
        pytest.fail(f"IMAGE_SPEC={spec!r} is not the spec make image wrote")
    again = str(tmp_path / "again")
    done = subprocess.run(["/usr/bin/python3.11", os.path.join(ROOT, "layers", "image", "oci.py"), spec, again],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert filecmp.cmp(os.path.join(layout, "index.json"), os.path.join(again, "index.json"), shallow=False)
    assert sorted(os.listdir(os.path.join(layout, "blobs", "sha256"))) == \
        sorted(os.listdir(os.path.join(again, "blobs", "sha256")))


def test_skopeo_reads_the_index_and_copies_every_image(layout, tmp_path):
    """skopeo (containers/image) resolves the tag to the same index, and copies both images,
    checking each blob against its digest as it reads it."""
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:{TAG}"], capture_output=True, check=True).stdout
    with open(blob_path(layout, ref(layout, TAG)["digest"]), "rb") as f:
        assert raw == f.read()
    out = tmp_path / "copy"
    done = subprocess.run(["skopeo", "copy", "--all", f"oci:{layout}:{TAG}", f"dir:{out}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    copied = {name for name in os.listdir(out) if len(name) == 64}
    index = read_json_blob(layout, ref(layout, TAG))
    for m in index["manifests"]:
        for layer in read_json_blob(layout, m)["layers"]:
            assert layer["digest"].split(":")[1] in copied


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_umoci_unpacks_the_lambda_layout(unpacked, arch):
    """Laid out as Lambda runs it: the bootstrap at /var/runtime/bootstrap, its Python beside it
    (outside /opt, which Lambda mounts layers over), empty /var/task and /opt, a sticky /tmp."""
    root = unpacked(arch)
    bootstrap = os.path.join(root, "var/runtime/bootstrap")
    assert os.access(bootstrap, os.X_OK)
    assert os.path.isfile(os.path.join(root, f"var/runtime/{arch}/runtime/lib/libpython{TAG}.so.1.0"))
    assert os.listdir(os.path.join(root, "var/task")) == []
    assert os.listdir(os.path.join(root, "opt")) == []
    assert oct(os.stat(os.path.join(root, "tmp")).st_mode & 0o7777) == "0o1777"
    assert os.path.isfile(os.path.join(root, "var/lib/dpkg/status"))  # for image scanners
    assert open(bootstrap, "rb").read(4) == b"\x7fELF"


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_everything_is_readable_by_the_function_user(unpacked, arch):
    """Lambda runs the runtime as a user other than root: every directory must be open to all,
    every file readable by all, whatever umask the image was built with."""
    root, closed = unpacked(arch), []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            want = 0o005 if stat.S_ISDIR(st.st_mode) else 0o004
            if st.st_mode & want != want:
                closed.append(f"{os.path.relpath(path, root)} {oct(st.st_mode & 0o7777)}")
    assert closed == []


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_the_doctor_finds_no_problem_in_var_runtime(unpacked, arch):
    """bootstrap --check on the image's /var/runtime (the same layout as a runtime zip), against
    the image's own glibc (Debian 12: 2.36)."""
    doctor = os.environ.get("BOOTSTRAP_BIN", "")
    if not os.access(doctor, os.X_OK):
        pytest.fail(f"BOOTSTRAP_BIN={doctor!r} is not a bootstrap for this machine")
    done = subprocess.run([doctor, "--check", "--arch", arch, "--glibc", "2.36",
                           os.path.join(unpacked(arch), "var/runtime")], capture_output=True, text=True)
    assert done.returncode == 0 and "no problems" in done.stdout + done.stderr, done.stdout + done.stderr
