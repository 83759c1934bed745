#!/usr/bin/env bash
# layers/assemble-runtime.sh PREFIX ARCH OUTDIR
#
# The runtime layer from an installed CPython (`./configure --enable-shared --prefix=PREFIX
# && make install`), e.g. on Amazon Linux 2: PREFIX/lib/libpython3.X.so.1.0
# and PREFIX/lib/python3.X/ become OUTDIR/<ARCH>/runtime/lib/..., the shared libraries their
# modules need (found in LIB_SEARCH_DIRS, default: the system's) go to OUTDIR/<ARCH>/lib/,
# then the same trim / arch check / compileall / normalize as the Debian build
# (assemble_runtime in lib.sh). PREFIX/bin/python3.X compiles the .pyc (it must run:
# LD_LIBRARY_PATH=PREFIX/lib). Environment: SYSTEM_SONAMES overrides the list of libraries
# left to the target; STRIP (e.g. strip) strips the ELF files first (debug info).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || die "usage: $0 PREFIX ARCH OUTDIR"
PREFIX=$1 ARCH=$2 OUTDIR=$3
LIBPY=$(compgen -G "$PREFIX/lib/libpython3.*.so.1.0" | head -1) || die "no $PREFIX/lib/libpython3.*.so.1.0 (--enable-shared?)"
PYVER=${LIBPY##*/libpython}; PYVER=${PYVER%.so.1.0}
LIB_SEARCH_DIRS=${LIB_SEARCH_DIRS:-/usr/lib64 /lib64 /usr/lib /lib /usr/lib/$(triplet_for "$ARCH") /lib/$(triplet_for "$ARCH")}
[ -x "$PREFIX/bin/python$PYVER" ] || die "no $PREFIX/bin/python$PYVER"

start=$SECONDS
if [ -n "${STRIP:-}" ]; then
  STRIPPED=$(mktemp -d); trap 'rm -rf "$STRIPPED"' EXIT
  cp -a "$PREFIX/lib/python$PYVER" "$STRIPPED/stdlib"
  cp -L "$LIBPY" "$STRIPPED/libpython$PYVER.so.1.0"
  $STRIP --strip-unneeded "$STRIPPED/libpython$PYVER.so.1.0" "$STRIPPED"/stdlib/lib-dynload/*.so
  LIBPY=$STRIPPED/libpython$PYVER.so.1.0 STDLIB=$STRIPPED/stdlib
else
  STDLIB=$PREFIX/lib/python$PYVER
fi
assemble_runtime "$OUTDIR" "$ARCH" "$PYVER" "$LIBPY" "$STDLIB" "$LIB_SEARCH_DIRS" \
  "$PREFIX/bin/python$PYVER"
note "py$PYVER-$ARCH: $(du -sh "$OUTDIR" | cut -f1) in $((SECONDS - start)) s; $ARCH/lib: $(ls "$OUTDIR/$ARCH/lib" | tr '\n' ' ')"
