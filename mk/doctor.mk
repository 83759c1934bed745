# mk/doctor.mk: the layer doctor (`bootstrap --check`, issue 4).
#
#   make test-doctor   cmocka tests of the ELF reader + CLI tests on fixtures built here (~15 s)
#   make fuzz-elf      libFuzzer on the ELF reader for FUZZ_SECONDS (default 60) with a fresh seed corpus
#   make doctor-targets   regenerate data/targets/ from scripts/targets/sources/
#
# Until src/main.c routes `--check` to doctor_main, the tests drive a stand-in main
# (tests/doctor/check_main.c).  The runtime links src/elf.c src/doctor*.c with
# $(DOCTOR_LIBS); libzip is dlopen()ed by --check only, never linked.

DOCTOR_DIR     := $(BUILD)/doctor-test
DOCTOR_BIN     := $(DOCTOR_DIR)/bootstrap-check
# src/doctor.c (command line, report), doctor_tree.c (reading layers and zips), doctor_check.c
# (the checks), doctor_resolve.c (where DT_NEEDED resolves), doctor_explain.c (init-time
# explanation), doctor_util.c; one header each in include/.
DOCTOR_SRC     := src/elf.c $(sort $(wildcard src/doctor*.c))
DOCTOR_DEPS    := $(DOCTOR_SRC) include/elf.h $(wildcard include/doctor*.h) data/targets/targets.inc
DOCTOR_CFLAGS  := -std=c11 -O1 -g -Wall -Wextra -Werror -iquote include $(shell pkg-config --cflags libcjson 2>/dev/null)
DOCTOR_LIBS    := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -ldl
# The tests run the doctor under ASan/UBSan: hostile fixtures must not crash it.
DOCTOR_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
DOCTOR_TARGETS := data/targets/provided.al2.txt data/targets/provided.al2023.txt
FUZZ_SECONDS   ?= 60

.PHONY: doctor test-doctor fuzz-elf doctor-targets

doctor: $(DOCTOR_BIN)

$(DOCTOR_BIN): tests/doctor/check_main.c $(DOCTOR_DEPS)
	@mkdir -p $(@D)
	$(CC) $(DOCTOR_CFLAGS) $(DOCTOR_SAN) -o $@ tests/doctor/check_main.c $(DOCTOR_SRC) $(DOCTOR_LIBS)

$(DOCTOR_DIR)/test_elf: tests/doctor/test_elf.c src/elf.c include/elf.h
	@mkdir -p $(@D)
	$(CC) $(DOCTOR_CFLAGS) $(DOCTOR_SAN) -o $@ tests/doctor/test_elf.c src/elf.c -lcmocka

# The resolution's unit tests run on the fixtures (make-fixtures.sh), under the sanitizers.
$(DOCTOR_DIR)/test_resolve: tests/doctor/test_resolve.c $(DOCTOR_DEPS)
	@mkdir -p $(@D)
	$(CC) $(DOCTOR_CFLAGS) $(DOCTOR_SAN) -o $@ tests/doctor/test_resolve.c $(filter-out src/doctor.c,$(DOCTOR_SRC)) \
	  $(DOCTOR_LIBS) -lcmocka

test-doctor: $(DOCTOR_BIN) $(DOCTOR_DIR)/test_elf $(DOCTOR_DIR)/test_resolve
	scripts/targets/gen-inc.sh $(DOCTOR_TARGETS) | cmp -s - data/targets/targets.inc || \
	  { echo "data/targets/targets.inc is stale: run make doctor-targets" >&2; exit 1; }
	$(DOCTOR_DIR)/test_elf
	bash tests/doctor/make-fixtures.sh $(DOCTOR_DIR)/fixtures
	$(DOCTOR_DIR)/test_resolve $(DOCTOR_DIR)/fixtures
	DOCTOR_BIN=$(abspath $(DOCTOR_BIN)) DOCTOR_FIXTURES=$(abspath $(DOCTOR_DIR)/fixtures) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/doctor

doctor-targets:
	scripts/targets/gen-target-list.sh provided.al2 2.26 3.4.24 \
	  scripts/targets/sources/provided.al2.x86_64.txt > data/targets/provided.al2.txt
	scripts/targets/gen-target-list.sh provided.al2023 2.34 3.4.29 \
	  scripts/targets/sources/provided.al2023.packages.txt > data/targets/provided.al2023.txt
	scripts/targets/gen-inc.sh $(DOCTOR_TARGETS) > data/targets/targets.inc

$(DOCTOR_DIR)/fuzz_elf: tests/fuzz/fuzz_elf.c src/elf.c include/elf.h
	@mkdir -p $(@D)
	clang -std=c11 -g -O1 -Wall -Wextra -Werror -iquote include -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_elf.c src/elf.c

fuzz-elf: $(DOCTOR_DIR)/fuzz_elf $(DOCTOR_DIR)/test_elf
	bash tests/doctor/make-fixtures.sh $(DOCTOR_DIR)/fixtures
	rm -rf $(DOCTOR_DIR)/fuzz-corpus && mkdir -p $(DOCTOR_DIR)/fuzz-corpus
	$(DOCTOR_DIR)/test_elf --write-seeds $(DOCTOR_DIR)/fuzz-corpus
	find $(DOCTOR_DIR)/fixtures -type f -size -200k -exec sh -c \
	  'head -c 4 "$$1" | grep -q ELF && cp "$$1" "$(DOCTOR_DIR)/fuzz-corpus/fx-$$(echo "$$1" | md5sum | cut -c1-12)"' _ {} \;
	$(DOCTOR_DIR)/fuzz_elf -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -print_final_stats=1 $(DOCTOR_DIR)/fuzz-corpus
TEST_TARGETS += test-doctor
