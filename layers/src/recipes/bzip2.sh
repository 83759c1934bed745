# bzip2 (Debian's bzip2 source): libbz2.a only (-fPIC, for CPython's _bz2), from bzip2's
# plain Makefile; no programs, no shared library. bzip2 ships no pkg-config file: one is
# written so CPython 3.11+'s configure finds it like the others.
recipe_build() {
  local dest=$1 src=$2 version
  make -C "$src" -j"$JOBS" libbz2.a CC="$CC" AR="$AR" RANLIB="$RANLIB" \
    CFLAGS="-O2 -fPIC -D_FILE_OFFSET_BITS=64 -Wall"
  mkdir -p "$dest/lib/pkgconfig" "$dest/include"
  cp "$src/libbz2.a" "$dest/lib/" && cp "$src/bzlib.h" "$dest/include/"
  version=$(sed -n 's/^ *somajor=//p;s/^ *sominor=\$(somajor)//p' "$src/Makefile" | tr -d '\n')
  cat >"$dest/lib/pkgconfig/bzip2.pc" <<PC
prefix=$CACHE_ENTRY
Name: bzip2
Description: bzip2 compression library (static)
Version: $version
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -lbz2
PC
}
