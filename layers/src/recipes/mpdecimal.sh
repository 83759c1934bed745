# mpdecimal (Debian's source): libmpdec static (-fPIC) for CPython 3.13+'s _decimal, where
# the bundled copy is deprecated (3.9 and 3.11 use their bundled libmpdec). No libmpdec++.
recipe_build() {
  local dest=$1 src=$2
  (cd "$src" && CFLAGS="-O2 -fPIC" ./configure --host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" \
     --prefix="$CACHE_ENTRY" --disable-cxx --disable-shared --enable-static --disable-doc)
  make -C "$src/libmpdec" -j"$JOBS" libmpdec.a
  mkdir -p "$dest/lib/pkgconfig" "$dest/include"
  cp "$src/libmpdec/libmpdec.a" "$dest/lib/" && cp "$src/libmpdec/mpdecimal.h" "$dest/include/"
  cp "$src/libmpdec/.pc/libmpdec.pc" "$dest/lib/pkgconfig/" || src_die "mpdecimal: configure wrote no libmpdec.pc"
  pc_static "$dest/lib/pkgconfig/libmpdec.pc"
}
