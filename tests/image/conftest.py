"""The runtime image (`make image`, layers/image/): its OCI layout, and each of its images run
under AWS's RIE.

Environment (set by mk/image.mk):
  IMAGE_LAYOUT      the OCI image layout (dist/image)
  IMAGE_TAG         the tag of its index: the Python version (3.13)
  IMAGE_SPEC        the spec it was written from (build/image/py3.X/spec.json), to write it again
  RIE_x86_64, RIE_arm64   AWS's aws-lambda-rie for each CPU (mk/anchors.mk)
  TIME_SCALE_arm64  how much slower arm64 runs here (qemu-user)
  BOOTSTRAP_BIN     a bootstrap for this machine, for its doctor (--check)
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LAYOUT = os.environ.get("IMAGE_LAYOUT", "")
TAG = os.environ.get("IMAGE_TAG", "")
ARCHS = {"x86_64": "amd64", "arm64": "arm64"}


def blob_path(layout, digest):
    algorithm, hexdigest = digest.split(":", 1)
    return os.path.join(layout, "blobs", algorithm, hexdigest)


def read_json_blob(layout, descriptor):
    with open(blob_path(layout, descriptor["digest"]), "rb") as f:
        return json.loads(f.read())


def ref(layout, name):
    """The descriptor of index.json tagged `name` (org.opencontainers.image.ref.name)."""
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    found = [d for d in index["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == name]
    assert len(found) == 1, f"{name!r} names {len(found)} descriptors in {layout}/index.json"
    return found[0]


@pytest.fixture(scope="session")
def layout():
    if not LAYOUT or not os.path.isfile(os.path.join(LAYOUT, "index.json")):
        pytest.fail(f"IMAGE_LAYOUT={LAYOUT!r} is not an OCI layout (make test-image runs make image first)")
    if not TAG:
        pytest.fail("IMAGE_TAG is not set")
    return LAYOUT


@pytest.fixture(scope="session")
def unpacked(layout, tmp_path_factory):
    """arch -> the root filesystem of that image, unpacked by umoci (Debian's), as a container
    runtime would unpack it: an implementation other than the one that wrote the layout."""
    umoci = shutil.which("umoci")
    if not umoci:
        pytest.fail("umoci not found (scripts/packages/image.txt)")
    roots = {}

    def get(arch):
        if arch not in roots:
            bundle = tmp_path_factory.mktemp(f"bundle-{arch}") / "bundle"
            done = subprocess.run([umoci, "unpack", "--image", f"{layout}:{TAG}-{arch}", str(bundle)],
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"umoci unpack {TAG}-{arch}: {done.stderr}"
            roots[arch] = str(bundle / "rootfs")
        return roots[arch]

    return get


def sha256_file(path, opener=open):
    sha = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def sha256_gunzipped(path):
    return sha256_file(path, gzip.open)
