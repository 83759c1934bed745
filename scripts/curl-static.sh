#!/usr/bin/env bash
# Build a minimal, static, HTTP-only libcurl from Debian bookworm's curl source package.
#
#   scripts/curl-static.sh ARCH            ARCH: x86_64 | arm64; the development build (gcc)
#   scripts/curl-static.sh ARCH zig LINK   the release build (zig cc, glibc 2.26), in the cache
#
# Result (relocatable: libcurl.pc uses ${pcfiledir}):
#   PREFIX/include/curl/*.h
#   PREFIX/lib/libcurl.a
#   PREFIX/lib/pkgconfig/libcurl.pc
# so that  PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --static --cflags --libs libcurl
# gives the flags. PREFIX is:
#   gcc: build/curl/ARCH (with a .stamp); arm64 is cross-compiled with aarch64-linux-gnu-gcc
#        against the sysroot of scripts/sysroot-arm64.sh (built first if missing);
#   zig: an entry of the build cache (scripts/cache.sh) keyed by this script, the curl source
#        version and the zig toolchain (its version and glibc floor), which LINK then points at.
#        build/zig/bin/ARCH-cc builds both CPUs from this machine, for glibc 2.26 (Amazon Linux 2).
#
# Why: Debian's shared libcurl pulls in ~33 shared objects (TLS, krb5, LDAP, ssh,
# ...) and costs ~6-8 ms of process start; this one links only libc/libpthread.
#
# Source: the `curl` pin of layers/src/sources.lock, fetched by layers/src/fetch.sh into the
# build cache (apt-get source under a private apt state, checked against the signed index,
# `dpkg-source -x`: Debian's patches, security fixes included, applied); configure runs out of
# that tree, which is never written to. Nothing is regenerated
# with autotools: curl uses AM_MAINTAINER_MODE, so the patches that only touch
# configure.ac/Makefile.am (zsh completion, krb5/LDAP link flags, the gnutls/nss
# library renames) have no effect, and none of them matter for an HTTP-only build.
#
# Cost on a fresh machine, 2 cores: source ~3 s once; per arch ~45 s with gcc
# (configure ~28 s, lib/ at -j2 ~16 s), ~70 s with zig. A second run is a stamp or cache check.
set -euo pipefail

ARCH=${1:-}
TOOLCHAIN=${2:-gcc}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CURL_DIR=${CURL_BUILD_DIR:-$ROOT/build/curl}
SYSROOT=${SYSROOT_ARM64:-$ROOT/build/sysroot/arm64}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

die() { echo "curl-static[$ARCH]: error: $*" >&2; exit 1; }
log() { echo "curl-static[$ARCH]: $*" >&2; }

case "$ARCH" in
  x86_64|arm64) ;;
  *) echo "usage: $0 x86_64|arm64 [zig LINK]" >&2; exit 2 ;;
esac
case "$TOOLCHAIN" in
  gcc) ;;
  zig) LINK=${3:-}; [ -n "$LINK" ] || { echo "usage: $0 ARCH zig LINK" >&2; exit 2; } ;;
  *) echo "usage: $0 x86_64|arm64 [zig LINK]" >&2; exit 2 ;;
esac

SCRIPT_ID=$(sha256sum "$0" | cut -c1-16)
# The source tree's key (the pin and how it is fetched): a lookup, no network.
SOURCE=$(bash "$ROOT/layers/src/fetch.sh" --key curl) || die "no curl pin in layers/src/sources.lock"

# Cached? (the stamp names the script revision and the source it was built from)
if [ "$TOOLCHAIN" = gcc ] && [ -f "$CURL_DIR/$ARCH/.stamp" ] \
   && [ "$(cat "$CURL_DIR/$ARCH/.stamp")" = "script=$SCRIPT_ID arch=$ARCH source=$SOURCE" ]; then
  exit 0
fi

for tool in apt-get dpkg-source make flock dash; do
  command -v "$tool" >/dev/null || die "'$tool' not found (see scripts/packages/toolchain.txt)"
done

# --- source: the pinned tree in the build cache (fetched once, shared by every build) ---------
CURL_SRC=$(bash "$ROOT/layers/src/fetch.sh" curl) || die "could not fetch curl's source (layers/src/sources.lock)"
VERSION=$(cut -d' ' -f2 "$(dirname "$CURL_SRC")/VERSION")   # "curl 7.88.1-10+deb12u15 (bookworm)"
grep -q '^AM_MAINTAINER_MODE' "$CURL_SRC/configure.ac" \
  || die "curl $VERSION no longer uses AM_MAINTAINER_MODE: Debian's build-system patches would need autoreconf"
