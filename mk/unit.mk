# C unit tests (cmocka), host arch only.
UNIT_TESTS := handler layer runtime_api loader crash
UNIT_DEPS_handler := src/handler.c
UNIT_DEPS_layer := src/layer.c
UNIT_DEPS_runtime_api := src/runtime_api.c src/invocation.c src/sockguard.c src/fdguard.c
UNIT_DEPS_loader := src/loader.c src/elf.c
UNIT_DEPS_crash := src/crash.c src/fdguard.c
UNIT_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Wno-format-truncation -iquote include $(EXTRA_CFLAGS)
UNIT_LIBS_runtime_api = $(shell pkg-config --libs libcurl)
UNIT_LIBS_loader := -ldl

.PHONY: test-unit
test-unit: $(foreach t,$(UNIT_TESTS),$(BUILD)/unit/test_$(t))
	@set -e; for t in $^; do echo "== $$t"; $(UNIT_RUNNER) $$t; done

$(BUILD)/unit/test_%: tests/unit/test_%.c $$(UNIT_DEPS_$$*) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	gcc $(UNIT_CFLAGS) -o $@ $< $(UNIT_DEPS_$*) -lcmocka $(UNIT_LIBS_$*) $(EXTRA_LDFLAGS)
