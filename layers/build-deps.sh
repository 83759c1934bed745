#!/usr/bin/env bash
# layers/build-deps.sh PYVER ARCH [OUTDIR [REQUIREMENTS [RUNTIME_ROOT]]]
#
# Builds a dependency layer root from Debian binary packages listed in REQUIREMENTS
# (default layers/requirements.txt; the format is described at its top):
#   OUTDIR/<ARCH>/python/   dist-packages of the listed packages (+ .pyc)
#   OUTDIR/<ARCH>/lib/      shared libraries they need that the target and the runtime
#                           layer RUNTIME_ROOT (default layers/build/py<PYVER>-<ARCH>) lack
# Default OUTDIR: layers/build/deps-py<PYVER>-<ARCH>. The runtime layer must exist
# (layers/build-runtime.sh). Cached; cold ~10 s per layer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 PYVER ARCH [OUTDIR [REQUIREMENTS [RUNTIME_ROOT]]]"
PYVER=$1 ARCH=$2
OUTDIR=${3:-$LAYERS_BUILD/deps-py$PYVER-$ARCH}
REQ=${4:-$LAYERS_DIR/requirements.txt}
RT_ROOT=${5:-$LAYERS_BUILD/py$PYVER-$ARCH}
SUITE=$(suite_for_py "$PYVER")
DEBARCH=$(debarch_for "$ARCH")
TRIPLET=$(triplet_for "$ARCH")
[ -f "$REQ" ] || die "no requirements file $REQ"
[ -d "$RT_ROOT/$ARCH/lib" ] || die "runtime layer $RT_ROOT missing (make layer-py$PYVER-$ARCH)"

STAMP_EXTRA="deps $PYVER $ARCH $OUTDIR $RT_ROOT $(ls "$RT_ROOT/$ARCH/lib" | tr '\n' ' ')"
KEY=$(stamp_key "$0" "$LAYERS_DIR/lib.sh" "$REQ")
NAME=deps-py$PYVER-$ARCH
if stamp_ok "$NAME" "$KEY" && [ -d "$OUTDIR/$ARCH/python" ]; then exit 0; fi
stamp_clear "$NAME"
start=$SECONDS

# Parse the requirements: PACKAGE [py=..] [arch=..]
ROOTS=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  read -r -a f <<<"$line" || true
  [ ${#f[@]} -gt 0 ] || continue
  pkg=${f[0]} ok=1
  [[ $pkg =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "$REQ:$lineno: not a Debian package name: '$pkg'"
  for opt in "${f[@]:1}"; do
    case $opt in
      py=*)   [[ ,${opt#py=}, == *",$PYVER,"* ]] || ok=0 ;;
      arch=*) [[ ,${opt#arch=}, == *",$ARCH,"* ]] || ok=0 ;;
      *) die "$REQ:$lineno: unknown option '$opt' (py=VER,.. arch=ARCH,..)" ;;
    esac
  done
  [ $ok = 1 ] && ROOTS+=("$pkg")
done <"$REQ"

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR/$ARCH/python" "$OUTDIR/$ARCH/lib"
if [ ${#ROOTS[@]} -eq 0 ]; then
  note "$NAME: nothing listed for this layer in $REQ"
  stamp_set "$NAME" "$KEY"; exit 0
fi

apt_init "$SUITE" "$DEBARCH"
for p in "${ROOTS[@]}"; do
  apt-cache show "$p" >/dev/null 2>&1 || die "$REQ: package '$p' not in $SUITE/$DEBARCH"
done
mapfile -t PKGS < <(pkg_closure "${ROOTS[@]}")
note "$NAME: packages: ${PKGS[*]}"
mapfile -t POOL < <(pkg_fetch "$SUITE" "$DEBARCH" "${PKGS[@]}")

PY=$OUTDIR/$ARCH/python
for p in "${POOL[@]}"; do
  for d in "$p/usr/lib/python3/dist-packages" "$p/usr/lib/python$PYVER/dist-packages" \
           "$p/usr/lib/python$PYVER/site-packages"; do
    if [ -d "$d" ]; then cp -a "$d/." "$PY/"; fi
  done
done
# Extension modules built for another Python than this layer's would never import.
other=$(find "$PY" -name '*.cpython-*.so' ! -name "*.cpython-${PYVER/./}-*" | head -5)
[ -z "$other" ] || die "extension modules for another Python in $NAME:"$'\n'"$other"
find "$PY" -name __pycache__ -type d -prune -exec rm -rf {} +
normalize_tree "$OUTDIR"

# The ELF closure of every shared object in the layer's python/.
SEARCH=$(lib_dirs_of "$TRIPLET" "${POOL[@]}" | tr '\n' ' ')
PROVIDED="$RT_ROOT/$ARCH/lib $RT_ROOT/$ARCH/runtime/lib"
mapfile -t ELFS < <(elf_machines "$PY" | sed 's/: [^:]*$//')
if [ ${#ELFS[@]} -gt 0 ]; then elf_closure "$OUTDIR/$ARCH/lib" "$SEARCH" "$PROVIDED" "${ELFS[@]}"; fi
# Libraries shipped here bring their private directories (plugins, e.g.
# usr/lib/<triplet>/libmariadb3/plugin -> <arch>/lib/libmariadb3/plugin), and those
# plugins' own libraries.
PLUGINS=()
for p in "${POOL[@]}"; do
  for d in "$p/usr/lib/$TRIPLET" "$p/lib/$TRIPLET"; do
    [ -d "$d" ] || continue
    shipped=0
    for so in "$d"/*.so.*; do [ -e "$OUTDIR/$ARCH/lib/${so##*/}" ] && shipped=1; done
    [ $shipped = 1 ] || continue
    for sub in "$d"/*/; do
      [ -d "$sub" ] || continue
      sub=${sub%/}
      mkdir -p "$OUTDIR/$ARCH/lib/${sub##*/}"
      cp -rL "$sub/." "$OUTDIR/$ARCH/lib/${sub##*/}/"
      PLUGINS+=("$OUTDIR/$ARCH/lib/${sub##*/}")
    done
  done
done
if [ ${#PLUGINS[@]} -gt 0 ]; then
  mapfile -t ELFS < <(for d in "${PLUGINS[@]}"; do elf_machines "$d"; done | sed 's/: [^:]*$//')
  if [ ${#ELFS[@]} -gt 0 ]; then elf_closure "$OUTDIR/$ARCH/lib" "$SEARCH" "$PROVIDED" "${ELFS[@]}"; fi
fi
check_elf_arch "$ARCH" "$OUTDIR"

compile_tree "$(host_python "$PYVER")" "$PY"
normalize_tree "$OUTDIR"
stamp_set "$NAME" "$KEY"
note "$NAME: $(du -sh "$OUTDIR" | cut -f1) in $((SECONDS - start)) s; $ARCH/lib: $(cd "$OUTDIR/$ARCH/lib" && ls | tr '\n' ' ')"
