#!/usr/bin/env bash
# layers/verify.sh ARCH RUNTIME_ROOT [DEPS_ROOT [CHECK_ARGS...]]
#
# Checks a runtime layer (and optionally a dependency layer on top of it) the way the
# bootstrap uses them: a small C program dlopen()s RUNTIME_ROOT/ARCH/runtime/lib/
# libpython3.X.so.1.0 (RTLD_GLOBAL) with PYTHONHOME=RUNTIME_ROOT/ARCH/runtime,
# LD_LIBRARY_PATH=[DEPS_ROOT/ARCH/lib:]RUNTIME_ROOT/ARCH/lib and, for the deps layer,
# DEPS_ROOT/ARCH/python on the path. Without DEPS_ROOT: every stdlib module imports,
# json/ssl (a TLS handshake with a local server)/ctypes/decimal/sqlite3/hashlib work. With it: every module and extension in
# DEPS_ROOT/ARCH/python imports, then CHECK_ARGS (check_layer.py: MODULE, --absent
# MODULE). NO_DEPS_LIB=1 leaves DEPS_ROOT/ARCH/lib off LD_LIBRARY_PATH. Always:
# every ELF is for ARCH and no shared library is loaded from outside the layers
# (except glibc/libgcc_s; SYSTEM_SONAMES overrides). LAYER_SKIP_MODULES: stdlib modules
# a build leaves out on purpose; LAYER_EXPECT_MODULES: modules that must import even if
# their file is missing from the layer (a from-source build's extension modules). arm64 runs under qemu-user (scripts/qemu-arm64.sh binfmt +
# QEMU_LD_PREFIX=build/sysroot/arm64 from scripts/sysroot-arm64.sh).
# ~2 s on x86_64, ~15 s for arm64 under qemu.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 ARCH RUNTIME_ROOT [DEPS_ROOT MODULE...]"
ARCH=$1 RT_ROOT=$(realpath "$2"); shift 2
DEPS_ROOT=""
if [ $# -gt 0 ]; then DEPS_ROOT=$(realpath "$1"); shift; fi
REPO=$(cd "$LAYERS_DIR/.." && pwd)

LIBPY=$(compgen -G "$RT_ROOT/$ARCH/runtime/lib/libpython3.*.so.1.0" | head -1) ||
  die "no $ARCH/runtime/lib/libpython3.*.so.1.0 in $RT_ROOT"
check_elf_arch "$ARCH" "$RT_ROOT/$ARCH"
[ -z "$DEPS_ROOT" ] || check_elf_arch "$ARCH" "$DEPS_ROOT/$ARCH"

# The embedding test program, for ARCH.
TOOLS=$LAYERS_BUILD/.tools
EMBED=$TOOLS/embedtest-$ARCH
if [ ! -x "$EMBED" ] || [ "$LAYERS_DIR/embedtest.c" -nt "$EMBED" ]; then
  mkdir -p "$TOOLS"
  case $ARCH in x86_64) cc=x86_64-linux-gnu-gcc ;; arm64) cc=aarch64-linux-gnu-gcc ;; esac
  [ "$ARCH" != "$(host_arch)" ] || cc=gcc
  command -v "$cc" >/dev/null || die "$cc not found (scripts/packages/layers.txt; make deps)"
  "$cc" -O1 -Wall -Werror -o "$EMBED.tmp.$$" "$LAYERS_DIR/embedtest.c" -ldl && mv -f "$EMBED.tmp.$$" "$EMBED"
fi

RUN_ENV=()
if [ "$ARCH" != "$(host_arch)" ]; then
  [ "$ARCH" = arm64 ] || die "can only emulate arm64 (host $(host_arch))"
  bash "$REPO/scripts/qemu-arm64.sh"
  SYSROOT=${SYSROOT_arm64:-$REPO/build/sysroot/arm64}
  [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || (cd "$REPO" && bash scripts/sysroot-arm64.sh "$SYSROOT")
  RUN_ENV+=("QEMU_LD_PREFIX=$(realpath "$SYSROOT")")
fi

# A certificate for localhost, for check_layer.py's TLS handshake (made once; a config file
# rather than -addext, which Amazon Linux 2's OpenSSL 1.0.2 lacks).
TLS=$TOOLS/tls
if [ ! -s "$TLS/cert.pem" ]; then
  command -v openssl >/dev/null || die "openssl (the command) not found: needed for the TLS handshake check"
  mkdir -p "$TLS"
  printf '[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=localhost\n[ext]\nsubjectAltName=DNS:localhost\nbasicConstraints=critical,CA:TRUE\n' >"$TLS/req.cnf"
  openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -config "$TLS/req.cnf" \
    -keyout "$TLS/key.pem.tmp" -out "$TLS/cert.pem.tmp" 2>"$TLS/openssl.log" || { cat "$TLS/openssl.log" >&2; die "could not make a test certificate"; }
  mv "$TLS/key.pem.tmp" "$TLS/key.pem" && mv "$TLS/cert.pem.tmp" "$TLS/cert.pem"
fi

LDPATH=$RT_ROOT/$ARCH/lib ROOTS=$RT_ROOT PYPATH="" ARGS=(--stdlib)
if [ -n "$DEPS_ROOT" ]; then
  ROOTS=$DEPS_ROOT:$ROOTS PYPATH=$DEPS_ROOT/$ARCH/python
  if [ "${NO_DEPS_LIB:-0}" = 1 ]; then ARGS=("$@")
  else LDPATH=$DEPS_ROOT/$ARCH/lib:$LDPATH ARGS=(--tree "$PYPATH" "$@"); fi
fi
# (${a[@]+"${a[@]}"}: empty arrays under set -u in bash 4.2, Amazon Linux 2's)
env -i PATH=/usr/bin:/bin LANG=C.UTF-8 ${RUN_ENV[@]+"${RUN_ENV[@]}"} \
  LAYER_SYSTEM_SONAMES="$(echo $SYSTEM_SONAMES)" LAYER_SKIP_MODULES="${LAYER_SKIP_MODULES:-}" \
  LAYER_EXPECT_MODULES="${LAYER_EXPECT_MODULES:-}" \
  PYTHONHOME="$RT_ROOT/$ARCH/runtime" LD_LIBRARY_PATH="$LDPATH" PYTHONPATH="$PYPATH" \
  PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 LAYER_TLS_CERT="$TLS/cert.pem" LAYER_TLS_KEY="$TLS/key.pem" \
  "$EMBED" "$LIBPY" "$LAYERS_DIR/check_layer.py" "$ROOTS" ${ARGS[@]+"${ARGS[@]}"}
