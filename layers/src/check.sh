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
