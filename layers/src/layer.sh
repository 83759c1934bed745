#!/usr/bin/env bash
# layers/src/layer.sh PYVER ARCH [OUTDIR]
#
# The runtime layer of a from-source CPython (layers/src/build.sh python3.X ARCH, built if
# needed), default OUTDIR layers/build/src-py<PYVER>-<ARCH>, laid out like the Debian
# layers (layers/build-runtime.sh) by the same assemble_runtime (layers/lib.sh):
#   OUTDIR/<ARCH>/runtime/lib/libpython3.X.so.1.0, OUTDIR/<ARCH>/runtime/lib/python3.X/
#   OUTDIR/<ARCH>/lib/        libssl.so.3, libcrypto.so.3
# trimmed (no tests, headers, idlelib, tkinter, ...), .pyc compiled by the x86_64 build's
# interpreter (unchecked-hash), then checked: every ELF for ARCH, at most GLIBC_2.26, NEEDED
# only glibc or <ARCH>/lib, no unresolved symbol (check_entry), and layers/verify.sh (the
# whole stdlib imports through a dlopen()ed libpython, except layers/src/not-built.txt;
# json/ssl/ctypes/decimal/sqlite3/hashlib/compression work; nothing loads from outside the
# layer; arm64 under qemu-user).
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$SRC_DIR/lib.sh"

[ $# -ge 2 ] || src_die "usage: $0 PYVER ARCH [OUTDIR]"
PYVER=$1 ARCH=$2
OUTDIR=${3:-$LAYERS_BUILD/src-py$PYVER-$ARCH}
t0=$SECONDS

ENTRY=$(bash "$SRC_DIR/build.sh" "python$PYVER" "$ARCH") || src_die "python$PYVER ($ARCH) did not build"
HOSTPY=$(bash "$SRC_DIR/build.sh" "python$PYVER" x86_64)/runtime/bin/python$PYVER

# Up to date? (the layer records the entry it was made from and this script's inputs)
STAMP="$(basename "$ENTRY") $(cat "$SRC_DIR/layer.sh" "$REPO/layers/lib.sh" "$SRC_DIR/not-built.txt" | sha256sum | cut -c1-16)"
if [ -f "$OUTDIR/.src-stamp" ] && [ "$(cat "$OUTDIR/.src-stamp")" = "$STAMP" ]; then
  note "src-py$PYVER-$ARCH: up to date ($(basename "$ENTRY"))"
  exit 0
fi

assemble_runtime "$OUTDIR" "$ARCH" "$PYVER" "$ENTRY/runtime/lib/libpython$PYVER.so.1.0" \
  "$ENTRY/runtime/lib/python$PYVER" "$ENTRY/lib" "$HOSTPY"
# The stdlib's build-time configuration is for building extensions, which the layer does
# not do (no headers); _sysconfigdata stays (sysconfig imports it).
check_entry "$ARCH" "$OUTDIR/$ARCH"
src_verify_layer "$PYVER" "$ARCH" "$OUTDIR" "$ENTRY"
echo "$STAMP" >"$OUTDIR/.src-stamp"
note "src-py$PYVER-$ARCH: $(du -sh "$OUTDIR" | cut -f1) in $((SECONDS - t0)) s from $(basename "$ENTRY"); $ARCH/lib: $(ls "$OUTDIR/$ARCH/lib" | tr '\n' ' ')"
