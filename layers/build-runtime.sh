#!/usr/bin/env bash
# layers/build-runtime.sh PYVER ARCH [OUTDIR]
#
# Builds a Python runtime layer root from Debian's packages (3.9: bullseye 3.9.2,
# 3.11: bookworm), default OUTDIR layers/build/py<PYVER>-<ARCH>:
#   OUTDIR/<ARCH>/runtime/lib/libpython3.X.so.1.0
#   OUTDIR/<ARCH>/runtime/lib/python3.X/          stdlib (+ .pyc) and lib-dynload/
#   OUTDIR/<ARCH>/lib/                            shared libraries the stdlib's modules need
# Debian's binaries need glibc >= 2.31 (bullseye) / 2.35 (bookworm): these layers are
# for tests on this machine; Lambda layers come from Dockerfile.<arch> (Amazon Linux 2).
#
# Cached: a second run with unchanged inputs returns at once. Cold: ~15 s per layer
# (downloads ~10 MB, compileall), arm64 reuses the host-arch interpreter for .pyc.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 PYVER ARCH [OUTDIR]"
PYVER=$1 ARCH=$2
OUTDIR=${3:-$LAYERS_BUILD/py$PYVER-$ARCH}
SUITE=$(suite_for_py "$PYVER")
DEBARCH=$(debarch_for "$ARCH")
TRIPLET=$(triplet_for "$ARCH")
HOST=$(host_arch)

STAMP_EXTRA="runtime $PYVER $ARCH $OUTDIR"
KEY=$(stamp_key "$0" "$LAYERS_DIR/lib.sh")
NAME=runtime-py$PYVER-$ARCH
if stamp_ok "$NAME" "$KEY" && [ -f "$OUTDIR/$ARCH/runtime/lib/libpython$PYVER.so.1.0" ]; then
  exit 0
fi
stamp_clear "$NAME"
start=$SECONDS

# Packages: the shared libpython and the stdlib (+ distutils, lib2to3 which Debian splits
# out). The interpreter, python3.X-minimal, is only fetched for the host (host_python).
ROOTS=(libpython$PYVER libpython$PYVER-minimal libpython$PYVER-stdlib python3-distutils python3-lib2to3)

apt_init "$SUITE" "$DEBARCH"
mapfile -t PKGS < <(pkg_closure "${ROOTS[@]}")
note "py$PYVER-$ARCH: packages: ${PKGS[*]}"
mapfile -t POOL < <(pkg_fetch "$SUITE" "$DEBARCH" "${PKGS[@]}")
pool_of() { echo "$LAYERS_CACHE/pool/$SUITE-$DEBARCH/$1"; }

# stdlib: minimal + stdlib + distutils + lib2to3, merged (Debian splits them), then the
# steps shared with the Amazon Linux build (assemble_runtime in lib.sh).
STAGE=$LAYERS_CACHE/stage-py$PYVER-$ARCH
rm -rf "$STAGE"; mkdir -p "$STAGE"
for p in "${POOL[@]}"; do
  if [ -d "$p/usr/lib/python$PYVER" ]; then cp -a "$p/usr/lib/python$PYVER/." "$STAGE/"; fi
done
SEARCH=$(lib_dirs_of "$TRIPLET" "${POOL[@]}" | tr '\n' ' ')
assemble_runtime "$OUTDIR" "$ARCH" "$PYVER" \
  "$(pool_of libpython$PYVER)/usr/lib/$TRIPLET/libpython$PYVER.so.1.0" "$STAGE" "$SEARCH" \
  "$(host_python "$PYVER")"
rm -rf "$STAGE"

stamp_set "$NAME" "$KEY"
note "py$PYVER-$ARCH: $(du -sh "$OUTDIR" | cut -f1) in $((SECONDS - start)) s; $ARCH/lib: $(ls "$OUTDIR/$ARCH/lib" | tr '\n' ' ')"
