#!/usr/bin/env bash
# layers/src/bench/bench-load.sh [-n RUNS] NAME=LAYER_ROOT...
#
# libpython load (dlopen) and Py_InitializeEx time of x86_64 runtime layers, side by side in
# one run: RUNS fresh processes per layer (default 40), interleaved (layer A, B, C, A, ...)
# and pinned to one CPU so drift and frequency changes hit every layer alike. Each process:
# layers/src/bench/pyload.c with LD_LIBRARY_PATH=<root>/x86_64/lib and
# PYTHONHOME=<root>/x86_64/runtime, as the bootstrap loads a layer. Prints a Markdown table
# of medians (and p90) with the ratio to the first layer. The files are in the page cache
# (a warm start's cost, which is what repeats; a cold disk only adds to every layer).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=40
if [ "${1:-}" = -n ]; then RUNS=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [-n RUNS] NAME=LAYER_ROOT..." >&2; exit 2; }
OUT=${BENCH_OUT:-$HERE/../../../build/bench-src}
mkdir -p "$OUT"
gcc -O2 -Wall -Werror -o "$OUT/pyload" "$HERE/pyload.c" -ldl
names=() libs=() roots=()
for spec in "$@"; do
  name=${spec%%=*} root=$(realpath "${spec#*=}")
  lib=$(compgen -G "$root/x86_64/runtime/lib/libpython3.*.so.1.0" | head -n1) || { echo "no libpython in $root/x86_64" >&2; exit 1; }
  names+=("$name") libs+=("$lib") roots+=("$root")
  : >"$OUT/$name.txt"
done
cpu=$(( $(nproc) - 1 ))
for ((i = 0; i < RUNS; i++)); do
  for j in "${!names[@]}"; do
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 LD_LIBRARY_PATH="${roots[$j]}/x86_64/lib" \
      PYTHONHOME="${roots[$j]}/x86_64/runtime" PYTHONDONTWRITEBYTECODE=1 \
      taskset -c "$cpu" "$OUT/pyload" "${libs[$j]}" >>"$OUT/${names[$j]}.txt" \
      || { echo "pyload failed for ${names[$j]}" >&2; exit 1; }
  done
done
/usr/bin/python3.11 - "$OUT" "$RUNS" "${names[@]}" <<'PY'
import statistics, sys
out, runs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(0.9 * (len(xs) - 1))]
rows, base = [], None
for n in names:
    data = [tuple(map(float, l.split())) for l in open("%s/%s.txt" % (out, n))]
    d, i, t = stats([a for a, _ in data]), stats([b for _, b in data]), stats([a + b for a, b in data])
    base = base or t[0]
    rows.append("| %s | %.2f (%.2f) | %.2f (%.2f) | %.2f (%.2f) | %.2fx |" % (
        n, d[0] / 1e3, d[1] / 1e3, i[0] / 1e3, i[1] / 1e3, t[0] / 1e3, t[1] / 1e3, t[0] / base))
print("%d runs each, interleaved, one CPU; ms, median (p90)\n" % runs)
print("| layer | dlopen libpython | Py_InitializeEx | total | total vs %s |" % names[0])
print("|---|---|---|---|---|")
print("\n".join(rows))
PY
