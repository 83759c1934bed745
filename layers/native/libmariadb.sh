#!/usr/bin/env bash
# MariaDB Connector/C (libmariadb.so.3) for a dependency layer, at the runtimes' glibc floor.
#
#   layers/native/libmariadb.sh ARCH LINK_DIR     ARCH: x86_64 | arm64
#
# Prints the prefix: include/mariadb/, lib/libmariadb.so.3 (+ libmariadb.so), lib/pkgconfig/
# libmariadb.pc, in the build cache (scripts/cache.sh), keyed by this script, the Debian
# source version and ARCH.
#
# Source: Debian bookworm's mariadb source package, whose libmariadb/ is Connector/C, built
# alone with cmake and build/zig/bin/ARCH-cc (glibc 2.26, as the runtime zips). It needs
# OpenSSL, linked against the runtime zip's <arch>/lib (LINK_DIR), which the layer is used
# with: libssl.so.3 or .so.1.1 (headers from Debian's libssl-dev of the matching suite) and
# libcrypto; and zlib, linked in statically from the from-source runtimes' own zlib build
# (layers/src: libz.a, -fPIC), since those runtimes ship no libz.so.1. The client plugins MySQL 8 and MariaDB need by default
# (caching_sha2_password, sha256_password, mysql_native_password, the dialog) are built in,
# so no plugin directory has to be set on Lambda; the ones that would need more libraries
# (GSSAPI/Kerberos, PAM, ...) are left out.
set -euo pipefail
ARCH=${1:-} LINK_DIR=${2:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "libmariadb[$ARCH]: error: $*" >&2; exit 1; }
case "$ARCH" in x86_64|arm64) ;; *) echo "usage: $0 x86_64|arm64 LINK_DIR" >&2; exit 2 ;; esac
[ -n "$LINK_DIR" ] || { echo "usage: $0 x86_64|arm64 LINK_DIR" >&2; exit 2; }

. "$ROOT/scripts/cache.sh"
LAYERS_BUILD=$ROOT/layers/build
. "$ROOT/layers/lib.sh"
ZIG=$(bash "$ROOT/scripts/zig.sh")
CACHE=$(cache_dir)

# The source: the `mariadb` pin of layers/src/sources.lock (bookworm's; the security mirror lists
# newer ones it does not always serve), fetched by layers/src/fetch.sh; of the whole server tree
# only libmariadb/ (and the Debian version) is kept in the cache.
fetch_source() { # DEST
  local dest=$1
  bash "$ROOT/layers/src/fetch.sh" --into "$dest/full" mariadb || return 1
  mv "$dest/full/src/libmariadb" "$dest/libmariadb"
  cut -d' ' -f2 "$dest/full/VERSION" >"$dest/version"
  rm -rf "$dest/full"
}
src=$(cache_build src-mariadb-connector "$(cache_key "$0" -- "$(bash "$ROOT/layers/src/fetch.sh" --key mariadb)")" fetch_source) ||
  die "could not fetch Debian's mariadb source"

# OpenSSL: the one the runtime ships, so the layer needs no other. OpenSSL 3 (libssl.so.3, the
# from-source runtimes) with bookworm's headers; OpenSSL 1.1 (libssl.so.1.1: the Debian-built 3.9
# runtime, or a 3.9 built with it) with bullseye's. A runtime with neither: bookworm's libssl3 is
# linked, and the layer relies on the target's libssl.so.3 (al2023 has it; the doctor says so for al2).
debarch=$(debarch_for "$ARCH") triplet=$(triplet_for "$ARCH")
if [ -e "$LINK_DIR/libssl.so.3" ] && [ -e "$LINK_DIR/libcrypto.so.3" ]; then
  ssl=3 ssl_suite=bookworm
elif [ -e "$LINK_DIR/libssl.so.1.1" ] && [ -e "$LINK_DIR/libcrypto.so.1.1" ]; then
  ssl=1.1 ssl_suite=bullseye
else
  echo "libmariadb[$ARCH]: $LINK_DIR has no libssl.so.3 or .so.1.1: linking against Debian bookworm's" >&2
  apt_init bookworm "$debarch"
  mapfile -t rt < <(pkg_fetch bookworm "$debarch" libssl3)
  tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
  cp -a "$LINK_DIR"/. "$tmp"/ && cp -a "${rt[0]}"/usr/lib/"$triplet"/lib*.so.3 "$tmp"/ && LINK_DIR=$tmp
  ssl=3 ssl_suite=bookworm
