"""The glibc floor of the release zips, checked by binutils' readelf, independently of the doctor.

The doctor (`bootstrap --check`, src/elf.c + src/doctor.c) reads ELF files with its own code;
this scan asks `readelf` instead, so one bug cannot hide in both. For every ELF file in every
zip given:
  - its machine matches the zip's CPU (runtime-py3.X-<arch>.zip; else the <arch>/ it sits under);
  - every symbol version it needs from a library the zip does not ship is at most what Amazon
    Linux 2, the oldest Lambda image, has: GLIBC_2.26 from glibc's libraries, GCC_7.0.0 from
    libgcc_s.so.1, GLIBCXX_3.4.24 and CXXABI_1.3.11 from libstdc++.so.6 (AL2's gcc 7); any other
    version from a library the zip does not ship is a finding too (the image would not have it);
  - a version it needs from a library the zip ships is defined by that library;
  - the bootstrap at the zip's root exports nothing but dlopen (src/loader.c) and what the C
    runtime's start files define: any other symbol it exported would capture the calls of a
    library loaded later (say a cJSON or libcurl function of an extension's own copy).

Usage: scan_elf_versions.py [--quiet] ZIP...
Exit 0: no finding; 1: findings (each printed with the file, the library, the version and the
symbols that need it); 2: bad usage or an unreadable zip.
"""

import os
import re
import subprocess
import sys
import tempfile
import zipfile

# What Amazon Linux 2 (provided.al2) has; provided.al2023 has more of each.
CEILINGS = {"GLIBC": (2, 26), "GCC": (7, 0, 0), "GLIBCXX": (3, 4, 24), "CXXABI": (1, 3, 11)}
GLIBC_SONAMES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1",
    "libresolv.so.2", "libanl.so.1", "libnsl.so.1", "libcrypt.so.1", "libBrokenLocale.so.1",
    "libmvec.so.1", "libthread_db.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
}
SYSTEM_FAMILY = {"libgcc_s.so.1": "GCC", "libstdc++.so.6": ("GLIBCXX", "CXXABI")}
MACHINES = {"x86_64": "Advanced Micro Devices X86-64", "arm64": "AArch64"}
BOOTSTRAP_EXPORTS = {"dlopen", "_start", "__libc_csu_init", "__libc_csu_fini", "__data_start", "data_start",
                     "_IO_stdin_used", "_init", "_fini", "_edata", "_end", "__bss_start"}


def version_tuple(text):
    return tuple(int(x) for x in text.split("."))


def readelf(path):
    """(machine, needs {lib: {version}}, defines {version}, soname, undefined {version: [symbols]},
    exported [symbols])"""
    out = subprocess.run(["readelf", "-h", "-d", "-V", "--dyn-syms", "-W", path], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"readelf failed on {path}: {out.stderr.strip()}")
    machine, soname, needs, defines, undefined, exported = None, None, {}, set(), {}, []
    section, current_lib = None, None
    for line in out.stdout.splitlines():
        if line.startswith("Version needs section"):
            section = "needs"
            continue
        if line.startswith("Version definition section"):
            section = "defs"
            continue
        if line.startswith(("Version symbols section", "Symbol table", "Dynamic section")):
            section = None
        m = re.match(r"\s*Machine:\s*(.*)$", line)
        if m:
            machine = m.group(1).strip()
        m = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", line)
        if m:
            soname = m.group(1)
        if section == "needs":
            m = re.search(r"Version: \d+\s+File: (\S+)", line)
            if m:
                current_lib = m.group(1)
                needs.setdefault(current_lib, set())
                continue
            m = re.search(r"Name: (\S+)\s+Flags", line)
            if m and current_lib:
                needs[current_lib].add(m.group(1))
        elif section == "defs":
            m = re.search(r"Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)", line)
            if m and m.group(1) != "BASE":
                defines.add(m.group(2))
        m = re.match(r"\s*\d+:\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+UND\s+([^@\s]+)@(\S+)", line)
        if m:
            undefined.setdefault(m.group(2), []).append(m.group(1))
        m = re.match(r"\s*\d+:\s+\S+\s+\d+\s+\S+\s+(GLOBAL|WEAK)\s+(DEFAULT|PROTECTED)\s+(\d+|ABS|COM)\s+([^@\s]+)", line)
        if m:
            exported.append(m.group(4))
    return machine, needs, defines, soname, undefined, exported


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def zip_arch(zip_path):
    m = re.match(r"runtime-py3\.\d+-(x86_64|arm64)\.zip$", os.path.basename(zip_path))
    return m.group(1) if m else None


