#!/usr/bin/env bash
# The C toolchain for everything shipped: Zig's C compiler from PyPI (pinned), targeting
# glibc 2.26 on x86_64 and arm64, so one x86_64 Debian machine builds for both CPUs and
# for the oldest Lambda image (Amazon Linux 2, glibc 2.26) without a container.
#
#   scripts/zig.sh [LINK]     install (cached) and print the toolchain directory;
#                             with LINK, also point the symlink LINK at it
#
# The toolchain directory (in the build cache, scripts/cache.sh) holds:
#   zig/zig                             the compiler (the wheel's contents)
#   bin/<arch>-cc, bin/<arch>-c++       `zig cc|c++ -target <triplet>.2.26` with the fixes below
#   bin/<arch>-ar, bin/<arch>-ranlib    `zig ar|ranlib`
#   bin/<arch>-strip                    binutils' strip for that CPU (Zig has none for ELF)
#   env                                 GLIBC_FLOOR, ZIG_VERSION, the cache variables (sourced)
# for <arch> in x86_64, arm64.
#
# Why a wrapper, not `CC="zig cc -target ..."`: autotools and CPython pass flags the Zig
# driver rejects or misreads. `-Wl,-h<soname>` (CPython's libpython link) becomes
# `-Wl,-soname,<soname>`. Zig turns UBSan traps on for unoptimised code by default;
# `-fno-sanitize=undefined` keeps -O0 configure probes and -O2 builds alike.
set -euo pipefail

ZIG_VERSION=0.17.0
GLIBC_FLOOR=2.26
# sha256 of the pinned wheels (PyPI's simple index, ziglang 0.17.0), per build host.
ZIG_WHEEL_x86_64=ziglang-0.17.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl
ZIG_SHA_x86_64=97079827064a7492cce5541ceb438ae8003ce1e54e399676da2d62fb7a5dc08b
ZIG_WHEEL_aarch64=ziglang-0.17.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl
ZIG_SHA_aarch64=d2804f94f54f7fcf8169f4b212a619ad688a4e2e6592e976f0cf2e58e2cd8af3

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/cache.sh"
PYTHON=${PYTHON:-/usr/bin/python3.11}

die() { echo "zig: error: $*" >&2; exit 1; }

host=$(uname -m)
wheel_var=ZIG_WHEEL_$host sha_var=ZIG_SHA_$host
[ -n "${!wheel_var:-}" ] || die "no pinned ziglang wheel for a $host build host (have: x86_64, aarch64)"

# strip: binutils' for the host CPU; the cross binutils for arm64 (gcc-aarch64-linux-gnu).
strip_for() {
  case $1 in
    x86_64) [ "$host" = x86_64 ] && echo strip || echo x86_64-linux-gnu-strip ;;
    arm64)  [ "$host" = aarch64 ] && echo strip || echo aarch64-linux-gnu-strip ;;
  esac
}

install_zig() {
  local dest=$1 dl; dl=$(mktemp -d)
  trap 'rm -rf "$dl"' RETURN
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$dl" \
    --platform "$(echo "${!wheel_var}" | sed -E 's/^ziglang-[^-]+-py3-none-([^.]+).*/\1/')" \
    "ziglang==$ZIG_VERSION"
  local whl=$dl/${!wheel_var}
  [ -f "$whl" ] || die "pip did not download ${!wheel_var} (got: $(ls "$dl"))"
  echo "${!sha_var}  $whl" | sha256sum -c --quiet - || die "sha256 mismatch for ${!wheel_var}"
  "$PYTHON" -m zipfile -e "$whl" "$dl/x"
  mv "$dl/x/ziglang" "$dest/zig"
  chmod +x "$dest/zig/zig"
  mkdir -p "$dest/bin"
  cat >"$dest/env" <<EOF
ZIG_VERSION=$ZIG_VERSION
GLIBC_FLOOR=$GLIBC_FLOOR
ZIG_GLOBAL_CACHE_DIR=\${ZIG_GLOBAL_CACHE_DIR:-$BOOTSTRAP_CACHE/zig-cache}
ZIG_LOCAL_CACHE_DIR=\${ZIG_LOCAL_CACHE_DIR:-$BOOTSTRAP_CACHE/zig-cache}
export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR
EOF
  local arch triplet mode
  for arch in x86_64 arm64; do
    case $arch in x86_64) triplet=x86_64-linux-gnu ;; arm64) triplet=aarch64-linux-gnu ;; esac
    for mode in cc c++; do
      cat >"$dest/bin/$arch-$mode" <<EOF
#!/bin/sh
# zig $mode for $triplet, glibc $GLIBC_FLOOR (scripts/zig.sh)
: "\${ZIG_GLOBAL_CACHE_DIR:=$BOOTSTRAP_CACHE/zig-cache}" "\${ZIG_LOCAL_CACHE_DIR:=$BOOTSTRAP_CACHE/zig-cache}"
export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR
for a do
  shift
  case \$a in
    -Wl,-h,*) set -- "\$@" "-Wl,-soname,\${a#-Wl,-h,}" ;;
    -Wl,-h*)  set -- "\$@" "-Wl,-soname,\${a#-Wl,-h}" ;;
    *)        set -- "\$@" "\$a" ;;
  esac
done
exec "\${0%/*}/../zig/zig" $mode -target $triplet.$GLIBC_FLOOR -fno-sanitize=undefined "\$@"
EOF
    done
    for mode in ar ranlib; do
      printf '#!/bin/sh\nexec "${0%%/*}/../zig/zig" %s "$@"\n' "$mode" >"$dest/bin/$arch-$mode"
    done
    printf '#!/bin/sh\nexec %s "$@"\n' "$(strip_for $arch)" >"$dest/bin/$arch-strip"
  done
  chmod +x "$dest"/bin/*
  # Compile and link once per CPU: it checks the wrapper and fills Zig's cache (libc stubs,
  # compiler-rt), which every later build reuses.
  printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' >"$dl/t.c"
  for arch in x86_64 arm64; do
    "$dest/bin/$arch-cc" -O2 "$dl/t.c" -o "$dl/t-$arch" || die "zig cc for $arch failed"
  done
  "$dl/t-$(echo "$host" | sed 's/aarch64/arm64/')" | grep -qx ok || die "a zig-built program did not run"
}

dir=$(cache_build "zig-$ZIG_VERSION" "$(cache_key "$0" -- "$host" "$BOOTSTRAP_CACHE")" install_zig)
if [ $# -ge 1 ]; then
  mkdir -p "$(dirname "$1")" && ln -sfn "$dir" "$1"
fi
echo "$dir"
