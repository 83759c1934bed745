#!/usr/bin/env bash
# layers/src/fetch.sh NAME            the source tree of NAME (a line of sources.lock), fetched and
#                                     patched as the lock says, in the build cache: prints its path
#                                     (ENTRY/src; ENTRY/VERSION says what it is)
# layers/src/fetch.sh --into DIR NAME the same into DIR (DIR/src, DIR/VERSION), not cached: for a
#                                     caller that keeps only part of a large tree (libmariadb of
#                                     mariadb's server source)
# layers/src/fetch.sh --key NAME      the tree's cache key (pin, patch list, fetch code)
#
# The one way this project fetches a source package (source.sh: a private apt state per suite,
# the pin checked against the signed index, a pin the mirror does not serve named with what it
# does serve). The from-source runtimes' recipes (build.sh), the bootstrap's libcurl and cJSON
# (scripts/curl-static.sh, cjson-static.sh) and mysqlclient's libmariadb
# (layers/native/libmariadb.sh) all come through it.
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$SRC_DIR/source.sh"

case ${1:-} in
  --into) [ $# -eq 3 ] || src_die "usage: $0 --into DIR NAME"
          lock_line "$3" >/dev/null
          [ ! -e "$2" ] || src_die "--into $2: already exists"
          mkdir -p "$2" && _src_unpack "$2" "$3" >&2 ;;
  --key)  [ $# -eq 2 ] || src_die "usage: $0 --key NAME"
          lock_line "$2" >/dev/null && src_key "$2" ;;
  -*|"")  src_die "usage: $0 [--into DIR | --key] NAME" ;;
  *)      [ $# -eq 1 ] || src_die "usage: $0 NAME"
          lock_line "$1" >/dev/null
          echo "$(src_fetch "$1")/src" ;;
esac
