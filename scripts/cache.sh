# shellcheck shell=bash
# The build cache outside the checkout: slow builds (the zig toolchain, libraries and CPython
# from source) are kept under $BOOTSTRAP_CACHE, one directory per build, named by what it is
# and a hash of everything that went into it. A second build with the same inputs is a
# directory lookup; a changed recipe or source version is a new key, so stale results are
# never reused. Sourced, not run.
#
#   cache_dir                      the cache root (created)
#   cache_key FILE... [-- WORD...] a 16-hex-digit hash of the files' contents and the words
#   cache_build NAME KEY FN ARGS   $BOOTSTRAP_CACHE/NAME-KEY, building it with `FN DEST ARGS`
#                                  if absent; prints the path. FN writes into DEST (a temporary
#                                  directory); CACHE_ENTRY holds the final path, for recipes that
#                                  must name it (a --prefix).
#
# cache_build runs FN under a lock on the entry (several checkouts and make -j may share the
# cache), into a temporary directory that is renamed into place only when FN succeeds: an
# entry either is complete or does not exist. FN's output goes to NAME-KEY.log in the cache,
# and its tail is shown when it fails.

BOOTSTRAP_CACHE=${BOOTSTRAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-bootstrap}

cache_dir() { mkdir -p "$BOOTSTRAP_CACHE" && echo "$BOOTSTRAP_CACHE"; }

cache_key() {
  local files=() words=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; words=("$@"); break; fi
    files+=("$1"); shift
  done
  { for f in "${files[@]}"; do
      [ -f "$f" ] || { echo "cache_key: no such file: $f" >&2; return 1; }
      printf '%s\n' "$(basename "$f")"; cat "$f"
    done
    printf '%s\n' "${words[@]}"; } | sha256sum | cut -c1-16
}

cache_build() {
  local name=$1 key=$2 fn=$3; shift 3
  local root; root=$(cache_dir)
  local dest=$root/$name-$key
  if [ -f "$dest/.complete" ]; then echo "$dest"; return 0; fi
  (
    flock 9
    [ -f "$dest/.complete" ] && exit 0
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    echo "cache: building $name-$key (log: $dest.log)" >&2
    local t0=$SECONDS
    # FN runs in a subshell: an `exit` in it (a die helper) must fail the build, not end
    # this function before it reports the failure and removes the temporary directory.
    if ! (CACHE_ENTRY=$dest "$fn" "$dest.tmp" "$@") >"$dest.log" 2>&1; then
      tail -n 40 "$dest.log" >&2
      echo "cache: building $name failed (whole log: $dest.log)" >&2
      rm -rf "$dest.tmp"
      exit 1
    fi
    echo "$name-$key: built in $((SECONDS - t0)) s" >"$dest.tmp/.complete"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    echo "cache: $name-$key built in $((SECONDS - t0)) s" >&2
  ) 9>"$dest.lock" || return 1
  echo "$dest"
}
