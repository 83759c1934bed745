#!/usr/bin/env bash
# Build an arm64 (aarch64) sysroot from Debian bookworm arm64 packages.
#
#   scripts/sysroot-arm64.sh [--no-system-curl] [DIR]   (DIR defaults to <repo>/build/sysroot/arm64)
#
# The .debs are resolved (dependency closure, no recommends) and fetched with apt-get under a
# private apt state next to DIR (DIR/../.apt-arm64), so the system's apt state is untouched and
# no :arm64 package is installed into the system. They are unpacked with `dpkg-deb -x`, then:
#   - absolute symlinks are rewritten as relative ones that stay inside DIR;
#   - absolute paths in linker scripts (libc.so) get ld's '=' sysroot prefix, so
#     `aarch64-linux-gnu-gcc --sysroot=DIR` resolves them in DIR.
#
# The sysroot also holds libcurl4-openssl-dev + libcurl4 (Debian's shared libcurl and its runtime
# deps, 18 more packages), for the "system curl" build mode (linking against Debian's libcurl
# instead of the static one from scripts/curl-static.sh). --no-system-curl (or
# SYSROOT_SYSTEM_CURL=0) leaves them out.
#
# Use it:   aarch64-linux-gnu-gcc --sysroot=DIR ...      run:  QEMU_LD_PREFIX=DIR ./prog
#           PKG_CONFIG_SYSROOT_DIR=DIR PKG_CONFIG_LIBDIR=DIR/usr/lib/aarch64-linux-gnu/pkgconfig:DIR/usr/share/pkgconfig pkg-config ...
#
# Cached: DIR/.stamp records what was built; a second run with the same inputs returns at once.
# The work is done in DIR.tmp and moved into place, under a lock, so concurrent callers are safe.
set -euo pipefail

die() { echo "sysroot-arm64: error: $*" >&2; exit 1; }
log() { echo "sysroot-arm64: $*" >&2; }

system_curl=${SYSROOT_SYSTEM_CURL:-1}
dir=
for arg in "$@"; do
  case "$arg" in
    --system-curl) system_curl=1 ;;
    --no-system-curl) system_curl=0 ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) die "unknown option: $arg" ;;
    *) [ -z "$dir" ] || die "more than one DIR given"; dir=$arg ;;
  esac
done
dir=${dir:-$(cd "$(dirname "$0")/.." && pwd)/build/sysroot/arm64}
[ "$system_curl" = 0 ] || system_curl=1

TRIPLET=aarch64-linux-gnu
# libstdc++6: under qemu the sysroot stands in for the Lambda image's own libraries, and both
# images have libstdc++.so.6 (data/targets/), which manylinux wheels may link (numpy's for 3.13+).
PACKAGES=(libc6 libc6-dev linux-libc-dev libgcc-s1 libstdc++6 libcjson1 libcjson-dev libpython3.11-dev)
[ "$system_curl" = 0 ] || PACKAGES+=(libcurl4-openssl-dev libcurl4)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

