#!/usr/bin/python3.11
"""Checks a runtime image's root filesystem before it is written (layers/image/build.sh).

    rootfs_check.py --arch x86_64|arm64 --glibc 2.36 TREE...

TREEs are the image's layers, lowest first (a later one's file hides an earlier one's). Every
ELF file must be for ARCH; a program's loader (PT_INTERP) and every NEEDED library must be
found inside the image, the way the dynamic loader will look for them there: the ELF's own
RUNPATH/RPATH ($ORIGIN too), the runtime's directories that the bootstrap puts on the library
path (/var/runtime/<arch>/lib, .../runtime/lib), then glibc's default directories; symlinks
are followed inside the image, never on this machine. No ELF may need a GLIBC_x.y symbol
version newer than the image's glibc. Failures are listed, all of them, and exit 1.
"""

import argparse
import os
import posixpath
import re
import subprocess
import sys

MACHINES = {"x86_64": "Advanced Micro Devices X86-64", "arm64": "AArch64"}
TRIPLETS = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}


class Image:
    """The union of the layer trees, with paths resolved inside it."""

    def __init__(self, trees):
        self.trees = trees

    def host_path(self, path):
        """The host path of an image path (no symlink resolution), or None."""
        for tree in reversed(self.trees):
            p = os.path.join(tree, path.lstrip("/"))
            if os.path.lexists(p):
                return p
        return None

    def resolve(self, path, hops=0):
        """The image path `path` leads to after every symlink (inside the image), or None."""
        if hops > 40:
            return None
        parts = [p for p in path.split("/") if p]
        done = "/"
        for i, part in enumerate(parts):
            current = posixpath.join(done, part)
            host = self.host_path(current)
            if host is None:
                return None
            if os.path.islink(host):
                target = os.readlink(host)
                base = target if target.startswith("/") else posixpath.join(done, target)
                rest = "/".join(parts[i + 1:])
                return self.resolve(posixpath.normpath(posixpath.join(base, rest)), hops + 1)
            done = current
        return done

    def exists(self, path):
        resolved = self.resolve(path)
        return resolved is not None and os.path.isfile(self.host_path(resolved))

    def files(self):
        """(image path, host path) of every regular file, the top layer's where several have it."""
        seen = {}
        for tree in self.trees:
            for dirpath, _dirs, names in os.walk(tree):
                for name in names:
                    host = os.path.join(dirpath, name)
                    seen["/" + os.path.relpath(host, tree)] = host
        return sorted((p, h) for p, h in seen.items() if os.path.isfile(h) and not os.path.islink(h))


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=False).stdout


def check(arch, glibc, trees):
    image = Image(trees)
    want_machine, triplet = MACHINES[arch], TRIPLETS[arch]
    default_dirs = [f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib"]
    runtime_dirs = [f"/var/runtime/{arch}/lib", f"/var/runtime/{arch}/runtime/lib"]
    floor = tuple(int(x) for x in glibc.split("."))
    problems, elves = [], 0
    for path, host in image.files():
        if not is_elf(host):
            continue
        elves += 1
        header = readelf("-h", "-l", "-d", "-V", host)
        machine = re.search(r"^\s*Machine:\s*(.+)$", header, re.M)
        if not machine or machine.group(1).strip() != want_machine:
            problems.append(f"{path}: {machine.group(1).strip() if machine else 'no machine'}, not {want_machine}")
            continue
        interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", header)
        if interp and not image.exists(interp.group(1)):
            problems.append(f"{path}: its loader {interp.group(1)} is not in the image")
        origin = posixpath.dirname(path)
        own_dirs = []
        for m in re.finditer(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]*)\]", header):
            own_dirs += [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for d in m.group(1).split(":") if d]
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", header):
            if soname.startswith("libpython3"):
                continue  # loaded by the bootstrap (RTLD_GLOBAL) before any module that needs it
            if not any(image.exists(posixpath.join(d, soname)) for d in own_dirs + runtime_dirs + default_dirs):
                problems.append(f"{path}: needs {soname}, which is not in the image")
        needed = [tuple(int(x) for x in v.split(".")) for v in re.findall(r"Name: GLIBC_([0-9.]+)", header)]
        if needed and max(needed) > floor:
            problems.append(f"{path}: needs GLIBC_{'.'.join(map(str, max(needed)))}, the image has glibc {glibc}")
    if elves == 0:
        problems.append("no ELF file at all: these are not the image's layers")
    return elves, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=sorted(MACHINES))
    parser.add_argument("--glibc", required=True, help="the glibc version the image ships, e.g. 2.36")
    parser.add_argument("trees", nargs="+")
    args = parser.parse_args()
    for tree in args.trees:
        if not os.path.isdir(tree):
            parser.error(f"{tree} is not a directory")
    elves, problems = check(args.arch, args.glibc, args.trees)
    for p in problems:
        print(f"rootfs_check: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"rootfs_check: {args.arch}: {elves} ELF files, every loader and library inside the image, "
          f"none needs more than glibc {args.glibc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
