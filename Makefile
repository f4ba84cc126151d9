# shoal: top-level build.  `make` builds the userspace programs into
# build/bin/ and shoal.ko for every kernel the VM harness knows, each kernel
# in its own tree under build/kmod/KVER/.  See README.md.

VERSION := $(shell cat VERSION)
BUILD ?= build
SERIES ?= $(shell scripts/kernels)
# SAN=1: ASan+UBSan build into build/san/ (what the tests run).
ifeq ($(SAN),1)
OUT := $(BUILD)/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
else
OUT := $(BUILD)
SANFLAGS :=
OPT := -O2 -g
endif

PKGS := libsodium libmnl libnl-genl-3.0 sqlite3 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
CFLAGS ?= $(OPT)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -MMD -MP -pthread $(SANFLAGS) \
	-I. -Ilib -DSHOAL_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
override LDFLAGS += -pthread $(SANFLAGS)
LDLIBS := $(PKG_LIBS)
# shoald's port mapping (daemon/portmap.c): UPnP IGD and NAT-PMP.
# libnatpmp has no pkg-config file.
PORTMAP_LIBS := $(or $(shell pkg-config --libs miniupnpc 2>/dev/null),-lminiupnpc) -lnatpmp
# Its LAN broadcasts (daemon/lanbcast.c) go in through libnftables.
NFT_LIBS := $(or $(shell pkg-config --libs libnftables 2>/dev/null),-lnftables)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/obj/%.o)
PROGS := $(OUT)/bin/shoal $(OUT)/bin/shoald $(OUT)/bin/shoal-mediator \
	$(OUT)/bin/shoal-relay
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=$(OUT)/tests/%)
# The programs of the suites: tests/kernel/ (shoal.ko's), tests/system/
# (the programs' and the install's) and tests/common/ (what both use).
KTEST_DIRS := kernel system common
KTEST_SRCS := $(foreach d,$(KTEST_DIRS),$(wildcard tests/$(d)/*.c))
KTEST_PROGS := $(addprefix $(OUT)/tests/,$(notdir $(KTEST_SRCS:.c=)))
HARNESS := $(BUILD)/kernel/include/kselftest_harness.h

.PHONY: all userspace kmod kmods tests tools check demo deps clean kcheck

all: userspace kmods

userspace: $(PROGS)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/lib/libshoal.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(OUT)/bin/shoal: $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard cli/*.c)) $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/bin/shoald: $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard daemon/*.c)) $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PORTMAP_LIBS) $(NFT_LIBS) $(LDLIBS)

# The cluster's connection to PostgreSQL (mediator/cluster.c) is libpq.
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null)
PQ_LIBS := $(or $(shell pkg-config --libs libpq 2>/dev/null),-lpq)
$(OUT)/obj/mediator/cluster.o: override CFLAGS += $(PQ_CFLAGS)
$(OUT)/bin/shoal-mediator: $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard mediator/*.c)) $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PQ_LIBS) $(LDLIBS)

# shoal-relay runs the mediator's relay ports (relay_core.c) on its own.
RELAY_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard relay/*.c) \
	mediator/relay_core.c mediator/dgram.c mediator/cmdline.c)
$(OUT)/bin/shoal-relay: $(RELAY_OBJS) $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The kernel's test harness headers and checkpatch, taken from Debian's
# linux-source package at build time (never committed).
$(HARNESS):
	scripts/kernel-tools $(BUILD)/kernel

$(OUT)/obj/tests/%.o: tests/%.c $(HARNESS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/kernel/include -Wno-unused-parameter -Wno-missing-prototypes -c -o $@ $<

# Objects first: the library after everything that needs it.
$(OUT)/tests/%: $(OUT)/obj/tests/unit/%.o $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

$(OUT)/tests/%: $(OUT)/obj/tests/kernel/%.o $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/tests/%: $(OUT)/obj/tests/system/%.o $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/tests/%: $(OUT)/obj/tests/common/%.o $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test of shoald's own code links the object it tests.
$(OUT)/tests/ratelimit: $(OUT)/obj/daemon/ratelimit.o
$(OUT)/tests/crypt_pool: $(OUT)/obj/daemon/crypt_pool.o
# and one of the mediator's, the mediator's.
$(OUT)/tests/mstore: $(OUT)/obj/mediator/mstore.o $(OUT)/obj/mediator/mschema.o \
	$(OUT)/obj/mediator/db.o $(OUT)/obj/mediator/db_sqlite.o \
	$(OUT)/obj/mediator/db_pg.o
$(OUT)/tests/dburl: $(OUT)/obj/mediator/db.o $(OUT)/obj/mediator/db_sqlite.o \
	$(OUT)/obj/mediator/db_pg.o
$(OUT)/tests/relay_side: $(OUT)/obj/mediator/relay_core.o \
	$(OUT)/obj/mediator/dgram.o
$(OUT)/tests/clusterbus: $(OUT)/obj/mediator/clusterbus.o \
	$(OUT)/obj/mediator/dgram.o
# kmod/sa.c's replay window and ESN code, compiled in userspace against a
# shim of the kernel's headers.
$(OUT)/obj/tests/unit/replay.o: override CFLAGS += -Itests/unit/kshim

tests: $(UNIT_TESTS) $(KTEST_PROGS)

# The mediator's load generator (scripts/bench mediator).
tools: $(OUT)/tools/medload

$(OUT)/tools/medload: $(OUT)/obj/tools/medload.o $(OUT)/lib/libshoal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# One module tree per kernel: the sources are mirrored as symlinks into
# build/kmod/KVER so that object files of two kernels never mix.
# KDIR: the kernel's build tree (the debug kernel's is in scripts/vm's cache).
KDIR ?= /lib/modules/$(KVER)/build
KMOD_SRCS := Kbuild VERSION $(wildcard kmod/*.c kmod/*.h) uapi/linux/shoal.h
kmod:
	@test -n "$(KVER)" || { echo "make kmod: set KVER=<uname -r of the target kernel>" >&2; exit 2; }
	@test -d $(KDIR) || { echo "make kmod: no headers for $(KVER) in $(KDIR) (run scripts/deps)" >&2; exit 2; }
	@d=$(BUILD)/kmod/$(KVER); mkdir -p $$d; \
	find $$d -type l -delete; \
	for f in $(KMOD_SRCS); do mkdir -p $$d/$$(dirname $$f); ln -s $(CURDIR)/$$f $$d/$$f; done
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(BUILD)/kmod/$(KVER) W=1 modules

kmods:
	@for s in $(SERIES); do $(MAKE) --no-print-directory kmod KVER=$$(scripts/kernels $$s) || exit; done

# checkpatch --strict, sparse and W=1 on every kernel; prints KTAP.
kcheck: $(HARNESS)
	tests/kcheck.sh

deps:
	scripts/deps

check:
	scripts/check

demo:
	scripts/demo

clean:
	rm -rf $(BUILD)

# make install / uninstall (DESTDIR, PREFIX), make deb (Debian packages
# into build/deb/) and make fuzz; after `all` so that it stays the default
# goal.
include mk/install.mk
include mk/deb.mk
include mk/fuzz.mk

# Not build/deb/: make deb's copy of the tree has directories named *.d
# and a build/ of its own, whose rules name this tree's objects.
-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -type f -name '*.d' -print 2>/dev/null)
