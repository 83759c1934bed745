# Layers and deployables (layers/README.md).
#
#   make layers              the four runtime layers layers/build/py{3.9,3.11}-{x86_64,arm64}
#   make layer-py3.9-arm64   one of them (also layer-py3.11-x86_64, ...)
#   make deps-layers         dependency layers layers/build/deps-py3.X-<arch> (layers/requirements.txt)
#   make deps-layer-py3.11-x86_64
#   make native-ext          tests/fixtures/native_ext for both arches -> $(NATIVE_EXT_ROOT)
#   make test-layers         negative/positive checks: greet and MySQLdb need their <arch>/lib
#   make test-terraform      terraform validate of deploy/terraform (offline)
#   make clean-layers        rm -rf layers/build (the .deb cache too)
#
# Each layer is built from Debian .debs (3.9: bullseye, 3.11: bookworm; fetched under a
# private apt state, never installed) and verified on build: every ELF is for its arch, the
# whole stdlib imports through a dlopen()ed libpython, nothing loads from outside the layer
# (arm64 under qemu-user). Cold: ~20 s per runtime layer, ~6 s per deps layer; cached: ~0 s.
#
# These layers are test fixtures (Debian's binaries need glibc 2.31+, newer than Lambda's): the
# release zips (make dist, mk/dist.mk) are built from source at glibc 2.26.
#
# For test matrices:
#   LAYER_NAMES      py3.9-x86_64 py3.9-arm64 py3.11-x86_64 py3.11-arm64
#   LAYER_DIRS       runtime layer roots   ($(LAYERS_OUT)/py3.X-<arch>), in that order
#   DEPS_LAYER_DIRS  dependency layer roots ($(LAYERS_OUT)/deps-py3.X-<arch>), same order
#   NATIVE_EXT_ROOT  fixture layer root: <arch>/lib/libgreet.so.1, <arch>/python/greet.abi3.so
#   layer target of one root: $(LAYERS_OUT)/.made/py3.X-<arch> (deps: .made/deps-py3.X-<arch>)

LAYER_PYVERS    := 3.9 3.11
LAYER_ARCHS     := x86_64 arm64
LAYERS_OUT      := layers/build
LAYER_NAMES     := $(foreach p,$(LAYER_PYVERS),$(foreach a,$(LAYER_ARCHS),py$(p)-$(a)))
LAYER_DIRS      := $(addprefix $(LAYERS_OUT)/,$(LAYER_NAMES))
DEPS_LAYER_DIRS := $(addprefix $(LAYERS_OUT)/deps-,$(LAYER_NAMES))
NATIVE_EXT_ROOT := $(BUILD)/fixtures/native_ext
LAYER_COMMON := layers/lib.sh layers/verify.sh layers/check_layer.py layers/embedtest.c mk/layers.mk
# py3.11-arm64 -> 3.11 / arm64
layer_py   = $(patsubst py%,%,$(firstword $(subst -, ,$(1))))
layer_arch = $(lastword $(subst -, ,$(1)))

.PHONY: layers deps-layers native-ext test-layers clean-layers test-terraform \
        $(addprefix layer-,$(LAYER_NAMES)) $(addprefix deps-layer-,$(LAYER_NAMES)) FORCE_LAYERS

layers: $(addprefix layer-,$(LAYER_NAMES))
deps-layers: $(addprefix deps-layer-,$(LAYER_NAMES))
$(addprefix layer-,$(LAYER_NAMES)): layer-%: $(LAYERS_OUT)/.made/%
$(addprefix deps-layer-,$(LAYER_NAMES)): deps-layer-%: $(LAYERS_OUT)/.made/deps-%

$(LAYERS_OUT)/.made/py%: layers/build-runtime.sh $(LAYER_COMMON) | $(BUILD)/.deps
	bash layers/build-runtime.sh $(call layer_py,py$*) $(call layer_arch,py$*)
	bash layers/verify.sh $(call layer_arch,py$*) $(LAYERS_OUT)/py$*
	@mkdir -p $(@D) && touch $@

$(LAYERS_OUT)/.made/deps-py%: $(LAYERS_OUT)/.made/py% layers/build-deps.sh layers/requirements.txt $(LAYER_COMMON)
	bash layers/build-deps.sh $(call layer_py,py$*) $(call layer_arch,py$*)
	bash layers/verify.sh $(call layer_arch,py$*) $(LAYERS_OUT)/py$* $(LAYERS_OUT)/deps-py$*
	@mkdir -p $(@D) && touch $@

# --- native-extension fixture -------------------------------------------------------------
NATIVE_EXT_SRC := $(wildcard tests/fixtures/native_ext/*.c tests/fixtures/native_ext/*.h) \
                  tests/fixtures/native_ext/build.sh
native-ext: $(foreach a,$(LAYER_ARCHS),$(NATIVE_EXT_ROOT)/$(a)/python/greet.abi3.so)
$(NATIVE_EXT_ROOT)/%/python/greet.abi3.so $(NATIVE_EXT_ROOT)/%/lib/libgreet.so.1: $(NATIVE_EXT_SRC) | $(BUILD)/.deps
	bash tests/fixtures/native_ext/build.sh $* $(NATIVE_EXT_ROOT)

# --- checks beyond the build-time verification (~10 s warm) -----------------------------
# greet imports with <arch>/lib on the loader path and returns the right arch's string, and
# fails without it; the same for MySQLdb._mysql and the deps layer's lib/.
test-layers: layers deps-layers native-ext
	@set -e; for n in $(LAYER_NAMES); do \
	  a=$${n##*-}; \
	  bash layers/verify.sh $$a $(LAYERS_OUT)/$$n $(NATIVE_EXT_ROOT) greet --expect 'greet.hello()' "Hello from libgreet on $$a!"; \
	  NO_DEPS_LIB=1 bash layers/verify.sh $$a $(LAYERS_OUT)/$$n $(NATIVE_EXT_ROOT) --absent greet; \
	  NO_DEPS_LIB=1 bash layers/verify.sh $$a $(LAYERS_OUT)/$$n $(LAYERS_OUT)/deps-$$n --absent MySQLdb._mysql; \
	done
	@echo "test-layers: $(words $(LAYER_NAMES) $(LAYER_NAMES) $(LAYER_NAMES)) passed, 0 failed"

clean-layers:
	rm -rf $(LAYERS_OUT) $(NATIVE_EXT_ROOT)

# --- terraform (offline: provider from /opt/tf-plugins) -------------------------------------
TERRAFORM ?= terraform
TF_PLUGIN_DIR ?= /opt/tf-plugins
test-terraform:
	@command -v $(TERRAFORM) >/dev/null || { echo "test-terraform: terraform not installed" >&2; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp -r deploy/terraform/. "$$tmp/"; rm -rf "$$tmp/.terraform" "$$tmp/.terraform.lock.hcl"; \
	cd "$$tmp"; \
	export TF_IN_AUTOMATION=1 TF_CLI_CONFIG_FILE=/dev/null; $(TERRAFORM) init -input=false -backend=false -plugin-dir=$(TF_PLUGIN_DIR) >init.log 2>&1 || { cat init.log; exit 1; }; \
	$(TERRAFORM) validate -no-color; \
	$(TERRAFORM) fmt -check -diff -recursive -no-color

TEST_TARGETS += test-terraform
TEST_TARGETS += test-layers
