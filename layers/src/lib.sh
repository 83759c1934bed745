# shellcheck shell=bash
# Shared by layers/src/build.sh and the recipes (sourced, not run): the toolchain for one
# arch, staged installs, .pc fixes. Part of every build's cache key (check.sh, the checks,
# is not: a changed check re-checks, it does not rebuild).
#
#   toolchain_env ARCH     exports CC CXX AR RANLIB STRIP READELF (zig at glibc $GLIBC_FLOOR
#                          through the host-dir filter of toolchain_dir), HOST_TRIPLET,
#                          BUILD_TRIPLET, JOBS, PKG_CONFIG with an empty search path
#   stage_install DEST CMD...   run `CMD... DESTDIR=<stage>` for a --prefix=$CACHE_ENTRY build
#                          and move the result to DEST
#   pc_static FILE...      fold Libs.private into Libs (static libraries need them)
#   autotools_keep SRC     keep make from regenerating autotools files after Debian's patches
#   strip_tree ARCH DIR    strip every ELF under DIR (debug info and local symbols)

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REPO=$(cd "$SRC_DIR/../.." && pwd)
# shellcheck source=../lib.sh
. "$REPO/layers/lib.sh"
# shellcheck source=source.sh
. "$SRC_DIR/source.sh"
# shellcheck source=check.sh
. "$SRC_DIR/check.sh"

# The zig toolchain (scripts/zig.sh: cached, pinned) and its version/floor.
ZIG_DIR=${ZIG_DIR:-$(bash "$REPO/scripts/zig.sh")} || src_die "the zig toolchain could not be installed"
# shellcheck disable=SC1091
. "$ZIG_DIR/env"

triplet_of() { case $1 in x86_64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; *) src_die "unknown arch '$1' (x86_64|arm64)" ;; esac; }

# The compiler wrappers every recipe and CPython's sysconfig use: zig's <arch>-cc with the
# host's own directories (-I/usr/include..., -L/usr/lib...) removed, so no build script
# (CPython 3.9's setup.py adds them on a native build) can mix this machine's glibc 2.36
# headers or libraries into a glibc-2.26 build. A cache entry of its own: its path is
# recorded in _sysconfigdata (CC) and must outlive any one build.
_toolchain_make() {
  local dest=$1 arch mode
  mkdir -p "$dest/bin"
  for arch in x86_64 arm64; do
    for mode in cc c++; do
      cat >"$dest/bin/$arch-$mode" <<EOF
#!/bin/sh
# $arch $mode for the from-source runtimes: $ZIG_DIR/bin/$arch-$mode (glibc $GLIBC_FLOOR)
# without the build host's include and library directories (layers/src/lib.sh).
for a do
  shift
  case \$a in
    -I/usr/include|-I/usr/include/*|-I/usr/local/include|-I/usr/local/include/*) ;;
    -L/usr/lib|-L/usr/lib/*|-L/lib|-L/lib/*|-L/usr/lib64|-L/lib64|-L/usr/local/lib|-L/usr/local/lib/*) ;;
    *) set -- "\$@" "\$a" ;;
  esac
done
exec $ZIG_DIR/bin/$arch-$mode "\$@"
EOF
    done
    for mode in ar ranlib strip; do printf '#!/bin/sh\nexec %s "$@"\n' "$ZIG_DIR/bin/$arch-$mode" >"$dest/bin/$arch-$mode"; done
  done
  chmod +x "$dest"/bin/*
}
toolchain_dir() {
  cache_build toolchain "$(cache_key "$SRC_DIR/lib.sh" -- "$ZIG_DIR" "$ZIG_VERSION" "$GLIBC_FLOOR")" _toolchain_make
}

toolchain_env() {
  local arch=$1 tc
  tc=$(toolchain_dir) || src_die "could not make the compiler wrappers"
  export CC=$tc/bin/$arch-cc CXX=$tc/bin/$arch-c++ AR=$tc/bin/$arch-ar RANLIB=$tc/bin/$arch-ranlib
  export STRIP=$tc/bin/$arch-strip READELF=readelf
  export HOST_TRIPLET; HOST_TRIPLET=$(triplet_of "$arch")
  export BUILD_TRIPLET=x86_64-linux-gnu
  [ "$(uname -m)" = x86_64 ] || src_die "the from-source build runs on an x86_64 host (this is $(uname -m))"
  export JOBS=${JOBS:-$(nproc)}
  # pkg-config sees only what the recipe adds to PKG_CONFIG_LIBDIR: never the host's .pc files.
  export PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="" PKG_CONFIG_PATH="" PKG_CONFIG_SYSROOT_DIR=""
  unset CFLAGS CPPFLAGS LDFLAGS CXXFLAGS LIBS MAKEFLAGS MFLAGS
  export LC_ALL=C SOURCE_DATE_EPOCH
}

# stage_install DEST CMD... : the build was configured with --prefix=$CACHE_ENTRY (the path
# the entry will have); install into a staging root and move that prefix's contents to DEST.
stage_install() {
  local dest=$1; shift
  local stage=$dest/.stage
  rm -rf "$stage"
  "$@" DESTDIR="$stage" || src_die "install failed: $*"
  [ -d "$stage$CACHE_ENTRY" ] || src_die "install wrote nothing under $CACHE_ENTRY"
  cp -a "$stage$CACHE_ENTRY/." "$dest/"
  rm -rf "$stage"
}

# autotools_keep SRC: mark the generated autotools files (configure, aclocal.m4,
# Makefile.in, config.h.in) up to date, for a source whose Debian patches touched
# configure.ac or Makefile.am in parts the recipe does not build: without it make would
# try to rerun automake, which the build does not need (and the machine may not have).
autotools_keep() {
  find "$1" \( -name configure -o -name aclocal.m4 -o -name Makefile.in -o -name config.h.in \) -type f \
    -exec touch -d "@$(date +%s)" {} +
}

pc_static() {
  local f priv
  for f in "$@"; do
    [ -f "$f" ] || src_die "no pkg-config file $f"
    priv=$(sed -n 's/^Libs\.private:[[:space:]]*//p' "$f" | tr '\n' ' ')
    [ -n "${priv// }" ] || continue
    sed -i -e "s|^Libs:\(.*\)$|Libs:\1 $priv|" -e '/^Libs\.private:/d' "$f"
  done
}

strip_tree() {
  local arch=$1 dir=$2 f
  toolchain_env "$arch"
  while read -r f; do
    [ -n "$f" ] || continue
    case $f in *.a) continue ;; esac
    "$STRIP" --strip-unneeded "$f" || src_die "strip failed: $f"
  done < <(_elf_files "$dir")
}
