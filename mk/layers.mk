# Layers and deployables (layers/README.md).
#
#   make layers              the four runtime layers layers/build/py{3.9,3.11}-{x86_64,arm64}
#   make layer-py3.9-arm64   one of them (also layer-py3.11-x86_64, ...)
#   make deps-layers         dependency layers layers/build/deps-py3.X-<arch> (layers/requirements.txt)
#   make deps-layer-py3.11-x86_64
#   make native-ext          tests/fixtures/native_ext for both arches -> $(NATIVE_EXT_ROOT)
#   make test-layers         negative/positive checks: greet and MySQLdb need their <arch>/lib
#   make dist                dist/function.zip, dist/runtime-py3.X-<arch>.zip, dist/deps-py3.X-<arch>.zip
#   make test-terraform      terraform validate of deploy/terraform (offline)
#   make clean-layers        rm -rf layers/build (the .deb cache too)
#
# Each layer is built from Debian .debs (3.9: bullseye, 3.11: bookworm; fetched under a
# private apt state, never installed) and verified on build: every ELF is for its arch, the
# whole stdlib imports through a dlopen()ed libpython, nothing loads from outside the layer
# (arm64 under qemu-user). Cold: ~20 s per runtime layer, ~6 s per deps layer; cached: ~0 s.
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
DIST            := dist
# A command run as `$(DIST_CHECK) DIR` on each layer written by `make dist` (DIR: what
# Lambda would unpack into /opt); non-zero fails the build. E.g.
#   make dist DIST_CHECK='build/x86_64/bootstrap --check'
# By default the doctor checks every layer against provided.al2023 with the host's bootstrap.
# Debian's 3.11 needs glibc 2.35, more than any Lambda image has, so the default dist is the
# 3.9 layers (bullseye: glibc <= 2.29); `make dist DIST_PYTHONS="3.9 3.11" DIST_TARGET="--glibc 2.36"`
# builds both for local use. Lambda-ready layers of any version come from the Dockerfiles.
DIST_PYTHONS    ?= 3.9
DIST_TARGET     ?= --target provided.al2023
DIST_CHECK      ?= $(CURDIR)/$(BUILD)/$(HOST_ARCH)/bootstrap --check $(DIST_TARGET)

LAYER_COMMON := layers/lib.sh layers/verify.sh layers/check_layer.py layers/embedtest.c mk/layers.mk
# py3.11-arm64 -> 3.11 / arm64
layer_py   = $(patsubst py%,%,$(firstword $(subst -, ,$(1))))
layer_arch = $(lastword $(subst -, ,$(1)))

.PHONY: layers deps-layers native-ext test-layers dist clean-layers test-terraform \
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

# --- dist -----------------------------------------------------------------------------------
DIST_NAMES := $(foreach p,$(DIST_PYTHONS),$(foreach a,$(LAYER_ARCHS),py$(p)-$(a)))
DIST_ZIPS := $(DIST)/function.zip $(foreach n,$(DIST_NAMES),$(DIST)/runtime-$(n).zip $(DIST)/deps-$(n).zip)
dist: $(DIST_ZIPS) | bootstrap

$(DIST)/function.zip: layers/dist.sh $(shell find examples -type f ! -path '*/__pycache__/*' ! -name '*.pyc' 2>/dev/null)
	bash layers/dist.sh function examples $@

# The bootstrap of each arch, by the lead's rules in a sub-make; copied (only when it
# changed) so the zips are rebuilt only when the binary did.
$(BUILD)/dist/bootstrap-%: FORCE_LAYERS
	$(MAKE) --no-print-directory ARCH=$* $(BUILD)/$*/bootstrap
	@mkdir -p $(@D); cmp -s $(BUILD)/$*/bootstrap $@ || cp $(BUILD)/$*/bootstrap $@

# Where the bootstrap's own shared libraries (if any beyond glibc) are taken from.
BOOTSTRAP_LIB_DIRS_x86_64 ?= /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
BOOTSTRAP_LIB_DIRS_arm64  ?= $(or $(SYSROOT_arm64),$(BUILD)/sysroot/arm64)/usr/lib/aarch64-linux-gnu \
                             $(or $(SYSROOT_arm64),$(BUILD)/sysroot/arm64)/lib/aarch64-linux-gnu

# runtime-py3.X-<arch>.zip: bootstrap at the root + the runtime layer; deps-py3.X-<arch>.zip.
define dist_layer_rules
$(DIST)/runtime-$(1).zip: $(LAYERS_OUT)/.made/$(1) $(BUILD)/dist/bootstrap-$(call layer_arch,$(1)) layers/dist.sh
	BOOTSTRAP_LIB_DIRS='$$(BOOTSTRAP_LIB_DIRS_$(call layer_arch,$(1)))' DIST_CHECK='$$(DIST_CHECK)' bash layers/dist.sh runtime $(LAYERS_OUT)/$(1) $(BUILD)/dist/bootstrap-$(call layer_arch,$(1)) $$@
$(DIST)/deps-$(1).zip: $(LAYERS_OUT)/.made/deps-$(1) $(DIST)/runtime-$(1).zip layers/dist.sh
	DIST_CHECK='$$(DIST_CHECK)' bash layers/dist.sh deps $(LAYERS_OUT)/deps-$(1) $$@ $(DIST)/runtime-$(1).zip
endef
$(foreach n,$(LAYER_NAMES),$(eval $(call dist_layer_rules,$(n))))

clean-layers:
	rm -rf $(LAYERS_OUT) $(NATIVE_EXT_ROOT) $(BUILD)/dist $(DIST)

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
TEST_TARGETS += test-layers test-dist

# make dist as CI sees it: every zip written, doctor-checked, and laid out as the README says.
.PHONY: test-dist
test-dist: dist
	@set -e; for a in $(LAYER_ARCHS); do for p in $(DIST_PYTHONS); do \
	  unzip -l $(DIST)/runtime-py$$p-$$a.zip | grep -q " bootstrap$$" || { echo "no bootstrap in runtime-py$$p-$$a.zip"; exit 1; }; \
	  unzip -l $(DIST)/runtime-py$$p-$$a.zip | grep -q " $$a/runtime/lib/libpython$$p.so.1.0$$" || { echo "no libpython in runtime-py$$p-$$a.zip"; exit 1; }; \
	  unzip -l $(DIST)/deps-py$$p-$$a.zip | grep -q " $$a/python/" || { echo "no $$a/python/ in deps-py$$p-$$a.zip"; exit 1; }; \
	done; done; unzip -l $(DIST)/function.zip | grep -q " app.py$$" || { echo "no app.py in function.zip"; exit 1; }
	@echo "test-dist: $(words $(DIST_ZIPS)) zips, each checked by the doctor ($(DIST_TARGET))"
