# shellcheck shell=bash
# Shared helpers for the layer scripts (sourced, not run).
#
# Works on Debian (the Makefile path: packages fetched with apt-get download into a
# private apt state, never installed) and, for the generic parts (trim, compile,
# ELF closure, normalize), on older distributions such as Amazon Linux 2 (bash 4.2: no
# namerefs, no mapfile -d).

LAYERS_DIR=${LAYERS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
LAYERS_BUILD=${LAYERS_BUILD:-$LAYERS_DIR/build}
LAYERS_CACHE=${LAYERS_CACHE:-$LAYERS_BUILD/.cache}
# Fixed mtime for everything in a layer, so the zips are reproducible (2020-01-01).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1577836800}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

die()  { echo "layers: error: $*" >&2; exit 1; }
note() { echo "layers: $*" >&2; }

# --- names ---------------------------------------------------------------------
# Python version -> Debian suite that ships it as the default python3.
suite_for_py() {
  case $1 in
    3.9)  echo bullseye ;;   # python3.9 3.9.2-1 (main; not -security: its arm64 files are missing)
    3.11) echo bookworm ;;   # python3.11 3.11.2
    *) die "unsupported Python version '$1' (have: 3.9 3.11)" ;;
  esac
}
# Lambda architecture name -> Debian architecture / GNU triplet / readelf Machine.
debarch_for() { case $1 in x86_64) echo amd64 ;; arm64) echo arm64 ;; *) die "unknown arch '$1' (x86_64|arm64)" ;; esac; }
triplet_for() { case $1 in x86_64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; *) die "unknown arch '$1'" ;; esac; }
elf_machine_for() { case $1 in x86_64) echo 'Advanced Micro Devices X86-64' ;; arm64) echo AArch64 ;; *) die "unknown arch '$1'" ;; esac; }
host_arch() { uname -m | sed -e 's/aarch64/arm64/'; }

# --- stamps --------------------------------------------------------------------
# stamp_key FILE... : a hash of the given files plus the extra words in $STAMP_EXTRA.
stamp_key() { { cat "$@"; echo "${STAMP_EXTRA:-}"; } | sha256sum | cut -c1-16; }
stamp_ok()  { [ -f "$LAYERS_BUILD/.stamps/$1" ] && [ "$(cat "$LAYERS_BUILD/.stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$LAYERS_BUILD/.stamps"; echo "$2" >"$LAYERS_BUILD/.stamps/$1"; }
stamp_clear() { rm -f "$LAYERS_BUILD/.stamps/$1"; }

# --- private apt state -----------------------------------------------------------
# apt_init SUITE DEBARCH: exports APT_CONFIG and runs `apt-get update` once
# (re-run it by deleting $LAYERS_CACHE/apt/<suite>-<debarch>). Nothing touches the
# system's apt state or dpkg database.
apt_init() {
  local suite=$1 debarch=$2 d
  d=$LAYERS_CACHE/apt/$suite-$debarch
  # APT_CONFIG is read before /etc/apt/apt.conf.d: pointing Dir::Etc::parts and ::main
  # elsewhere keeps the host's hooks (docker-clean, appstream, ...) out of it.
  export APT_CONFIG=$d/apt.conf
  [ -f "$d/updated" ] && return 0
  mkdir -p "$LAYERS_CACHE/apt"
  # Serialized per suite/arch: parallel make runs share the state.
  ( flock 8; [ -f "$d/updated" ] || _apt_update "$suite" "$debarch" "$d" ) 8>"$d.lock"
}
_apt_update() {
  local suite=$1 debarch=$2 d=$3
  [ -r "$DEBIAN_KEYRING" ] || die "missing $DEBIAN_KEYRING (apt-get install debian-archive-keyring)"
  rm -rf "$d"
  mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial" "$d/apt.conf.d" "$d/preferences.d"
  : >"$d/state/status"
  echo "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR $suite main" >"$d/sources.list"
  cat >"$d/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$d/apt.conf.d";
Dir::Etc::sourcelist "$d/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferences "/dev/null";
Dir::Etc::preferencesparts "$d/preferences.d";
Dir::State "$d/state";
Dir::State::status "$d/state/status";
Dir::Cache "$d/cache";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "srcpkgcache.bin";
APT::Architecture "$debarch";
APT::Architectures { "$debarch"; };
Acquire::Languages "none";
APT::Sandbox::User "root";
Debug::NoLocking "true";
EOF
  note "apt-get update ($suite/$debarch)"
  apt-get -q update >"$d/update.log" 2>&1 || { cat "$d/update.log" >&2; die "apt-get update failed for $suite/$debarch"; }
  touch "$d/updated"
}

# pkg_closure PKG... : prints the packages to fetch for PKG..., following only
# Depends/Pre-Depends on libraries (lib*) and on Python library packages (python3-*),
# never on what every target has (glibc, libgcc) nor on the interpreter itself
# (python3, python3.X, python3-minimal: that is the runtime layer's job) and not on
# data/config packages (mime-support, tzdata, mariadb-common, ...). Needs apt_init.
pkg_closure() {
  local seen=" " frontier=("$@") next p cache
  cache="${APT_CONFIG%/apt.conf}/closure-$(echo "$*" | sha256sum | cut -c1-16)"
  if [ -f "$cache" ]; then cat "$cache"; return 0; fi
  while [ ${#frontier[@]} -gt 0 ]; do
    next=()
    for p in "${frontier[@]}"; do seen+="$p "; done
    while read -r p; do
      [ -n "$p" ] || continue
      case "$seen" in *" $p "*) continue ;; esac
      case $p in
        libc6|libc6-*|libc-bin|libgcc-s1|libgcc1|libstdc++6|libcrypt1-udeb|libpython3*) continue ;;
        python3|python3-minimal|python3.[0-9]*|python3-distutils|python3-lib2to3) continue ;;
        lib*|zlib1g|python3-*) ;;
        *) continue ;;
      esac
      next+=("$p")
      seen+="$p "
    done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts \
               --no-breaks --no-replaces --no-enhances "${frontier[@]}" 2>/dev/null |
             awk '$1 ~ /^\|?(Depends|PreDepends):$/ && $2 !~ /^</ { sub(/:any$/, "", $2); print $2 }' | sort -u)
    frontier=("${next[@]+"${next[@]}"}")
  done
  echo "$seen" | tr ' ' '\n' | sed '/^$/d' | sort -u >"$cache.tmp$$"
  mv "$cache.tmp$$" "$cache"
  cat "$cache"
}

