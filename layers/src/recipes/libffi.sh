# libffi (Debian's source; its tarball carries a generated configure): static, -fPIC, for
# CPython's _ctypes.
recipe_build() {
  local dest=$1 src=$2
  mkdir build && cd build
  # tramp.c calls open_temp_exec_file (int, closures.c) undeclared, an error for clang >= 16;
  # libffi 3.4.5 added the prototype. The implicit int declaration is the right one.
  CFLAGS="-O2 -fPIC -Wno-error=implicit-function-declaration" "$src/configure" --host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" --prefix="$CACHE_ENTRY" \
    --disable-shared --enable-static --with-pic --disable-docs --disable-multi-os-directory \
    --disable-dependency-tracking
  make -j"$JOBS"
  stage_install "$dest" make install
  rm -rf "$dest/share" "$dest"/lib/*.la
}
