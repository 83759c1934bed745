#!/usr/bin/env bash
# layers/dist.sh function SRCDIR ZIP [LEAVE_OUT...]
# layers/dist.sh runtime  LAYER_ROOT BOOTSTRAP ZIP
# layers/dist.sh deps     LAYER_ROOT ZIP RUNTIME_ZIP
#
# Writes the deployable zips (deterministic: sorted entries, fixed mtimes, no symlinks):
#   function  SRCDIR's files (the handler code, arch-neutral; no __pycache__), but the
#             top-level entries LEAVE_OUT names (another function's directory)
#   runtime   BOOTSTRAP as ./bootstrap (Lambda runs /opt/bootstrap when the function zip
#             has none) + the runtime layer root (<arch>/runtime, <arch>/lib). Shared
#             libraries the bootstrap itself needs beyond glibc (e.g. libcjson.so.1 when it
#             is not linked statically) go to ./lib/ = /opt/lib, which is on Lambda's own
#             LD_LIBRARY_PATH when bootstrap starts (<arch>/lib is only applied by the
#             bootstrap itself); they are looked up in BOOTSTRAP_LIB_DIRS (space separated;
#             empty, as for the release bootstrap, which needs nothing beyond glibc: any
#             such need is then an error).
#   deps      the dependency layer root (<arch>/python, <arch>/lib)
# DIST_CHECK (environment): when non-empty, a command run as `$DIST_CHECK DIR` on what
# Lambda would unpack into /opt: the runtime zip alone, and the runtime + deps zips
# together for a deps zip. A non-zero exit deletes the zip and fails.
# DIST_STATE (environment, runtime only): a file recording what the zip was made from (the
# layer's file list with sizes and mtimes, the bootstrap's and these scripts' hashes, the
# check); when it matches, the zip is left as it is (a cached `make dist` takes seconds).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

dist_check() {  # ZIP DIR
  [ -n "${DIST_CHECK:-}" ] || return 0
  note "DIST_CHECK: $DIST_CHECK $2"
  if ! $DIST_CHECK "$2"; then
    rm -f "$1"
    die "DIST_CHECK failed for $1 ($DIST_CHECK $2)"
  fi
}

kind=${1:-}
case $kind in
  function)
    [ $# -ge 3 ] || die "usage: $0 function SRCDIR ZIP [LEAVE_OUT...]"
    src=$2 zip=$3; shift 3
    [ -d "$src" ] || die "no directory $src"
    prune=()
    for p in "$@"; do
      [ -e "$src/$p" ] || die "function: nothing named $p in $src to leave out"
      prune+=(! -path "./$p" ! -path "./$p/*")
    done
    mkdir -p "$TMP/stage"
    (cd "$src" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ${prune[@]+"${prune[@]}"} -print0 |
       xargs -0 -r cp --parents -t "$TMP/stage")
    [ -n "$(ls -A "$TMP/stage")" ] || die "$src has no files"
    normalize_tree "$TMP/stage"
    mkdir -p "$(dirname "$zip")"
    zip_tree "$TMP/stage" "$zip"
    ;;
  runtime)
    [ $# -eq 4 ] || die "usage: $0 runtime LAYER_ROOT BOOTSTRAP ZIP"
    root=$2 boot=$3 zip=$4
    [ -d "$root" ] || die "no layer $root"
    [ -f "$boot" ] || die "no bootstrap binary $boot"
    if [ -n "${DIST_STATE:-}" ]; then
      inputs=$( { (cd "$root" && find -L . -printf '%P %s %T@ %m\n' | LC_ALL=C sort)
                  sha256sum "$boot" "$0" "$(dirname "$0")/lib.sh"
                  echo "check: ${DIST_CHECK:-}"
                  for w in ${DIST_CHECK:-}; do [ ! -f "$w" ] || sha256sum "$w"; done; } | sha256sum | cut -c1-32)
      if [ -f "$zip" ] && [ "$(cat "$DIST_STATE" 2>/dev/null)" = "$inputs" ]; then
        note "up to date: $zip"
        exit 0
      fi
      rm -f "$DIST_STATE"
    fi
    mkdir -p "$TMP/stage"
    cp -a "$root/." "$TMP/stage/"
    install -m 0755 "$boot" "$TMP/stage/bootstrap"
    # (<arch>/lib does not count: the bootstrap applies it only after it has started)
    elf_closure "$TMP/stage/lib" "${BOOTSTRAP_LIB_DIRS:-}" "" "$TMP/stage/bootstrap"
    rmdir "$TMP/stage/lib" 2>/dev/null || note "bootstrap needs, shipped in lib/: $(ls "$TMP/stage/lib" | tr '\n' ' ')"
    normalize_tree "$TMP/stage"
    chmod 0755 "$TMP/stage/bootstrap"
    mkdir -p "$(dirname "$zip")"
    zip_tree "$TMP/stage" "$zip"
    mkdir -p "$TMP/opt" && unzip -q "$zip" -d "$TMP/opt"
    dist_check "$zip" "$TMP/opt"
    if [ -n "${DIST_STATE:-}" ]; then mkdir -p "$(dirname "$DIST_STATE")" && echo "$inputs" >"$DIST_STATE"; fi
    ;;
  deps)
    [ $# -eq 4 ] || die "usage: $0 deps LAYER_ROOT ZIP RUNTIME_ZIP"
    root=$2 zip=$3 rtzip=$4
    [ -d "$root" ] || die "no layer $root"
    mkdir -p "$TMP/stage"
    cp -a "$root/." "$TMP/stage/"
    normalize_tree "$TMP/stage"
    mkdir -p "$(dirname "$zip")"
    zip_tree "$TMP/stage" "$zip"
    if [ -n "${DIST_CHECK:-}" ]; then
      [ -f "$rtzip" ] || die "no runtime zip $rtzip"
      mkdir -p "$TMP/opt" && unzip -q "$rtzip" -d "$TMP/opt" && unzip -q -o "$zip" -d "$TMP/opt"
      dist_check "$zip" "$TMP/opt"
    fi
    ;;
  *) die "usage: $0 function|runtime|deps ..." ;;
esac
note "wrote $zip ($(du -h "$zip" | cut -f1))"
