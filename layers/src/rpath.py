"""rpath.py FILE: turn FILE's DT_RUNPATH into DT_RPATH (64-bit little-endian ELF).

Why: the interpreter bin/python3.X must find libssl/libcrypto for the extension modules it
dlopen()s, and only DT_RPATH of the executable applies to the dependencies of other
objects (DT_RUNPATH applies to its own direct dependencies only). zig 0.17 writes
DT_RUNPATH for executables whatever -Wl,--disable-new-dtags says, so the tag is changed
here; the string and everything else stay as linked. Exits non-zero if FILE has no
DT_RUNPATH (or is not such an ELF file).
"""
import struct
import sys

DT_NULL, DT_RPATH, DT_RUNPATH, PT_DYNAMIC = 0, 15, 29, 2


def main(path):
    with open(path, "r+b") as f:
        data = f.read()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit("rpath.py: %s is not a 64-bit little-endian ELF file" % path)
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        changed = 0
        for i in range(phnum):
            ph = phoff + i * phentsize
            p_type, = struct.unpack_from("<I", data, ph)
            if p_type != PT_DYNAMIC:
                continue
            offset, = struct.unpack_from("<Q", data, ph + 8)
            size, = struct.unpack_from("<Q", data, ph + 32)
            for entry in range(offset, offset + size, 16):
                tag, = struct.unpack_from("<q", data, entry)
                if tag == DT_NULL:
                    break
                if tag == DT_RUNPATH:
                    f.seek(entry)
                    f.write(struct.pack("<q", DT_RPATH))
                    changed += 1
        if not changed:
            sys.exit("rpath.py: %s has no DT_RUNPATH" % path)


if __name__ == "__main__":
    main(sys.argv[1])
