# shellcheck shell=bash
# Pinned Debian sources for the from-source runtimes (sourced, not run).
#
#   lock_field NAME FIELD       a field of NAME's line in sources.lock (package|suite|version|patches)
#   lock_line NAME              NAME's whole line (part of every cache key built on it)
#   src_fetch NAME              the unpacked, patched source tree of NAME (a cache entry,
#                               scripts/cache.sh); prints its path (the tree is PATH/src)
#   src_key NAME                that entry's key (part of the key of everything built from it)
#
# Fetching: `apt-get source --download-only PACKAGE=VERSION` under a private apt state per
# suite ($BOOTSTRAP_CACHE/apt-src/SUITE: deb-src lines for SUITE, -updates and -security;
# sid alone), never the system's. apt checks the downloaded files against the signed
# Sources index. A pin the mirror does not serve (any more) is an error naming the pin and
# the versions served. Patches: `debian` applies every Debian patch (dpkg-source -x);
# otherwise the lock names a file in layers/src/patches/ that classifies every patch of the
# package's debian/patches/series as `keep` or `drop` (a patch it does not name is an error,
# so a new Debian revision cannot slip a patch in or out unseen).

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SRC_LOCK=${SRC_LOCK:-$SRC_DIR/sources.lock}
. "$SRC_DIR/../../scripts/cache.sh"

src_die() { echo "layers/src: error: $*" >&2; exit 1; }

lock_line() {
  local line
  line=$(awk -v n="$1" '$1 == n { print; exit }' "$SRC_LOCK")
  [ -n "$line" ] || src_die "no '$1' in $SRC_LOCK (have: $(awk '!/^#/ && NF { printf "%s ", $1 }' "$SRC_LOCK"))"
  echo "$line" | tr -s ' \t' ' '
}

lock_field() {
  local i
  case $2 in package) i=2 ;; suite) i=3 ;; version) i=4 ;; patches) i=5 ;; *) src_die "lock_field: no field '$2'" ;; esac
  lock_line "$1" | cut -d' ' -f$i
}

# _apt_src SUITE: the apt-get options of SUITE's private state (created and updated once).
_apt_src_opts() {
  local d=$1
  echo "-o Dir::State=$d/state -o Dir::State::status=$d/status -o Dir::Cache=$d/cache
        -o Dir::Etc=$d/etc -o Dir::Etc::SourceList=$d/etc/sources.list
        -o Dir::Etc::SourceParts=$d/etc/sources.list.d -o Dir::Etc::Parts=$d/etc/apt.conf.d
        -o Dir::Etc::PreferencesParts=$d/etc/preferences.d -o Dir::Etc::Preferences=$d/etc/preferences
        -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}

# _apt_src_update SUITE [force]: (re)read SUITE's Sources indexes.
_apt_src_update() {
  local suite=$1 force=${2:-} d; d=$(cache_dir)/apt-src/$suite
  local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || src_die "$keyring missing: install debian-archive-keyring"
  mkdir -p "$d"
  (
    flock 8
    [ -z "$force" ] && [ -f "$d/updated" ] && exit 0
    mkdir -p "$d"/{state/lists/partial,cache/archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d}
    : >"$d/status"
    case $suite in
      sid|unstable) echo "deb-src [signed-by=$keyring] $mirror $suite main" ;;
      *) printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" "$keyring" "$mirror" "$suite-updates" \
           "$keyring" "$security" "$suite-security" ;;
    esac >"$d/etc/sources.list"
    # shellcheck disable=SC2046
    apt-get $(_apt_src_opts "$d") -q update >"$d/update.log" 2>&1 \
      || { cat "$d/update.log" >&2; src_die "apt-get update (deb-src $suite, private state $d) failed"; }
    date +%s >"$d/updated"
  ) 8>"$d.lock" || exit 1
  echo "$d"
}

# _src_served PACKAGE APTDIR: the versions of PACKAGE the suite's indexes list.
_src_served() {
  # shellcheck disable=SC2046
  apt-cache $(_apt_src_opts "$2") showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -u | tr '\n' ' '
}

# _src_fetchable PACKAGE APTDIR: the listed versions all of whose files the mirror serves.
_src_fetchable() {
  local v u ok out=""
  for v in $(_src_served "$1" "$2"); do
    ok=1
    # shellcheck disable=SC2046
    for u in $(cd / && apt-get $(_apt_src_opts "$2") -q --print-uris source "$1=$v" 2>/dev/null | sed -n "s/^'\([^']*\)'.*/\1/p"); do
      curl -fsI -m 20 -o /dev/null "$u" || { ok=0; break; }
    done
    [ $ok = 0 ] || out+="$v "
  done
  echo "${out:-none }"
}

