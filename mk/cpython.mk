# CPython and the libraries its stdlib needs, built from Debian's source with zig at glibc
# 2.26 (layers/README.md, "Building the runtimes from source"). Everything is built in the
# build cache (scripts/cache.sh), keyed by recipe + pinned source + toolchain + floor + arch.
#
#   make cpython-3.13-x86_64      build/cpython/py3.13-x86_64 -> the cache entry:
#                                 runtime/{bin/python3.13, lib/libpython3.13.so.1.0,
#                                 lib/python3.13/, include/} and lib/ (libssl, libcrypto)
#   make cpython-3.13-arm64       the same, cross-compiled (build Python: the x86_64 one)
#   make src-layer-py3.13-arm64   layers/build/src-py3.13-arm64: the runtime layer
#                                 (<arch>/runtime/, <arch>/lib/), checked and verified
#   make src-layers               every cell of SRC_PYVERS x SRC_ARCHS (slow: see layers/README.md)
#   make src-lib-openssl-arm64    one library (zlib bzip2 xz libffi expat sqlite uuid mpdecimal zstd openssl)
#   make test-src-layers          the src-layers of SRC_TEST_PYVERS (built), and verify.sh again on
#                                 every other cell already in the cache (NOT RUN: the others)
#
# For the other fragments:
#   SRC_PYVERS       3.9 3.11 3.13 3.14 (3.14 is CPython's v3.14.7 tag from the Go module
#                    proxy: the Debian mirror here serves none of its files, sources.lock)
#   SRC_ARCHS        x86_64 arm64
#   SRC_LAYER_NAMES  src-py3.X-<arch> for every cell; SRC_LAYER_DIRS their roots
#   $(call src_python,3.13)   the x86_64 interpreter (runs here, no environment needed),
#                    after `make cpython-3.13-x86_64`
#   src layer target of one root: $(LAYERS_OUT)/.made/src-py3.X-<arch>

SRC_PYVERS      := 3.9 3.11 3.13 3.14
SRC_ARCHS       := x86_64 arm64
SRC_TEST_PYVERS ?= 3.14
SRC_LIBS        := zlib bzip2 xz libffi expat sqlite uuid mpdecimal zstd openssl
SRC_LAYER_NAMES := $(foreach p,$(SRC_PYVERS),$(foreach a,$(SRC_ARCHS),src-py$(p)-$(a)))
SRC_LAYER_DIRS  := $(addprefix layers/build/,$(SRC_LAYER_NAMES))
CPYTHON_OUT     := $(BUILD)/cpython
src_python       = $(CURDIR)/$(CPYTHON_OUT)/py$(1)-x86_64/runtime/bin/python$(1)
# Every file that decides what is built (the scripts also key the cache themselves).
SRC_INPUTS      := $(wildcard layers/src/*.sh layers/src/*.txt layers/src/sources.lock \
                     layers/src/recipes/*.sh layers/src/patches/*) \
                   layers/lib.sh layers/verify.sh layers/check_layer.py layers/embedtest.c

SRC_LAYERS_OUT  := layers/build
# 3.13-arm64 -> 3.13 / arm64; openssl-x86_64 -> openssl / x86_64
src_v = $(word 1,$(subst -, ,$(1)))
src_a = $(word 2,$(subst -, ,$(1)))
CPYTHON_TARGETS := $(foreach p,$(SRC_PYVERS),$(foreach a,$(SRC_ARCHS),cpython-$(p)-$(a)))
SRC_LAYER_TARGETS := $(foreach p,$(SRC_PYVERS),$(foreach a,$(SRC_ARCHS),src-layer-py$(p)-$(a)))
SRC_LIB_TARGETS := $(foreach l,$(SRC_LIBS),$(foreach a,$(SRC_ARCHS),src-lib-$(l)-$(a)))
.PHONY: src-layers test-src-layers $(CPYTHON_TARGETS) $(SRC_LAYER_TARGETS) $(SRC_LIB_TARGETS)

# cpython-3.X-<arch>: (re)link build/cpython/py3.X-<arch> to the cache entry (built if needed:
# a cached one is a lookup of a few seconds).
$(CPYTHON_TARGETS): cpython-%: | $(ZIG_STAMP) $(BUILD)/.deps
	@entry=$$(nice -n 10 bash layers/src/build.sh python$(call src_v,$*) $(call src_a,$*)) && \
	  mkdir -p $(CPYTHON_OUT) && ln -sfn "$$entry" $(CPYTHON_OUT)/py$*.tmp && mv -Tf $(CPYTHON_OUT)/py$*.tmp $(CPYTHON_OUT)/py$* && \
	  echo "$(CPYTHON_OUT)/py$* -> $$entry"

$(SRC_LIB_TARGETS): src-lib-%: | $(ZIG_STAMP) $(BUILD)/.deps
	@nice -n 10 bash layers/src/build.sh $(call src_v,$*) $(call src_a,$*)

$(SRC_LAYER_TARGETS): src-layer-py%: $(SRC_LAYERS_OUT)/.made/src-py%
$(SRC_LAYERS_OUT)/.made/src-py%: $(SRC_INPUTS) | $(ZIG_STAMP) $(BUILD)/.deps
	@nice -n 10 bash layers/src/layer.sh $(call src_v,$*) $(call src_a,$*) $(SRC_LAYERS_OUT)/src-py$*
	@$(MAKE) --no-print-directory cpython-$*
	@mkdir -p $(@D) && touch $@

src-layers: $(foreach n,$(SRC_LAYER_NAMES),src-layer-$(patsubst src-%,%,$(n)))

# make test: build (or take from the cache) the newest Python's layers for both arches and
# verify them; check and verify every other cell that is in the cache; name those that are not.
test-src-layers: $(foreach p,$(SRC_TEST_PYVERS),$(foreach a,$(SRC_ARCHS),src-layer-py$(p)-$(a)))
	@bash layers/src/test.sh $(SRC_PYVERS)
TEST_TARGETS += test-src-layers

# libpython load + Py_InitializeEx, the from-source layers against Debian's 3.11 (bench/README.md).
.PHONY: bench-src-load
bench-src-load: src-layer-py3.13-x86_64 src-layer-py3.11-x86_64 layer-py3.11-x86_64
	bash layers/src/bench/bench-load.sh -n 60 src-3.13=$(SRC_LAYERS_OUT)/src-py3.13-x86_64 \
	  src-3.11=$(SRC_LAYERS_OUT)/src-py3.11-x86_64 debian-3.11=$(SRC_LAYERS_OUT)/py3.11-x86_64
