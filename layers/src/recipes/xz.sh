# xz-utils (Debian's source): liblzma static (-fPIC, for CPython's _lzma); none of the
# programs, scripts, translations or documentation.
recipe_build() {
  local dest=$1 src=$2
  mkdir build && cd build
  CFLAGS="-O2 -fPIC" "$src/configure" --host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" --prefix="$CACHE_ENTRY" \
    --disable-shared --enable-static --with-pic --disable-xz --disable-xzdec --disable-lzmadec \
    --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls \
    --disable-dependency-tracking
  make -j"$JOBS" -C src/liblzma
  stage_install "$dest" make -C src/liblzma install
  rm -rf "$dest/share" "$dest"/lib/*.la
  pc_static "$dest/lib/pkgconfig/liblzma.pc"
}
