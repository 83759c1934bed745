#!/usr/bin/env bash
# layers/image/build.sh PYVER OUTDIR WORKDIR ARCH=RUNTIME_LAYER:BOOTSTRAP...
#
# The runtime image of a customer-managed runtime (mk/image.mk, `make image`): one image per
# ARCH, all in one OCI image layout at OUTDIR (layers/image/oci.py), tagged PYVER (the index
# of every ARCH) and PYVER-<arch> (one image). Each image is three layers:
#
#   os        Debian 12 packages pinned in layers/image/packages.lock (glibc, /bin/sh, CA
#             bundle, zoneinfo), the mount points /var/task (function code) and /opt (layers),
#             /tmp; cached in $BOOTSTRAP_CACHE by the lock file and this script
#   python    /var/runtime/<arch>/runtime and /var/runtime/<arch>/lib: RUNTIME_LAYER's <arch>/
#             (a from-source runtime layer, layers/src/layer.sh)
#   bootstrap /var/runtime/bootstrap: BOOTSTRAP
#
# so /var/runtime holds what a runtime zip holds (bootstrap + <arch>/runtime), outside /opt,
# where Lambda mounts the function's layers. Before writing, every image's root filesystem is
# checked (layers/image/rootfs_check.py): ELF files for ARCH only, every loader and NEEDED
# library found inside the image, no glibc symbol newer than the image's glibc.
# WORKDIR keeps the trees and the spec (oci.py SPEC OUTDIR writes the same bytes again).
set -euo pipefail
IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$IMAGE_DIR/../.." && pwd)
# shellcheck source=../lib.sh
. "$REPO/layers/lib.sh"
# shellcheck source=../../scripts/cache.sh
. "$REPO/scripts/cache.sh"

SUITE=bookworm
LOCK=$IMAGE_DIR/packages.lock
TOOL_PYTHON=${TOOL_PYTHON:-/usr/bin/python3.11}

image_die() { echo "image: error: $*" >&2; exit 1; }
image_note() { echo "image: $*" >&2; }

# lock_entries : "package version" lines of packages.lock.
lock_entries() { sed -e 's/#.*//' "$LOCK" | awk 'NF == 2 { print $1, $2 } NF != 0 && NF != 2 { exit 1 }'; }

# --- the OS layer ------------------------------------------------------------------------
# _os_make DEST ARCH: DEST/root, the OS tree (cache_build's worker).
_os_make() {
  local dest=$1 arch=$2 debarch pkg ver served f root=$1/root debs=$1/debs ex=$1/extract
  debarch=$(debarch_for "$arch")
  apt_init "$SUITE" "$debarch"
  mkdir -p "$root" "$debs" "$ex"
  lock_entries >"$dest/lock" || image_die "$LOCK: every line must be 'package version'"
  while read -r pkg ver; do
    if ! (cd "$debs" && apt-get -q download "$pkg=$ver" >/dev/null 2>"$dest/download.err"); then
      served=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
      cat "$dest/download.err" >&2
      image_die "$pkg $ver ($SUITE/$debarch) is not served by $DEBIAN_MIRROR (it serves ${served:-no $pkg}): update $LOCK"
    fi
    f=$(compgen -G "$debs/${pkg}_*.deb" | head -1)
    [ "$(dpkg-deb -f "$f" Version)" = "$ver" ] || image_die "$f is not version $ver"
    if [ "$pkg" = base-files ]; then
      # Only the distribution's identity: the rest of base-files is a whole system's skeleton.
      dpkg-deb -x "$f" "$ex/base-files"
      mkdir -p "$root/usr/lib" "$root/etc"
      cp "$ex/base-files/usr/lib/os-release" "$root/usr/lib/os-release"
      ln -s ../usr/lib/os-release "$root/etc/os-release"
      continue
    fi
    dpkg-deb -x "$f" "$root"
    # What dpkg would record: image scanners read it to know what is installed.
    { dpkg-deb -f "$f" | sed '1a Status: install ok installed'; echo; } >>"$dest/status"
  done <"$dest/lock"

  # Documentation goes, licences stay.
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/doc-base"

  # What the packages' maintainer scripts would have made.
  ln -s dash "$root/bin/sh"
  mkdir -p "$root/var/lib/dpkg" "$root/etc/pki/tls/certs" "$root/etc/ssl/certs"
  cp "$dest/status" "$root/var/lib/dpkg/status"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  ln -s /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
  # The CA bundle where the runtime's OpenSSL looks (OPENSSLDIR=/etc/pki/tls, Amazon Linux's
  # place), and at Amazon Linux's and Debian's usual paths; the certificates update-ca-certificates
  # would take (every one ca-certificates ships), in a fixed order.
  LC_ALL=C cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/pki/tls/cert.pem"
  ln -s ../cert.pem "$root/etc/pki/tls/certs/ca-bundle.crt"
  ln -s ../../pki/tls/cert.pem "$root/etc/ssl/certs/ca-certificates.crt"
  [ "$(grep -c 'BEGIN CERTIFICATE' "$root/etc/pki/tls/cert.pem")" -gt 100 ] || image_die "the CA bundle has too few certificates"
  # Mount points and scratch space: Lambda mounts the function's code at /var/task and its
  # layers at /opt; /tmp is the writable directory a function gets.
  mkdir -p "$root/var/task" "$root/opt" "$root/var/runtime" "$root/tmp"
  chmod 1777 "$root/tmp"
  rm -rf "$debs" "$ex"
}