fi
# zlib: the from-source runtimes' static libz.a (layers/src/recipes/zlib.sh, in the build cache)
zlib=$(bash "$ROOT/layers/src/build.sh" zlib "$ARCH") || die "building zlib (layers/src/build.sh zlib $ARCH) failed"
[ -f "$zlib/lib/libz.a" ] && [ -f "$zlib/include/zlib.h" ] || die "$zlib has no lib/libz.a and include/zlib.h"
# headers (never installed): OpenSSL's from that suite
apt_init "$ssl_suite" "$debarch"
mapfile -t ssldev < <(pkg_fetch "$ssl_suite" "$debarch" libssl-dev)
devs=("${ssldev[0]}")

# (cache_build runs this in an `if`, where set -e is off: every step is checked)
build_lib() { # DEST
  local dest=$1 b=$1/.build
  mkdir -p "$b" "$dest/linklib" "$dest/.nothing" || return 1
  # only what is linked: the runtime's libraries, under the names -lssl etc. look for
  for l in ssl crypto; do ln -s "$(realpath "$LINK_DIR/lib$l.so.$ssl")" "$dest/linklib/lib$l.so" || return 1; done
  local inc="-I${devs[0]}/usr/include -I${devs[0]}/usr/include/$triplet"
  # Nothing of this machine's: find_* looks only under an empty root, pkg-config nowhere.
  PKG_CONFIG_LIBDIR=$dest/.nothing cmake -S "$src/libmariadb" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$dest" -DINSTALL_LIBDIR=lib -DINSTALL_PCDIR=lib/pkgconfig -DINSTALL_INCLUDEDIR=include/mariadb \
    -DCMAKE_C_COMPILER="$ZIG/bin/$ARCH-cc" -DCMAKE_AR="$ZIG/bin/$ARCH-ar" -DCMAKE_RANLIB="$ZIG/bin/$ARCH-ranlib" \
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="${triplet%%-*}" \
    -DCMAKE_FIND_ROOT_PATH="$dest/.nothing" -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON \
    -DCMAKE_C_FLAGS="$inc" -DCMAKE_SHARED_LINKER_FLAGS="-L$dest/linklib" \
    -DWITH_SSL=OPENSSL -DOPENSSL_INCLUDE_DIR="${devs[0]}/usr/include" \
    -DOPENSSL_SSL_LIBRARY="$dest/linklib/libssl.so" -DOPENSSL_CRYPTO_LIBRARY="$dest/linklib/libcrypto.so" \
    -DWITH_EXTERNAL_ZLIB=ON -DZLIB_INCLUDE_DIR="$zlib/include" -DZLIB_LIBRARY="$zlib/lib/libz.a" \
    -DWITH_UNIT_TESTS=OFF -DWITH_CURL=OFF -DWITH_ICONV=OFF \
    -DCLIENT_PLUGIN_CACHING_SHA2_PASSWORD=STATIC -DCLIENT_PLUGIN_SHA256_PASSWORD=STATIC \
    -DCLIENT_PLUGIN_MYSQL_CLEAR_PASSWORD=STATIC -DCLIENT_PLUGIN_DIALOG=STATIC \
    -DCLIENT_PLUGIN_AUTH_GSSAPI_CLIENT=OFF -DCLIENT_PLUGIN_REMOTE_IO=OFF -DCLIENT_PLUGIN_PVIO_NPIPE=OFF \
    -DCLIENT_PLUGIN_PVIO_SHMEM=OFF -DCLIENT_PLUGIN_CLIENT_ED25519=STATIC -DCLIENT_PLUGIN_PARSEC=OFF || return 1
  cmake --build "$b" -j"$(nproc)" || return 1
  cmake --install "$b" || return 1
  [ -f "$dest/lib/libmariadb.so.3" ] || { echo "no lib/libmariadb.so.3 installed" >&2; return 1; }
  "$ZIG/bin/$ARCH-strip" --strip-unneeded "$(realpath "$dest/lib/libmariadb.so.3")" || return 1
  # the .pc names the temporary directory: make it relative; no man pages, no mariadb_config
  sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' "$dest/lib/pkgconfig/libmariadb.pc" || return 1
  rm -rf "$b" "$dest/linklib" "$dest/.nothing" "$dest/man" "$dest/bin" "$dest"/lib/*.a
  cp "$src/version" "$dest/debian-version"
}
key=$(cache_key "$0" "$src/version" -- "$ARCH" "openssl $ssl" "$(cat "$ZIG/env" 2>/dev/null)" "$(basename "$zlib")")
cache_build "libmariadb-$ARCH" "$key" build_lib
