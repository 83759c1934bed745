# OpenSSL 3.0 (Debian bookworm's source, its patches: security fixes): libssl.so.3 and
# libcrypto.so.3, shared (both _ssl and _hashlib use them, and users' extensions may too),
# for CPython's _ssl and _hashlib. Only the libraries are built (build_libs/install_dev):
# no apps, tests, docs or man pages.
#   Debian's options (debian/rules CONFARGS) minus its paths and unit tests;
#   --openssldir=/etc/pki/tls: Amazon Linux's OpenSSL directory, where every Lambda image
#     keeps the CA bundle (cert.pem, certs/) it keeps current; SSL_CERT_FILE/SSL_CERT_DIR
#     and OPENSSL_CONF override it as usual;
#   no-module: no loadable providers/engines (the legacy provider would be a module looked
#     up in a path of this build machine; hashlib needs only the default provider).
recipe_build() {
  local dest=$1 src=$2 target opts
  case $HOST_TRIPLET in
    x86_64-*) target=linux-x86_64 opts=enable-ec_nistp_64_gcc_128 ;;
    aarch64-*) target=linux-aarch64 opts="" ;;
  esac
  mkdir build && cd build
  # shellcheck disable=SC2086
  "$src/Configure" "$target" --prefix="$CACHE_ENTRY" --libdir=lib --openssldir=/etc/pki/tls \
    shared no-module no-tests no-idea no-mdc2 no-rc5 no-zlib no-ssl3 no-ssl3-method \
    enable-rfc3779 enable-cms no-capieng no-rdrand $opts \
    CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2" CROSS_COMPILE=
  make -j"$JOBS" build_libs
  stage_install "$dest" make install_dev
  rm -f "$dest"/lib/*.a
  [ -f "$dest/lib/libssl.so.3" ] && [ -f "$dest/lib/libcrypto.so.3" ] && [ -f "$dest/lib/pkgconfig/openssl.pc" ] \
    || src_die "openssl: install incomplete"
  strip_tree "$ARCH" "$dest/lib"
}
