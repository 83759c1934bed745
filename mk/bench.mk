# Benchmarks (bench/README.md). Everything builds into $(BUILD)/bench/.
#
#   make bench         full run for the host arch -> bench/results/latest.{json,md,png}
#   make bench-quick   the same in under a minute, fewer samples ("quick": true)
#   make test-bench    driver + floor sanity check (shape, counts), no speed asserted

BENCH_OUT    := $(BUILD)/bench
BENCH_CC     ?= gcc
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE
BENCH_DRIVER_SRC := bench/driver.c bench/bench_http.c bench/bench_proc.c \
                    bench/bench_util.c bench/bench_event.c
BENCH_RUN    = $(PYTHON) bench/run.py --driver $(BENCH_OUT)/driver --floor $(BENCH_OUT)/floor \
               --python $(PYTHON) --arch $(HOST_ARCH)

# floor links the same libcurl as the bootstrap: the toolchain's static
# minimal build once it exists (mk/toolchain.mk, read after this file, hence
# the recursive '=' and the shell test at recipe time), else Debian's shared
# one. The .curl file records the choice so floor relinks when it changes.
BENCH_CURL_PC = $(CURL_PKG_CONFIG_PATH_$(HOST_ARCH))

.PHONY: bench bench-quick test-bench bench-tools FORCE_BENCH

bench-tools: $(BENCH_OUT)/driver $(BENCH_OUT)/floor

$(BENCH_OUT)/driver: $(BENCH_DRIVER_SRC) bench/bench.h
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $(BENCH_DRIVER_SRC) -lm

$(BENCH_OUT)/floor.curl: FORCE_BENCH
	@mkdir -p $(@D)
	@pc='$(BENCH_CURL_PC)'; \
	if [ -n "$$pc" ] && [ -f "$$pc/libcurl.pc" ]; then \
	  sel="static $$pc $$(PKG_CONFIG_PATH=$$pc pkg-config --static --cflags --libs libcurl) $$(ls -l --time-style=+%s $$pc/../libcurl.a 2>/dev/null)"; \
	else sel="system $$(pkg-config --modversion libcurl) $$(pkg-config --cflags --libs libcurl)"; fi; \
	echo "$$sel" | cmp -s - $@ || echo "$$sel" > $@

$(BENCH_OUT)/floor: bench/floor.c $(BENCH_OUT)/floor.curl
	@mkdir -p $(@D)
	@pc='$(BENCH_CURL_PC)'; \
	if [ -n "$$pc" ] && [ -f "$$pc/libcurl.pc" ]; then \
	  flags="$$(PKG_CONFIG_PATH=$$pc pkg-config --static --cflags --libs libcurl)"; \
	else flags="$$(pkg-config --cflags --libs libcurl)"; fi; \
	echo "$(BENCH_CC) $(BENCH_CFLAGS) -o $@ bench/floor.c $$flags"; \
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ bench/floor.c $$flags

# The bootstrap is built first (its own target decides its libcurl), then
# floor, so floor picks up the same static libcurl if that build produced it.
# bench never builds curl itself: two curl builds in one tree race. A
# bootstrap that fails to build is measured as missing (an error in the
# results, exit status 1), never replaced by a stale ./bootstrap.
# The bootstrap runs with the Python 3.11 runtime layer, as it would on Lambda; bare_python and
# pure_python run Debian's python3.11, the same version and build.
# (recursive: LAYERS_OUT comes from mk/layers.mk, read after this file; with := the bench ran
# against "/py3.11-x86_64", i.e. no layer at all, and run.py now refuses a missing layer root)
BENCH_LAYER = $(LAYERS_OUT)/py3.11-$(HOST_ARCH)
# The anchors (mk/anchors.mk): awslambdaric measured as a runtime, both runtimes through AWS's RIE,
# and the realistic init (boto3 from a dependency layer).
BENCH_ANCHORS = --awslambdaric $(ANCHORS_OUT)/awslambdaric-py3.11/bin/python --rie $(RIE_$(HOST_ARCH)) \
                --boto3-layer $(BOTO3_LAYER)
define bench_run
	@b=./bootstrap; $(MAKE) --no-print-directory bootstrap layer-py3.11-$(HOST_ARCH) || \
	  { echo "bench: bootstrap failed to build; it is reported as missing" >&2; b=; }; \
	$(MAKE) --no-print-directory bench-tools awslambdaric-py3.11 rie-$(HOST_ARCH) boto3-layer && \
	$(BENCH_RUN) --bootstrap "$$b" --layer-root $(BENCH_LAYER) $(BENCH_ANCHORS) --out bench/results/latest $(1)
endef

bench:
	$(call bench_run,)

bench-quick:
	$(call bench_run,--quick)

# Plumbing only (no speed asserted): floor, the bare interpreter and awslambdaric, a few hundred
# invocations, then the shape/bookkeeping check. Takes a few seconds.
# awslambdaric too: its entry must have the same keys as the others (make bench-quick writes it).
test-bench: bench-tools awslambdaric-py3.11
	$(BENCH_RUN) --profile test --runtimes floor,bare_python,awslambdaric \
	  --awslambdaric $(ANCHORS_OUT)/awslambdaric-py3.11/bin/python --out $(BENCH_OUT)/test-results --no-chart --quiet
	$(PYTHON) bench/check_results.py --runtimes floor,bare_python,awslambdaric --min-invokes 300 $(BENCH_OUT)/test-results.json

TEST_TARGETS += test-bench