for tool in apt-get dpkg-deb realpath flock sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' not found (install the packages in scripts/packages/toolchain.txt)"
done
[ -r "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

mkdir -p "$(dirname "$dir")"
dir=$(realpath -m "$dir")
parent=$(dirname "$dir")
aptdir=$parent/.apt-arm64
stamp=$dir/.stamp

# What this sysroot is made of: if the stamp says the same, there is nothing to do.
key="sysroot-arm64 v2 $(sha256sum < "$0" | cut -c1-16) packages: ${PACKAGES[*]}"
if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$key" ]; then
  exit 0
fi

mkdir -p "$aptdir"
exec 9>"$aptdir/lock"
flock 9
# Another caller may have finished the job while we waited for the lock.
if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$key" ]; then
  exit 0
fi

t0=$(date +%s)
mkdir -p "$aptdir"/{etc,state/lists/partial,cache/archives/partial,debs}
cat > "$aptdir/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm main
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm-updates main
deb [arch=arm64 signed-by=$KEYRING] $SECURITY_MIRROR bookworm-security main
EOF
: > "$aptdir/state/status"   # an empty dpkg database: resolve the whole closure
APT_OPTS=(
  -o "Dir::State=$aptdir/state"
  -o "Dir::State::status=$aptdir/state/status"
  -o "Dir::Cache=$aptdir/cache"
  -o "Dir::Etc::SourceList=$aptdir/etc/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::Etc::Preferences=-"
  -o "Dir::Etc::PreferencesParts=-"
  -o "APT::Architecture=arm64"
  -o "APT::Architectures::=arm64"
  -o "APT::Install-Recommends=false"
  -o "APT::Get::AllowUnauthenticated=false"
  -o "Debug::NoLocking=true"
  -q
)
apt_() { apt-get "${APT_OPTS[@]}" "$@"; }

log "updating the private apt lists ($aptdir)"
apt_ update >"$aptdir/update.log" 2>&1 || { cat "$aptdir/update.log" >&2; die "apt-get update (arm64, private state) failed"; }

log "resolving: ${PACKAGES[*]}"
apt_ -s install "${PACKAGES[@]}" >"$aptdir/resolve.log" 2>&1 ||
  { cat "$aptdir/resolve.log" >&2; die "could not resolve the arm64 dependency closure"; }
# "Inst pkg (version suite [arch])" -> pkg:arm64=version (arch-all packages come out as pkg:all=...)
mapfile -t wanted < <(sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) [^[]*\[\([^]]*\)\]).*/\1:\3=\2/p' "$aptdir/resolve.log" | sort)
[ ${#wanted[@]} -gt 0 ] || die "resolved an empty package list (see $aptdir/resolve.log)"
printf '%s\n' "${wanted[@]}" > "$aptdir/packages.lock"

# Download what is not cached yet (apt-get download names files pkg_version_arch.deb, with ':' as %3a).
cd "$aptdir/debs"
missing=()
for p in "${wanted[@]}"; do
  name=${p%%:*}; rest=${p#*:}; arch=${rest%%=*}; ver=${rest#*=}
  f="${name}_${ver//:/%3a}_${arch}.deb"
  [ -s "$f" ] || missing+=("$name:$arch=$ver")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} of ${#wanted[@]} .debs"
  apt_ download "${missing[@]}" >"$aptdir/download.log" 2>&1 ||
    { cat "$aptdir/download.log" >&2; die "apt-get download failed"; }
fi
cd - >/dev/null

tmp=$dir.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
for p in "${wanted[@]}"; do
  name=${p%%:*}; rest=${p#*:}; arch=${rest%%=*}; ver=${rest#*=}
  f="$aptdir/debs/${name}_${ver//:/%3a}_${arch}.deb"
  [ -s "$f" ] || die "missing $f after download"
  dpkg-deb -x "$f" "$tmp" || die "dpkg-deb -x $f failed"
done

# Documentation is of no use in a sysroot (~16 MB).
rm -rf "$tmp"/usr/share/{doc,man,info,locale,lintian,bug}

# Absolute symlinks point at the build machine's / : make them relative, inside the sysroot.
nfix=0
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in
    /*) rel=$(realpath -ms --relative-to="$(dirname "$link")" "$tmp$target")
        ln -sfn "$rel" "$link"; nfix=$((nfix + 1)) ;;
  esac
done < <(find "$tmp" -type l -print0)

# Linker scripts (small text files named lib*.so*, e.g. libc.so) name absolute paths: prefix them
# with '=' so that, when ld reads one of these, the files named come from the sysroot.
# (Note: Debian's cross gcc searches its own /usr/aarch64-linux-gnu/lib before the sysroot, so
# -lc and the crt*.o still come from libc6-dev-arm64-cross: glibc 2.36 too, same ABI. At run
# time, under QEMU_LD_PREFIX=DIR, the sysroot's libc is the one loaded.)
nscript=0
while IFS= read -r -d '' f; do
  [ "$(stat -c %s "$f")" -lt 4096 ] || continue
  grep -qE '^[[:space:]]*(GROUP|INPUT)[[:space:]]*\(' "$f" 2>/dev/null || continue
  sed -i -E 's#([[:space:](])/(usr/)?lib/#\1=/\2lib/#g' "$f"
  nscript=$((nscript + 1))
done < <(find "$tmp" -type f -name 'lib*.so*' -print0)

# Sanity: the files the project compiles and links against.
for f in usr/include/stdio.h usr/include/$TRIPLET/bits/types.h usr/include/linux/limits.h \
         usr/include/cjson/cJSON.h usr/include/$TRIPLET/python3.11/pyconfig.h usr/include/python3.11/Python.h \
         usr/lib/$TRIPLET/libc.so usr/lib/$TRIPLET/crt1.o usr/lib/$TRIPLET/libcjson.so \
         lib/ld-linux-aarch64.so.1 lib/$TRIPLET/libc.so.6 lib/$TRIPLET/libgcc_s.so.1; do
  [ -e "$tmp/$f" ] || die "sysroot lacks $f"
done
if [ "$system_curl" = 1 ]; then
  [ -e "$tmp/usr/lib/$TRIPLET/libcurl.so" ] || die "sysroot lacks usr/lib/$TRIPLET/libcurl.so"
fi

{
  echo "$key"
  echo "# $(date -u +%FT%TZ): ${#wanted[@]} packages, $nfix symlinks and $nscript linker scripts fixed"
  printf '%s\n' "${wanted[@]}"
} > "$tmp/.stamp"
rm -rf "$dir"
mv "$tmp" "$dir"
log "ready: $dir (${#wanted[@]} packages, $(du -sh "$dir" | cut -f1), $(( $(date +%s) - t0 )) s)"
