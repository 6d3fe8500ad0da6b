# SPDX-License-Identifier: GPL-2.0-only
#
# make            build build/tracedump and the test targets
# make demo       install missing Debian packages, build, run the demo (README, first command)
# make check      install missing packages, build, run unit and integration tests
# make unit       cmocka unit tests only
# make vmlinux    regenerate vmlinux/<arch>/vmlinux.h from this kernel's BTF
# make bench      run every bench/ script
# V=1             show full commands

OUTPUT   ?= build
CLANG    ?= clang
CC       ?= gcc
BPFTOOL  ?= bpftool
PYTEST   ?= /usr/bin/python3 -m pytest

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test-deps bench-deps demo check unit integration vmlinux bench clean

# --- Tools and libraries: a missing one stops the build with its Debian package ------
# "command:package" and "pkg-config-name:package" pairs.
REQ_TOOLS := $(CLANG):clang $(BPFTOOL):bpftool pkg-config:pkg-config
REQ_LIBS  := libbpf:libbpf-dev libelf:libelf-dev jansson:libjansson-dev \
	libmicrohttpd:libmicrohttpd-dev gnutls:libgnutls28-dev libarchive:libarchive-dev \
	libzstd:libzstd-dev libdw:libdw-dev zlib:zlib1g-dev
ifeq ($(filter deps test-deps bench-deps clean vmlinux,$(MAKECMDGOALS)),)
$(foreach t,$(REQ_TOOLS),$(if $(shell command -v $(word 1,$(subst :, ,$(t))) 2>/dev/null),,\
	$(error missing tool '$(word 1,$(subst :, ,$(t)))': apt-get install $(word 2,$(subst :, ,$(t))) (or run 'make deps'))))
$(foreach l,$(REQ_LIBS),$(if $(shell pkg-config --exists $(word 1,$(subst :, ,$(l))) && echo y),,\
	$(error missing library '$(word 1,$(subst :, ,$(l)))': apt-get install $(word 2,$(subst :, ,$(l))) (or run 'make deps'))))
ifeq ($(wildcard $(VMLINUX)),)
$(error no $(VMLINUX) for architecture '$(ARCH)': run 'make vmlinux' on a kernel with BTF)
endif
endif

PKGS    := libbpf libelf jansson libmicrohttpd gnutls libarchive libzstd libdw zlib
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-D_GNU_SOURCE -I$(OUTPUT) -Iuserspace -Ibpf $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread -lm
# The multiarch include dir holds asm/errno.h, which libbpf's usdt.bpf.h needs.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -Ibpf \
	-idirafter /usr/include/$(shell $(CC) -dumpmachine) -Wall -Werror -Wno-unused-function

# --- Sources: every file is found by its place, so adding one needs no edit here -----
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# core_relay_main.c is the main() of tracedump-core-relay, not part of tracedump.
RELAY_MAIN := userspace/watch/core_relay_main.c
USER_SRCS := $(filter-out $(RELAY_MAIN),$(wildcard userspace/*.c userspace/*/*.c))
USER_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(USER_SRCS))
# Everything but main.o, for linking unit tests against the real code.
LIB_OBJS  := $(filter-out $(OUTPUT)/userspace/main.o,$(USER_OBJS))
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGETS   := $(patsubst tests/targets/%.c,$(OUTPUT)/tests/targets/%,$(TARGET_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS     := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(UNIT_SRCS))

all: $(OUTPUT)/tracedump $(OUTPUT)/tracedump-core-relay $(TARGETS)

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every userspace object may include any skeleton, so it waits for all of them.
$(OUTPUT)/userspace/%.o: userspace/%.c $(SKELS) $(wildcard userspace/*.h userspace/*/*.h bpf/*.h)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The explorer page goes into page.o by .incbin (userspace/serve/page.c).
$(OUTPUT)/userspace/serve/page.o: userspace/serve/page.html

$(OUTPUT)/tracedump: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The core_pattern helper of `watch --signal`, static and small: the kernel starts it
# at every crash while a watch runs, far faster than tracedump and its libraries.
RELAY_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(RELAY_MAIN) userspace/watch/core_relay.c \
	userspace/watch/core_pattern.c userspace/watch/core_route_state.c userspace/common/procfs.c)
$(OUTPUT)/tracedump-core-relay: $(RELAY_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ -o $@

# Test targets: small programs with known threads, stacks, globals and environment.
# -fno-omit-frame-pointer and no optimisation keep their stacks what the tests expect.
$(OUTPUT)/tests/targets/%: tests/targets/%.c | $(OUTPUT)/tests/targets
	$(call msg,TARGET,$@)
	$(Q)$(CC) -std=gnu11 -g -O0 -fno-omit-frame-pointer -Wall -D_GNU_SOURCE $< -o $@ -lpthread -lm

# The deadlock target without debug info (names from the symbol table only) and
# stripped (no names at all), for analyze and stack.
$(OUTPUT)/tests/targets/%-nodebug: tests/targets/%.c | $(OUTPUT)/tests/targets
	$(call msg,TARGET,$@)
	$(Q)$(CC) -std=gnu11 -O0 -fno-omit-frame-pointer -Wall -D_GNU_SOURCE $< -o $@ -lpthread -lm

$(OUTPUT)/tests/targets/%-stripped: $(OUTPUT)/tests/targets/%-nodebug
	$(call msg,STRIP,$@)
	$(Q)strip -s -o $@ $<

all: $(OUTPUT)/tests/targets/deadlock-nodebug $(OUTPUT)/tests/targets/deadlock-stripped

$(OUTPUT)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests/unit
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(CFLAGS) -Wno-unused-but-set-variable $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/bpf $(OUTPUT)/tests/targets $(OUTPUT)/tests/unit:
	$(Q)mkdir -p $@

deps:
	$(Q).ci/install-deps

test-deps:
	$(Q).ci/install-deps --test

bench-deps:
	$(Q).ci/install-deps --bench

# The README's first command: packages, build, and the main job on the demo target.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/demo.sh

unit: $(UNITS)
	$(Q)fail=0; for t in $(UNITS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: all
	$(Q)$(PYTEST) -q tests/integration

# The README's second command: the whole suite.
check: test-deps
	$(Q)$(MAKE) --no-print-directory all $(UNITS)
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

vmlinux:
	$(call msg,GEN,$(VMLINUX))
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "this kernel has no BTF (/sys/kernel/btf/vmlinux)" >&2; exit 1; }
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

bench: all bench-deps
	$(Q)for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

clean:
	$(Q)rm -rf $(OUTPUT)

# --- Bench helpers: bench/<name>/*.c -> build/bench/<name>/<prog>, built by 'make bench' --
BENCH_SRCS := $(wildcard bench/*/*.c)
BENCH_PROGS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))
bench: $(BENCH_PROGS)

$(OUTPUT)/bench/%: bench/%.c
	$(call msg,BENCH,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -D_GNU_SOURCE $< -o $@ -lpthread -lm

# C++ test targets (C++ exceptions for the __cxa_throw probe).
TARGET_CXX_SRCS := $(wildcard tests/targets/*.cc)
TARGETS_CXX := $(patsubst tests/targets/%.cc,$(OUTPUT)/tests/targets/%,$(TARGET_CXX_SRCS))
all: $(TARGETS_CXX)

$(OUTPUT)/tests/targets/%: tests/targets/%.cc | $(OUTPUT)/tests/targets
	$(call msg,TARGET,$@)
	$(Q)$(CXX) -std=gnu++17 -g -O0 -fno-omit-frame-pointer -Wall $< -o $@ -lpthread
