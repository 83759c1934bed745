#!/usr/bin/env bash
# layers/src/test.sh PYVER... : for every PYVER x {x86_64, arm64}, check and verify the
# from-source runtime layer if its CPython is in the build cache (layer.sh: assembled if
# needed, check_entry, layers/verify.sh) and check the cache entry itself; a cell whose
# CPython is not cached is reported NOT RUN (never silently passed). Build one with
# `make src-layer-py3.X-<arch>`. Ends with "N passed, N failed, N skipped" (skipped: NOT RUN cells).
set -uo pipefail
SRC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$SRC_DIR/lib.sh"

passed=0 failed=0 notrun=0 failures=""
for v in "$@"; do
  for a in x86_64 arm64; do
    if ! entry=$(bash "$SRC_DIR/build.sh" --lookup "python$v" "$a" 2>/dev/null); then
      echo "NOT RUN: src-py$v-$a: CPython $v for $a is not in the build cache (make src-layer-py$v-$a builds it)"
      notrun=$((notrun + 1)); continue
    fi
    layer=$LAYERS_BUILD/src-py$v-$a
    if (check_entry "$a" "$entry" && bash "$SRC_DIR/layer.sh" "$v" "$a" "$layer" && check_entry "$a" "$layer/$a" &&
        src_verify_layer "$v" "$a" "$layer" "$entry"); then
      passed=$((passed + 1))
    else
      failed=$((failed + 1)) failures+=" src-py$v-$a"
    fi
  done
done
[ -z "$failures" ] || echo "failed:$failures"
echo "test-src-layers: $passed passed, $failed failed, $notrun skipped"
[ "$failed" = 0 ]
