# Dependency layers from requirements files, the way users build them (layers/README.md,
# "Dependency layers from a requirements file"):
#
#   make deps-layer REQUIREMENTS=<file> PYTHON=3.X ARCH=x86_64|arm64 \
#                   TARGET=provided.al2|provided.al2023 OUT=<zip> [RUNTIME=<runtime zip>]
#
# A thin wrapper over layers/deps-layer (same arguments). PYTHON, ARCH and OUT mean other
# things to the rest of the build (the tools' interpreter, the bootstrap's CPU, its build
# directory), so the host bootstrap that runs the doctor is built by a sub-make that sets
# them back, and the script runs on DEPS_TOOL_PYTHON.

DEPS_TOOL_PYTHON := /usr/bin/python3.11
DEPS_BOOTSTRAP   := $(BUILD)/$(HOST_ARCH)/bootstrap
RUNTIME          ?=
DEPS_LAYER_ARGS  := REQUIREMENTS PYTHON ARCH TARGET OUT
DEPS_LAYER_USAGE := make deps-layer REQUIREMENTS=<file> PYTHON=3.X ARCH=x86_64|arm64 TARGET=provided.al2|provided.al2023 OUT=<zip>

.PHONY: deps-layer
deps-layer:
	@missing='$(strip $(foreach v,$(DEPS_LAYER_ARGS),$(if $(filter command line environment,$(origin $(v))),,$(v)=)))'; \
	  [ -z "$$missing" ] || { echo "deps-layer: give $$missing (usage: $(DEPS_LAYER_USAGE))" >&2; exit 2; }
	@$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) OUT=$(BUILD)/$(HOST_ARCH) PYTHON=$(DEPS_TOOL_PYTHON) \
	  $(DEPS_BOOTSTRAP)
	$(DEPS_TOOL_PYTHON) layers/deps-layer REQUIREMENTS='$(REQUIREMENTS)' PYTHON='$(PYTHON)' ARCH='$(ARCH)' \
	  TARGET='$(TARGET)' OUT='$(OUT)' BOOTSTRAP='$(DEPS_BOOTSTRAP)' $(if $(RUNTIME),RUNTIME='$(RUNTIME)')
