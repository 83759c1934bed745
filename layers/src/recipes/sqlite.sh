# sqlite3 (Debian's source: the full tree, so tclsh builds the amalgamation): static,
# -fPIC, for CPython's _sqlite3. The compile-time options are Debian's (debian/rules), so
# the library behaves like the one Debian's python3 uses, except SQLITE_OMIT_LOOKASIDE
# (an allocator choice of Debian's, not a feature; the default is faster). Load-extension
# support stays on (CPython is built --enable-loadable-sqlite-extensions, as Debian does).
SQLITE_OPTIONS="-DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_ENABLE_FTS3
  -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_RTREE=1 -DSQLITE_SOUNDEX=1
  -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ALLOW_ROWID_IN_VIEW
  -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1 -DSQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_ENABLE_JSON1
  -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_FTS3_TOKENIZER=1
  -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_ENABLE_PREUPDATE_HOOK
  -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_STMTVTAB -DSQLITE_MAX_VARIABLE_NUMBER=250000"
recipe_build() {
  local dest=$1 src=$2
  command -v tclsh >/dev/null || src_die "sqlite: tclsh not found (scripts/packages/cpython.txt: tcl)"
  mkdir build && cd build
  # shellcheck disable=SC2086
  CFLAGS="-O2 -fPIC -fno-strict-aliasing $(echo $SQLITE_OPTIONS)" BUILD_CC=gcc \
    "$src/configure" --host="$HOST_TRIPLET" --build="$BUILD_TRIPLET" --prefix="$CACHE_ENTRY" \
    --disable-shared --enable-static --with-pic --enable-threadsafe --enable-load-extension \
    --enable-fts4 --enable-fts5 --disable-tcl --disable-readline --disable-editline TCLSH_CMD=tclsh
  # CROSS_BUILDING: Debian's 30-cross.patch then builds lemon with the build machine's cc.
  make -j"$JOBS" CROSS_BUILDING=yes libsqlite3.la sqlite3.h
  mkdir -p "$dest/lib/pkgconfig" "$dest/include"
  cp .libs/libsqlite3.a "$dest/lib/" && cp sqlite3.h "$src/src/sqlite3ext.h" "$dest/include/"
  cp sqlite3.pc "$dest/lib/pkgconfig/"
  # Its Libs.private is empty here; a static libsqlite3 needs these from glibc.
  sed -i 's|^Libs: \(.*\)$|Libs: \1 -lm -ldl -lpthread|' "$dest/lib/pkgconfig/sqlite3.pc"
  pc_static "$dest/lib/pkgconfig/sqlite3.pc"
}
