#!/usr/bin/env bash
# Build the layer doctor's fixtures: real ELF files for both arches, mismatched
# on purpose, laid out as Lambda layers and function packages.
#   tests/doctor/make-fixtures.sh OUT_DIR
# Needs gcc, aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu + libc6-dev-arm64-cross)
# and zip; see scripts/packages/doctor.txt.
set -euo pipefail
out=$(realpath -m "${1:?usage: make-fixtures.sh OUT_DIR}")
rm -rf "$out"
mkdir -p "$out/src" "$out/obj"
src=$out/src obj=$out/obj

X86_CC=${X86_CC:-gcc}
ARM_CC=${ARM_CC:-aarch64-linux-gnu-gcc}

# --- sources ------------------------------------------------------------
cat > "$src/plain.c" <<'EOF'
int plain_answer(void) { return 42; }
EOF
cat > "$src/threads.c" <<'EOF'
#include <pthread.h>
/* pthread_create moved into libc in glibc 2.34: linking this on Debian 12
 * binds it to pthread_create@GLIBC_2.34, newer than Amazon Linux 2's 2.26. */
static void *threads_run(void *arg) { return arg; }
int threads_start(void)
{
    pthread_t t;
    return pthread_create(&t, 0, threads_run, 0);
}
EOF
cat > "$src/foo.c" <<'EOF'
int foo_value(void) { return 7; }
EOF
cat > "$src/usesfoo.c" <<'EOF'
int foo_value(void);
int uses_foo(void) { return foo_value() + 1; }
EOF
cat > "$src/main.c" <<'EOF'
int main(void) { return 0; }
EOF
# A stand-in libc.so.6 that defines a version no real glibc has, to test the
# "newer than this system" branch of doctor_explain_file on any host.
cat > "$src/future.c" <<'EOF'
void future_call(void) {}
EOF
cat > "$src/future.map" <<'EOF'
GLIBC_2.99 { global: future_call; local: *; };
EOF
cat > "$src/usesfuture.c" <<'EOF'
void future_call(void);
void uses_future(void) { future_call(); }
EOF

# --- objects --------------------------------------------------------------
so() { # so CC OUT SRC [flags...]
  local cc=$1 o=$2 s=$3
  shift 3
  "$cc" -shared -fPIC -O1 -o "$o" "$s" "$@"
}
for arch in x86_64 arm64; do
  cc=$X86_CC
  [ "$arch" = arm64 ] && cc=$ARM_CC
  so "$cc" "$obj/plain.$arch.so" "$src/plain.c" -nostdlib
  so "$cc" "$obj/threads.$arch.so" "$src/threads.c"
  so "$cc" "$obj/libfoo.so.1.0.$arch" "$src/foo.c" -nostdlib -Wl,-soname,libfoo.so.1
  ln -sf "libfoo.so.1.0.$arch" "$obj/libfoo.so.1"
  so "$cc" "$obj/usesfoo.$arch.so" "$src/usesfoo.c" -nostdlib -L"$obj" -l:libfoo.so.1
  rm "$obj/libfoo.so.1"
  "$cc" -O1 -o "$obj/bootstrap.$arch" "$src/main.c"
done
so "$X86_CC" "$obj/libc.so.6" "$src/future.c" -nostdlib -Wl,-soname,libc.so.6 \
  -Wl,--version-script="$src/future.map"
so "$X86_CC" "$obj/usesfuture.so" "$src/usesfuture.c" -nostdlib "$obj/libc.so.6" \
  -Wl,-soname,libusesfuture.so
# The same trick for a libstdc++.so.6 newer than Amazon Linux 2's (GLIBCXX_3.4.24).
cat > "$src/cxx.map" <<'EOF'
GLIBCXX_3.4.30 { global: cxx_new_call; local: *; };
EOF
cat > "$src/usescxx.c" <<'EOF'
void cxx_new_call(void);
void uses_cxx(void) { cxx_new_call(); }
EOF
sed -e 's/future_call/cxx_new_call/' "$src/future.c" > "$src/cxx.c"
mkdir -p "$obj/cxx"
so "$X86_CC" "$obj/cxx/libstdc++.so.6" "$src/cxx.c" -nostdlib -Wl,-soname,libstdc++.so.6 \
  -Wl,--version-script="$src/cxx.map"