mkdir -p "$CURL_DIR"

CONFIGURE_FLAGS=(
  --disable-shared --enable-static --with-pic
  --disable-dependency-tracking --disable-silent-rules --disable-maintainer-mode
  --disable-manual --disable-libcurl-option --disable-curldebug --disable-debug --enable-optimize
  --enable-symbol-hiding --enable-threaded-resolver --enable-ipv6
  # protocols: HTTP only
  --enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp
  --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb
  --disable-smtp --disable-gopher --disable-mqtt --disable-websockets
  # features nobody needs to talk to the Lambda Runtime API
  --disable-alt-svc --disable-hsts --disable-cookies --disable-ntlm --disable-ntlm-wb
  --disable-tls-srp --disable-doh --disable-mime --disable-netrc --disable-progress-meter
  --disable-dnsshuffle
  # no socketpair: a multi handle would hold two descriptors of its own for wakeups we never use,
  # which a handler's os.closerange or os.dup2 could take away unnoticed (the wait would then spin)
  --disable-socketpair
  # no external libraries at all
  --without-ssl --without-openssl --without-gnutls --without-nss --without-hyper
  --without-zlib --without-brotli --without-zstd --without-libidn2 --without-libpsl
  --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3
  --without-libssh2 --without-libssh --without-wolfssh --without-librtmp --without-gssapi
  --without-libgsasl --without-ca-bundle --without-ca-path --without-ca-fallback
  --without-zsh-functions-dir --without-fish-functions-dir
)
CFLAGS_ARCH="-O2 -g0 -pipe -ffunction-sections -fdata-sections -fstack-protector-strong -Wformat -Werror=format-security"

# build_curl OBJ PREFIX CC [CONFIGURE_ARGS...]: configure (out of tree, in OBJ), build lib/,
# and install the library, its headers and libcurl.pc into PREFIX (staged, moved at the end:
# an old PREFIX stays in place until the new one is complete).
build_curl() {
  local obj=$1 prefix=$2 cc=$3; shift 3
  rm -rf "$obj"
  mkdir -p "$obj" "$CURL_DIR/empty-pkgconfig"
  cd "$obj"
  log "configuring curl $VERSION with $cc"
  local t0=$SECONDS t1 t2
  # PKG_CONFIG_LIBDIR: an empty dir, so configure finds no host (or arm64) .pc files.
  # dash instead of bash for configure and libtool: about 30% less CPU time.
  if ! env CC="$cc" ${TOOL_ENV[@]+"${TOOL_ENV[@]}"} CFLAGS="$CFLAGS_ARCH" CPPFLAGS="-D_FORTIFY_SOURCE=2" LDFLAGS="" LIBS="" \
        PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$CURL_DIR/empty-pkgconfig" CONFIG_SHELL=/bin/dash \
        /bin/dash "$CURL_SRC/configure" "$@" --prefix="$prefix" --libdir="$prefix/lib" \
        --includedir="$prefix/include" "${CONFIGURE_FLAGS[@]}" >configure.log 2>&1; then
    tail -n 30 config.log >&2 2>/dev/null || tail -n 30 configure.log >&2
    die "configure failed (full log: $obj/configure.log, $obj/config.log)"
  fi
  t1=$SECONDS
  local protocols; protocols=$(sed -n 's/^ *Protocols: *//p' configure.log)
  [ "$protocols" = HTTP ] || die "configure enabled protocols '$protocols', expected only HTTP (see $obj/configure.log)"

  log "building lib/libcurl.la (-j$JOBS)"
  make -C lib -j"$JOBS" libcurl.la >build.log 2>&1 \
    || { tail -n 40 build.log >&2; die "make -C lib libcurl.la failed (full log: $obj/build.log)"; }
  t2=$SECONDS

  # Install just the library, the public headers and libcurl.pc, staged under DESTDIR.
  local dest=$obj/dest stage=$obj/dest$prefix
  {
    make -C lib install-libLTLIBRARIES DESTDIR="$dest" &&
    make -C include/curl install-pkgincludeHEADERS DESTDIR="$dest" &&
    make install-pkgconfigDATA DESTDIR="$dest"
  } >install.log 2>&1 || { tail -n 40 install.log >&2; die "install failed (full log: $obj/install.log)"; }
  rm -f "$stage/lib/libcurl.la"
  # Relocatable .pc: prefix relative to the file itself, not this checkout's absolute path.
  sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' \
         -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
         -e 's|^libdir=.*|libdir=${exec_prefix}/lib|' \
         -e 's|^includedir=.*|includedir=${prefix}/include|' "$stage/lib/pkgconfig/libcurl.pc"

  [ -f "$stage/lib/libcurl.a" ] && [ -f "$stage/include/curl/curl.h" ] && [ -f "$stage/lib/pkgconfig/libcurl.pc" ] \
    || die "install incomplete under $stage"
  local objdump want got
  case "$ARCH" in
    x86_64) objdump=objdump;                   want='i386:x86-64' ;;
    arm64)  objdump=aarch64-linux-gnu-objdump; want='aarch64' ;;
  esac
  got=$("$objdump" -f "$stage/lib/libcurl.a" | sed -n 's/^architecture: \([^,]*\),.*/\1/p' | sort -u)
  [ "$got" = "$want" ] || die "$stage/lib/libcurl.a has architecture '$got', expected '$want'"

  echo "script=$SCRIPT_ID arch=$ARCH source=$SOURCE" > "$stage/.stamp"
  rm -rf "$prefix"
  mv "$stage" "$prefix"
  cd / && rm -rf "$obj"
  log "done: $prefix (curl $VERSION; configure $((t1 - t0)) s, make $((t2 - t1)) s; libcurl.a $(du -k "$prefix/lib/libcurl.a" | cut -f1) KB)"
}

