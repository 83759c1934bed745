# mk/dist.mk: the release zips, at the glibc floor of every Lambda image (2.26), and their checks
# (issue 11; layers/README.md "Release zips").
#
#   make dist                dist/runtime-py3.X-<arch>.zip for each cell of DIST_CELLS (default: the cells
#                            of the release matrix, Python 3.9, 3.11, 3.13, 3.14 x x86_64, arm64, that
#                            mk/cpython.mk can build here; NOT BUILT: the others) and dist/function.zip;
#                            each runtime zip is the release bootstrap + the from-source runtime layer,
#                            checked by the doctor against provided.al2 and provided.al2023 as it is written
#   make release-bootstrap   build/release/{x86_64,arm64}/bootstrap (zig cc, glibc 2.26; mk/bootstrap.mk)
#   make check-dist          make dist, then every check below on $(DIST):
#     check-dist-doctor        the doctor on every zip in $(DIST), against both images: no finding
#     check-dist-scan          every ELF in every zip in $(DIST), read by readelf, not by the doctor:
#                              at most GLIBC_2.26 (tests/dist/scan_elf_versions.py)
#     check-dist-oldglibc      each runtime zip with bullseye's glibc 2.31 loading everything
#                              (tests/dist/test_oldglibc.py; scripts/oldglibc.sh)
#     check-dist-integration   tests/integration for each cell (dist-<arch>:3.X), the zip unpacked as Lambda does
#   make test-dist           (make test) check-dist into build/test-dist, for TEST_DIST_ALWAYS (the newest
#                            Python mk/cpython.mk builds) on both CPUs, built from source if need be, and
#                            every other cell whose runtime is in the build cache; "NOT RUN: <cell>" for the rest
#
# The checks of doctor and scan also run on a zip that must fail them (the development bootstrap,
# linked against this machine's glibc 2.36): a check that cannot fail proves nothing.
#
# The from-source runtimes come from mk/cpython.mk: make cpython-3.X-x86_64 (the interpreter that
# compiles the embedded bytecode), make src-layer-py3.X-<arch> (layers/build/src-py3.X-<arch>),
# SRC_PYVERS, SRC_TEST_PYVERS and layers/src/build.sh --lookup (is a runtime in the build cache?).
# The Debian-built deps layers (make deps-layers) are test fixtures, never release artifacts: no deps
# zip goes into dist/.

DIST            ?= dist
DIST_ARCHS      := x86_64 arm64
# The release matrix; DIST_CELLS, what `make dist` builds, is the part of it mk/cpython.mk can build
# here (SRC_PYVERS); the rest is named, never skipped silently.
DIST_ALL_PYVERS := 3.9 3.11 3.13 3.14
DIST_ALL_CELLS  := $(foreach p,$(DIST_ALL_PYVERS),$(foreach a,$(DIST_ARCHS),py$(p)-$(a)))
DIST_BUILDABLE   = $(foreach p,$(filter $(SRC_PYVERS),$(DIST_ALL_PYVERS)),$(foreach a,$(DIST_ARCHS),py$(p)-$(a)))
DIST_CELLS      ?= $(DIST_BUILDABLE)
# The Pythons whose bytecode the release bootstrap embeds: those of the cells being built, each
# compiled by its own from-source x86_64 interpreter (bytecode is the same on both CPUs).
DIST_PYVERS      = $(sort $(foreach c,$(DIST_CELLS),$(call layer_py,$(c))))
RELEASE_PYTHONS  = $(foreach v,$(DIST_PYVERS),$(CURDIR)/$(BUILD)/cpython/py$(v)-x86_64/runtime/bin/python$(v))
RELEASE_OUT      = $(RELEASE_DIR)
# The doctor that checks the zips: the release bootstrap of this machine's CPU.
DIST_DOCTOR     := $(CURDIR)/$(RELEASE_OUT)/$(HOST_ARCH)/bootstrap
DIST_CHECK      ?= bash $(CURDIR)/tests/dist/doctor.sh $(DIST_DOCTOR)
DIST_STATE       = $(BUILD)/dist-state/$(subst /,_,$(DIST))
# Where the checks unpack each runtime zip, as Lambda unpacks a layer into /opt.
DIST_ROOTS       = $(BUILD)/dist-root/$(subst /,_,$(DIST))
OLDGLIBC        := $(BUILD)/oldglibc
TEST_DIST       := $(BUILD)/test-dist
# The Python `make test` builds from source on a fresh machine: the one mk/cpython.mk tests its
# layers with (SRC_TEST_PYVERS), so a fresh machine builds one Python, not two.
TEST_DIST_ALWAYS ?= $(or $(SRC_TEST_PYVERS),3.14)
# Shell code that exits 0 when the runtime of Python $(1) for $(2) is in the build cache.
cpython_is_cached ?= bash layers/src/build.sh --lookup python$(1) $(2) >/dev/null 2>&1

