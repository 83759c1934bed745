# libuuid from Debian's util-linux source: static, -fPIC, for CPython's _uuid; nothing
# else of util-linux is configured or built.
recipe_build() {
  local dest=$1 src=$2
  # Debian's patches touch configure.ac and Makemodule.am for write/wall/tests only.
  autotools_keep "$src"
  mkdir build && cd build
  CFLAGS="-O2 -fPIC" "$src/configure" --host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" --prefix="$CACHE_ENTRY" \
    --disable-all-programs --enable-libuuid --disable-shared --enable-static --with-pic --disable-nls \
    --without-python --without-systemd --without-udev --disable-bash-completion --disable-asciidoc \
    --disable-poman --without-readline --without-ncursesw --without-ncurses --without-tinfo \
    --without-selinux --without-audit --without-smack --without-btrfs --without-cap-ng \
    --without-libz --without-libmagic --without-econf --disable-makeinstall-chown \
    --disable-dependency-tracking
  make -j"$JOBS" libuuid.la libuuid/uuid.pc
  mkdir -p "$dest/lib/pkgconfig" "$dest/include/uuid"
  cp .libs/libuuid.a "$dest/lib/" && cp "$src/libuuid/src/uuid.h" "$dest/include/uuid/"
  cp libuuid/uuid.pc "$dest/lib/pkgconfig/"
  pc_static "$dest/lib/pkgconfig/uuid.pc"
}
