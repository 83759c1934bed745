#!/usr/bin/env bash
# tests/dist/doctor.sh BOOTSTRAP PATH...
#
# The layer doctor (`BOOTSTRAP --check`) on each PATH (a zip, or a directory as Lambda unpacks
# it into /opt) against both Lambda images the zips are for: provided.al2 (glibc 2.26) and
# provided.al2023 (glibc 2.34). Prints the doctor's report for each; exits 1 if any run has a
# finding (or fails), 2 on bad usage. Used by layers/dist.sh (DIST_CHECK: every runtime zip as
# it is written) and by `make check-dist-doctor` (every zip in dist/).
set -uo pipefail

[ $# -ge 2 ] || { echo "usage: $0 BOOTSTRAP PATH..." >&2; exit 2; }
boot=$1; shift
[ -x "$boot" ] || { echo "doctor.sh: no bootstrap at $boot" >&2; exit 2; }

failed=0
for path in "$@"; do
  for target in provided.al2 provided.al2023; do
    if out=$("$boot" --check --target "$target" "$path" 2>&1); then
      echo "doctor ($target): ${out##*$'\n'}"
    else
      echo "$out" | sed 's/^/  /'
      echo "doctor ($target): FAILED for $path" >&2
      failed=1
    fi
  done
done
exit "$failed"
