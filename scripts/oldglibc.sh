#!/usr/bin/env bash
# An older real glibc to run the release zips under: Debian bullseye's (2.31), per CPU.
#
#   scripts/oldglibc.sh ARCH DEST        ARCH: x86_64 | arm64
#
# DEST gets the contents of bullseye's libc6 and libgcc-s1 .debs for ARCH (fetched with
# `apt-get download` under the private apt state of layers/lib.sh, never installed): the loader
# (DEST/lib64/ld-linux-x86-64.so.2 or DEST/lib/ld-linux-aarch64.so.1), libc, libm, libdl,
# libpthread, ... in DEST/lib/<triplet>/, and libgcc_s (which every Lambda image has too). Run
#   x86_64: DEST/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --inhibit-cache \
#             --library-path DEST/lib/x86_64-linux-gnu PROGRAM ARGS...
#   arm64:  QEMU_LD_PREFIX=DEST PROGRAM ARGS...       (qemu-user finds every file under DEST first)
# so no library of this machine's glibc (2.36) is loaded. Bullseye's 2.31 is the oldest real
# glibc Debian still serves; Amazon Linux 2 has 2.26, which the zips are built for (zig's stubs),
# so this run proves they need nothing of the build host's glibc at run time.
# A second run with the same DEST is a stamp check.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 x86_64|arm64 DEST" >&2; exit 2; }
ARCH=$1 DEST=$2
source "$(dirname "$0")/../layers/lib.sh"
DEBARCH=$(debarch_for "$ARCH")
TRIPLET=$(triplet_for "$ARCH")
PKGS=(libc6 libgcc-s1)

KEY="bullseye $DEBARCH ${PKGS[*]} $(sha256sum "$0" | cut -c1-16)"
[ -f "$DEST/.stamp" ] && [ "$(cat "$DEST/.stamp")" = "$KEY" ] && exit 0

apt_init bullseye "$DEBARCH"
mapfile -t POOL < <(pkg_fetch bullseye "$DEBARCH" "${PKGS[@]}")
rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp"
for p in "${POOL[@]}"; do
  cp -a "$p/." "$DEST.tmp/"
done
rm -f "$DEST.tmp/.extracted"
# The loader under the name the binaries ask for (PT_INTERP), where qemu looks for it (the
# .deb's own link is absolute: it would point into this machine's /lib).
case $ARCH in
  x86_64) loader=ld-linux-x86-64.so.2; mkdir -p "$DEST.tmp/lib64"
          ln -sfn "../lib/$TRIPLET/$loader" "$DEST.tmp/lib64/$loader" ;;
  arm64)  loader=ld-linux-aarch64.so.1
          ln -sfn "$TRIPLET/$loader" "$DEST.tmp/lib/$loader" ;;
esac
[ -e "$DEST.tmp/lib/$TRIPLET/$loader" ] || die "no $loader in bullseye's libc6 ($ARCH)"
[ -e "$DEST.tmp/lib/$TRIPLET/libc.so.6" ] || die "no libc.so.6 in bullseye's libc6 ($ARCH)"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
echo "$KEY" >"$DEST/.stamp"
note "bullseye glibc for $ARCH in $DEST ($(basename "$(readlink -f "$DEST/lib/$TRIPLET/libc.so.6")"))"
