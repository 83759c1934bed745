#!/usr/bin/env bash
# Install the Debian packages the build and tests need: the union of scripts/packages/*.txt, or
# of the lists named (`deps.sh run`: scripts/packages/run.txt only, for make run).
# Fast when everything is present (one dpkg-query); runs apt-get only for what is missing.
set -euo pipefail
cd "$(dirname "$0")/packages"

if [ $# -gt 0 ]; then lists=("${@/%/.txt}"); else lists=(*.txt); fi
wanted=$(sed -e 's/#.*//' -- "${lists[@]}" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -q "$@"; }
apt_get update >/dev/null
apt_get install -y --no-install-recommends "${missing[@]}"
