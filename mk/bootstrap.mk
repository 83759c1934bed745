# The bootstrap binary, per architecture: build/<arch>/bootstrap; ./bootstrap is the host's.
# (Variables from mk/toolchain.mk are used with "=": that fragment is read after this one.)

CC_x86_64 := gcc
CC_arm64  := aarch64-linux-gnu-gcc
SRCS := src/main.c src/serve.c src/invocation.c src/runtime_api.c src/extension.c src/python.c src/crash.c \
        src/workers.c src/fdguard.c src/sockguard.c src/layer.c src/loader.c src/handler.c src/elf.c \
        $(sort $(wildcard src/doctor*.c))
OBJS = $(patsubst src/%.c,$(OUT)/obj/%.o,$(SRCS)) $(OUT)/obj/embed.o $(OUT)/obj/bytecode.o

# src/runtime.py precompiled by every Python 3.9+ this machine has (bytecode is the same on
# every CPU); python.c picks the one whose magic number matches the loaded libpython.
RUNTIME_FILENAME := <bootstrap>/runtime.py
BYTECODE_PYTHONS := /usr/bin/python3.11 $(sort $(wildcard $(PYENV_ROOT)/versions/3.9.*/bin/python3.9 \
  $(PYENV_ROOT)/versions/3.1[0-9].*/bin/python3.1[0-9]))
BYTECODE_VERSIONS := $(sort $(foreach p,$(BYTECODE_PYTHONS),$(lastword $(subst /python, ,$(p)))))
BYTECODE_BINS := $(foreach v,$(BYTECODE_VERSIONS),$(BUILD)/gen/runtime-$(v).bin)

# -Wno-format-truncation: messages are cut to their buffers on purpose; paths are
# checked where truncation would matter (layer.c).
CFLAGS_COMMON := -std=c11 -O2 -g -Wall -Wextra -Werror -Wno-format-truncation -iquote include \
                 -fvisibility=hidden -MMD -MP
ifeq ($(ARCH),$(HOST_ARCH))
  PKG_CONFIG_ENV :=
  PY_CFLAGS := $(shell $(PYTHON_CONFIG) --includes)
  SYSROOT_FLAGS :=
else
  SYSROOT = $(SYSROOT_$(ARCH))
  PKG_CONFIG_ENV = PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/aarch64-linux-gnu/pkgconfig:$(SYSROOT)/usr/share/pkgconfig
  PY_CFLAGS = -I$(SYSROOT)/usr/include/python3.11 -I$(SYSROOT)/usr/include/aarch64-linux-gnu/python3.11
  SYSROOT_FLAGS = --sysroot=$(SYSROOT)
endif

# libcurl: by default the static HTTP-only build from Debian's source package (mk/toolchain.mk);
# Debian's shared libcurl pulls in ~30 libraries that cost ~8 ms at every start.
# CURL=system links Debian's shared libcurl instead.
CURL ?= static
ifeq ($(CURL),static)
  CURL_DEP = $(CURL_STAMP_$(ARCH))
  CURL_CFLAGS = $(shell PKG_CONFIG_LIBDIR=$(CURL_PKG_CONFIG_PATH_$(ARCH)) pkg-config --cflags libcurl)
  CURL_LIBS = $(shell PKG_CONFIG_LIBDIR=$(CURL_PKG_CONFIG_PATH_$(ARCH)) pkg-config --static --libs libcurl)
else
  CURL_DEP :=
  CURL_CFLAGS = $(shell $(PKG_CONFIG_ENV) pkg-config --cflags libcurl)
  CURL_LIBS = $(shell $(PKG_CONFIG_ENV) pkg-config --libs libcurl)
endif
# cJSON: static, built from Debian's source package (Lambda's images have no libcjson).
# CJSON=system links Debian's shared libcjson instead (the run-only build of make run).
CJSON ?= static
ifeq ($(CJSON),static)
  CJSON_STAMP_$(ARCH) := $(BUILD)/cjson/$(ARCH)/.stamp
  CJSON_PC_DIR := $(BUILD)/cjson/$(ARCH)/lib/pkgconfig
  CJSON_CFLAGS = $(shell PKG_CONFIG_LIBDIR=$(CJSON_PC_DIR) pkg-config --cflags libcjson)
  CJSON_LIBS = $(shell PKG_CONFIG_LIBDIR=$(CJSON_PC_DIR) pkg-config --libs libcjson)
