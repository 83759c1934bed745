# The real anchors (issue 12): AWS's runtime interface client (awslambdaric) and AWS's Runtime
# Interface Emulator, pinned, installed under build/anchors/ by scripts/anchors.sh.
#
#   make anchors                  both, for the host (the RIE for both CPUs)
#   make awslambdaric-py3.11      build/anchors/awslambdaric-py3.11: a venv of /usr/bin/python3.11
#   make awslambdaric-py3.14      the same for the CPython 3.14 built from source (mk/cpython.mk)
#   make rie-x86_64, rie-arm64    build/anchors/rie/<arch>/aws-lambda-rie (go install, cached)
#   make boto3-layer              build/anchors/boto3-layer/python: boto3 for the benchmarks' realistic init
#
# Costs on a fresh machine: a venv ~5 s; the RIE ~35 s per CPU (cached in $BOOTSTRAP_CACHE).

ANCHORS_OUT := $(BUILD)/anchors
RIE_x86_64  := $(ANCHORS_OUT)/rie/x86_64/aws-lambda-rie
RIE_arm64   := $(ANCHORS_OUT)/rie/arm64/aws-lambda-rie
# The second Python of the differential: CPython 3.14 from source (mk/cpython.mk, when this tree
# has it), the version whose JSON output differs from 3.11's (ensure_ascii).
PY314_PREFIX := $(BUILD)/cpython/py3.14-$(HOST_ARCH)/runtime
PY314        := $(PY314_PREFIX)/bin/python3.14
HAVE_CPYTHON_MK := $(wildcard mk/cpython.mk)

.PHONY: anchors rie-x86_64 rie-arm64 awslambdaric-py3.11 awslambdaric-py3.14
anchors: awslambdaric-py3.11 rie-x86_64 rie-arm64

rie-x86_64: $(RIE_x86_64)
rie-arm64: $(RIE_arm64)
$(ANCHORS_OUT)/rie/%/aws-lambda-rie: scripts/anchors.sh scripts/cache.sh
	bash scripts/anchors.sh rie $* $@

awslambdaric-py3.11: $(ANCHORS_OUT)/awslambdaric-py3.11/.anchors-stamp
$(ANCHORS_OUT)/awslambdaric-py3.11/.anchors-stamp: scripts/anchors.sh tests/differential/requirements.txt | $(BUILD)/.deps
	bash scripts/anchors.sh awslambdaric $(PYTHON) $(@D)

BOTO3_LAYER := $(ANCHORS_OUT)/boto3-layer
.PHONY: boto3-layer
boto3-layer: $(BOTO3_LAYER)/.anchors-stamp
$(BOTO3_LAYER)/.anchors-stamp: scripts/anchors.sh bench/requirements-boto3.txt | $(BUILD)/.deps
	bash scripts/anchors.sh boto3-layer $(PYTHON) $(@D)

awslambdaric-py3.14: $(if $(HAVE_CPYTHON_MK),cpython-3.14-$(HOST_ARCH))
	@[ -x $(PY314) ] || { echo "awslambdaric-py3.14: no $(PY314) (CPython 3.14 from source, mk/cpython.mk)" >&2; exit 1; }
	bash scripts/anchors.sh awslambdaric $(PY314) $(ANCHORS_OUT)/awslambdaric-py3.14
