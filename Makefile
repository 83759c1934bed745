# bootstrap: a custom AWS Lambda runtime for Python, in C.
#
#   make                 ./bootstrap for this machine
#   make ARCH=arm64      build/arm64/bootstrap (cross, against an arm64 sysroot)
#   make run             serve examples/ through the local emulator on 127.0.0.1:9000
#   make test            everything CI runs
#
# Other make fragments live in mk/*.mk (toolchain, layers, doctor, bench, ...).

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
ARCH      ?= $(HOST_ARCH)
BUILD     := build
OUT       := $(BUILD)/$(ARCH)
# The Python that runs the tools and tests; named explicitly so pyenv shims never leak in.
PYTHON    := /usr/bin/python3.11
PYTHON_CONFIG := /usr/bin/python3.11-config
# pyenv's Python builds, when the machine has them: extra test versions and bytecode to embed.
PYENV_ROOT ?= /root/.pyenv

TEST_TARGETS :=
.SECONDEXPANSION:

.PHONY: all deps test run clean
all: bootstrap

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh $(wildcard scripts/packages/*.txt)
	bash scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

# toolchain.mk first: the others use its variables in their rules.
include mk/toolchain.mk
include $(filter-out mk/toolchain.mk,$(sort $(wildcard mk/*.mk)))

# make test: unit tests, the integration matrix, then every fragment's TEST_TARGETS; the time
# of each phase goes to $(BUILD)/test-times.txt (the 60-minute budget of a fresh machine).
test: deps bootstrap
	@set -e; : > $(BUILD)/test-times.txt; t00=$$(date +%s); \
	for t in test-unit test-integration $(TEST_TARGETS); do echo "== make $$t"; t0=$$(date +%s); \
	  $(MAKE) --no-print-directory $$t; echo "$$t $$(( $$(date +%s) - t0 )) s" >> $(BUILD)/test-times.txt; done; \
	echo "make test: $$(( $$(date +%s) - t00 )) s in all:"; sed 's/^/  /' $(BUILD)/test-times.txt

# make run: serve examples/app.py through the local emulator until stopped (Ctrl-C). Quick on a
# fresh machine: it installs only scripts/packages/run.txt and builds a run-only bootstrap,
# build/run/bootstrap, against Debian's shared libcurl and libcjson (the shipped build links both
# statically, built from source: minutes, which make test and make bootstrap spend).
RUN_ADDRESS ?= 127.0.0.1:9000
RUN_HANDLER ?= app.handler
RUN_OUT := $(BUILD)/run
RUN_BOOTSTRAP := $(RUN_OUT)/bootstrap

$(BUILD)/.deps-run: scripts/deps.sh scripts/packages/run.txt
	bash scripts/deps.sh run
	@mkdir -p $(BUILD) && touch $@

.PHONY: run-bootstrap
run-bootstrap: $(BUILD)/.deps-run
	@$(MAKE) --no-print-directory OUT=$(RUN_OUT) CURL=system CJSON=system DEPS_STAMP=$(BUILD)/.deps-run \
	  ARCH=$(HOST_ARCH) $(RUN_BOOTSTRAP)

run: run-bootstrap
	@echo "Serving examples/$(RUN_HANDLER) on http://$(RUN_ADDRESS)/2015-03-31/functions/function/invocations"
	cd examples && LAMBDA_TASK_ROOT=$(CURDIR)/examples $(RUN_ENV) $(PYTHON) ../emulator/lambda_emulator.py \
	  --runtime-interface-emulator-address $(RUN_ADDRESS) --runtime-api-address 127.0.0.1:0 --eager \
	  $(CURDIR)/$(RUN_BOOTSTRAP) $(RUN_HANDLER)

clean:
	rm -rf $(BUILD) bootstrap dist
