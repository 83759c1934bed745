#!/usr/bin/env bash
# The real anchors the tests and benchmarks compare against, pinned, under build/ (never
# system-wide):
#
#   scripts/anchors.sh awslambdaric PYTHON DEST   a venv at DEST for the interpreter PYTHON with
#                                                 AWS's runtime interface client from PyPI
#                                                 (tests/differential/requirements.txt, pinned)
#   scripts/anchors.sh boto3-layer PYTHON DEST    a dependency layer (DEST/python/) with boto3 for the
#                                                 benchmarks (bench/requirements-boto3.txt, pinned)
#   scripts/anchors.sh rie ARCH DEST              AWS's Runtime Interface Emulator for ARCH
#                                                 (x86_64 | arm64) at DEST, built with `go install`
#                                                 from the Go module proxy (cached: scripts/cache.sh)
#
# Go's module and build caches live in the build cache too, never in the checkout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/cache.sh"

# The newest version the module proxy serves (a pseudo-version: upstream tags no releases of
# the module itself); cmd/aws-lambda-rie is the classic RIE and, with AWS_LAMBDA_MAX_CONCURRENCY
# set, the Managed Instances one.
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
RIE_PACKAGE=$RIE_MODULE/cmd/aws-lambda-rie

# The pip that installs from PyPI (the build machine's; see install_awslambdaric).
PIP_PYTHON=${PIP_PYTHON:-/usr/bin/python3.11}

die() { echo "anchors: error: $*" >&2; exit 1; }

# ---- awslambdaric --------------------------------------------------------------------------

install_awslambdaric() {
  local python=$1 dest=$2 req=$ROOT/tests/differential/requirements.txt
  [ -x "$python" ] || die "no interpreter at $python"
  local stamp=$dest/.anchors-stamp want version machine
  want="$("$python" -c 'import sys; print(sys.version)' | head -1) $(sha256sum "$req" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  machine=$(uname -m)
  rm -rf "$dest"
  # A venv without pip, filled by the build machine's pip for that interpreter's version and CPU:
  # a Python built from source may lack the ssl module pip needs to reach PyPI.
  "$python" -m venv --without-pip "$dest" || die "$python -m venv failed"
  # --only-binary: awslambdaric ships manylinux wheels for every CPython it supports; its sdist
  # would build aws-lambda-cpp and curl from source (minutes), which we never want silently.
  "$PIP_PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir --no-compile \
    --target "$dest/lib/python$version/site-packages" --only-binary=:all: \
    --python-version "$version" --implementation cp --abi "cp${version/./}" \
    --platform "manylinux2014_$machine" --platform "manylinux_2_17_$machine" \
    --platform "manylinux_2_28_$machine" --platform "manylinux_2_5_$machine" --platform "manylinux1_$machine" \
    -r "$req" || die "pip install -r $req failed for Python $version"
  "$dest/bin/python" -c 'import awslambdaric, runtime_client, simplejson' ||
    die "awslambdaric did not import in $dest"
  echo "$want" >"$stamp"
  echo "anchors: awslambdaric $(sed -n 's/^Version: //p' "$dest"/lib/python"$version"/site-packages/awslambdaric-*.dist-info/METADATA) in $dest"
}

# ---- boto3 dependency layer --------------------------------------------------------------------

install_boto3_layer() {
  local python=$1 dest=$2 req=$ROOT/bench/requirements-boto3.txt
  local stamp=$dest/.anchors-stamp want
  want="$("$python" -c 'import sys; print(sys.version)' | head -1) $(sha256sum "$req" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  rm -rf "$dest" && mkdir -p "$dest"
  # --no-deps: every package is pinned in the file; pip compiles .pyc, as a layer built with pip has.
  "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir --no-deps --only-binary=:all: \
    --target "$dest/python" -r "$req" || die "pip install -r $req failed"
  echo "$want" >"$stamp"
  echo "anchors: boto3 layer in $dest"
}

# ---- the RIE -------------------------------------------------------------------------------

go_bin() {
  local go
  go=$(command -v go || true)
  [ -n "$go" ] || { [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go; }
  [ -n "$go" ] || die "no Go toolchain (go on PATH or /usr/local/go/bin/go); the RIE is built with go install"
  echo "$go"
}

build_rie() {
  local dest=$1 goarch=$2 go; go=$(go_bin)
  local gocache; gocache=$(cache_dir)/go
  # GOTOOLCHAIN=auto: an older go fetches the version the RIE's go.mod asks for (from the
  # module proxy, as a module). CGO off: a static binary that runs under qemu-user too.
  env GOPATH="$gocache/path" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build" GOFLAGS=-modcacherw \
    GOTOOLCHAIN=auto CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOBIN= \
    "$go" install -trimpath "$RIE_PACKAGE@$RIE_VERSION"
  local built=$gocache/path/bin/aws-lambda-rie
  [ "$goarch" = "$(env -u GOARCH "$go" env GOHOSTARCH)" ] || built=$gocache/path/bin/linux_$goarch/aws-lambda-rie
  [ -f "$built" ] || die "go install left no binary at $built"
  cp "$built" "$dest/aws-lambda-rie"
  echo "$RIE_PACKAGE@$RIE_VERSION GOARCH=$goarch $("$go" version)" >"$dest/VERSION"
}

install_rie() {
  local arch=$1 dest=$2 goarch
  case $arch in x86_64) goarch=amd64 ;; arm64) goarch=arm64 ;; *) die "unknown arch $arch (x86_64 | arm64)" ;; esac
  local key entry
  key=$(cache_key -- rie "$RIE_VERSION" "$goarch" cgo-off-trimpath)
  entry=$(cache_build "rie-$arch" "$key" build_rie "$goarch")
  mkdir -p "$(dirname "$dest")"
  ln -sfn "$entry/aws-lambda-rie" "$dest"
}

case ${1:-} in
  awslambdaric) [ $# -eq 3 ] || die "usage: $0 awslambdaric PYTHON DEST"; install_awslambdaric "$2" "$3" ;;
  rie) [ $# -eq 3 ] || die "usage: $0 rie ARCH DEST"; install_rie "$2" "$3" ;;
  boto3-layer) [ $# -eq 3 ] || die "usage: $0 boto3-layer PYTHON DEST"; install_boto3_layer "$2" "$3" ;;
  *) die "usage: $0 awslambdaric PYTHON DEST | boto3-layer PYTHON DEST | rie ARCH DEST" ;;
esac