# _src_unpack DEST NAME: the fetch-and-unpack step run by cache_build.
_src_unpack() {
  local dest=$1 name=$2 pkg suite version patches d dl served
  pkg=$(lock_field "$name" package) suite=$(lock_field "$name" suite)
  version=$(lock_field "$name" version) patches=$(lock_field "$name" patches)
  d=$(_apt_src_update "$suite")
  served=$(_src_served "$pkg" "$d")
  case " $served " in
    *" $version "*) ;;
    *) d=$(_apt_src_update "$suite" force); served=$(_src_served "$pkg" "$d")
       case " $served " in *" $version "*) ;; *)
         src_die "$name: the pin $pkg=$version ($suite) is not served by the mirror; served: ${served:-nothing}(update $SRC_LOCK)" ;;
       esac ;;
  esac
  dl=$dest/dl; mkdir -p "$dl"
  # shellcheck disable=SC2046
  if ! (cd "$dl" && apt-get $(_apt_src_opts "$d") -q source --download-only "$pkg=$version") >"$dest/fetch.log" 2>&1; then
    grep -E '^(E|W):' "$dest/fetch.log" >&2 || cat "$dest/fetch.log" >&2
    if grep -q '404' "$dest/fetch.log"; then
      src_die "$name: the mirror's index lists $pkg=$version ($suite) but does not serve its files (404);" \
        "versions whose files are served: $(_src_fetchable "$pkg" "$d")(update $SRC_LOCK)"
    fi
    src_die "$name: apt-get source --download-only $pkg=$version failed"
  fi
  local dsc; dsc=$(ls "$dl/${pkg}"_*.dsc 2>/dev/null | head -n1)
  [ -n "$dsc" ] || src_die "$name: no ${pkg}_*.dsc downloaded"
  if [ "$patches" = debian ]; then
    dpkg-source -x "$dsc" "$dest/src" >>"$dest/fetch.log" 2>&1 || { cat "$dest/fetch.log" >&2; src_die "$name: dpkg-source -x failed"; }
  else
    dpkg-source --skip-patches -x "$dsc" "$dest/src" >>"$dest/fetch.log" 2>&1 || { cat "$dest/fetch.log" >&2; src_die "$name: dpkg-source -x failed"; }
    _src_apply_selected "$name" "$dest/src" "$SRC_DIR/patches/$patches"
  fi
  rm -rf "$dl"
  echo "$pkg $version ($suite)" >"$dest/VERSION"
}

# _src_apply_selected NAME TREE LIST: apply the `keep` patches of LIST in series order.
_src_apply_selected() {
  local name=$1 tree=$2 list=$3 p verdict unknown="" kept=0 dropped=0
  [ -f "$list" ] || src_die "$name: no patch list $list"
  [ -f "$tree/debian/patches/series" ] || src_die "$name: no debian/patches/series"
  while read -r p; do
    verdict=$(awk -v p="$p" '($1 == "keep" || $1 == "drop") && $2 == p { print $1; exit }' "$list")
    case $verdict in
      keep) patch -d "$tree" -p1 -s --no-backup-if-mismatch <"$tree/debian/patches/$p" \
              || src_die "$name: Debian patch $p does not apply"
            kept=$((kept + 1)) ;;
      drop) dropped=$((dropped + 1)) ;;
      *) unknown+=" $p" ;;
    esac
  done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$tree/debian/patches/series" | awk '{ print $1 }')
  [ -z "$unknown" ] || src_die "$name: Debian patches not classified (keep|drop) in $list:$unknown"
  echo "$name: $kept Debian patches kept, $dropped dropped ($list)"
}

# src_key NAME: the cache key of NAME's source tree (fetch logic, patch list, lock line).
src_key() {
  local patches files=("$SRC_DIR/source.sh")
  patches=$(lock_field "$1" patches)
  [ "$patches" = debian ] || files+=("$SRC_DIR/patches/$patches")
  cache_key "${files[@]}" -- "$(lock_line "$1")"
}

src_fetch() {
  local key; key=$(src_key "$1") || exit 1
  cache_build "src-$1" "$key" _src_unpack "$1"
}
