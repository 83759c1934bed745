# CPython 3.X (Debian's source with the patches layers/src/patches/python3.X.patches keeps),
# --enable-shared, for x86_64 natively and arm64 cross-compiled with the x86_64 build of
# the same version as build Python. The entry mirrors a runtime layer:
#   runtime/bin/python3.X         runs on this machine with no environment: DT_RPATH
#                                 $ORIGIN/../lib:$ORIGIN/../../lib (libpython, then lib/)
#   runtime/lib/libpython3.X.so.1.0, runtime/lib/python3.X/ (with _sysconfigdata), runtime/include/
#   lib/                          libssl.so.3, libcrypto.so.3 (the only shared dependencies;
#                                 zlib, bz2, xz, libffi, expat, sqlite3, libuuid, mpdecimal, zstd are
#                                 linked statically into their one module each)
# Modules left out on purpose: layers/src/not-built.txt. Stripped.
RECIPE_DEPS="zlib bzip2 xz libffi expat sqlite uuid openssl"
RECIPE_NEEDS_BUILD_PYTHON=1
RECIPE_FILES="$SRC_DIR/not-built.txt $SRC_DIR/rpath.py"
PYVER=${COMPONENT#python}
case $PYVER in
  3.9|3.11) ;;
  3.13) RECIPE_DEPS="$RECIPE_DEPS mpdecimal" ;;    # 3.13+: the bundled libmpdec is deprecated
  *) RECIPE_DEPS="$RECIPE_DEPS mpdecimal zstd" ;;  # 3.14+: compression.zstd (_zstd)
esac

# configure answers: functions newer than the glibc floor that a compile-only check would
# find in zig's headers (the link against the 2.26 stubs would then leave them unresolved;
# check_entry catches any this list misses), the cross-compiling answers configure cannot
# test, and the modules left out.
_config_site() {
  local arch=$1 m
  cat <<EOF
ac_cv_func_memfd_create=no
ac_cv_func_copy_file_range=no
ac_cv_func_close_range=no
ac_cv_func_closefrom=no
ac_cv_func_sem_clockwait=no
ac_cv_func_pthread_cond_clockwait=no
ac_cv_func_posix_spawn_file_actions_addclosefrom_np=no
ac_cv_func_mlock2=no
ac_cv_func_statx=no
ac_cv_func_fcntl64=no
ac_cv_func_gettid=no
ac_cv_func_pidfd_open=no
ac_cv_func_strlcpy=no
ac_cv_func_strlcat=no
ac_cv_posix_semaphores_enabled=yes
ac_cv_broken_sem_getvalue=no
EOF
  if [ "$arch" != x86_64 ]; then
    printf '%s\n' ac_cv_file__dev_ptmx=yes ac_cv_file__dev_ptc=no ac_cv_buggy_getaddrinfo=no
  fi
  for m in $(src_not_built "$PYVER"); do case $m in _*|readline|nis) echo "py_cv_module_$m=n/a" ;; esac; done
}

