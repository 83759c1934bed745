# The bootstrap binary, per architecture: build/<arch>/bootstrap; ./bootstrap is the host's.
# (Variables from mk/toolchain.mk are used with "=": that fragment is read after this one.)
#
# Two toolchains (TOOLCHAIN=gcc|zig):
#   gcc  the development build (make, make run, the unit/ASan/valgrind/fuzz builds): Debian's
#        gcc, the host's (or the arm64 sysroot's) glibc; embeds bytecode for Debian's 3.11 only.
#   zig  the release build that dist ships (mk/dist.mk runs it as a sub-make, into
#        $(RELEASE_DIR)/<arch>: build/release, or build/release-image for make image): build/zig/bin/<arch>-cc at glibc 2.26 for both CPUs, with
#        libcurl and cJSON built by the same compiler (scripts/curl-static.sh, cjson-static.sh:
#        in the build cache), and the bytecode of every shipped Python, compiled by that
#        Python (BYTECODE_PYTHONS: the from-source interpreters, set by mk/dist.mk).
TOOLCHAIN ?= gcc
# The release builds' directory. make image's bootstrap embeds the bytecode of one Python, dist's
# that of every shipped one: each has a directory of its own, so neither relinks the other's.
RELEASE_DIR ?= $(BUILD)/release
ifeq ($(TOOLCHAIN),zig)
  OUT := $(RELEASE_DIR)/$(ARCH)
  # Zig's object cache of its own for this build directory (the global one keeps libc's stubs):
  # zig 0.17 keys a C object by its arguments and source path, not by the working directory, so a
  # shared cache hands out an object compiled elsewhere with the same arguments against other
  # headers found through a relative -I (seen with libffi's -I. and fficonfig.h).
  export ZIG_LOCAL_CACHE_DIR := $(CURDIR)/$(OUT)/zig-cache
endif

CC_x86_64 := gcc
CC_arm64  := aarch64-linux-gnu-gcc
SRCS := src/main.c src/serve.c src/invocation.c src/runtime_api.c src/extension.c src/python.c src/crash.c \
        src/workers.c src/fdguard.c src/sockguard.c src/layer.c src/loader.c src/handler.c src/elf.c \
        $(sort $(wildcard src/doctor*.c))
OBJS = $(patsubst src/%.c,$(OUT)/obj/%.o,$(SRCS)) $(OUT)/obj/embed.o $(OUT)/obj/bytecode.o

# The runtime's Python files: runtime.py and the modules it imports. Each is embedded as source
# (src/embed.S, one -D per file), and all of them precompiled by each Python in BYTECODE_PYTHONS
# into one blob for that Python (bytecode is the same on every CPU); python.c picks the blob
# whose magic number matches the loaded libpython, and compiles the embedded sources for any
# other Python (a few ms more at its cold starts). Their code carries the file name
# <bootstrap>/<file>.py (PYTHON_RUNTIME_DIR in include/python.h), which keys it in the blob.
RUNTIME_SOURCES := src/runtime.py src/runtime_json.py src/runtime_logging.py
RUNTIME_SOURCE_DEFS := -DRUNTIME_PY='"src/runtime.py"' -DRUNTIME_JSON_PY='"src/runtime_json.py"' \
                       -DRUNTIME_LOGGING_PY='"src/runtime_logging.py"'
RUNTIME_DIR := <bootstrap>/
BYTECODE_PYTHONS ?= /usr/bin/python3.11
BYTECODE_VERSIONS = $(sort $(foreach p,$(BYTECODE_PYTHONS),$(lastword $(subst /python, ,$(p)))))
BYTECODE_BINS = $(foreach v,$(BYTECODE_VERSIONS),$(OUT)/gen/runtime-$(v).bin)

# -Wno-format-truncation: messages are cut to their buffers on purpose; paths are
# checked where truncation would matter (layer.c).
CFLAGS_COMMON := -std=c11 -O2 -g -Wall -Wextra -Werror -Wno-format-truncation -iquote include \
                 -fvisibility=hidden -MMD -MP
ifeq ($(TOOLCHAIN),zig)
  # Python.h only declares (the limited API, everything through dlsym): Debian's 3.11 headers,
  # the arm64 sysroot's for arm64. Its pyconfig.h includes <TRIPLET/python3.11/pyconfig.h>,
  # reached through $(OUT)/include (below), which also has <zip.h>: the host's directories
  # themselves must stay off the path, their glibc headers are not the 2.26 ones Zig has.
  CC_$(ARCH) = $(ZIG_BIN)/$(ARCH)-cc
  PKG_CONFIG_ENV :=
  PY_INCLUDE_ROOT = $(if $(filter $(HOST_ARCH),$(ARCH)),,$(SYSROOT_$(ARCH)))/usr/include
  PY_CFLAGS = -I$(PY_INCLUDE_ROOT)/python3.11
  SYSROOT_FLAGS :=
