# Managed Instances (issue 14): AWS_LAMBDA_MAX_CONCURRENCY=N, N workers forked after one init.
#
#   make test-managed   tests/managed: the bootstrap under the project's emulator with
#                       concurrency (host), then under AWS's RIE in its Managed Instances mode, in a
#                       bubblewrap sandbox, for each cell of MANAGED_CELLS (arm64 under qemu)  ~30 s
#
#   make bench-managed  bench/managed.py: throughput for N = 1, 2, 4 (a handler waiting 10 ms, one
#                       computing 5 ms) and the memory of each worker against a whole process
#                       -> bench/results/managed.{json,md}                      ~1.5 min (quick: 20 s)
#                       (part of make bench; make bench-quick runs the quick profile into build/)
#
# The matrix-wide part (stub Runtime API, every Python and CPU) is tests/integration/test_managed.py,
# run by make test-integration. The RIE comes from mk/anchors.mk (make rie-<arch>, issue 12).

MANAGED_CELLS ?= x86_64:3.11 arm64:3.11

MANAGED_BENCH = $(PYTHON) bench/managed.py --bootstrap ./bootstrap --layer-root $(LAYERS_OUT)/py3.11-$(HOST_ARCH)

.PHONY: test-managed bench-managed bench-managed-quick
test-managed: deps bootstrap layer-py3.11-$(HOST_ARCH)
	cd tests/managed && BOOTSTRAP_BIN=$(CURDIR)/bootstrap $(PYTEST) $(PYTEST_ARGS) test_emulator_managed.py
	@# the benchmark's plumbing (no speed asserted): a few invocations for N = 1 and 2
	$(MANAGED_BENCH) --profile test --concurrency 1,2 --out $(BUILD)/bench/managed-test >/dev/null
ifdef RIE_x86_64
	@set -e; for cell in $(MANAGED_CELLS); do \
	  arch=$${cell%%:*}; py=$${cell##*:}; echo "== managed RIE $$cell"; \
	  $(MAKE) --no-print-directory ARCH=$$arch bootstrap layer-py$$py-$$arch rie-$$arch \
	    $$([ $$arch = arm64 ] && echo qemu-arm64); \
	  env=""; [ $$arch = arm64 ] && env="QEMU_LD_PREFIX=$(CURDIR)/$(SYSROOT_arm64) TIME_SCALE=$(QEMU_TIME_SCALE)"; \
	  ( cd tests/managed && env $$env RIE_BIN=$(CURDIR)/$(ANCHORS_OUT)/rie/$$arch/aws-lambda-rie \
	      BOOTSTRAP_BIN=$(CURDIR)/$(BUILD)/$$arch/bootstrap BOOTSTRAP_LAYER_ROOT=$(CURDIR)/$(LAYERS_OUT)/py$$py-$$arch \
	      $(PYTEST) $(PYTEST_ARGS) test_rie_managed.py ); \
	done
else
	@echo "NOT RUN: tests/managed/test_rie_managed.py needs AWS's RIE from mk/anchors.mk (make rie-<arch>), not in this tree"
endif

bench-managed: bootstrap layer-py3.11-$(HOST_ARCH)
	@mkdir -p bench/results
	$(MANAGED_BENCH) --out bench/results/managed

bench-managed-quick: bootstrap layer-py3.11-$(HOST_ARCH)
	@mkdir -p $(BUILD)/bench
	$(MANAGED_BENCH) --profile quick --out $(BUILD)/bench/managed-quick

bench: bench-managed
bench-quick: bench-managed-quick

TEST_TARGETS += test-managed
