# zlib (Debian's zlib source): static, -fPIC, linked into CPython's zlib module (and
# binascii's crc32). zlib's own configure: no autotools; it takes CC/AR/RANLIB from the
# environment and builds only what `make libz.a` asks for.
recipe_build() {
  local dest=$1 src=$2
  (cd "$src" && CFLAGS="-O2 -fPIC" CHOST=$HOST_TRIPLET ./configure --static --prefix="$CACHE_ENTRY")
  make -C "$src" -j"$JOBS" libz.a
  stage_install "$dest" make -C "$src" install
  rm -rf "$dest/share"
  [ -f "$dest/lib/libz.a" ] && [ -f "$dest/include/zlib.h" ] && [ -f "$dest/lib/pkgconfig/zlib.pc" ] \
    || src_die "zlib: install incomplete"
}
