#!/usr/bin/env bash
# layers/src/build.sh [--lookup] COMPONENT ARCH
#
# --lookup: print the entry's path if it is in the cache, else exit 3 (nothing is built).
# Builds one component of the from-source runtimes for ARCH (x86_64 | arm64) with zig at
# glibc $GLIBC_FLOOR, in the build cache (scripts/cache.sh), and prints the entry's path.
# COMPONENT: a name of sources.lock (zlib, openssl, ..., python3.13). Its recipe is
# recipes/<name>.sh (python3.X: recipes/python.sh), which sets
#   RECIPE_DEPS      the components it links against (built first, same ARCH)
#   recipe_build DEST SRC   builds into DEST (installed with --prefix=$CACHE_ENTRY)
# The entry's key hashes the recipe (and the files it names in RECIPE_FILES), lib.sh, the
# key of its source tree (lock line, patch list), the zig version, the glibc floor, the
# arch, SRC_LTO and the keys of its dependencies (and, for CPython on arm64, of the x86_64
# build of the same version it runs as build Python). Not this driver nor check.sh: they
# decide what is built and accepted, not how. After the recipe every ELF in the entry is
# checked (check.sh: arch, glibc floor, NEEDED, unresolved symbols); a failure discards it.
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$SRC_DIR/lib.sh"

INNER=0 INNER_DEST="" LOOKUP=""
if [ "${1:-}" = --inner ]; then INNER=1 INNER_DEST=${4:-}; set -- "$2" "$3"; fi
if [ "${1:-}" = --lookup ]; then LOOKUP=--lookup; shift; fi
[ $# -eq 2 ] || src_die "usage: $0 COMPONENT ARCH"
COMPONENT=$1 ARCH=$2
triplet_of "$ARCH" >/dev/null

recipe_of() { case $1 in python3.*) echo "$SRC_DIR/recipes/python.sh" ;; *) echo "$SRC_DIR/recipes/$1.sh" ;; esac; }
RECIPE=$(recipe_of "$COMPONENT")
[ -f "$RECIPE" ] || src_die "no recipe for '$COMPONENT' ($RECIPE)"
lock_line "$COMPONENT" >/dev/null
RECIPE_DEPS="" BUILD_PYTHON_ENTRY=""
# shellcheck source=/dev/null
. "$RECIPE"
declare -F recipe_build >/dev/null || src_die "$RECIPE defines no recipe_build"

# Dependencies first (each prints its entry; their paths carry their keys).
declare -A DEP_DIR=()
dep_words=()
for d in $RECIPE_DEPS; do
  DEP_DIR[$d]=$(bash "$SRC_DIR/build.sh" $LOOKUP "$d" "$ARCH") || { [ -z "$LOOKUP" ] || exit 3; src_die "$COMPONENT: dependency $d ($ARCH) failed"; }
  dep_words+=("$(basename "${DEP_DIR[$d]}")")
done
# CPython cross builds run the same version's x86_64 interpreter (--with-build-python).
if [ "$ARCH" != x86_64 ] && [ "${RECIPE_NEEDS_BUILD_PYTHON:-0}" = 1 ]; then
  BUILD_PYTHON_ENTRY=$(bash "$SRC_DIR/build.sh" $LOOKUP "$COMPONENT" x86_64) || { [ -z "$LOOKUP" ] || exit 3; src_die "$COMPONENT: the x86_64 build (build Python) failed"; }
  dep_words+=("$(basename "$BUILD_PYTHON_ENTRY")")
fi
export BUILD_PYTHON_ENTRY

KEY=$(cache_key "$RECIPE" "$SRC_DIR/lib.sh" ${RECIPE_FILES:-} -- "src $(src_key "$COMPONENT")" \
  "zig $ZIG_VERSION" "glibc $GLIBC_FLOOR" "arch $ARCH" "${dep_words[@]}" "lto ${SRC_LTO:-}")

# The build itself runs as its own process (`build.sh --inner`) so that `set -e` holds in
# the recipe (cache_build calls its function in a condition, where bash ignores set -e).
inner_build() {
  local dest=$1 src t0=$SECONDS
  src=$(src_fetch "$COMPONENT")/src
  echo "== $COMPONENT $ARCH from $(cat "$(dirname "$src")/VERSION"); zig $ZIG_VERSION, glibc $GLIBC_FLOOR"
  toolchain_env "$ARCH"
  # An LTO build (SRC_LTO=thin|full, part of the key) archives LLVM bitcode: zig's ar is llvm-ar.
  [ -z "${SRC_LTO:-}" ] || export LLVM_AR=$AR
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/src-$COMPONENT-$ARCH.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  cp -a "$src" "$WORK/src"
  cd "$WORK"
  recipe_build "$dest" "$WORK/src"
  rm -rf "$dest/.stage"
  local libdirs=() d
  for d in $RECIPE_DEPS; do [ ! -d "${DEP_DIR[$d]}/lib" ] || libdirs+=("${DEP_DIR[$d]}/lib"); done
  check_entry "$ARCH" "$dest" ${libdirs[@]+"${libdirs[@]}"}
  printf '%s\n' "$(cat "$(dirname "$src")/VERSION")" >"$dest/SOURCE"
  echo "== $COMPONENT $ARCH: built and checked in $((SECONDS - t0)) s"
}
if [ "$INNER" = 1 ]; then
  [ -n "${CACHE_ENTRY:-}" ] || src_die "--inner without CACHE_ENTRY"
  inner_build "$INNER_DEST"
  exit 0
fi
if [ -n "$LOOKUP" ]; then
  entry=$(cache_dir)/$COMPONENT-$ARCH-$KEY
  [ -f "$entry/.complete" ] || exit 3
  echo "$entry"; exit 0
fi
_build() { CACHE_ENTRY=$CACHE_ENTRY bash "$SRC_DIR/build.sh" --inner "$COMPONENT" "$ARCH" "$1"; }
cache_build "$COMPONENT-$ARCH" "$KEY" _build
