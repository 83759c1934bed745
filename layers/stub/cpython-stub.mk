# STAND-IN for mk/cpython.mk (the from-source runtimes, branch `cpython`), read by mk/dist.mk only
# while mk/cpython.mk does not exist. It offers the same interface with Debian's layers playing
# the from-source ones, so the dist rules and checks can be developed and run before the real
# runtimes land. It is NOT Lambda-grade: Debian's 3.9 needs glibc 2.29 and 3.11 needs 2.35, so
# the floor checks (doctor against provided.al2, the readelf scan) rightly fail on these zips.
# Delete this file once mk/cpython.mk is on main.
#
# The interface mk/dist.mk uses (mk/cpython.mk provides the same):
#   make cpython-3.X-x86_64          -> build/cpython/py3.X-x86_64/runtime/bin/python3.X runs here
#   make src-layer-py3.X-<arch>      -> layers/build/src-py3.X-<arch>/<arch>/{runtime,lib}/
#   $(call cpython_is_cached,V,A)    shell code that exits 0 when (V, A) is in the build cache
#                                    (mk/dist.mk: `layers/src/build.sh --lookup python3.V A`)
#   TEST_DIST_ALWAYS                 the versions `make test` builds even when not cached
#                                    (mk/dist.mk: mk/cpython.mk's SRC_TEST_PYVERS)

SRC_PYVERS := 3.9 3.11
TEST_DIST_ALWAYS := 3.11
cpython_is_cached = case "$(1)" in 3.9|3.11) true ;; *) false ;; esac

# 3.11: Debian's own; 3.9: bullseye's, from the wrapper layers/lib.sh's host_python made (a copy of
# the binary beside a lib/python3.9 link, so that it finds its stdlib under -I, as a real prefix does).
STUB_HOME = $(CURDIR)/$(LAYERS_OUT)/.cache/home-python3.9-$(HOST_ARCH)
STUB_WRAPPER = $(CURDIR)/$(LAYERS_OUT)/.cache/python3.9-$(HOST_ARCH)
define stub_python_3.11
	@ln -sfn /usr/bin/python3.11 $(1)/bin/python3.11
endef
define stub_python_3.9
	@cp -f "$$(sed -n "s/.* exec '\(.*\)' .*/\1/p" $(STUB_WRAPPER))" $(1)/bin/.python3.9
	@mkdir -p $(1)/lib && ln -sfn $(STUB_HOME)/lib/python3.9 $(1)/lib/python3.9
	@rm -f $(1)/bin/python3.9 && printf '#!/bin/sh\n%s exec %s "$$@"\n' "$$(grep -o "LD_LIBRARY_PATH='[^']*'" $(STUB_WRAPPER))" \
	  "$(CURDIR)/$(1)/bin/.python3.9" > $(1)/bin/python3.9 && chmod +x $(1)/bin/python3.9
endef

.PHONY: $(foreach v,$(SRC_PYVERS),cpython-$(v)-x86_64) \
        $(foreach v,$(SRC_PYVERS),$(foreach a,x86_64 arm64,src-layer-py$(v)-$(a)))
$(foreach v,$(SRC_PYVERS),cpython-$(v)-x86_64): cpython-%-x86_64: layer-py%-x86_64
	@echo "cpython-$*-x86_64: STUB (layers/stub/cpython-stub.mk): Debian's python$* stands in"
	@mkdir -p $(BUILD)/cpython/py$*-x86_64/runtime/bin
	$(call stub_python_$*,$(BUILD)/cpython/py$*-x86_64/runtime)
$(foreach v,$(SRC_PYVERS),$(foreach a,x86_64 arm64,src-layer-py$(v)-$(a))): src-layer-py%: layer-py%
	@echo "src-layer-py$*: STUB (layers/stub/cpython-stub.mk): Debian's layer stands in"
	@ln -sfn py$* $(LAYERS_OUT)/src-py$*
