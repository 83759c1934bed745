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

TEST_TARGETS :=
.SECONDEXPANSION:

.PHONY: all deps test run clean
all: bootstrap

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh $(wildcard scripts/packages/*.txt)
	bash scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

-include mk/*.mk

# make test: unit tests, the integration matrix, then every fragment's TEST_TARGETS.
test: deps bootstrap test-unit test-integration
	@set -e; for t in $(TEST_TARGETS); do echo "== make $$t"; $(MAKE) --no-print-directory $$t; done

clean:
	rm -rf $(BUILD) bootstrap dist