.PHONY: dist release-bootstrap release-pythons dist-zips check-dist check-dist-doctor check-dist-scan \
        check-dist-oldglibc check-dist-integration test-dist test-dist-zips dist-roots oldglibc FORCE_DIST \
        $(addprefix release-bootstrap-,$(DIST_ARCHS))

# --- the release bootstrap ----------------------------------------------------------------------
release-pythons:
	$(MAKE) --no-print-directory $(foreach v,$(DIST_PYVERS),cpython-$(v)-x86_64)

# (sequential sub-makes: each step's targets may run in parallel, never two builds of one thing)
$(addprefix release-bootstrap-,$(DIST_ARCHS)): release-bootstrap-%: release-pythons
	$(MAKE) --no-print-directory TOOLCHAIN=zig ARCH=$* BYTECODE_PYTHONS='$(RELEASE_PYTHONS)' bootstrap
release-bootstrap: $(addprefix release-bootstrap-,$(DIST_ARCHS))

# --- the zips -------------------------------------------------------------------------------------
dist:
	@for c in $(filter-out $(DIST_BUILDABLE),$(DIST_ALL_CELLS)); do \
	  echo "NOT BUILT: $$c (Python $$(echo $$c | sed 's/^py\(.*\)-.*/\1/') is not among what mk/cpython.mk can build here, SRC_PYVERS = $(SRC_PYVERS))"; done
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory release-bootstrap && \
	$(MAKE) --no-print-directory $(foreach c,$(DIST_CELLS),src-layer-$(c)) && \
	$(MAKE) --no-print-directory dist-zips && \
	echo "dist: $(words $(DIST_CELLS)) runtime zips + function.zip in $(DIST)/ ($$(( $$(date +%s) - t0 )) s)"

dist-zips: $(foreach c,$(DIST_CELLS),$(DIST)/runtime-$(c).zip) $(DIST)/function.zip

# runtime-py3.X-<arch>.zip: the release bootstrap at the root + the from-source layer; layers/dist.sh
# rewrites it only when what it is made from changed (DIST_STATE).
$(DIST)/runtime-%.zip: FORCE_DIST
	@[ -x $(RELEASE_OUT)/$(call layer_arch,$*)/bootstrap ] && [ -d $(LAYERS_OUT)/src-$* ] || \
	  { echo "$@: run make dist (no release bootstrap or no layer $(LAYERS_OUT)/src-$*)" >&2; exit 1; }
	DIST_STATE=$(DIST_STATE)/runtime-$*.inputs BOOTSTRAP_LIB_DIRS= DIST_CHECK='$(DIST_CHECK)' \
	  bash layers/dist.sh runtime $(LAYERS_OUT)/src-$* $(RELEASE_OUT)/$(call layer_arch,$*)/bootstrap $@

# examples/ without examples/migration, a function of its own (README: moving a function).
$(DIST)/function.zip: layers/dist.sh $(shell find examples -type f ! -path '*/__pycache__/*' ! -name '*.pyc' 2>/dev/null)
	bash layers/dist.sh function examples $@ migration

