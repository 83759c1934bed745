#!/usr/bin/env bash
# What building an extension module for a Lambda Python needs (layers/deps_sdist.py):
#
#   layers/deps-python.sh PYVER ARCH
#
# prints three lines:
#   HOST_PYTHON=<an interpreter of PYVER that runs on this machine>
#   INCLUDE=<the target's Python headers: Python.h and its pyconfig.h, for ARCH>  (may repeat)
#   SYSCONFIGDATA=<the target's _sysconfigdata_*.py: EXT_SUFFIX, SOABI, ...>
#
# From the from-source runtime when it is built (build/cpython/py<PYVER>-<arch>: its
# runtime/bin/python<PYVER> for this machine's CPU, runtime/include/ and runtime/lib/
# python<PYVER>/_sysconfigdata_*.py for ARCH); else from Debian's packages for the
# Pythons the Debian-built layers have (3.9: bullseye, 3.11: bookworm), fetched into the
# layers' package pool (layers/lib.sh), never installed.
set -euo pipefail
PYVER=${1:-} ARCH=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/layers/lib.sh"
[ -n "$PYVER" ] && [ -n "$ARCH" ] || die "usage: $0 PYVER x86_64|arm64"
host=$(host_arch)

src_host=$ROOT/build/cpython/py$PYVER-$host/runtime
src_target=$ROOT/build/cpython/py$PYVER-$ARCH/runtime
# Where the build has rules for the from-source runtimes (mk/cpython.mk), make them: from the
# build cache that is a symlink, or the build itself.
for a in "$host" "$ARCH"; do
  # (without the variables of a make that runs this: its PYTHON=, ARCH=, OUT= mean other things)
  if [ ! -e "$ROOT/build/cpython/py$PYVER-$a" ] && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ARCH -u PYTHON -u OUT -u TARGET -u REQUIREMENTS -u RUNTIME make -C "$ROOT" -n "cpython-$PYVER-$a" >/dev/null 2>&1; then
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ARCH -u PYTHON -u OUT -u TARGET -u REQUIREMENTS -u RUNTIME make -C "$ROOT" --no-print-directory "cpython-$PYVER-$a" >&2 || die "make cpython-$PYVER-$a failed"
  fi
done
if [ -x "$src_host/bin/python$PYVER" ] && [ -d "$src_target/include/python$PYVER" ]; then
  sc=$(ls "$src_target/lib/python$PYVER"/_sysconfigdata_*.py 2>/dev/null | head -n1)
  [ -n "$sc" ] || die "$src_target has no lib/python$PYVER/_sysconfigdata_*.py"
  # the interpreter finds its libpython and the runtime's libraries (libssl, ...) here
  w=$ROOT/build/cpython/python$PYVER-host
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "'$src_host/lib:$src_host/../lib'" \
    "'$src_host/bin/python$PYVER'" >"$w.tmp" && chmod +x "$w.tmp" && mv "$w.tmp" "$w"
  echo "HOST_PYTHON=$w"
  echo "INCLUDE=$src_target/include/python$PYVER"
  echo "SYSCONFIGDATA=$sc"
  exit 0
fi

suite=$(suite_for_py "$PYVER" 2>/dev/null) ||
  die "no Python $PYVER toolchain: build the from-source runtime (make cpython-$PYVER-$host and make cpython-$PYVER-$ARCH); Debian's packages only cover 3.9 and 3.11"
debarch=$(debarch_for "$ARCH") triplet=$(triplet_for "$ARCH")
hp=$(host_python "$PYVER")
apt_init "$suite" "$debarch"
mapfile -t pool < <(pkg_fetch "$suite" "$debarch" "libpython$PYVER-dev" "libpython$PYVER-minimal")
# (libpython3.X-stdlib only has a symlink by the other name)
sc=$(find "${pool[1]}/usr/lib/python$PYVER" -maxdepth 1 -type f -name "_sysconfigdata_*$triplet.py" | head -n1)
[ -n "$sc" ] || die "libpython$PYVER-minimal ($suite/$debarch) has no _sysconfigdata_*$triplet.py"
echo "HOST_PYTHON=$hp"
# Debian's python3.X/pyconfig.h includes <$triplet/python3.X/pyconfig.h>: both roots
echo "INCLUDE=${pool[0]}/usr/include/python$PYVER"
echo "INCLUDE=${pool[0]}/usr/include"
echo "SYSCONFIGDATA=$sc"
