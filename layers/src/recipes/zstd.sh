# zstd (Debian's libzstd source): libzstd.a only (-fPIC, for CPython 3.14's _zstd, the
# compression.zstd module), from zstd's own lib/Makefile; no programs, no shared library.
# Its install-pc target writes libzstd.pc, which CPython's configure asks for (>= 1.4.5).
recipe_build() {
  local dest=$1 src=$2
  local vars=(CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2 -fPIC" PREFIX="$CACHE_ENTRY" LIBDIR="$CACHE_ENTRY/lib")
  make -C "$src/lib" -j"$JOBS" libzstd.a "${vars[@]}"
  stage_install "$dest" make -C "$src/lib" install-static install-includes install-pc "${vars[@]}"
}