so "$X86_CC" "$obj/usescxx.so" "$src/usescxx.c" -nostdlib "$obj/cxx/libstdc++.so.6"
cat > "$src/chain.c" <<'EOF'
void uses_future(void);
void chain(void) { uses_future(); }
EOF
so "$X86_CC" "$obj/chain.so" "$src/chain.c" -nostdlib "$obj/usesfuture.so"

# Libraries bundled the way auditwheel bundles them: renamed with a hash, in
# <pkg>.libs/, where only the extension module has an RPATH ($ORIGIN/../pkg.libs,
# a DT_RPATH: auditwheel runs patchelf --force-rpath); the libraries' own needs are
# found through the extension module (the loader searches the DT_RPATH of the
# objects that load a library without a DT_RUNPATH of its own).
# Chain: _ext -> libwa -> libwb -> libwc.
cat > "$src/wc.c" <<'EOF'
int wc_value(void) { return 3; }
EOF
cat > "$src/wb.c" <<'EOF'
int wc_value(void);
int wb_value(void) { return wc_value() + 2; }
EOF
cat > "$src/wa.c" <<'EOF'
int wb_value(void);
int wa_value(void) { return wb_value() + 1; }
EOF
cat > "$src/wext.c" <<'EOF'
int wa_value(void);
int ext_value(void) { return wa_value(); }
EOF
wl=$obj/wheel
mkdir -p "$wl"
so "$X86_CC" "$wl/libwc-3c3c3c3c.so.1" "$src/wc.c" -nostdlib -Wl,-soname,libwc-3c3c3c3c.so.1
so "$X86_CC" "$wl/libwb-2b2b2b2b.so.1" "$src/wb.c" -nostdlib -Wl,-soname,libwb-2b2b2b2b.so.1 \
  "$wl/libwc-3c3c3c3c.so.1"
so "$X86_CC" "$wl/libwa-1a1a1a1a.so.1" "$src/wa.c" -nostdlib -Wl,-soname,libwa-1a1a1a1a.so.1 \
  "$wl/libwb-2b2b2b2b.so.1"
# the same library with a DT_RUNPATH of its own: the loaders' DT_RPATH no longer serves it
so "$X86_CC" "$wl/libwa-runpath.so.1" "$src/wa.c" -nostdlib -Wl,-soname,libwa-1a1a1a1a.so.1 \
  "$wl/libwb-2b2b2b2b.so.1" -Wl,--enable-new-dtags,-rpath,/nonexistent
# extension modules: a DT_RPATH (as auditwheel); a DT_RUNPATH, needing only libwa; a
# DT_RUNPATH, needing all three (loaded before libwa looks for its own)
so "$X86_CC" "$wl/ext-rpath.so" "$src/wext.c" -nostdlib "$wl/libwa-1a1a1a1a.so.1" \
  -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../pkg.libs'
so "$X86_CC" "$wl/ext-runpath.so" "$src/wext.c" -nostdlib "$wl/libwa-1a1a1a1a.so.1" \
  -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../pkg.libs'
so "$X86_CC" "$wl/ext-runpath-all.so" "$src/wext.c" -nostdlib -Wl,--no-as-needed \
  "$wl/libwa-1a1a1a1a.so.1" "$wl/libwb-2b2b2b2b.so.1" "$wl/libwc-3c3c3c3c.so.1" \
  -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../pkg.libs'
