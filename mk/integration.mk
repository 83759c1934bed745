# Integration tests: the real bootstrap behind the emulator, for every cell of the matrix.
# A cell is "<arch>:<python>": e.g. x86_64:3.11 uses layers/build/py3.11-x86_64 and
# build/x86_64/bootstrap. "host:system" uses ./bootstrap with the system's libpython.
INTEGRATION_CELLS ?= host:system
PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider

.PHONY: test-integration
test-integration: bootstrap
	@set -e; for cell in $(INTEGRATION_CELLS); do \
	  echo "== integration $$cell"; \
	  $(MAKE) --no-print-directory integration-cell CELL=$$cell; \
	done

.PHONY: integration-cell
integration-cell:
	cd tests/integration && $(CELL_ENV) $(PYTEST) $(PYTEST_ARGS) .

ifeq ($(CELL),host:system)
  CELL_ENV := BOOTSTRAP_BIN=$(CURDIR)/bootstrap EXPECT_PYTHON=3.11 EXPECT_ARCH=$(HOST_ARCH)
endif