# --- checks ---------------------------------------------------------------------------------------
check-dist: dist
	$(MAKE) --no-print-directory check-dist-doctor
	$(MAKE) --no-print-directory check-dist-scan
	$(MAKE) --no-print-directory check-dist-oldglibc
	$(MAKE) --no-print-directory check-dist-integration
	@echo "check-dist: $(words $(DIST_CELLS)) cells in $(DIST)/ passed every check: $(DIST_CELLS)"

# A zip that must fail both floor checks: the development bootstrap (Debian's glibc 2.36).
DIST_BAD_ZIP := $(BUILD)/dist-bad/runtime-py3.11-$(HOST_ARCH).zip
$(DIST_BAD_ZIP): $(BUILD)/$(HOST_ARCH)/bootstrap
	@rm -rf $(@D) && mkdir -p $(@D)/stage && cp $< $(@D)/stage/bootstrap
	cd $(@D)/stage && zip -q -X ../$(@F) bootstrap

# The dist's own layout, then the doctor on every zip in it (nothing else is there).
check-dist-doctor: $(DIST_BAD_ZIP)
	@set -e; for c in $(DIST_CELLS); do a=$${c##*-}; p=$${c%-*}; p=$${p#py}; z=$(DIST)/runtime-$$c.zip; \
	  unzip -Z1 $$z | grep -qx bootstrap || { echo "no bootstrap at the root of $$z" >&2; exit 1; }; \
	  unzip -Z1 $$z | grep -qx "$$a/runtime/lib/libpython$$p.so.1.0" || { echo "no libpython$$p in $$z" >&2; exit 1; }; \
	  ! unzip -Z1 $$z | grep -v -e '^bootstrap$$' -e "^$$a/" || { echo "$$z has files outside bootstrap and $$a/" >&2; exit 1; }; \
	done; unzip -Z1 $(DIST)/function.zip | grep -qx app.py || { echo "no app.py in $(DIST)/function.zip" >&2; exit 1; }
	@extra=$$(ls $(DIST) | grep -v -x -e function.zip $(foreach c,$(DIST_CELLS),-e runtime-$(c).zip) || true); \
	  [ -z "$$extra" ] || echo "check-dist-doctor: also in $(DIST)/ (checked too): $$extra"
	bash tests/dist/doctor.sh $(DIST_DOCTOR) $(DIST)/*.zip
	@if bash tests/dist/doctor.sh $(DIST_DOCTOR) $(DIST_BAD_ZIP) >$(BUILD)/dist-bad/doctor.log 2>&1 || \
	    ! grep -q "glibc-too-new" $(BUILD)/dist-bad/doctor.log; then \
	  cat $(BUILD)/dist-bad/doctor.log; echo "check-dist-doctor: the doctor did not flag the development bootstrap" >&2; exit 1; fi
	@echo "check-dist-doctor: $$(ls $(DIST)/*.zip | wc -l) zips clean for provided.al2 and provided.al2023; the bad zip flagged"

check-dist-scan: $(DIST_BAD_ZIP)
	$(PYTHON) tests/dist/scan_elf_versions.py $(DIST)/*.zip
	@if $(PYTHON) tests/dist/scan_elf_versions.py $(DIST_BAD_ZIP) >$(BUILD)/dist-bad/scan.log 2>&1 || \
	    ! grep -q "newer than Amazon Linux 2's GLIBC_2.26" $(BUILD)/dist-bad/scan.log; then \
	  cat $(BUILD)/dist-bad/scan.log; echo "check-dist-scan: the scan did not flag the development bootstrap" >&2; exit 1; fi
	@echo "check-dist-scan: the bad zip flagged"

# Each runtime zip unpacked once per zip written (the .unpacked file remembers which).
dist-roots: $(foreach c,$(DIST_CELLS),$(DIST_ROOTS)/$(c)/.unpacked)
$(DIST_ROOTS)/%/.unpacked: $(DIST)/runtime-%.zip
	@rm -rf $(@D) && mkdir -p $(@D)
	unzip -q $< -d $(@D)
	@touch $@

oldglibc: $(OLDGLIBC)/x86_64/.stamp $(OLDGLIBC)/arm64/.stamp
$(OLDGLIBC)/%/.stamp: scripts/oldglibc.sh layers/lib.sh | $(BUILD)/.deps
	bash scripts/oldglibc.sh $* $(OLDGLIBC)/$*

HOST_CC_x86_64 := gcc
HOST_CC_arm64  := aarch64-linux-gnu-gcc --sysroot=$(CURDIR)/$(SYSROOT_arm64)
check-dist-oldglibc: dist-roots oldglibc qemu-arm64 $(SYSROOT_STAMP_arm64)
	@set -e; for c in $(DIST_CELLS); do a=$${c##*-}; p=$${c%-*}; p=$${p#py}; \
	  echo "== old glibc (bullseye 2.31): $$c"; \
	  ( cd tests/dist && env -u QEMU_LD_PREFIX DIST_ROOT=$(CURDIR)/$(DIST_ROOTS)/$$c OLD_GLIBC_ROOT=$(CURDIR)/$(OLDGLIBC)/$$a \
	    EXPECT_ARCH=$$a EXPECT_PYTHON=$$p TIME_SCALE=$$([ $$a = $(HOST_ARCH) ] && echo 1 || echo $(QEMU_TIME_SCALE)) \
	    HOST_CC="$$([ $$a = x86_64 ] && echo '$(HOST_CC_x86_64)' || echo '$(HOST_CC_arm64)')" \
	    $(PYTEST) $(PYTEST_ARGS) test_oldglibc.py ); \
	done

check-dist-integration: dist-roots
	@set -e; for c in $(DIST_CELLS); do a=$${c##*-}; p=$${c%-*}; \
	  echo "== integration dist-$$a:$${p#py}"; \
	  $(MAKE) --no-print-directory integration-cell CELL=dist-$$a:$${p#py}; \
	done

# --- make test --------------------------------------------------------------------------------------
# TEST_DIST_ALWAYS for both CPUs always, from source on a fresh machine; every other cell only when
# its runtime (and the x86_64 interpreter of its version, for the bytecode) is in the build cache.
# test-dist-zips writes those zips into $(TEST_DIST) (and their list into $(TEST_DIST)/.cells): the
# tests of the dependency layers (mk/deps.mk) run against the same zips.
test-dist-zips:
	@set -e; cells=; \
	for v in $(DIST_ALL_PYVERS); do for a in $(DIST_ARCHS); do \
	  if [ -z "$$(echo ' $(SRC_PYVERS) ' | grep -F " $$v ")" ]; then \
	    echo "NOT RUN: py$$v-$$a (mk/cpython.mk cannot build Python $$v here: SRC_PYVERS = $(SRC_PYVERS))"; \
	  elif [ -n "$$(echo ' $(TEST_DIST_ALWAYS) ' | grep -F " $$v ")" ] || \
	     { { $(call cpython_is_cached,$$v,$$a); } && { $(call cpython_is_cached,$$v,x86_64); }; }; then \
	    cells="$$cells py$$v-$$a"; \
	  else echo "NOT RUN: py$$v-$$a (not cached; \`make dist\` builds it)"; fi; \
	done; done; \
	echo "test-dist: cells$$cells in $(TEST_DIST)/"; \
	mkdir -p $(TEST_DIST) && echo $$cells > $(TEST_DIST)/.cells; \
	$(MAKE) --no-print-directory dist DIST=$(TEST_DIST) DIST_CELLS="$$cells"

test-dist: test-dist-zips
	$(MAKE) --no-print-directory check-dist DIST=$(TEST_DIST) DIST_CELLS="$$(cat $(TEST_DIST)/.cells)"

TEST_TARGETS += test-dist