TOOL_ENV=()   # more tools for configure (AR=..., RANLIB=...)
triplet() { case $ARCH in x86_64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; esac; }

# --- zig: a cache entry ---------------------------------------------------------------------
if [ "$TOOLCHAIN" = zig ]; then
  . "$ROOT/scripts/cache.sh"
  ZIG=$(bash "$ROOT/scripts/zig.sh")
  # The cache entry is the prefix; configure runs in a scratch directory next to it.
  curl_zig() {
    local dest=$1
    rmdir "$dest"
    # (zig's object cache of its own: see ZIG_LOCAL_CACHE_DIR in mk/bootstrap.mk)
    TOOL_ENV=(AR="$ZIG/bin/$ARCH-ar" RANLIB="$ZIG/bin/$ARCH-ranlib" ZIG_LOCAL_CACHE_DIR="$dest.zig-cache")
    build_curl "$dest.obj" "$dest" "$ZIG/bin/$ARCH-cc" --host="$(triplet)" --build=x86_64-linux-gnu
    rm -rf "$dest.zig-cache"
  }
  key=$(cache_key "$0" -- "$SOURCE" "$ARCH" "$(basename "$ZIG")")
  entry=$(cache_build "curl-$ARCH" "$key" curl_zig) || die "the zig build failed"
  mkdir -p "$(dirname "$LINK")" && ln -sfn "$entry" "$LINK"
  echo "$entry"
  exit 0
fi

# --- gcc: build/curl/ARCH -----------------------------------------------------------------------
# One build per arch at a time (make -j, or the lead's and a test's make at once).
exec 8>"$CURL_DIR/.$ARCH.lock"
flock 8
if [ -f "$CURL_DIR/$ARCH/.stamp" ] && [ "$(cat "$CURL_DIR/$ARCH/.stamp")" = "script=$SCRIPT_ID arch=$ARCH source=$SOURCE" ]; then
  exit 0   # built by another caller while we waited
fi

if [ "$ARCH" = arm64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null \
    || die "aarch64-linux-gnu-gcc not found: install gcc-aarch64-linux-gnu"
  bash "$ROOT/scripts/sysroot-arm64.sh" "$SYSROOT"
  build_curl "$CURL_DIR/obj/$ARCH" "$CURL_DIR/$ARCH" "aarch64-linux-gnu-gcc --sysroot=$SYSROOT" \
    --host=aarch64-linux-gnu --build=x86_64-linux-gnu
else
  [ "$(uname -m)" = x86_64 ] || die "x86_64 is only built natively (host is $(uname -m))"
  build_curl "$CURL_DIR/obj/$ARCH" "$CURL_DIR/$ARCH" gcc
fi
