# expat (Debian's source: a git tree without configure, so CMake): static, -fPIC, for
# CPython's pyexpat (--with-system-expat: Debian's patched expat, not CPython's bundled copy).
recipe_build() {
  local dest=$1 src=$2
  # Debian's security backports test `#if XML_DTD == 1`, as autotools' config.h defines it;
  # CMake's template defines it empty. Define it to 1 the way expat 2.6's template does.
  sed -i 's/^#cmakedefine XML_DTD$/#cmakedefine01 XML_DTD/' "$src/expat/expat_config.h.cmake"
  grep -q '^#cmakedefine01 XML_DTD$' "$src/expat/expat_config.h.cmake" || src_die "expat: XML_DTD template not found"
  cmake -S "$src/expat" -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$CACHE_ENTRY" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_AR="$(command -v "$AR")" -DCMAKE_RANLIB="$(command -v "$RANLIB")" \
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="${HOST_TRIPLET%%-*}" \
    -DCMAKE_C_FLAGS="-O2" -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_LIBDIR=lib \
    -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF \
    -DEXPAT_BUILD_DOCS=OFF -DEXPAT_BUILD_FUZZERS=OFF -DEXPAT_BUILD_PKGCONFIG=ON
  cmake --build build -j"$JOBS"
  DESTDIR="$dest/.stage" cmake --install build
  cp -a "$dest/.stage$CACHE_ENTRY/." "$dest/" && rm -rf "$dest/.stage" "$dest/share" "$dest/lib/cmake"
  [ -f "$dest/lib/libexpat.a" ] && [ -f "$dest/lib/pkgconfig/expat.pc" ] || src_die "expat: install incomplete"
}
