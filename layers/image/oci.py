#!/usr/bin/python3.11
"""A small, reproducible OCI image layout writer (layers/image/build.sh runs it).

    oci.py SPEC.json OUTDIR

SPEC names one tag and, per CPU, the image's configuration and its layers (directory trees,
lowest first). OUTDIR gets an OCI image layout (image-spec v1.1):

    OUTDIR/oci-layout                {"imageLayoutVersion": "1.0.0"}
    OUTDIR/index.json                <tag>          -> an image index: one manifest per platform
                                     <tag>-<arch>   -> that platform's manifest alone (for tools
                                                       that unpack one image: umoci, runc bundles)
    OUTDIR/blobs/sha256/<digest>     every index, manifest, config and layer, named by its digest

Reproducible: the same trees and SPEC give the same bytes. Layer tars list their entries
sorted, each with the SPEC's `created` time as its mtime, owner 0:0 and no user or group
names, and one of four modes, whatever the umask the trees were made with: directories 0755
(1777 when sticky, as /tmp), files 0755 when anyone may run them, else 0644. Lambda runs the
runtime as a user other than root: everything must be readable by all. Gzip headers carry no
name and no time. JSON documents are written with sorted keys and no spaces. OUTDIR is written beside
itself and renamed into place, so a reader never sees half a layout.

SPEC:
    {"tag": "3.13", "created": 1577836800, "annotations": {...},
     "images": [{"platform": {"os": "linux", "architecture": "amd64"},
                 "config": {"Env": [...], "Entrypoint": [...], "WorkingDir": "...", "Labels": {...}},
                 "layers": [{"root": "/path/to/tree", "created_by": "what this layer is"}, ...]},
                ...]}
"""

import datetime
import gzip
import hashlib
import json
import os
import shutil
import stat
import sys
import tarfile

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
# Lambda's CPU names -> OCI's (GOARCH).
ARCH_NAMES = {"amd64": "x86_64", "arm64": "arm64"}


class SpecError(Exception):
    pass


class Hashing:
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, out):
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    def flush(self):
        if self.out is not None:
            self.out.flush()

    def digest(self):
        return "sha256:" + self.sha.hexdigest()


def canonical_json(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs)

    def put_bytes(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobs, digest.split(":", 1)[1])
        with open(path, "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_json(self, doc, media_type):
        return self.put_bytes(canonical_json(doc), media_type)

    def put_layer(self, tree, mtime):
        """tree as a gzipped tar: (descriptor, diff_id)."""
        tmp = os.path.join(self.blobs, ".layer.tmp")
        with open(tmp, "wb") as raw:
            compressed = Hashing(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=6) as gz:
                uncompressed = Hashing(gz)
                write_tar(tree, uncompressed, mtime)
        digest = compressed.digest()
        os.rename(tmp, os.path.join(self.blobs, digest.split(":", 1)[1]))
        return {"mediaType": MEDIA_LAYER, "digest": digest, "size": compressed.size}, uncompressed.digest()


def tree_entries(tree):
    """Every path under tree, relative, sorted so that a directory comes before its contents."""
    found = []
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        for name in dirnames + filenames:
            found.append(os.path.normpath(os.path.join(rel, name)))
        # os.walk does not descend into symlinked directories: they are entries, not trees.
    return sorted(found, key=lambda p: p.split(os.sep))


def normal_mode(mode):
    if stat.S_ISDIR(mode):
        return 0o1777 if mode & stat.S_ISVTX else 0o755
    if stat.S_ISLNK(mode):
        return 0o777
    return 0o755 if mode & 0o111 else 0o644


def write_tar(tree, out, mtime):
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel in tree_entries(tree):
            path = os.path.join(tree, rel)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = normal_mode(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                raise SpecError(f"{path}: not a file, directory or symlink (an image layer holds no devices or fifos)")


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_image(layout, image, created):
    platform = image["platform"]
    if platform.get("os") != "linux" or platform.get("architecture") not in ARCH_NAMES:
        raise SpecError(f"platform {platform}: only linux/amd64 and linux/arm64 are Lambda platforms")
    layers, diff_ids, history = [], [], []
    for layer in image["layers"]:
        if not os.path.isdir(layer["root"]):
            raise SpecError(f"layer root {layer['root']!r} is not a directory")
        descriptor, diff_id = layout.put_layer(layer["root"], created)
        layers.append(descriptor)
        diff_ids.append(diff_id)
        history.append({"created": rfc3339(created), "created_by": layer["created_by"]})
    config = {
        "created": rfc3339(created),
        "architecture": platform["architecture"],
        "os": platform["os"],
        "config": image["config"],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": layout.put_json(config, MEDIA_CONFIG),
        "layers": layers,
        "annotations": image.get("annotations", {}),
    }
    descriptor = layout.put_json(manifest, MEDIA_MANIFEST)
    descriptor["platform"] = dict(platform)
    return descriptor


def write_layout(spec, out):
    tag, created = spec["tag"], int(spec["created"])
    if not spec.get("images"):
        raise SpecError("the spec names no image")
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    layout = Layout(tmp)
    manifests = [write_image(layout, image, created) for image in spec["images"]]
    index = layout.put_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests,
                             "annotations": spec.get("annotations", {})}, MEDIA_INDEX)
    index["annotations"] = {REF_NAME: tag}
    refs = [index]
    for m in manifests:
        refs.append(dict(m, annotations={REF_NAME: f"{tag}-{ARCH_NAMES[m['platform']['architecture']]}"}))
    with open(os.path.join(tmp, "index.json"), "wb") as f:
        f.write(canonical_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": refs}))
    with open(os.path.join(tmp, "oci-layout"), "wb") as f:
        f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))
    old = out.rstrip("/") + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(out):
        os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return index


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            spec = json.load(f)
        index = write_layout(spec, argv[2])
    except (OSError, ValueError, KeyError, SpecError) as e:
        print(f"oci.py: {argv[1]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"{argv[2]}: {spec['tag']} = {index['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
