#!/usr/bin/env bash
# Build a static libcjson from Debian bookworm's cjson source package.
#
#   scripts/cjson-static.sh ARCH          ARCH: x86_64 | arm64
#
# Result: build/cjson/ARCH/{include/cjson/cJSON.h, lib/libcjson.a, lib/pkgconfig/libcjson.pc}
# Why: Debian ships cJSON only as a shared library, which Lambda's images do not have;
# linked statically, the bootstrap needs nothing beyond glibc (and starts a little faster).
set -euo pipefail

ARCH=${1:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/cjson
APT_DIR=$ROOT/build/apt/src
case "$ARCH" in
  x86_64) CC=gcc; SYSROOT_FLAGS=() ;;
  arm64) CC=aarch64-linux-gnu-gcc; SYSROOT_FLAGS=(--sysroot="$ROOT/build/sysroot/arm64") ;;
  *) echo "usage: $0 x86_64|arm64" >&2; exit 2 ;;
esac
die() { echo "cjson-static[$ARCH]: error: $*" >&2; exit 1; }

SCRIPT_ID=$(sha256sum "$0" | cut -c1-16)
STAMP=$OUT/$ARCH/.stamp
[ -f "$STAMP" ] && [ -f "$OUT/src/.stamp" ] && [ "$(cat "$STAMP")" = "script=$SCRIPT_ID source=$(cat "$OUT/src/.stamp")" ] && exit 0

. "$ROOT/scripts/debian-source.sh"
mkdir -p "$OUT"
(
  flock 9  # both arches may be built at once: fetch the source once
  if [ ! -f "$OUT/src/.stamp" ]; then
    rm -rf "$OUT/src" "$OUT/src.tmp"
    version=$(debian_source_fetch cjson "$APT_DIR" "$OUT/src.tmp") || die "could not fetch cjson's source"
    mv "$OUT/src.tmp" "$OUT/src"
    echo "$version" > "$OUT/src/.stamp"
  fi
) 9>"$OUT/.src.lock"

prefix=$OUT/$ARCH
rm -rf "$prefix" && mkdir -p "$prefix/include/cjson" "$prefix/lib/pkgconfig"
"$CC" "${SYSROOT_FLAGS[@]}" -std=c89 -O2 -fPIC -c "$OUT/src/cJSON.c" -o "$prefix/cJSON.o" || die "compiling cJSON.c failed"
ar rcs "$prefix/lib/libcjson.a" "$prefix/cJSON.o" && rm "$prefix/cJSON.o"
cp "$OUT/src/cJSON.h" "$prefix/include/cjson/"
version=$(sed -n 's/.*CJSON_VERSION_MAJOR \([0-9]*\).*/\1/p' "$OUT/src/cJSON.h").$(sed -n 's/.*CJSON_VERSION_MINOR \([0-9]*\).*/\1/p' "$OUT/src/cJSON.h").$(sed -n 's/.*CJSON_VERSION_PATCH \([0-9]*\).*/\1/p' "$OUT/src/cJSON.h")
cat > "$prefix/lib/pkgconfig/libcjson.pc" <<PC
prefix=\${pcfiledir}/../..
Name: libcjson
Description: cJSON from Debian's source package, static
Version: $version
Cflags: -I\${prefix}/include -I\${prefix}/include/cjson
Libs: -L\${prefix}/lib -lcjson
PC
echo "script=$SCRIPT_ID source=$(cat "$OUT/src/.stamp")" > "$STAMP"
echo "cjson-static[$ARCH]: $prefix (cJSON $version, Debian $(cat "$OUT/src/.stamp"))"
