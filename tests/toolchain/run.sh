#!/usr/bin/env bash
# Toolchain tests: the arm64 sysroot, qemu binfmt, /proc/self/exe re-exec under qemu, and the
# static HTTP-only libcurl for x86_64 and arm64 (pkg-config flags, link, HTTP GET on loopback).
#
#   make test-toolchain        (builds the sysroot, both curls and registers qemu first)
#
# Prints one line per check and closes with "N passed, N failed".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
T=tests/toolchain
OUT=build/tests/toolchain
SYSROOT=build/sysroot/arm64
PY=/usr/bin/python3.11
mkdir -p "$OUT"

passed=0 failed=0
ok()   { echo "PASS $1"; passed=$((passed + 1)); }
bad()  { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
# check NAME CMD...: passes when CMD succeeds; its output is in $out
check() {
  local name=$1; shift
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(tail -n 5 <<<"$out")"; fi
}
expect() {  # expect NAME PATTERN: the last check's $out matches the extended regex PATTERN
  if grep -Eq -- "$2" <<<"$out"; then ok "$1"; else bad "$1" "no /$2/ in: $(tail -n 5 <<<"$out")"; fi
}

for f in "$SYSROOT/.stamp" build/curl/x86_64/.stamp build/curl/arm64/.stamp; do
  [ -f "$f" ] || { echo "toolchain tests: $f missing: run 'make test-toolchain' (or sysroot-arm64, curl-static-*)" >&2; exit 2; }
done

CC_arm64="aarch64-linux-gnu-gcc --sysroot=$SYSROOT"

# --- sysroot: cross-compile against libcjson, run under qemu ---------------------------
check "arm64: compile+link cjson program against the sysroot" \
  $CC_arm64 -O2 -Wall -Werror -o "$OUT/cjson-arm64" "$T/cjson_prog.c" -lcjson
check "arm64: binary is AArch64" file "$OUT/cjson-arm64"
expect "arm64: binary is AArch64 (file)" 'ARM aarch64'
check "arm64: runs with qemu-aarch64-static + QEMU_LD_PREFIX" \
  env QEMU_LD_PREFIX="$SYSROOT" qemu-aarch64-static "$OUT/cjson-arm64"
expect "arm64: cjson output" '^\{"arch":\[1,2,3\]\} 1\.7\.'

# --- binfmt: direct execution --------------------------------------------------------------
check "binfmt: qemu-aarch64 registered with qemu-aarch64-static, flags OCF" \
  cat /proc/sys/fs/binfmt_misc/qemu-aarch64
expect "binfmt: interpreter" '^interpreter /usr/bin/qemu-aarch64-static$'
expect "binfmt: flags" '^flags: (OCF|OFC|COF|CFO|FOC|FCO)$'
check "binfmt: dynamic arm64 binary runs directly" env QEMU_LD_PREFIX="$SYSROOT" "$OUT/cjson-arm64"
expect "binfmt: dynamic arm64 output" '^\{"arch":\[1,2,3\]\}'

# --- re-exec through /proc/self/exe (what the runtime does to set LD_LIBRARY_PATH) ---------
check "reexec: compile (dynamic and static)" bash -c \
  "$CC_arm64 -O2 -o $OUT/reexec-arm64 $T/reexec_prog.c && $CC_arm64 -O2 -static -o $OUT/reexec-arm64-static $T/reexec_prog.c"
for kind in reexec-arm64 reexec-arm64-static; do
  exe=$(realpath "$OUT/$kind")
  check "reexec: $kind re-execs itself via /proc/self/exe" env QEMU_LD_PREFIX="$SYSROOT" "$OUT/$kind" argument
  expect "reexec: $kind generation 1 ran with LD_LIBRARY_PATH and its args" \
    "^gen=1 exe=$exe args=2 arg1=argument llp=/opt/arm64/lib\$"
  expect "reexec: $kind /proc/self/exe names the arm64 binary, not qemu" "^gen=0 exe=$exe "
done

# --- "system curl" mode: Debian's shared libcurl from the sysroot ----------------------------
pc_sys=(env PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
        PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig:$SYSROOT/usr/share/pkgconfig")
check "system curl/arm64: pkg-config libcurl libcjson in the sysroot" \
  "${pc_sys[@]}" pkg-config --cflags --libs libcurl libcjson
sys_flags=$out
# shellcheck disable=SC2086
check "system curl/arm64: link against Debian's shared libcurl" \
  $CC_arm64 -O2 -o "$OUT/syscurl-arm64" -x c - $sys_flags <<'EOC'
#include <stdio.h>
#include <curl/curl.h>
int main(void) { curl_global_init(CURL_GLOBAL_NOTHING); puts(curl_version()); return 0; }
EOC
check "system curl/arm64: runs under qemu" env QEMU_LD_PREFIX="$SYSROOT" "$OUT/syscurl-arm64"
expect "system curl/arm64: is Debian's OpenSSL libcurl" '^libcurl/7\.88\.1 OpenSSL/'

# --- static libcurl ---------------------------------------------------------------------------
# A loopback HTTP server for the GET checks; stopped by its pid on exit.
server_pid=
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true' EXIT
port_file=$OUT/port
rm -f "$port_file"
"$PY" -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello-toolchain"
        self.send_response(200 if self.path == "/hello" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
s.timeout = 1
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
for _ in range(120):   # bounded: at most 120 requests or ~2 minutes idle
    s.handle_request()
' "$port_file" &
server_pid=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$port_file" 2>/dev/null)/hello"

for arch in x86_64 arm64; do
  pc=build/curl/$arch/lib/pkgconfig
  if [ "$arch" = arm64 ]; then
    cc=$CC_arm64 cross=aarch64-linux-gnu- machine=aarch64 run=(env QEMU_LD_PREFIX="$SYSROOT")
  else
    cc=gcc cross= machine=i386:x86-64 run=()
  fi
  check "curl/$arch: pkg-config --static --cflags --libs libcurl" \
    env PKG_CONFIG_PATH="$pc" pkg-config --static --cflags --libs libcurl
  expect "curl/$arch: flags point into build/curl/$arch" \
    "^-I$pc/\.\./\.\./include -DCURL_STATICLIB -L$pc/\.\./\.\./lib -lcurl *\$"
  flags=$out
  check "curl/$arch: objdump libcurl.a" "${cross}objdump" -f "build/curl/$arch/lib/libcurl.a"
  expect "curl/$arch: libcurl.a is $machine code" "^architecture: $machine,"
  # shellcheck disable=SC2086
  check "curl/$arch: link a program with the pkg-config flags" \
    $cc -O2 -Wall -Werror -o "$OUT/curl-$arch" "$T/curl_prog.c" $flags
  check "curl/$arch: no shared libcurl (or TLS, zlib...) needed" \
    "${cross}readelf" -d "$OUT/curl-$arch"
  if grep -Eq 'libcurl|libssl|libz|libnghttp|libgnutls' <<<"$out"; then bad "curl/$arch: NEEDED list" "$out"; else ok "curl/$arch: NEEDED list is libc only"; fi
  check "curl/$arch: HTTP-only, no TLS/zlib, threaded resolver; GET on loopback" "${run[@]}" "$OUT/curl-$arch" "$url"
  expect "curl/$arch: response body and status" 'hello-toolchain'
  expect "curl/$arch: status 200" '^status 200 rc 0$'
done

echo "toolchain: $passed passed, $failed failed"
[ "$failed" = 0 ]
