# shellcheck shell=bash
# The checks every from-source cache entry and layer must pass (sourced by lib.sh).
#
#   check_entry ARCH DIR [LIBDIR...]   every ELF under DIR: for ARCH, at most GLIBC_$GLIBC_FLOOR,
#                          NEEDED only glibc or a library under DIR/LIBDIR..., no undefined
#                          unversioned symbol that nothing in DIR/LIBDIR... defines
#   elf_glibc_max FILE     the highest GLIBC_x.y FILE needs (0 if none)
#   src_not_built PYVER    the stdlib modules not-built.txt leaves out of that Python
#   src_verify_layer PYVER ARCH LAYER ENTRY   layers/verify.sh on a from-source layer: every
#                          extension module ENTRY built (tests aside) must import from LAYER,
#                          everything else of its stdlib too, except not-built.txt
# Uses layers/lib.sh (is_elf, elf_needed, check_elf_arch) and readelf, never the doctor's
# code, so one bug cannot hide in both.

# Sonames every Lambda image has (glibc); everything else must be shipped.
GLIBC_SONAMES="libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libutil.so.1 libresolv.so.2
ld-linux-x86-64.so.2 ld-linux-aarch64.so.1"

_elf_files() { find "$@" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print0 2>/dev/null |
  while IFS= read -r -d '' f; do is_elf "$f" && printf '%s\n' "$f"; done; }

# The highest GLIBC_x.y an ELF file needs (0 if none).
elf_glibc_max() {
  { echo 0; readelf -V -W "$1" 2>/dev/null | sed -n 's/.*Name: GLIBC_\([0-9][0-9.]*\).*/\1/p'; } | sort -V | tail -n1
}

check_entry() {
  local arch=$1 dir=$2; shift 2
  local problems="" f v so n defined files sonames
  check_elf_arch "$arch" "$dir"
  files=$(_elf_files "$dir")
  [ -n "$files" ] || return 0
  local libfiles; libfiles=$( { printf '%s\n' "$files"; [ $# -eq 0 ] || _elf_files "$@"; } | sort -u)
  sonames=" $(echo $GLIBC_SONAMES) "
  while read -r f; do
    n=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    sonames+="${n:-$(basename "$f")} "
  done <<<"$libfiles"
  # Symbols the shipped libraries define (libpython's C API for the extension modules).
  defined=$(while read -r f; do readelf --dyn-syms -W "$f" 2>/dev/null |
              awk '$7 != "UND" && $8 != "" { sub(/@.*/, "", $8); print $8 }'; done <<<"$libfiles" | sort -u)
  while read -r f; do
    v=$(elf_glibc_max "$f")
    if [ "$(printf '%s\n' "$v" "$GLIBC_FLOOR" | sort -V | tail -n1)" != "$GLIBC_FLOOR" ]; then
      problems+="  ${f#"$dir/"}: needs GLIBC_$v ($(readelf --dyn-syms -W "$f" | grep -o "[^ ]*@GLIBC_$v" | sort -u | head -3 | tr '\n' ' '))"$'\n'
    fi
    for so in $(elf_needed "$f"); do
      case "$sonames" in *" $so "*) ;; *) problems+="  ${f#"$dir/"}: NEEDED $so, which is neither glibc nor shipped"$'\n' ;; esac
    done
    # An unversioned undefined symbol is a function the floor's glibc may lack (the link
    # against the 2.26 stubs left it unresolved); from libpython or a shipped library it is fine.
    local und
    und=$(readelf --dyn-syms -W "$f" 2>/dev/null | awk '$7 == "UND" && $5 != "WEAK" && $8 != "" && $8 !~ /@/ { print $8 }' |
          sort -u | comm -23 - <(printf '%s\n' "$defined"))
    [ -z "$und" ] || problems+="  ${f#"$dir/"}: undefined symbols nothing provides: $(echo $und | cut -c1-200)"$'\n'
  done <<<"$files"
  [ -z "$problems" ] || src_die "check of $dir failed:"$'\n'"$problems"
}

# src_not_built PYVER: the modules of not-built.txt left out of that Python.
src_not_built() {
  awk -v v="$1" '!/^#/ && NF >= 2 { ok = 0
      for (i = 2; i <= NF && $i ~ /^(all|3\.[0-9]+)$/; i++) if ($i == "all" || $i == v) ok = 1
      if (ok) print $1 }' "$SRC_DIR/not-built.txt"
}