# pkg_fetch SUITE DEBARCH PKG... : download (cached) and extract each package into
# $LAYERS_CACHE/pool/<suite>-<debarch>/<pkg>/ ; prints those directories.
pkg_fetch() {
  mkdir -p "$LAYERS_CACHE/debs"
  ( flock 8; _pkg_fetch "$@" ) 8>"$LAYERS_CACHE/debs/$1-$2.lock"
}
_pkg_fetch() {
  local suite=$1 debarch=$2; shift 2
  local debs=$LAYERS_CACHE/debs/$suite-$debarch pool=$LAYERS_CACHE/pool/$suite-$debarch
  local p f missing=()
  mkdir -p "$debs" "$pool"
  for p in "$@"; do
    [ -f "$pool/$p/.extracted" ] && continue
    compgen -G "$debs/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    note "apt-get download ($suite/$debarch): ${missing[*]}"
    (cd "$debs" && apt-get -q download "${missing[@]}" >/dev/null) ||
      die "apt-get download failed ($suite/$debarch): ${missing[*]}"
  fi
  for p in "$@"; do
    if [ ! -f "$pool/$p/.extracted" ]; then
      f=$(compgen -G "$debs/${p}_*.deb" | sort -V | tail -1)
      [ -n "$f" ] || die "no .deb for $p ($suite/$debarch)"
      rm -rf "$pool/$p"; mkdir -p "$pool/$p"
      dpkg-deb -x "$f" "$pool/$p"
      basename "$f" >"$pool/$p/.extracted"
    fi
    echo "$pool/$p"
  done
}

# host_python PYVER : prints the path of a wrapper running Debian's python3.X (same X.Y
# as the layer, for this machine's CPU) from the package pool, with a PYTHONHOME merged
# from its stdlib packages. Used for compileall (arm64 layers too: .pyc is arch-free).
host_python() {
  local pyver=$1 suite hdeb trip home w libs pkgs p
  suite=$(suite_for_py "$pyver"); hdeb=$(debarch_for "$(host_arch)"); trip=$(triplet_for "$(host_arch)")
  w=$LAYERS_CACHE/python$pyver-$(host_arch)
  home=$LAYERS_CACHE/home-python$pyver-$(host_arch)
  apt_init "$suite" "$hdeb"
  pkgs=$(pkg_closure "python$pyver-minimal" "libpython$pyver-minimal" "libpython$pyver-stdlib" python3-distutils python3-lib2to3)
  (
    flock 9
    if [ ! -f "$home/.done" ] || [ ! -x "$w" ]; then
      local pool=() 
      mapfile -t pool < <(pkg_fetch "$suite" "$hdeb" $pkgs)
      rm -rf "$home"; mkdir -p "$home/lib/python$pyver"
      for p in "${pool[@]}"; do
        if [ -d "$p/usr/lib/python$pyver" ]; then cp -a "$p/usr/lib/python$pyver/." "$home/lib/python$pyver/"; fi
      done
      rm -f "$home/lib/python$pyver/sitecustomize.py"
      libs=$(lib_dirs_of "$trip" "${pool[@]}" | paste -sd:)
      printf '#!/bin/sh\nPYTHONHOME=%s LD_LIBRARY_PATH=%s exec %s "$@"\n' "'$home'" "'$libs'" \
        "'$LAYERS_CACHE/pool/$suite-$hdeb/python$pyver-minimal/usr/bin/python$pyver'" >"$w"
      chmod +x "$w"
      touch "$home/.done"
    fi
  ) 9>"$LAYERS_CACHE/host-python$pyver.lock"
  echo "$w"
}

