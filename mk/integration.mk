# Integration tests: the real bootstrap behind the emulator, the same test code for every
# cell of the matrix. A cell is <kind>:<python>:
#   x86_64:3.9     build/x86_64/bootstrap with layers/build/py3.9-x86_64, natively
#   arm64:3.11     build/arm64/bootstrap with layers/build/py3.11-arm64, under qemu-user
#   pyenv:3.12     ./bootstrap with BOOTSTRAP_LIBPYTHON from /root/.pyenv (when installed)
#   host:system    ./bootstrap with the system's libpython
#   dist-arm64:3.14  a release zip, $(DIST)/runtime-py3.14-arm64.zip, unpacked as Lambda would
#                    into a layer root: its own bootstrap (zig, glibc 2.26) and from-source
#                    runtime (mk/dist.mk: make dist first; make check-dist runs every dist cell)
# The x86_64/arm64/pyenv/host cells run the development bootstrap (gcc; bytecode for Debian's
# 3.11 only: the other Pythons exercise the fallback that compiles the embedded runtime*.py).

# The pyenv cells are not part of make test: what a machine's pyenv holds is not something the
# project installs (make test-integration INTEGRATION_CELLS="$(PYENV_CELLS)" runs them by hand).
# The from-source runtimes are tested by their dist cells (mk/dist.mk).
PYENV_CELLS := $(foreach v,3.10 3.12 3.13,$(if $(wildcard $(PYENV_ROOT)/versions/$(v).*/lib/libpython$(v).so.1.0),pyenv:$(v)))
INTEGRATION_CELLS ?= x86_64:3.9 x86_64:3.11 arm64:3.9 arm64:3.11
PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider
# qemu-user runs arm64 code 15-20x slower: timeouts in the tests scale by this.
QEMU_TIME_SCALE := 10

.PHONY: test-integration integration-cell
test-integration:
	@set -e; for cell in $(INTEGRATION_CELLS); do \
	  echo "== integration $$cell"; \
	  $(MAKE) --no-print-directory integration-cell CELL=$$cell; \
	done

cell_kind = $(word 1,$(subst :, ,$(CELL)))
cell_python = $(word 2,$(subst :, ,$(CELL)))

ifneq ($(filter x86_64 arm64,$(cell_kind)),)
  CELL_PREREQS := layer-py$(cell_python)-$(cell_kind) native-ext
  CELL_ENV = BOOTSTRAP_BIN=$(CURDIR)/$(BUILD)/$(cell_kind)/bootstrap \
    BOOTSTRAP_LAYER_ROOT=$(CURDIR)/$(LAYERS_OUT)/py$(cell_python)-$(cell_kind) \
    NATIVE_EXT_ROOT=$(CURDIR)/$(NATIVE_EXT_ROOT) \
    EXPECT_PYTHON=$(cell_python) EXPECT_ARCH=$(cell_kind) \
    EXPECT_RUNTIME_CODE=$(if $(filter 3.11,$(cell_python)),bytecode,source)
  ifeq ($(cell_kind),arm64)
    CELL_PREREQS += qemu-arm64
    CELL_ENV += QEMU_LD_PREFIX=$(CURDIR)/$(SYSROOT_arm64) TIME_SCALE=$(QEMU_TIME_SCALE)
  endif
else ifeq ($(cell_kind),pyenv)
  CELL_ENV = BOOTSTRAP_BIN=$(CURDIR)/bootstrap EXPECT_PYTHON=$(cell_python) EXPECT_ARCH=$(HOST_ARCH) \
    EXPECT_RUNTIME_CODE=$(if $(filter 3.11,$(cell_python)),bytecode,source) \
    BOOTSTRAP_LIBPYTHON=$(firstword $(wildcard $(PYENV_ROOT)/versions/$(cell_python).*/lib/libpython$(cell_python).so.1.0)) \
    SEQUENTIAL_INVOCATIONS=200
  CELL_PYTEST_ARGS := --ignore=test_layers.py
else ifneq ($(filter dist-x86_64 dist-arm64,$(cell_kind)),)
  cell_arch = $(patsubst dist-%,%,$(cell_kind))
  CELL_ROOT = $(CURDIR)/$(DIST_ROOTS)/py$(cell_python)-$(cell_arch)
  CELL_PREREQS := $(DIST_ROOTS)/py$(cell_python)-$(cell_arch)/.unpacked native-ext
  CELL_ENV = BOOTSTRAP_BIN=$(CELL_ROOT)/bootstrap BOOTSTRAP_LAYER_ROOT=$(CELL_ROOT) \
    NATIVE_EXT_ROOT=$(CURDIR)/$(NATIVE_EXT_ROOT) EXPECT_PYTHON=$(cell_python) EXPECT_ARCH=$(cell_arch) \
    EXPECT_RUNTIME_CODE=bytecode
  ifeq ($(cell_arch),arm64)
    CELL_PREREQS += qemu-arm64 $(SYSROOT_STAMP_arm64)
    CELL_ENV += QEMU_LD_PREFIX=$(CURDIR)/$(SYSROOT_arm64) TIME_SCALE=$(QEMU_TIME_SCALE)
  endif
else
  # (the system's Python is Debian's 3.11, whose bytecode the development bootstrap embeds)
  CELL_ENV = BOOTSTRAP_BIN=$(CURDIR)/bootstrap EXPECT_PYTHON= EXPECT_ARCH=$(HOST_ARCH) EXPECT_RUNTIME_CODE=bytecode
  CELL_PYTEST_ARGS := --ignore=test_layers.py
endif

integration-cell: $(CELL_PREREQS)
	$(if $(filter dist-%,$(cell_kind)),,$(MAKE) --no-print-directory ARCH=$(if $(filter arm64,$(cell_kind)),arm64,$(HOST_ARCH)) bootstrap)
	cd tests/integration && $(CELL_ENV) $(PYTEST) $(CELL_PYTEST_ARGS) $(PYTEST_ARGS) .