src_verify_layer() {
  local pyver=$1 arch=$2 layer=$3 entry=$4 expect
  expect=$(find "$entry/runtime/lib/python$pyver/lib-dynload" -name '*.so' -printf '%f\n' | sed 's/\..*//' |
           grep -v -E '^(_test|_ctypes_test|xx|_xx)' | sort | tr '\n' ' ')
  [ -n "$expect" ] || src_die "no extension modules in $entry"
  LAYER_SKIP_MODULES="$(src_not_built "$pyver" | tr '\n' ' ')" LAYER_EXPECT_MODULES="$expect" \
    bash "$REPO/layers/verify.sh" "$arch" "$layer"
}

# --- the CPython recipe's checks (recipes/python.sh; PYVER, COMPONENT, ARCH are its globals) ---

# No extension module may be missing except those of not-built.txt: none the build reports
# as not found, failed or removed (setup.py in 3.9/3.11, check_extension_modules in 3.12+),
# and (3.11+) every module Modules/Setup.stdlib.in defines is built, shared or built in.
# Test modules (--disable-test-modules; trimmed from layers) and macOS's _scproxy excepted.
_python_modules_check() {
  local dest=$1 src=$2 log=$3 m bad="" skip
  skip=" $(src_not_built "$PYVER" | tr '\n' ' ') _scproxy "
  for m in $(awk '/necessary bits to build these optional modules were not found|Failed to build these modules|built successfully but were removed|modules are \*disabled\* in configure|Could not build the/ { g = 1; next }
                  g && (/^[[:space:]]*$/ || /^[A-Z]/) { g = 0 } g' "$log" | tr -s ' \t' '\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u); do
    case $m in _test*|_ctypes_test|xx*|_xx*) continue ;; esac
    case "$skip" in *" $m "*) ;; *) bad+=" $m" ;; esac
  done
  [ -z "$bad" ] || src_die "$COMPONENT: the build left out extension modules not in not-built.txt:$bad"
  [ -f "$src/Modules/Setup.stdlib.in" ] || return 0
  for m in $(sed -n 's/^@MODULE_[A-Z0-9_]*_TRUE@\([A-Za-z0-9_]*\) .*/\1/p' "$src/Modules/Setup.stdlib.in"); do
    case $m in _test*|_ctypes_test|xx*|_xx*) continue ;; esac
    case "$skip" in *" $m "*) continue ;; esac
    compgen -G "$dest/runtime/lib/python$PYVER/lib-dynload/$m.cpython-*.so" >/dev/null || python_builtin "$dest" "$m" || bad+=" $m"
  done
  [ -z "$bad" ] || src_die "$COMPONENT: extension modules of Modules/Setup.stdlib.in not built:$bad"
}

# Every C extension module of the source tree is built, except those of not-built.txt;
# the interpreter runs here (x86_64) with no environment and finds everything.
_python_check() {
  local dest=$1 dyn missing="" m py=$1/runtime/bin/python$PYVER
  dyn=$dest/runtime/lib/python$PYVER/lib-dynload
  [ -x "$py" ] && [ -f "$dest/runtime/lib/libpython$PYVER.so.1.0" ] && [ -d "$dyn" ] || src_die "$COMPONENT: install incomplete"
  readelf -d "$py" | grep -q "(RPATH).*\$ORIGIN/../lib:\$ORIGIN/../../lib" || src_die "$COMPONENT: python$PYVER has no \$ORIGIN RPATH"
  for m in _ssl _hashlib _ctypes _decimal _sqlite3 _bz2 _lzma zlib pyexpat _elementtree _uuid \
           _json _socket select _posixsubprocess binascii math _struct _datetime array unicodedata; do
    compgen -G "$dyn/$m.cpython-*.so" >/dev/null || python_builtin "$dest" "$m" || missing+=" $m"
  done
  [ -z "$missing" ] || src_die "$COMPONENT: extension modules not built:$missing (see make.out)"
  if [ "$ARCH" = x86_64 ]; then
    env -i PATH=/usr/bin:/bin "$py" -S -c '
import ssl, hashlib, ctypes, decimal, sqlite3, bz2, lzma, zlib, pyexpat, uuid, json
assert hashlib.sha256(b"").hexdigest().startswith("e3b0c442")
assert sqlite3.connect(":memory:").execute("select 6*7").fetchone() == (42,)
assert decimal.Decimal(1) / decimal.Decimal(8) == decimal.Decimal("0.125")
print("python%s: %s, sqlite %s, expat %s" % (__import__("sys").version.split()[0], ssl.OPENSSL_VERSION, sqlite3.sqlite_version, pyexpat.EXPAT_VERSION))
' || src_die "$COMPONENT: the built interpreter failed its smoke test"
  fi
}

# python_builtin DEST MODULE: MODULE is compiled into libpython (its PyInit_ is there).
python_builtin() {
  readelf --dyn-syms -W "$1/runtime/lib/libpython$PYVER.so.1.0" | awk -v s="PyInit_$2" '$8 == s && $7 != "UND" { f = 1 } END { exit !f }'
}