else ifeq ($(ARCH),$(HOST_ARCH))
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
RELEASE_DEPS := $(BUILD)/release-deps
ifeq ($(TOOLCHAIN),zig)
  CURL_DEP = $(RELEASE_DEPS)/curl-$(ARCH).stamp
  CURL_CFLAGS = $(shell PKG_CONFIG_LIBDIR=$(RELEASE_DEPS)/curl-$(ARCH)/lib/pkgconfig pkg-config --cflags libcurl)
  CURL_LIBS = $(shell PKG_CONFIG_LIBDIR=$(RELEASE_DEPS)/curl-$(ARCH)/lib/pkgconfig pkg-config --static --libs libcurl)
else ifeq ($(CURL),static)
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
ifeq ($(TOOLCHAIN),zig)
  CJSON_STAMP_$(ARCH) := $(RELEASE_DEPS)/cjson-$(ARCH).stamp
  CJSON_PC_DIR := $(RELEASE_DEPS)/cjson-$(ARCH)/lib/pkgconfig
  CJSON_CFLAGS = $(shell PKG_CONFIG_LIBDIR=$(CJSON_PC_DIR) pkg-config --cflags libcjson)
  CJSON_LIBS = $(shell PKG_CONFIG_LIBDIR=$(CJSON_PC_DIR) pkg-config --libs libcjson)
else ifeq ($(CJSON),static)
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

$(BUILD)/cjson/%/.stamp: scripts/cjson-static.sh layers/src/fetch.sh layers/src/source.sh layers/src/sources.lock | $(BUILD)/.deps $(SYSROOT_STAMP_arm64)
	bash scripts/cjson-static.sh $*

# The zig builds: the scripts look their cache entry up (or build it) and link it here.
.PRECIOUS: $(RELEASE_DEPS)/curl-%.stamp $(RELEASE_DEPS)/cjson-%.stamp $(BUILD)/cjson/%/.stamp
$(RELEASE_DEPS)/curl-%.stamp: scripts/curl-static.sh layers/src/fetch.sh layers/src/source.sh layers/src/sources.lock scripts/cache.sh | $(ZIG_STAMP)
	bash scripts/curl-static.sh $* zig $(RELEASE_DEPS)/curl-$* >/dev/null
	@touch $@
$(RELEASE_DEPS)/cjson-%.stamp: scripts/cjson-static.sh layers/src/fetch.sh layers/src/source.sh layers/src/sources.lock scripts/cache.sh | $(ZIG_STAMP)
	bash scripts/cjson-static.sh $* zig $(RELEASE_DEPS)/cjson-$* >/dev/null
	@touch $@