# wheel-<kind>/: an x86_64 layer with pkg/_ext.cpython-39-x86_64-linux-gnu.so and pkg.libs/
wheel_layer() { # wheel_layer NAME EXT [LIBWA]
  local d=$out/$1/x86_64/python
  mkdir -p "$d/pkg" "$d/pkg.libs"
  cp "$wl/$2" "$d/pkg/_ext.cpython-39-x86_64-linux-gnu.so"
  cp "$wl/libwb-2b2b2b2b.so.1" "$wl/libwc-3c3c3c3c.so.1" "$d/pkg.libs/"
  cp "$wl/${3:-libwa-1a1a1a1a.so.1}" "$d/pkg.libs/libwa-1a1a1a1a.so.1"
}
wheel_layer wheel-rpath ext-rpath.so
wheel_layer wheel-runpath ext-runpath.so
wheel_layer wheel-runpath-all ext-runpath-all.so
wheel_layer wheel-own-runpath ext-rpath.so libwa-runpath.so.1
wheel_layer wheel-nolibs ext-rpath.so
rm -r "$out/wheel-nolibs/x86_64/python/pkg.libs"
wheel_layer wheel-incomplete ext-rpath.so
rm "$out/wheel-incomplete/x86_64/python/pkg.libs/libwc-3c3c3c3c.so.1"

# --- layers -----------------------------------------------------------------
sp=python/lib/python3.9/site-packages

# A clean x86_64 layer for Python 3.9 (exit 0 for provided.al2 and al2023).
clean=$out/clean-x86
mkdir -p "$clean/x86_64/lib" "$clean/lib" "$clean/$sp/ok" "$clean/$sp/ok-1.0.dist-info"
cp "$obj/plain.x86_64.so" "$clean/x86_64/lib/libplain.so"
cp "$obj/libfoo.so.1.0.x86_64" "$clean/x86_64/lib/libfoo.so.1.0"
ln -s libfoo.so.1.0 "$clean/x86_64/lib/libfoo.so.1"          # resolved through the symlink
cp "$obj/usesfoo.x86_64.so" "$clean/lib/libusesfoo.so"
cp "$obj/plain.x86_64.so" "$clean/$sp/ok/_ok.cpython-39-x86_64-linux-gnu.so"
cp "$obj/plain.x86_64.so" "$clean/$sp/ok/_ok3.abi3.so"
printf 'def hello():\n    return 1\n' > "$clean/$sp/ok/__init__.py"
printf '/* GNU ld script */\nGROUP ( libplain.so )\n' > "$clean/lib/libscript.so"

# A clean layer for both arches: everything native under <arch>/.
dual=$out/clean-dual
for arch in x86_64 arm64; do
  plat=x86_64-linux-gnu
  [ "$arch" = arm64 ] && plat=aarch64-linux-gnu
  mkdir -p "$dual/$arch/lib" "$dual/$arch/$sp"
  cp "$obj/plain.$arch.so" "$dual/$arch/lib/libplain.so"
  cp "$obj/plain.$arch.so" "$dual/$arch/$sp/_m.cpython-39-$plat.so"
done
mkdir -p "$dual/$sp" && echo 'X = 1' > "$dual/$sp/pure.py"

# An x86_64 layer with every kind of problem.
bad=$out/bad-x86
mkdir -p "$bad/x86_64/lib" "$bad/lib" "$bad/$sp/speedy" "$bad/$sp/speedy-1.0.dist-info"
cp "$obj/plain.arm64.so" "$bad/x86_64/lib/libarm.so"                 # wrong arch
cp "$obj/threads.x86_64.so" "$bad/x86_64/lib/libthreads.so"          # GLIBC_2.34
cp "$obj/usesfoo.x86_64.so" "$bad/x86_64/lib/libusesfoo.so"          # libfoo.so.1 missing
cp "$obj/plain.x86_64.so" "$bad/$sp/speedy/_speedups.cpython-311-x86_64-linux-gnu.so"  # 3.11 in 3.9
printf 'speedy/__init__.py,,\nspeedy/_speedups.cpython-311-x86_64-linux-gnu.so,sha256=x,100\n' \
  > "$bad/$sp/speedy-1.0.dist-info/RECORD"
