# The integration suite's `rie` subset under AWS's Runtime Interface Emulator (issue 12): invoke,
# handler errors, init errors, timeouts, a crash and the restart, the 6 MB limits, the runtime side
# of streaming; on x86_64 natively and on arm64 with the RIE and the bootstrap under qemu-user.
#
#   make test-rie              every cell of RIE_CELLS (cells as in mk/integration.mk)   ~1 min + ~3 min (arm64)
#   make test-emulator-vs-rie  the same requests to the project's emulator and to the RIE, answers compared
#
# The RIE itself: mk/anchors.mk (go install, pinned, cached).

RIE_CELLS ?= x86_64:3.11 arm64:3.11

.PHONY: test-rie test-emulator-vs-rie
test-rie: rie-x86_64 rie-arm64
	@set -e; for cell in $(RIE_CELLS); do \
	  arch=$${cell%%:*}; rie=$(CURDIR)/$(ANCHORS_OUT)/rie/$$arch/aws-lambda-rie; \
	  echo "== integration under the RIE: $$cell ($$rie)"; \
	  INTEGRATION_RIE=$$rie $(MAKE) --no-print-directory integration-cell CELL=$$cell PYTEST_ARGS="-m rie $(PYTEST_ARGS)"; \
	done

TEST_TARGETS += test-rie

test-emulator-vs-rie: rie-$(HOST_ARCH) bootstrap
	cd tests/emulator_vs_rie && INTEGRATION_RIE=$(CURDIR)/$(RIE_$(HOST_ARCH)) BOOTSTRAP_BIN=$(CURDIR)/bootstrap \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) .

TEST_TARGETS += test-emulator-vs-rie
