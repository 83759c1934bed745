# Toolchain: arm64 sysroot and emulation, static HTTP-only libcurl per arch.
# The work is done by scripts/{sysroot-arm64,qemu-arm64,curl-static}.sh; every target is a
# stamp file, so a finished one costs nothing. Times on a fresh 2-core machine:
#   sysroot-arm64 ~30 s, curl-static-<arch> ~1-3 min each (configure + lib/ -j2), qemu-arm64 <1 s.
#
#   make sysroot-arm64        build/sysroot/arm64 (bookworm arm64 .debs; add the system libcurl
#                             with: bash scripts/sysroot-arm64.sh --system-curl)
#   make qemu-arm64           run arm64 ELF binaries directly (binfmt_misc, qemu-aarch64-static, OCF)
#   make curl-static-x86_64   build/curl/x86_64/{include,lib/libcurl.a,lib/pkgconfig/libcurl.pc}
#   make curl-static-arm64    the same, cross-compiled against the sysroot
#   make test-toolchain       tests/toolchain/run.sh (cross build, qemu, re-exec, static curl)
#
# For the bootstrap build (ARCH = x86_64 | arm64):
#   $(CROSS_$(ARCH))gcc --sysroot=$(SYSROOT_$(ARCH))         (empty prefix/sysroot on x86_64)
#   PKG_CONFIG_PATH=$(CURL_PKG_CONFIG_PATH_$(ARCH)) pkg-config --static --cflags --libs libcurl
#   depend on $(CURL_STAMP_$(ARCH)) (and $(SYSROOT_STAMP_arm64) for arm64)
#   run arm64 programs with QEMU_LD_PREFIX=$(SYSROOT_arm64) after `make qemu-arm64`.

SYSROOT_arm64       := $(BUILD)/sysroot/arm64
SYSROOT_x86_64      :=
SYSROOT_STAMP_arm64 := $(SYSROOT_arm64)/.stamp
CROSS_arm64         := aarch64-linux-gnu-
CROSS_x86_64        :=
CURL_PKG_CONFIG_PATH_x86_64 := $(BUILD)/curl/x86_64/lib/pkgconfig
CURL_PKG_CONFIG_PATH_arm64  := $(BUILD)/curl/arm64/lib/pkgconfig
CURL_STAMP_x86_64   := $(BUILD)/curl/x86_64/.stamp
CURL_STAMP_arm64    := $(BUILD)/curl/arm64/.stamp
export SYSROOT_arm64 CROSS_arm64 CURL_PKG_CONFIG_PATH_x86_64 CURL_PKG_CONFIG_PATH_arm64

.PHONY: sysroot-arm64 qemu-arm64 curl-static-x86_64 curl-static-arm64 test-toolchain
sysroot-arm64: $(SYSROOT_STAMP_arm64)
curl-static-x86_64: $(CURL_STAMP_x86_64)
curl-static-arm64: $(CURL_STAMP_arm64)

# The scripts keep their own content-keyed stamps; make's only re-run them when they change.
$(SYSROOT_STAMP_arm64): scripts/sysroot-arm64.sh | $(BUILD)/.deps
	bash scripts/sysroot-arm64.sh $(SYSROOT_arm64)
	@touch $@

$(CURL_STAMP_x86_64): scripts/curl-static.sh layers/src/fetch.sh layers/src/source.sh layers/src/sources.lock | $(BUILD)/.deps
	bash scripts/curl-static.sh x86_64
	@touch $@

$(CURL_STAMP_arm64): scripts/curl-static.sh layers/src/fetch.sh layers/src/source.sh layers/src/sources.lock | $(SYSROOT_STAMP_arm64) $(BUILD)/.deps
	bash scripts/curl-static.sh arm64
	@touch $@

qemu-arm64: | $(BUILD)/.deps
	@bash scripts/qemu-arm64.sh

test-toolchain: $(SYSROOT_STAMP_arm64) $(CURL_STAMP_x86_64) $(CURL_STAMP_arm64) qemu-arm64
	bash tests/toolchain/run.sh
TEST_TARGETS += test-toolchain

# Zig's C compiler (PyPI's ziglang, pinned) for everything shipped: glibc 2.26 on both CPUs.
# build/zig links to the toolchain in the build cache (scripts/zig.sh, scripts/cache.sh):
#   $(ZIG_BIN)/<arch>-cc, -c++, -ar, -ranlib, -strip     (<arch>: x86_64 | arm64)
ZIG_DIR   := $(BUILD)/zig
ZIG_BIN   := $(ZIG_DIR)/bin
ZIG_STAMP := $(BUILD)/.zig-stamp
.PHONY: zig
zig: $(ZIG_STAMP)
$(ZIG_STAMP): scripts/zig.sh scripts/cache.sh | $(BUILD)/.deps
	bash scripts/zig.sh $(ZIG_DIR) >/dev/null
	@touch $@
