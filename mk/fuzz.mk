# SPDX-License-Identifier: MIT
# libFuzzer targets: `make fuzz` builds build/fuzz/NAME from
# tests/fuzz/NAME.c and the library sources it tests (run them with
# tests/fuzz/run.sh).  Meant to be included by the top-level Makefile;
# until then: make -f Makefile -f mk/fuzz.mk fuzz.
#
# A target links the sources it tests directly rather than libshoal.a:
# libFuzzer needs clang's instrumentation in the code under test, and the
# library is built with $(CC) for the other builds.

BUILD ?= build
FUZZ_OUT := $(BUILD)/fuzz
# Debian's clang package provides `clang`; clang-14 alone provides only
# the versioned name.
FUZZ_CC ?= $(or $(firstword $(shell command -v clang clang-14 2>/dev/null)),clang)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer \
	-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -I. -Ilib

# One line per target: the library sources it needs.
FUZZ_tlv_SRCS := lib/tlv.c

FUZZ_TARGETS := tlv

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_OUT)/%)

$(FUZZ_OUT)/tlv: tests/fuzz/tlv.c $(FUZZ_tlv_SRCS) lib/tlv.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/tlv.c $(FUZZ_tlv_SRCS)
