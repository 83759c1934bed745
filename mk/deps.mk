# Dependency layers from requirements files, the way users build them (layers/README.md,
# "Dependency layers from a requirements file"):
#
#   make deps-layer REQUIREMENTS=<file> PYTHON=3.X ARCH=x86_64|arm64 \
#                   TARGET=provided.al2|provided.al2023 OUT=<zip> [RUNTIME=<runtime zip>]
#
# A thin wrapper over layers/deps-layer (same arguments). PYTHON, ARCH and OUT mean other
# things to the rest of the build (the tools' interpreter, the bootstrap's CPU, its build
# directory), so the host bootstrap that runs the doctor is built by a sub-make that sets
# them back, and the script runs on DEPS_TOOL_PYTHON.

DEPS_TOOL_PYTHON := /usr/bin/python3.11
DEPS_BOOTSTRAP   := $(BUILD)/$(HOST_ARCH)/bootstrap
RUNTIME          ?=
DEPS_LAYER_ARGS  := REQUIREMENTS PYTHON ARCH TARGET OUT
DEPS_LAYER_USAGE := make deps-layer REQUIREMENTS=<file> PYTHON=3.X ARCH=x86_64|arm64 TARGET=provided.al2|provided.al2023 OUT=<zip>

.PHONY: deps-layer
deps-layer:
	@missing='$(strip $(foreach v,$(DEPS_LAYER_ARGS),$(if $(filter command line environment,$(origin $(v))),,$(v)=)))'; \
	  [ -z "$$missing" ] || { echo "deps-layer: give $$missing (usage: $(DEPS_LAYER_USAGE))" >&2; exit 2; }
	@$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) OUT=$(BUILD)/$(HOST_ARCH) PYTHON=$(DEPS_TOOL_PYTHON) \
	  $(DEPS_BOOTSTRAP)
	$(DEPS_TOOL_PYTHON) layers/deps-layer REQUIREMENTS='$(REQUIREMENTS)' PYTHON='$(PYTHON)' ARCH='$(ARCH)' \
	  TARGET='$(TARGET)' OUT='$(OUT)' BOOTSTRAP='$(DEPS_BOOTSTRAP)' $(if $(RUNTIME),RUNTIME='$(RUNTIME)')

# --- tests ------------------------------------------------------------------------------
# make test-deps: for each cell <arch>:<python>, a deps layer of tests/deps/requirements.txt
# (numpy, orjson, pydantic, cryptography, lxml, Pillow, psycopg2-binary, mysqlclient from its
# sdist) built by layers/deps-layer against the runtime zip runtime-py<python>-<arch>.zip that
# make test's test-dist-zips writes (mk/dist.mk: the newest Python from source, and every other cell
# already in the build cache), then tests/deps (the handler under the bootstrap, arm64 under qemu;
# the doctor's refusals). A cell without its runtime zip says NOT RUN; test-deps fails when no
# cell ran. Each part's time is printed.
DEPS_CELLS   ?= x86_64:3.9 arm64:3.9 x86_64:3.13 arm64:3.13 x86_64:3.14 arm64:3.14
DEPS_TEST_OUT := $(BUILD)/test-deps

.PHONY: test-deps deps-cell
DEPS_DIST    ?= $(TEST_DIST)
test-deps: test-dist-zips qemu-arm64 $(SYSROOT_STAMP_arm64) zig
	@$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) OUT=$(BUILD)/$(HOST_ARCH) $(DEPS_BOOTSTRAP)
	cd tests/deps && $(DEPS_TOOL_PYTHON) -m pytest -q -p no:cacheprovider test_pip_args.py
	@mkdir -p $(DEPS_TEST_OUT); : > $(DEPS_TEST_OUT)/summary; set -e; \
	for cell in $(DEPS_CELLS); do a=$${cell%%:*}; p=$${cell##*:}; \
	  echo "== test-deps $$cell"; \
	  $(MAKE) --no-print-directory deps-cell DEPS_CELL_ARCH=$$a DEPS_CELL_PYTHON=$$p; \
	done; cat $(DEPS_TEST_OUT)/summary; \
	run=$$(grep -c '^ran ' $(DEPS_TEST_OUT)/summary || true); \
	[ "$$run" -gt 0 ] || { echo "test-deps: no cell could run" >&2; exit 1; }

deps-cell:
	@set -e; rt=$(DEPS_DIST)/runtime-py$(DEPS_CELL_PYTHON)-$(DEPS_CELL_ARCH).zip; cell=$(DEPS_CELL_ARCH):$(DEPS_CELL_PYTHON); \
	if [ ! -f "$$rt" ]; then \
	  echo "NOT RUN: test-deps $$cell: make dist built no $$rt (its runtime is not built here)" | tee -a $(DEPS_TEST_OUT)/summary; \
	  exit 0; fi; \
	out=$(DEPS_TEST_OUT)/deps-py$(DEPS_CELL_PYTHON)-$(DEPS_CELL_ARCH).zip; t0=$$(date +%s); \
	$(DEPS_TOOL_PYTHON) layers/deps-layer REQUIREMENTS=tests/deps/requirements.txt PYTHON=$(DEPS_CELL_PYTHON) \
	  ARCH=$(DEPS_CELL_ARCH) TARGET=provided.al2023 OUT=$$out RUNTIME=$$rt BOOTSTRAP=$(DEPS_BOOTSTRAP); \
	t1=$$(date +%s); \
	cd tests/deps && CELL_PYTHON=$(DEPS_CELL_PYTHON) CELL_ARCH=$(DEPS_CELL_ARCH) RUNTIME_ZIP=$(CURDIR)/$$rt \
	  DEPS_ZIP=$(CURDIR)/$$out HOST_BOOTSTRAP=$(CURDIR)/$(DEPS_BOOTSTRAP) \
	  $(if $(filter arm64,$(DEPS_CELL_ARCH)),QEMU_LD_PREFIX=$(CURDIR)/$(SYSROOT_arm64) TIME_SCALE=$(QEMU_TIME_SCALE)) \
	  $(DEPS_TOOL_PYTHON) -m pytest -q -p no:cacheprovider --ignore=test_pip_args.py $(PYTEST_ARGS) . ; \
	t2=$$(date +%s); \
	echo "ran $$cell: deps-layer $$((t1 - t0)) s, tests $$((t2 - t1)) s" >> $(CURDIR)/$(DEPS_TEST_OUT)/summary

TEST_TARGETS += test-deps