# os_tree ARCH : prints the cached OS tree for ARCH (built if needed).
os_tree() {
  local key entry
  key=$(cache_key "$LOCK" "$IMAGE_DIR/build.sh" -- "$1" "$SUITE" "$DEBIAN_MIRROR")
  entry=$(cache_build "image-os-$1" "$key" _os_make "$1") || image_die "the OS layer for $1 did not build"
  echo "$entry/root"
}

# --- the image -------------------------------------------------------------------------
[ $# -ge 4 ] || image_die "usage: $0 PYVER OUTDIR WORKDIR ARCH=RUNTIME_LAYER:BOOTSTRAP..."
PYVER=$1 OUTDIR=$2 WORK=$3
shift 3
t0=$SECONDS
rm -rf "$WORK" && mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)  # absolute: the spec names its trees
glibc=$(lock_entries | awk '$1 == "libc6" { split($2, v, "-"); print v[1] }')
[ -n "$glibc" ] || image_die "$LOCK pins no libc6"
images=()
for cell in "$@"; do
  arch=${cell%%=*} rest=${cell#*=}
  layer=${rest%%:*} bootstrap=${rest#*:}
  case $arch in x86_64) oci_arch=amd64 ;; arm64) oci_arch=arm64 ;; *) image_die "unknown arch '$arch' in '$cell' (x86_64|arm64)" ;; esac
  [ -f "$layer/$arch/runtime/lib/libpython$PYVER.so.1.0" ] ||
    image_die "$layer is not a Python $PYVER runtime layer for $arch (no $arch/runtime/lib/libpython$PYVER.so.1.0)"
  [ -x "$bootstrap" ] || image_die "no bootstrap at $bootstrap"
  os=$(os_tree "$arch")
  py=$WORK/$arch/python boot=$WORK/$arch/bootstrap
  mkdir -p "$py/var/runtime" "$boot/var/runtime"
  cp -a "$layer/$arch" "$py/var/runtime/$arch"
  install -m 0755 "$bootstrap" "$boot/var/runtime/bootstrap"
  "$TOOL_PYTHON" "$IMAGE_DIR/rootfs_check.py" --arch "$arch" --glibc "$glibc" "$os" "$py" "$boot" ||
    image_die "the $arch image's root filesystem failed its check (above)"
  images+=("$(
    "$TOOL_PYTHON" - "$oci_arch" "$os" "$py" "$boot" "$PYVER" "$SUITE" <<'EOF'
import json, sys
oci_arch, os_root, py_root, boot_root, pyver, suite = sys.argv[1:]
print(json.dumps({
    "platform": {"os": "linux", "architecture": oci_arch},
    "config": {
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"],
        "Entrypoint": ["/var/runtime/bootstrap"],
        "WorkingDir": "/var/task",
        "Labels": {"org.opencontainers.image.title": f"bootstrap python{pyver}",
                   "org.opencontainers.image.description":
                       f"AWS Lambda runtime for Python {pyver}: the C bootstrap and CPython {pyver} built from source"},
    },
    "layers": [
        {"root": os_root, "created_by": f"os: Debian {suite} packages of layers/image/packages.lock"},
        {"root": py_root, "created_by": f"python: CPython {pyver} built from source (/var/runtime/<arch>/runtime)"},
        {"root": boot_root, "created_by": "bootstrap: /var/runtime/bootstrap"},
    ],
}))
EOF
  )")
done
"$TOOL_PYTHON" - "$PYVER" "$SOURCE_DATE_EPOCH" "${images[@]}" >"$WORK/spec.json" <<'EOF'
import json, sys
pyver, created, images = sys.argv[1], int(sys.argv[2]), [json.loads(a) for a in sys.argv[3:]]
print(json.dumps({"tag": pyver, "created": created, "images": images,
                  "annotations": {"org.opencontainers.image.title": f"bootstrap python{pyver}"}}, indent=1))
EOF
"$TOOL_PYTHON" "$IMAGE_DIR/oci.py" "$WORK/spec.json" "$OUTDIR"
image_note "$OUTDIR: python $PYVER for $(printf '%s ' "${@%%=*}")in $((SECONDS - t0)) s ($(du -sh "$OUTDIR" | cut -f1))"