BOOTSTRAP_CFLAGS = $(CFLAGS_COMMON) $(SYSROOT_FLAGS) $(PY_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(ZIP_CFLAGS) $(EXTRA_CFLAGS)
ifeq ($(TOOLCHAIN),zig)
  # Zig's linker takes no --dynamic-list: -rdynamic exports what has default visibility, which
  # is only dlopen (everything else is compiled -fvisibility=hidden, cJSON and libcurl too).
  # glibc 2.26 keeps dlopen/dlsym/dlinfo in libdl and threads in libpthread.
  BOOTSTRAP_LDFLAGS = -Wl,--as-needed,-z,now -rdynamic $(EXTRA_LDFLAGS)
  BOOTSTRAP_LIBS = $(CURL_LIBS) $(CJSON_LIBS) -ldl -lpthread
  # <zip.h> for --check's zip reader (libzip is dlopen()ed by --check only): the host's
  # declarations, the same on both CPUs; and pyconfig.h for this CPU.
  ZIP_CFLAGS = -isystem $(OUT)/include
  ZIP_DEP = $(OUT)/include/.stamp
else
  # The one exported symbol: dlopen, so every dlopen in the process goes through src/loader.c.
  BOOTSTRAP_LDFLAGS = $(SYSROOT_FLAGS) -Wl,-O1,--as-needed,-z,now,--dynamic-list=mk/bootstrap.dynlist $(EXTRA_LDFLAGS)
  BOOTSTRAP_LIBS = $(CURL_LIBS) $(CJSON_LIBS) -ldl
endif

.PHONY: bootstrap
bootstrap: $(OUT)/bootstrap
ifeq ($(ARCH)$(TOOLCHAIN),$(HOST_ARCH)gcc)
	@cmp -s $(OUT)/bootstrap ./bootstrap || { cp $(OUT)/bootstrap ./bootstrap.tmp && mv -f ./bootstrap.tmp ./bootstrap; }
endif

$(OUT)/bootstrap: $(OBJS) mk/bootstrap.dynlist
	$(CC_$(ARCH)) $(BOOTSTRAP_LDFLAGS) -o $@ $(OBJS) $(BOOTSTRAP_LIBS)

TRIPLET_x86_64 := x86_64-linux-gnu
TRIPLET_arm64  := aarch64-linux-gnu
$(OUT)/include/.stamp: mk/bootstrap.mk | $(DEPS_STAMP) $(SYSROOT_STAMP_$(ARCH))
	@mkdir -p $(@D)/$(TRIPLET_$(ARCH))
	ln -sfn /usr/include/zip.h /usr/include/zipconf.h $(@D)/
	ln -sfn $(abspath $(PY_INCLUDE_ROOT))/$(TRIPLET_$(ARCH))/python3.11 $(@D)/$(TRIPLET_$(ARCH))/python3.11
	@touch $@

$(OUT)/obj/%.o: src/%.c | $(DEPS_STAMP) $(CURL_DEP) $(CJSON_STAMP_$(ARCH)) $(SYSROOT_STAMP_$(ARCH)) $(ZIP_DEP)
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) $(BOOTSTRAP_CFLAGS) -c $< -o $@

$(OUT)/obj/embed.o: src/embed.S $(RUNTIME_SOURCES) mk/bootstrap.mk
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) -c $(RUNTIME_SOURCE_DEFS) $< -o $@

# (the interpreter is a prerequisite: a rebuilt Python recompiles its bytecode)
$(OUT)/gen/runtime-%.bin: $(RUNTIME_SOURCES) scripts/compile_runtime.py $$(firstword $$(filter %/python$$*,$$(BYTECODE_PYTHONS)))
	@mkdir -p $(dir $@)
	$(firstword $(filter %/python$*,$(BYTECODE_PYTHONS))) -I -S -X no_debug_ranges scripts/compile_runtime.py \
	  $@ '$(RUNTIME_DIR)' $(RUNTIME_SOURCES)

# Which Pythons this build embeds, rewritten only when the list changes (bytecode.S follows).
$(OUT)/gen/bytecode.list: FORCE_BYTECODE
	@mkdir -p $(@D)
	@echo '$(BYTECODE_PYTHONS)' | cmp -s - $@ || echo '$(BYTECODE_PYTHONS)' > $@
.PHONY: FORCE_BYTECODE

# A table of (pointer, length) pairs, ended by a null pointer: bootstrap_runtime_bytecode.
# Each blob gets a 64 KiB window of its own: only the one that fits the Python is read, and
# fault-around would otherwise map its neighbours too (~100 KB more RSS).
$(OUT)/gen/bytecode.S: $(BYTECODE_BINS) $(OUT)/gen/bytecode.list mk/bootstrap.mk
	@mkdir -p $(dir $@)
	@{ echo '    .section .rodata'; \
	  for v in $(BYTECODE_VERSIONS); do n=$$(echo $$v | tr . _); \
	    printf '    .balign 65536\nbytecode_%s:\n    .incbin "%s"\nbytecode_%s_end:\n' $$n $(OUT)/gen/runtime-$$v.bin $$n; done; \
	  echo '    .section .data.rel.ro, "aw"'; echo '    .balign 8'; echo '    .global bootstrap_runtime_bytecode'; \
	  echo '    .hidden bootstrap_runtime_bytecode'; echo 'bootstrap_runtime_bytecode:'; \
	  for v in $(BYTECODE_VERSIONS); do n=$$(echo $$v | tr . _); \
	    printf '    .quad bytecode_%s, bytecode_%s_end - bytecode_%s\n' $$n $$n $$n; done; \
	  echo '    .quad 0, 0'; echo '    .section .note.GNU-stack, "", %progbits'; } > $@

$(OUT)/obj/bytecode.o: $(OUT)/gen/bytecode.S
	@mkdir -p $(dir $@)
	$(CC_$(ARCH)) -c $< -o $@

-include $(OUT)/obj/*.d