recipe_build() {
  local dest=$1 src=$2 d inc="" lib="" pc="" args=() pybuild=""
  for d in $RECIPE_DEPS; do
    inc+=" -I${DEP_DIR[$d]}/include" lib+=" -L${DEP_DIR[$d]}/lib"
    # (3.9's setup.py looks for uuid.h itself, not uuid/uuid.h)
    [ ! -d "${DEP_DIR[$d]}/include/uuid" ] || inc+=" -I${DEP_DIR[$d]}/include/uuid"
    [ ! -d "${DEP_DIR[$d]}/lib/pkgconfig" ] || pc+="${pc:+:}${DEP_DIR[$d]}/lib/pkgconfig"
  done
  export PKG_CONFIG_LIBDIR=$pc
  _config_site "$ARCH" >config.site
  export CONFIG_SITE=$PWD/config.site

  args=(--host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" --prefix="$CACHE_ENTRY/runtime"
        --enable-shared --with-openssl="${DEP_DIR[openssl]}" --with-system-expat
        --enable-loadable-sqlite-extensions --with-ensurepip=no)
  grep -q -- '--disable-test-modules' "$src/configure" && args+=(--disable-test-modules)
  grep -q -- '--with-openssl-rpath' "$src/configure" && args+=(--with-openssl-rpath=no)
  case $PYVER in
    3.9|3.11) args+=(--with-system-ffi) ;;
    *) args+=(--with-system-libmpdec) ;;
  esac
  if [ -n "${SRC_LTO:-}" ]; then
    # Release default: no LTO (measured: -5% load + Py_InitializeEx for 3.13, +5 min of build
    # per Python and arch; bench/README.md). SRC_LTO=thin|full builds it: configure turns LTO
    # on for clang only if $CC's name says so, and zig cc is clang, so CC becomes a link named
    # <arch>-clang to the same wrapper, kept in the cache (sysconfig records CC).
    _clang_alias() { mkdir -p "$1/bin" && ln -s "$CC" "$1/bin/$ARCH-clang"; }
    CC=$(cache_build clang-alias "$(cache_key -- "$CC" "$ARCH")" _clang_alias)/bin/$ARCH-clang
    export CC
    args+=(--with-lto="$SRC_LTO")
  fi

  mkdir -p build/Modules
  # 3.9 has no configure switch per module: its setup.py skips the *disabled* ones.
  { echo '*disabled*'; src_not_built "$PYVER" | grep -v '^curses$\|^crypt$'; } >build/Modules/Setup.local

  if [ "$ARCH" != x86_64 ]; then
    pybuild=$BUILD_PYTHON_ENTRY/runtime/bin/python$PYVER
    [ -x "$pybuild" ] || src_die "$COMPONENT: no build Python at $pybuild"
    if grep -q -- '--with-build-python' "$src/configure"; then
      args+=(--with-build-python="$pybuild")
    else
      # 3.9's configure looks for python3.9 on PATH when cross-compiling.
      mkdir -p buildpy && ln -s "$pybuild" "buildpy/python$PYVER"
      export PATH=$PWD/buildpy:$PATH
    fi
  fi

  # Debian's CVE-2026-4224 fix for 3.11 makes pyexpat.c use the internal C API, as upstream
  # 3.11 by then compiled it (Debian builds pyexpat into libpython, where it always is).
  [ "$PYVER" != 3.11 ] || export LIBEXPAT_CFLAGS="-DPy_BUILD_CORE_MODULE"

  # A cross build refuses a READELF that is just "readelf" (it wants the host's); binutils'
  # readelf reads every architecture.
  READELF=$(command -v readelf) || src_die "readelf not found (binutils)"
  export READELF

  cd build
  # LDFLAGS_NODIST (not recorded for extensions built later): glibc's libraries for the
  # static libraries linked into modules (3.9's setup.py passes only -lsqlite3 and the like);
  # zig links them only where needed. CFLAGS_NODIST: zig makes __DATE__/__TIME__ (in
  # getbuildinfo.c) an error; with SOURCE_DATE_EPOCH set they are reproducible.
  CPPFLAGS="${inc# }" LDFLAGS="${lib# }" CFLAGS="" LDFLAGS_NODIST="-lm -ldl -lpthread" \
    CFLAGS_NODIST="-Wno-error=date-time" \
    "$src/configure" "${args[@]}" >configure.out 2>&1 || { tail -n 20 configure.out; src_die "$COMPONENT: configure failed (config.log)"; }
  tail -n 5 configure.out
  # The interpreter alone finds its libraries relative to itself (DT_RPATH, so they apply
  # to the modules it loads too: rpath.py turns zig's DT_RUNPATH into one); libpython and
  # the modules carry no search path.
  local linkforshared
  linkforshared=$(sed -n 's/^LINKFORSHARED=[[:space:]]*//p' Makefile)
  # The build's own interpreter must load _ssl for setup.py's / checksharedmods' import check.
  export LD_LIBRARY_PATH=${DEP_DIR[openssl]}/lib
  # libpython3.so (the stable-ABI forwarder) is linked from libpython3.X.so alone, and zig
  # cannot link without one object file: NO_AS_NEEDED, used only there, brings an empty one.
  : >empty.c && "$CC" -c -fPIC empty.c -o empty.o
  local makevars=(LINKFORSHARED="$linkforshared -Wl,-rpath,\\\$\$ORIGIN/../lib:\\\$\$ORIGIN/../../lib"
                  NO_AS_NEEDED="-Wl,--no-as-needed $PWD/empty.o")
  make -j"$JOBS" "${makevars[@]}" \
    >make.out 2>&1 || { tail -n 60 make.out; src_die "$COMPONENT: make failed"; }
  grep -E -A12 "Python build finished|Following modules|Failed to build|could not be imported|not built" make.out | head -n 40 || true
  grep -E -B2 -A3 "error:|undefined symbol|ImportError" make.out | head -n 80 || true
  stage_install "$dest" make install "${makevars[@]}" >install.out 2>&1 \
    || { tail -n 40 install.out; src_die "$COMPONENT: make install failed"; }
  unset LD_LIBRARY_PATH
  /usr/bin/python3.11 "$SRC_DIR/rpath.py" "$dest/runtime/bin/python$PYVER"

  # The shared libraries the stdlib needs, beside runtime/ as in the layer.
  mkdir -p "$dest/lib"
  cp -L "${DEP_DIR[openssl]}/lib/libssl.so.3" "${DEP_DIR[openssl]}/lib/libcrypto.so.3" "$dest/lib/"
  rm -rf "$dest/runtime/share" "$dest/runtime/lib/pkgconfig"
  strip_tree "$ARCH" "$dest"

  _python_modules_check "$dest" "$src" make.out
  _python_check "$dest"
}