touch "$bad/$sp/speedy/__init__.py"
head -c 40 "$obj/plain.x86_64.so" > "$bad/lib/libcut.so"              # truncated header
size=$(stat -c %s "$obj/threads.x86_64.so")
head -c $((size / 3)) "$obj/threads.x86_64.so" > "$bad/lib/libhalf.so"   # truncated segments
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n' > "$bad/lib/liblfs.so.1"

# An arm64 layer holding an x86_64 library and a glibc 2.34 one.
badarm=$out/bad-arm64
mkdir -p "$badarm/arm64/lib" "$badarm/arm64/$sp"
cp "$obj/plain.x86_64.so" "$badarm/arm64/lib/libx86.so"
cp "$obj/threads.arm64.so" "$badarm/arm64/lib/libthreads.so"
cp "$obj/plain.arm64.so" "$badarm/arm64/$sp/_m.cpython-39-aarch64-linux-gnu.so"
cp "$obj/plain.arm64.so" "$badarm/arm64/$sp/_x.cpython-39-x86_64-linux-gnu.so"  # mislabeled

# A dual-arch layer with a native library in the arch-neutral lib/.
neutral=$out/neutral-dual
mkdir -p "$neutral/x86_64/lib" "$neutral/arm64/lib" "$neutral/lib"
cp "$obj/plain.x86_64.so" "$neutral/x86_64/lib/libplain.so"
cp "$obj/plain.arm64.so" "$neutral/arm64/lib/libplain.so"
cp "$obj/plain.x86_64.so" "$neutral/lib/libonlyx86.so"

# A library needing GLIBCXX_3.4.30: from the system's libstdc++, then with a shipped one.
mkdir -p "$out/cxx-x86/x86_64/lib" "$out/cxx-shipped/x86_64/lib"
cp "$obj/usescxx.so" "$out/cxx-x86/x86_64/lib/libusescxx.so"
cp "$obj/usescxx.so" "$out/cxx-shipped/x86_64/lib/libusescxx.so"
cp "$obj/cxx/libstdc++.so.6" "$out/cxx-shipped/x86_64/lib/libstdc++.so.6"

# Function packages: handler code and a bootstrap at the root.
fn=$out/fn-arm-bootstrap
mkdir -p "$fn"
cp "$obj/bootstrap.arm64" "$fn/bootstrap"
echo 'def handler(event, context): return event' > "$fn/handler.py"
fnx=$out/fn-x86-bootstrap
mkdir -p "$fnx"
cp "$obj/bootstrap.x86_64" "$fnx/bootstrap"
echo 'def handler(event, context): return event' > "$fnx/handler.py"

# Files for doctor_explain_file.
ex=$out/explain
mkdir -p "$ex/armlib"
cp "$obj/plain.x86_64.so" "$ex/_mysql.so"
cp "$obj/plain.x86_64.so" "$ex/_fast.cpython-311-x86_64-linux-gnu.so"
cp "$obj/usesfoo.x86_64.so" "$ex/libusesfoo.so"
cp "$obj/usesfuture.so" "$ex/libusesfuture.so"
cp "$obj/libfoo.so.1.0.arm64" "$ex/armlib/libfoo.so.1"
cp "$bad/lib/libhalf.so" "$ex/libhalf.so"
mkdir -p "$ex/chain" && cp "$obj/chain.so" "$ex/chain/libchain.so"   # needs explain/libusesfuture.so

# Zips (symlinks stored as links with -y), as Lambda receives them.
(cd "$bad" && zip -qry "$out/bad-x86.zip" .)
(cd "$clean" && zip -qry "$out/clean-x86.zip" .)
(cd "$fn" && zip -qry "$out/fn-arm-bootstrap.zip" .)
(cd "$out/wheel-rpath" && zip -qry "$out/wheel-rpath.zip" .)
echo 'not a zip' > "$out/broken.zip"
echo "fixtures in $out"