# lib_dirs_of TRIPLET ROOT... : the library directories inside extracted package roots.
lib_dirs_of() {
  local t=$1 r d; shift
  for r in "$@"; do
    for d in "$r/lib/$t" "$r/usr/lib/$t" "$r/lib" "$r/usr/lib"; do
      if [ -d "$d" ]; then echo "$d"; fi
    done
  done
}

# --- ELF -----------------------------------------------------------------------
is_elf() { [ -f "$1" ] && [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
elf_needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
elf_machine() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p'; }

# Libraries every Lambda target (provided.al2: glibc 2.26, provided.al2023: glibc 2.34)
# has and that must come from the system: glibc itself and libgcc_s. Everything else a
# module needs is shipped in <arch>/lib/.
SYSTEM_SONAMES=${SYSTEM_SONAMES:-"ld-linux-x86-64.so.2 ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2
libpthread.so.0 librt.so.1 libutil.so.1 libresolv.so.2 libanl.so.1 libgcc_s.so.1"}

# elf_closure OUTLIB "SEARCHDIRS" "PROVIDEDDIRS" FILE... : copy (dereferenced, named by
# soname) every shared library FILE... needs, transitively, into OUTLIB, taking them from
# SEARCHDIRS (space separated), except system libraries, libpython (loaded by the
# bootstrap, RTLD_GLOBAL) and what PROVIDEDDIRS already hold (e.g. the runtime layer's
# lib/ for a dependency layer). Fails listing every soname it cannot find.
elf_closure() {
  local out=$1 search=$2 provided=$3; shift 3
  local queue=() f so d found missing="" done_=" "
  mkdir -p "$out"
  for f in "$@"; do while read -r so; do queue+=("$so:$f"); done < <(elf_needed "$f"); done
  while [ ${#queue[@]} -gt 0 ]; do
    so=${queue[0]%%:*}; f=${queue[0]#*:}; queue=("${queue[@]:1}")
    case "$done_" in *" $so "*) continue ;; esac
    done_+="$so "
    case " $(echo $SYSTEM_SONAMES) " in *" $so "*) continue ;; esac
    case $so in libpython3*) continue ;; esac
    found=""
    for d in $provided; do [ -e "$d/$so" ] && found=provided && break; done
    [ -n "$found" ] && continue
    [ -e "$out/$so" ] && found="$out/$so"
    if [ -z "$found" ]; then
      for d in $search; do [ -e "$d/$so" ] && found="$d/$so" && break; done
      [ -n "$found" ] || { missing+="  $so (needed by ${f#"$LAYERS_BUILD/"})"$'\n'; continue; }
      cp -L "$found" "$out/$so"
      chmod 0644 "$out/$so"
    fi
    while read -r d; do queue+=("$d:$out/$so"); done < <(elf_needed "$out/$so")
  done
  [ -z "$missing" ] || die "unresolved shared libraries:"$'\n'"$missing"
}

# elf_machines DIR : "path: Machine" for every ELF file under DIR (one readelf pass).
elf_machines() {
  find "$1" -type f -print0 | xargs -0 -r readelf -h /dev/null 2>/dev/null |
    awk '/^File: /{f=substr($0, 7)} /^ *Machine:/{sub(/^ *Machine: */, ""); print f ": " $0}'
}

# check_elf_arch ARCH DIR : every ELF file under DIR must be for ARCH.
check_elf_arch() {
  local want bad
  want=$(elf_machine_for "$1")
  bad=$(elf_machines "$2" | grep -vF ": $want" || true)
  [ -z "$bad" ] || die "wrong-architecture ELF files (want $want):"$'\n'"$bad"
}

# --- stdlib --------------------------------------------------------------------
# trim_stdlib STDLIBDIR : drop what a Lambda function never needs.
trim_stdlib() {
  local s=$1
  [ -f "$s/os.py" ] || die "trim_stdlib: $s is not a stdlib directory"
  rm -rf "$s"/test "$s"/idlelib "$s"/tkinter "$s"/turtledemo "$s"/turtle.py "$s"/ensurepip \
         "$s"/pydoc_data "$s"/config-3.* "$s"/lib2to3/tests "$s"/distutils/tests "$s"/unittest/test \
         "$s"/ctypes/test "$s"/sqlite3/test "$s"/sqlite3/tests "$s"/__phello__.foo.py "$s"/site-packages \
         "$s"/dist-packages "$s"/sitecustomize.py
  rm -f "$s"/lib-dynload/_test*.so "$s"/lib-dynload/_ctypes_test*.so "$s"/lib-dynload/_xxtestfuzz*.so \
        "$s"/lib-dynload/xxlimited*.so "$s"/lib-dynload/_tkinter*.so
  find "$s" -name __pycache__ -type d -prune -exec rm -rf {} +
  find "$s" \( -name '*.pyc' -o -name '*.pyo' -o -name '*.exe' \) -delete
}

# compile_tree PYTHON DIR... : byte-compile with PYTHON (same X.Y as the layer; any CPU,
# .pyc is arch-independent). unchecked-hash: the .pyc is used without looking at the
# source's mtime, which a zip round trip does not preserve exactly and /opt is read-only
# (a stale-looking .pyc would be recompiled in memory at every cold start).
compile_tree() {
  local py=$1; shift
  "$py" -S -m compileall -q -j 0 --invalidation-mode unchecked-hash "$@" >/dev/null ||
    die "compileall failed in $*"
}

# normalize_tree DIR : no symlinks (zips and layers merge badly with them), sane modes,
# fixed mtimes.
normalize_tree() {
  local d=$1 l t
  while IFS= read -r -d '' l; do
    if t=$(readlink -e "$l"); then
      rm -f "$l"; cp -a --remove-destination "$t" "$l" 2>/dev/null || cp -r "$t" "$l"
    else
      note "dropping dangling symlink ${l#"$d/"} -> $(readlink "$l")"; rm -f "$l"
    fi
  done < <(find "$d" -type l -print0)
  find "$d" -type d -exec chmod 0755 {} +
  find "$d" -type f -exec chmod u+rw,go+r,go-w {} +
  find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# assemble_runtime OUTDIR ARCH PYVER LIBPYTHON STDLIB "SEARCHDIRS" PYTHON
# The runtime layer from a libpython and a stdlib directory (with lib-dynload/):
#   OUTDIR/ARCH/runtime/lib/libpython$PYVER.so.1.0, OUTDIR/ARCH/runtime/lib/python$PYVER/
#   OUTDIR/ARCH/lib/  the shared libraries they need (ELF closure over SEARCHDIRS)
# trimmed, checked for ARCH, byte-compiled by PYTHON (same X.Y, any CPU), normalized.
# Shared by the Debian build (build-runtime.sh) and the Amazon Linux one (assemble-runtime.sh).
assemble_runtime() {
  local out=$1 arch=$2 pyver=$3 libpy=$4 stdlib=$5 search=$6 py=$7
  local rt=$out/$arch/runtime
  local std=$rt/lib/python$pyver
  [ -f "$libpy" ] || die "no libpython at $libpy"
  [ -f "$stdlib/os.py" ] && [ -d "$stdlib/lib-dynload" ] || die "stdlib incomplete in $stdlib"
  rm -rf "$out"
  mkdir -p "$std" "$out/$arch/lib"
  cp -L "$libpy" "$rt/lib/libpython$pyver.so.1.0"
  cp -a "$stdlib/." "$std/"
  trim_stdlib "$std"
  normalize_tree "$out"
  elf_closure "$out/$arch/lib" "$search" "" "$rt/lib/libpython$pyver.so.1.0" "$std"/lib-dynload/*.so
  check_elf_arch "$arch" "$out"
  compile_tree "$py" "$std"
  normalize_tree "$out"
}

# zip_tree DIR ZIP : deterministic zip of DIR's contents (sorted, no extra attributes).
zip_tree() {
  local dir=$1 zip tmp
  zip=$(realpath -m "$2")
  tmp="$zip.tmp.$$"
  rm -f "$tmp"
  (cd "$dir" && find . -mindepth 1 ! -name '.*stamp' | LC_ALL=C sort | sed 's|^\./||' |
     TZ=UTC zip -q -X -9 -@ "$tmp") || { rm -f "$tmp"; die "zip failed: $zip"; }
  mv -f "$tmp" "$zip"
}
