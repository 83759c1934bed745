#!/usr/bin/env bash
# Build a static libcjson from Debian bookworm's cjson source package.
#
#   scripts/cjson-static.sh ARCH            ARCH: x86_64 | arm64; the development build (gcc)
#   scripts/cjson-static.sh ARCH zig LINK   the release build (zig cc, glibc 2.26), in the cache
#
# Result: PREFIX/{include/cjson/cJSON.h, lib/libcjson.a, lib/pkgconfig/libcjson.pc}, where PREFIX
# is build/cjson/ARCH for gcc, and for zig an entry of the build cache (scripts/cache.sh) keyed by
# this script, the source version and the zig toolchain, which LINK then points at.
# Why: Debian ships cJSON only as a shared library, which Lambda's images do not have;
# linked statically, the bootstrap needs nothing beyond glibc (and starts a little faster).
set -euo pipefail

ARCH=${1:-}
TOOLCHAIN=${2:-gcc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/cjson
usage() { echo "usage: $0 x86_64|arm64 [zig LINK]" >&2; exit 2; }
case "$ARCH" in x86_64|arm64) ;; *) usage ;; esac
die() { echo "cjson-static[$ARCH]: error: $*" >&2; exit 1; }

# Hidden: linked into an executable that exports symbols (dlopen), cJSON's must not be among them.
CFLAGS=(-std=c89 -O2 -fPIC -fvisibility=hidden)
case "$TOOLCHAIN/$ARCH" in
  gcc/x86_64) CC=(gcc); AR=(ar) ;;
  gcc/arm64) CC=(aarch64-linux-gnu-gcc --sysroot="$ROOT/build/sysroot/arm64"); AR=(ar) ;;
  zig/*) LINK=${3:-}; [ -n "$LINK" ] || usage ;;
  *) usage ;;
esac

SCRIPT_ID=$(sha256sum "$0" | cut -c1-16)
STAMP=$OUT/$ARCH/.stamp
# The source: the `cjson` pin of layers/src/sources.lock, in the build cache (layers/src/fetch.sh).
# Its key (the pin and how it is fetched) is a lookup, no network.
SOURCE=$(bash "$ROOT/layers/src/fetch.sh" --key cjson) || die "no cjson pin in layers/src/sources.lock"
[ "$TOOLCHAIN" = gcc ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "script=$SCRIPT_ID source=$SOURCE" ] && exit 0
CJSON_SRC=$(bash "$ROOT/layers/src/fetch.sh" cjson) || die "could not fetch cjson's source (layers/src/sources.lock)"
VERSION=$(cut -d' ' -f2 "$(dirname "$CJSON_SRC")/VERSION")
mkdir -p "$OUT"

# build_cjson PREFIX: compile cJSON.c into PREFIX/lib/libcjson.a, with its header and .pc.
build_cjson() {
  local prefix=$1
  rm -rf "$prefix" && mkdir -p "$prefix/include/cjson" "$prefix/lib/pkgconfig"
  "${CC[@]}" "${CFLAGS[@]}" -c "$CJSON_SRC/cJSON.c" -o "$prefix/cJSON.o" || die "compiling cJSON.c failed"
  "${AR[@]}" rcs "$prefix/lib/libcjson.a" "$prefix/cJSON.o" && rm "$prefix/cJSON.o"
  cp "$CJSON_SRC/cJSON.h" "$prefix/include/cjson/"
  local v; v=$(sed -n 's/.*CJSON_VERSION_MAJOR \([0-9]*\).*/\1/p' "$CJSON_SRC/cJSON.h").$(sed -n 's/.*CJSON_VERSION_MINOR \([0-9]*\).*/\1/p' "$CJSON_SRC/cJSON.h").$(sed -n 's/.*CJSON_VERSION_PATCH \([0-9]*\).*/\1/p' "$CJSON_SRC/cJSON.h")
  cat > "$prefix/lib/pkgconfig/libcjson.pc" <<PC
prefix=\${pcfiledir}/../..
Name: libcjson
Description: cJSON from Debian's source package, static
Version: $v
Cflags: -I\${prefix}/include -I\${prefix}/include/cjson
Libs: -L\${prefix}/lib -lcjson
PC
  echo "script=$SCRIPT_ID source=$SOURCE" > "$prefix/.stamp"
  echo "cjson-static[$ARCH]: $prefix (cJSON $v, Debian $VERSION, $("${CC[@]}" --version | head -n1))" >&2
}

if [ "$TOOLCHAIN" = zig ]; then
  . "$ROOT/scripts/cache.sh"
  ZIG=$(bash "$ROOT/scripts/zig.sh")
  # (zig's object cache of its own: see ZIG_LOCAL_CACHE_DIR in mk/bootstrap.mk)
  CC=(env ZIG_LOCAL_CACHE_DIR="$OUT/zig-cache-$ARCH" "$ZIG/bin/$ARCH-cc") AR=("$ZIG/bin/$ARCH-ar")
  entry=$(cache_build "cjson-$ARCH" "$(cache_key "$0" -- "$SOURCE" "$ARCH" "$(basename "$ZIG")")" build_cjson) ||
    die "the zig build failed"
  mkdir -p "$(dirname "$LINK")" && ln -sfn "$entry" "$LINK"
  echo "$entry"
else
  build_cjson "$OUT/$ARCH"
fi