def check_need(lib, version, shipped):
    """A finding's text for needing `version` from `lib`, or None."""
    if lib in shipped:
        return None if version in shipped[lib] else f"version {version} is not defined by the shipped {lib}"
    family = re.match(r"([A-Z]+)_([0-9.]+)$", version)
    if lib in GLIBC_SONAMES:
        allowed = ("GLIBC",)
    else:
        allowed = SYSTEM_FAMILY.get(lib)
        allowed = (allowed,) if isinstance(allowed, str) else allowed
    if not allowed:
        return f"needs {version} from {lib}, which the zip does not ship"
    if not family or family.group(1) not in allowed:
        return f"needs {version} from {lib}: not a version Amazon Linux 2's {lib} has"
    name = family.group(1)
    if version_tuple(family.group(2)) > CEILINGS[name]:
        ceiling = ".".join(str(x) for x in CEILINGS[name])
        return f"needs {version} from {lib}, newer than Amazon Linux 2's {name}_{ceiling}"
    return None


def scan_zip(zip_path, quiet):
    findings, n_elf, highest = [], 0, None
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        try:
            with zipfile.ZipFile(zip_path) as z:
                z.extractall(tmp)
        except (OSError, zipfile.BadZipFile) as e:
            raise RuntimeError(f"cannot read {zip_path}: {e}") from e
        elves = {}
        for dirpath, _, files in os.walk(tmp):
            for name in files:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path) and is_elf(path):
                    elves[os.path.relpath(path, tmp)] = readelf(path)
        # What the zip ships, by soname (and file name): the versions each defines.
        shipped = {}
        for rel, (_, _, defines, soname, _, _) in elves.items():
            for key in {soname, os.path.basename(rel)} - {None}:
                shipped.setdefault(key, set()).update(defines)
        arch = zip_arch(zip_path)
        for rel, (machine, needs, _, _, undefined, exported) in sorted(elves.items()):
            n_elf += 1
            extra = sorted(set(exported) - BOOTSTRAP_EXPORTS) if rel == "bootstrap" else []
            if extra:
                findings.append(f"{zip_path}: bootstrap exports {', '.join(extra[:8])}"
                                f"{' ...' if len(extra) > 8 else ''}: only dlopen may be (src/loader.c)")
            want = arch or next((a for a in MACHINES if rel.startswith(a + "/")), None)
            if want and machine != MACHINES[want]:
                findings.append(f"{zip_path}: {rel}: built for {machine}, but the zip is for {want}")
            for lib, versions in sorted(needs.items()):
                for version in sorted(versions):
                    problem = check_need(lib, version, shipped)
                    if problem:
                        symbols = ", ".join(sorted(undefined.get(version, []))[:5]) or "no symbol named"
                        findings.append(f"{zip_path}: {rel}: {problem} (for {symbols})")
                    m = re.match(r"GLIBC_([0-9.]+)$", version)
                    if m and lib in GLIBC_SONAMES and (highest is None or version_tuple(m.group(1)) > highest[0]):
                        highest = (version_tuple(m.group(1)), rel)
    if not quiet:
        top = "GLIBC_%s (%s)" % (".".join(map(str, highest[0])), highest[1]) if highest else "none"
        print(f"scan: {zip_path}: {n_elf} ELF files, highest glibc version needed: {top}, "
              f"{len(findings)} findings")
    return findings, n_elf


def main(argv):
    quiet = "--quiet" in argv
    zips = [a for a in argv if a != "--quiet"]
    if not zips:
        print("usage: scan_elf_versions.py [--quiet] ZIP...", file=sys.stderr)
        return 2
    findings, total = [], 0
    for z in zips:
        try:
            f, n = scan_zip(z, quiet)
        except RuntimeError as e:
            print(f"scan: {e}", file=sys.stderr)
            return 2
        findings += f
        total += n
    for f in findings:
        print("FINDING " + f)
    print(f"scan: {total} ELF files in {len(zips)} zips, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
