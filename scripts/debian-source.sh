# Sourced by the scripts that build a dependency from Debian's source package
# (curl-static.sh, cjson-static.sh): fetch it under a private apt state and unpack it.
#
#   debian_source_fetch PACKAGE[=VERSION] APT_DIR DEST
#
# Downloads PACKAGE's bookworm source (VERSION pins one the mirror serves: the security
# mirror may list a newer one it does not serve) (deb-src entries for bookworm, -updates and -security)
# with `apt-get source --download-only` under APT_DIR, unpacks it with `dpkg-source -x`
# (Debian's patches applied) into DEST, which must not exist, and prints the version.
# The system's apt state is never touched. apt checks the files against the signed
# Sources index; the .dsc's own signature cannot be checked here (no developer keyring).

debian_source_fetch() {
  local pkg=$1 apt_dir=$2 dest=$3 name=${1%%=*}
  local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg suite=bookworm
  [ -r "$keyring" ] || { echo "$keyring missing: install debian-archive-keyring" >&2; return 1; }
  mkdir -p "$apt_dir"/{state/lists/partial,cache/archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,src}
  : > "$apt_dir/status"
  cat > "$apt_dir/etc/sources.list" <<SOURCES
deb-src [signed-by=$keyring] $mirror $suite main
deb-src [signed-by=$keyring] $mirror $suite-updates main
deb-src [signed-by=$keyring] $security $suite-security main
SOURCES
  local opts=(
    -o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache" -o "Dir::Etc=$apt_dir/etc"
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::Parts=$apt_dir/etc/apt.conf.d"
    -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
    -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
    -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Sandbox::User=root
  )
  # One index update per apt dir and hour is plenty (several packages share the dir).
  if [ -z "$(find "$apt_dir/state/lists" -name '*Sources*' -mmin -60 2>/dev/null | head -n1)" ]; then
    apt-get "${opts[@]}" -q update >"$apt_dir/update.log" 2>&1 \
      || { cat "$apt_dir/update.log" >&2; echo "apt-get update (deb-src, private state) failed" >&2; return 1; }
  fi
  rm -f "$apt_dir/src/${name}"_*.dsc
  (cd "$apt_dir/src" && apt-get "${opts[@]}" -q source --download-only "$pkg") >"$apt_dir/source-$name.log" 2>&1 \
    || { cat "$apt_dir/source-$name.log" >&2; echo "apt-get source --download-only $pkg failed" >&2; return 1; }
  local dsc; dsc=$(ls "$apt_dir/src/${name}"_*.dsc 2>/dev/null | head -n1)
  [ -n "$dsc" ] || { echo "no ${name}_*.dsc downloaded (see $apt_dir/source-$name.log)" >&2; return 1; }
  dpkg-source -x "$dsc" "$dest" >"$apt_dir/dpkg-source-$name.log" 2>&1 \
    || { rm -rf "$dest"; cat "$apt_dir/dpkg-source-$name.log" >&2; echo "dpkg-source -x $dsc failed" >&2; return 1; }
  sed -n 's/^Version: //p' "$dsc"
}
