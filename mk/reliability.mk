# Reliability (issue 6): Runtime API faults, misbehaving handlers, security, sanitizers,
# leaks, fuzzing and a soak. Tests in tests/reliability/ (reusing tests/integration's harness),
# tests/fuzz/, tests/soak/; packages in scripts/packages/reliability.txt.
#
#   make test-reliability  tests/reliability against ./bootstrap, a 5,000-invocation soak and the
#                          fuzzers' seed and regression inputs (no fuzzing)        ~2.5 min, in make test
#   make test-asan         ASan+UBSan build of the bootstrap and the unit tests; the unit tests, then
#                          tests/reliability and tests/integration (host cell) on that bootstrap; any
#                          sanitizer report fails it                                ~3 min
#   make test-valgrind     memcheck of the unit tests and of 1,000 invocations (tests/valgrind.supp
#                          hides libpython's own at-exit allocations)               ~2 min
#   make fuzz              libFuzzer on the /next headers, handler names and layer paths,
#                          FUZZ_EACH seconds each (default 30); a crash is saved under
#                          tests/fuzz/regressions/<target>/ and fails the run       ~1.5 min
#   make soak              SOAK_INVOCATIONS (default 100,000) invocations, payloads 0 B-6 MB, failing
#                          handlers mixed in: zero lost, zero duplicated, RSS flat  ~25 min
#
# The fuzz targets and tests/fuzz/fuzz_elf.c (make fuzz-elf, mk/doctor.mk) are separate.

REL_OUT      := $(BUILD)/reliability
REL_PYTEST   := $(PYTHON) -m pytest -q -p no:cacheprovider
FUZZ_EACH    ?= 30
FUZZ_TARGETS := next_headers handler layer
FUZZ_SRC_next_headers := src/runtime_api.c
FUZZ_SRC_handler      := src/handler.c
FUZZ_SRC_layer        := src/layer.c
# fuzz_next_headers includes runtime_api.c, which needs libcurl's headers (and symbols)
FUZZ_LIBS_next_headers = $(shell pkg-config --cflags --libs libcurl)
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Werror -iquote include \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
SOAK_INVOCATIONS ?= 100000

.PHONY: test-reliability test-asan test-valgrind fuzz fuzz-regress soak

# ---- tests/reliability --------------------------------------------------------------------

test-reliability: bootstrap fuzz-regress
	cd tests/reliability && BOOTSTRAP_BIN=$(CURDIR)/bootstrap $(REL_PYTEST) $(PYTEST_ARGS) .
	cd tests/soak && BOOTSTRAP_BIN=$(CURDIR)/bootstrap SOAK_INVOCATIONS=5000 $(REL_PYTEST) $(PYTEST_ARGS) .

TEST_TARGETS += test-reliability

# ---- fuzzing --------------------------------------------------------------------------------

$(REL_OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(wildcard include/*.h) | $(BUILD)/.deps
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(if $(filter next_headers,$*),,$(FUZZ_SRC_$*)) $(FUZZ_LIBS_$*)

FUZZ_BINS := $(foreach t,$(FUZZ_TARGETS),$(REL_OUT)/fuzz/fuzz_$(t))

# The seeds and every saved crash, run once each (a regression test, no fuzzing).
fuzz-regress: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(find tests/fuzz/seeds/$$t tests/fuzz/regressions/$$t -type f 2>/dev/null | sort); \
	  echo "fuzz-regress $$t: $$(echo "$$files" | grep -c . || true) inputs"; \
	  [ -z "$$files" ] || $(REL_OUT)/fuzz/fuzz_$$t -runs=0 $$files >$(REL_OUT)/fuzz/regress-$$t.log 2>&1 || \
	    { tail -40 $(REL_OUT)/fuzz/regress-$$t.log; exit 1; }; \
	done

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  corpus=$(REL_OUT)/fuzz/corpus-$$t; mkdir -p $$corpus tests/fuzz/regressions/$$t; \
	  cp -n tests/fuzz/seeds/$$t/* $$corpus/ 2>/dev/null || true; \
	  echo "== fuzz $$t for $(FUZZ_EACH) s"; \
	  $(REL_OUT)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_EACH) -timeout=10 -max_len=8192 -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/regressions/$$t/ $$corpus \
	    >$(REL_OUT)/fuzz/fuzz-$$t.log 2>&1 || { tail -60 $(REL_OUT)/fuzz/fuzz-$$t.log; \
	    echo "fuzz $$t: crash saved in tests/fuzz/regressions/$$t/ (commit it: make fuzz-regress replays it)"; exit 1; }; \
	  grep -E "stat::number_of_executed_units|cov:" $(REL_OUT)/fuzz/fuzz-$$t.log | tail -2; \
	done

# ---- soak -----------------------------------------------------------------------------------

soak: bootstrap
	@mkdir -p $(REL_OUT)
	cd tests/soak && BOOTSTRAP_BIN=$(CURDIR)/bootstrap SOAK_INVOCATIONS=$(SOAK_INVOCATIONS) \
	  SOAK_SUMMARY=$(CURDIR)/$(REL_OUT)/soak-summary.txt $(REL_PYTEST) -s $(PYTEST_ARGS) .

