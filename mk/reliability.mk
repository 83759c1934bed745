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
FUZZ_SRC_next_headers := src/runtime_api.c src/invocation.c src/sockguard.c src/fdguard.c
FUZZ_SRC_handler      := src/handler.c
FUZZ_SRC_layer        := src/layer.c
# fuzz_next_headers includes runtime_api.c (and links invocation.c), which needs libcurl's headers (and symbols)
FUZZ_LIBS_next_headers = $(shell pkg-config --cflags --libs libcurl)
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Werror -iquote include \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
SOAK_INVOCATIONS ?= 100000

.PHONY: test-reliability test-asan test-valgrind fuzz fuzz-regress soak

# ---- tests/reliability --------------------------------------------------------------------

test-reliability: bootstrap fuzz-regress
	cd tests/reliability && BOOTSTRAP_BIN=$(CURDIR)/bootstrap $(REL_PYTEST) --ignore=memcheck $(PYTEST_ARGS) .
	cd tests/soak && BOOTSTRAP_BIN=$(CURDIR)/bootstrap SOAK_INVOCATIONS=5000 $(REL_PYTEST) $(PYTEST_ARGS) .

TEST_TARGETS += test-reliability

# ---- fuzzing --------------------------------------------------------------------------------

$(REL_OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $(wildcard include/*.h) | $(BUILD)/.deps
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(if $(filter next_headers,$*),$(filter-out src/runtime_api.c,$(FUZZ_SRC_$*)),$(FUZZ_SRC_$*)) $(FUZZ_LIBS_$*)

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

# ---- sanitizers: ASan + UBSan ------------------------------------------------------------------

ASAN_DIR    := $(REL_OUT)/asan
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_LOGS   := $(CURDIR)/$(ASAN_DIR)/logs
# handle_segv=0: a handler's own segfault (tests/reliability) must end the process as it would
# without ASan. allocator_may_return_null: a handler's bytearray(1 << 50) is a MemoryError.
# Leaks are checked where the process returns from main (init errors, usage); the serving loop
# ends with _exit, as Lambda's SIGKILL would. tests/lsan.supp: libpython's own allocations.
ASAN_ENV = ASAN_OPTIONS=log_path=$(ASAN_LOGS)/asan:handle_segv=0:allocator_may_return_null=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=log_path=$(ASAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
  BOOTSTRAP_BIN=$(CURDIR)/$(ASAN_DIR)/bootstrap TIME_SCALE=2

# mk/bootstrap.mk's own rule, with OUT (objects and binary) moved to $(ASAN_DIR).
asan-bootstrap:
	$(MAKE) --no-print-directory OUT=$(ASAN_DIR) EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)" \
	  $(ASAN_DIR)/bootstrap

$(ASAN_DIR)/unit/test_%: tests/unit/test_%.c $$(UNIT_DEPS_$$*) | $(BUILD)/.deps
	@mkdir -p $(@D)
	gcc $(UNIT_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(UNIT_DEPS_$*) -lcmocka $(UNIT_LIBS_$*)

.PHONY: asan-bootstrap
test-asan: asan-bootstrap $$(foreach t,$$(UNIT_TESTS),$(ASAN_DIR)/unit/test_$$(t))
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@set -e; for t in $(UNIT_TESTS); do echo "== asan unit $$t"; $(ASAN_ENV) $(ASAN_DIR)/unit/test_$$t; done
	cd tests/reliability && $(ASAN_ENV) $(REL_PYTEST) --ignore=memcheck $(PYTEST_ARGS) .
	cd tests/integration && $(ASAN_ENV) EXPECT_ARCH=$(HOST_ARCH) EXPECT_RUNTIME_CODE=bytecode $(REL_PYTEST) --ignore=test_layers.py $(PYTEST_ARGS) .
	@# (a WARNING alone, e.g. allocator_may_return_null's "failed to allocate", is not a report)
	@reports=$$(grep -l -E "ERROR: |runtime error|SUMMARY: " $(ASAN_LOGS)/* 2>/dev/null || true); \
	if [ -n "$$reports" ]; then for f in $$reports; do echo "== $$f"; head -60 $$f; done; \
	  echo "test-asan: sanitizer reports above ($(ASAN_LOGS))"; exit 1; fi
	@echo "test-asan: no sanitizer report"

# ---- valgrind memcheck ------------------------------------------------------------------------

VALGRIND := valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --suppressions=$(CURDIR)/tests/valgrind.supp -q

test-valgrind: bootstrap $$(foreach t,$$(UNIT_TESTS),$(BUILD)/unit/test_$$(t))
	@set -e; for t in $(UNIT_TESTS); do echo "== memcheck unit $$t"; $(VALGRIND) $(BUILD)/unit/test_$$t; done
	cd tests/reliability && BOOTSTRAP_BIN=$(CURDIR)/bootstrap $(REL_PYTEST) -s $(PYTEST_ARGS) memcheck
