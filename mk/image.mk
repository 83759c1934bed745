# The runtime image (issue 14): what a customer-managed runtime's version is made from, one image
# per CPU in an OCI image layout, written without a Docker daemon (layers/image/, README.md
# "Runtime image", deploy/README.md).
#
#   make image                dist/image/: an OCI image layout with the newest from-source Python
#                             (mk/cpython.mk's SRC_PYVERS), tagged 3.X (an index: linux/amd64 and
#                             linux/arm64), 3.X-x86_64 and 3.X-arm64     ~30 s once the layers exist
#   make image PYTHON=3.11    another of SRC_PYVERS (PYTHON is the image's Python here, not the
#                             tools': they keep IMAGE_TOOL_PYTHON)
#   make test-image           tests/image: every blob against its digest, the index's platforms,
#                             reproducibility, skopeo and umoci reading it; each image's root
#                             filesystem run with AWS's RIE in a bubblewrap sandbox, a function zip
#                             at /var/task, a layer at /opt (arm64 under qemu)          ~1 min
#   make test-cloudformation  deploy/cloudformation/runtime.yaml through cfn-lint (pinned, venv
#                             under build/), with registry schemas for the resource types cfn-lint
#                             does not know yet (deploy/cloudformation/schemas/)

IMAGE_TOOL_PYTHON  := /usr/bin/python3.11
IMAGE_ARCHS        := x86_64 arm64
IMAGE_NEWEST        = $(shell printf '%s\n' $(SRC_PYVERS) | sort -V | tail -n 1)
IMAGE_PYTHON       ?= $(if $(filter command line,$(origin PYTHON)),$(PYTHON),$(IMAGE_NEWEST))
IMAGE_OUT           = $(DIST)/image
IMAGE_WORK          = $(BUILD)/image/py$(IMAGE_PYTHON)
IMAGE_PYTEST       := $(IMAGE_TOOL_PYTHON) -m pytest -q -p no:cacheprovider
# (Recursive variables: DIST and SRC_PYVERS come from fragments included after this one.)
# The bootstrap each image carries, and the make goal that builds it: the release build (zig,
# glibc 2.26; mk/dist.mk), embedding the bytecode of the image's Python only, in a directory of
# its own (dist's release bootstrap embeds every shipped Python's; neither relinks the other).
IMAGE_RELEASE_DIR   := $(BUILD)/release-image
IMAGE_BOOTSTRAP_GOAL = release-bootstrap-$(1) DIST_CELLS=py$(IMAGE_PYTHON)-$(1) RELEASE_DIR=$(IMAGE_RELEASE_DIR)
image_bootstrap      = $(IMAGE_RELEASE_DIR)/$(1)/bootstrap

.PHONY: image image-layout test-image
image:
	@case " $(SRC_PYVERS) " in *" $(IMAGE_PYTHON) "*) ;; *) \
	  echo "make image: PYTHON=$(IMAGE_PYTHON) is not a from-source runtime (mk/cpython.mk SRC_PYVERS: $(SRC_PYVERS))" >&2; \
	  exit 2 ;; esac
	@$(MAKE) --no-print-directory PYTHON=$(IMAGE_TOOL_PYTHON) IMAGE_PYTHON=$(IMAGE_PYTHON) image-layout

image-layout: $(foreach a,$(IMAGE_ARCHS),src-layer-py$(IMAGE_PYTHON)-$(a)) | $(BUILD)/.deps
	@set -e; for a in $(IMAGE_ARCHS); do $(MAKE) --no-print-directory $(call IMAGE_BOOTSTRAP_GOAL,$$a); done
	bash layers/image/build.sh $(IMAGE_PYTHON) $(IMAGE_OUT) $(IMAGE_WORK) \
	  $(foreach a,$(IMAGE_ARCHS),$(a)=$(SRC_LAYERS_OUT)/src-py$(IMAGE_PYTHON)-$(a):$(call image_bootstrap,$(a)))

# The newest Python's image: the one a fresh machine builds for certain (mk/cpython.mk builds
# its layers for test-src-layers too).
test-image: image rie-x86_64 rie-arm64 qemu-arm64 bootstrap
	cd tests/image && IMAGE_LAYOUT=$(CURDIR)/$(IMAGE_OUT) IMAGE_TAG=$(IMAGE_PYTHON) \
	  IMAGE_SPEC=$(CURDIR)/$(IMAGE_WORK)/spec.json BOOTSTRAP_BIN=$(CURDIR)/bootstrap \
	  RIE_x86_64=$(CURDIR)/$(RIE_x86_64) RIE_arm64=$(CURDIR)/$(RIE_arm64) TIME_SCALE_arm64=$(QEMU_TIME_SCALE) \
	  $(IMAGE_PYTEST) $(PYTEST_ARGS) .

TEST_TARGETS += test-image

# cfn-lint, every package pinned, in a venv of its own under build/.
CFN_LINT_VENV := $(BUILD)/cfn-lint
$(CFN_LINT_VENV)/.stamp: deploy/cloudformation/requirements.txt
	rm -rf $(CFN_LINT_VENV) && $(IMAGE_TOOL_PYTHON) -m venv $(CFN_LINT_VENV)
	$(CFN_LINT_VENV)/bin/pip install -q --disable-pip-version-check -r $<
	@touch $@

.PHONY: test-cloudformation
test-cloudformation: $(CFN_LINT_VENV)/.stamp
	cd tests/cloudformation && CFN_LINT_PYTHON=$(CURDIR)/$(CFN_LINT_VENV)/bin/python $(IMAGE_PYTEST) $(PYTEST_ARGS) .

TEST_TARGETS += test-cloudformation
