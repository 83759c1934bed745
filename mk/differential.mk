# The differential (issue 12): every behaviour case under awslambdaric (the oracle, AWS's runtime
# interface client from PyPI) and under the bootstrap, compared (tests/differential/README.md).
#
#   make test-differential    every cell of DIFF_CELLS                   ~45 s a cell
#
# A cell is VERSION:PYTHON:LIBPYTHON: the oracle runs in a venv of PYTHON with awslambdaric
# (build/anchors/awslambdaric-pyVERSION), the bootstrap loads LIBPYTHON of the same version.
#   3.11   Debian's /usr/bin/python3.11 and libpython3.11
#   3.14   CPython 3.14 built from source (mk/cpython.mk: build/cpython/py3.14-<arch>/runtime), the
#          version whose JSON output differs from 3.11's (UTF-8 instead of \u escapes)
# More for a local run: make test-differential DIFF_EXTRA_CELLS=3.13:/path/python3.13:/path/libpython3.13.so.1.0

PY311_LIBDIR := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))' 2>/dev/null)
DIFF_CELL_3.11 := 3.11:$(PYTHON):$(PY311_LIBDIR)/libpython3.11.so.1.0
DIFF_CELL_3.14 := 3.14:$(CURDIR)/$(PY314):$(CURDIR)/$(PY314_PREFIX)/lib/libpython3.14.so.1.0
DIFF_CELLS ?= $(DIFF_CELL_3.11) $(if $(HAVE_CPYTHON_MK),$(DIFF_CELL_3.14))
DIFF_EXTRA_CELLS ?=
DIFF_PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider

.PHONY: test-differential
test-differential: bootstrap $(if $(HAVE_CPYTHON_MK),cpython-3.14-$(HOST_ARCH))
	@$(if $(HAVE_CPYTHON_MK),,echo "NOT RUN: the differential on Python 3.14: this tree has no CPython 3.14 build (mk/cpython.mk)")
	@set -e; for cell in $(DIFF_CELLS) $(DIFF_EXTRA_CELLS); do \
	  v=$${cell%%:*}; rest=$${cell#*:}; py=$${rest%%:*}; lib=$${rest#*:}; \
	  echo "== differential: Python $$v, awslambdaric (oracle, $$py) vs the bootstrap ($$lib)"; \
	  bash scripts/anchors.sh awslambdaric $$py $(ANCHORS_OUT)/awslambdaric-py$$v; \
	  cd tests/differential && DIFF_VERSION=$$v DIFF_ORACLE_PYTHON=$(CURDIR)/$(ANCHORS_OUT)/awslambdaric-py$$v/bin/python \
	    DIFF_LIBPYTHON=$$lib BOOTSTRAP_BIN=$(CURDIR)/bootstrap $(DIFF_PYTEST) $(PYTEST_ARGS) . ; cd $(CURDIR); \
	done

TEST_TARGETS += test-differential