else
  CJSON_STAMP_$(ARCH) :=
  CJSON_CFLAGS = $(shell $(PKG_CONFIG_ENV) pkg-config --cflags libcjson)
  CJSON_LIBS = $(shell $(PKG_CONFIG_ENV) pkg-config --libs libcjson)
endif
# What the objects wait for: every package of scripts/packages/ (make run: only run.txt's).
DEPS_STAMP ?= $(BUILD)/.deps

$(BUILD)/cjson/%/.stamp: scripts/cjson-static.sh scripts/debian-source.sh | $(BUILD)/.deps $(SYSROOT_STAMP_arm64)
	bash scripts/cjson-static.sh $*

BOOTSTRAP_CFLAGS = $(CFLAGS_COMMON) $(SYSROOT_FLAGS) $(PY_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(EXTRA_CFLAGS)
# The one exported symbol: dlopen, so every dlopen in the process goes through src/loader.c.
BOOTSTRAP_LDFLAGS = $(SYSROOT_FLAGS) -Wl,-O1,--as-needed,-z,now,--dynamic-list=mk/bootstrap.dynlist $(EXTRA_LDFLAGS)
BOOTSTRAP_LIBS = $(CURL_LIBS) $(CJSON_LIBS) -ldl

.PHONY: bootstrap
bootstrap: $(OUT)/bootstrap
ifeq ($(ARCH),$(HOST_ARCH))
	@cmp -s $(OUT)/bootstrap ./bootstrap || { cp $(OUT)/bootstrap ./bootstrap.tmp && mv -f ./bootstrap.tmp ./bootstrap; }
endif

$(OUT)/bootstrap: $(OBJS) mk/bootstrap.dynlist
	$(CC_$(ARCH)) $(BOOTSTRAP_LDFLAGS) -o $@ $(OBJS) $(BOOTSTRAP_LIBS)

$(OUT)/obj/%.o: src/%.c | $(DEPS_STAMP) $(CURL_DEP) $(CJSON_STAMP_$(ARCH)) $(SYSROOT_STAMP_$(ARCH))
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) $(BOOTSTRAP_CFLAGS) -c $< -o $@

$(OUT)/obj/embed.o: src/embed.S src/runtime.py
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) -c -DRUNTIME_PY='"src/runtime.py"' $< -o $@

$(BUILD)/gen/runtime-%.bin: src/runtime.py scripts/compile_runtime.py
	@mkdir -p $(dir $@)
	$(firstword $(filter %/python$*,$(BYTECODE_PYTHONS))) -I -S -X no_debug_ranges scripts/compile_runtime.py src/runtime.py '$(RUNTIME_FILENAME)' $@

# A table of (pointer, length) pairs, ended by a null pointer: bootstrap_runtime_bytecode.
# Each blob gets a 64 KiB window of its own: only the one that fits the Python is read, and
# fault-around would otherwise map its neighbours too (~100 KB more RSS).
$(BUILD)/gen/bytecode.S: $(BYTECODE_BINS) mk/bootstrap.mk
	@mkdir -p $(dir $@)
	@{ echo '    .section .rodata'; \
	  for v in $(BYTECODE_VERSIONS); do n=$$(echo $$v | tr . _); \
	    printf '    .balign 65536\nbytecode_%s:\n    .incbin "%s"\nbytecode_%s_end:\n' $$n $(BUILD)/gen/runtime-$$v.bin $$n; done; \
	  echo '    .section .data.rel.ro, "aw"'; echo '    .balign 8'; echo '    .global bootstrap_runtime_bytecode'; echo 'bootstrap_runtime_bytecode:'; \
	  for v in $(BYTECODE_VERSIONS); do n=$$(echo $$v | tr . _); \
	    printf '    .quad bytecode_%s, bytecode_%s_end - bytecode_%s\n' $$n $$n $$n; done; \
	  echo '    .quad 0, 0'; echo '    .section .note.GNU-stack, "", %progbits'; } > $@

$(OUT)/obj/bytecode.o: $(BUILD)/gen/bytecode.S
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) -c $< -o $@

-include $(OUT)/obj/*.d
