# SPDX-License-Identifier: MIT
# libFuzzer targets: `make fuzz` builds build/fuzz/NAME from
# tests/fuzz/NAME.c and the sources it tests, for every NAME in
# FUZZ_TARGETS (run them with tests/fuzz/run.sh; their seed corpora are
# tests/fuzz/corpus/NAME/, made by tests/fuzz/mkcorpus.py).  Meant to be
# included by the top-level Makefile; until then: make -f Makefile -f
# mk/fuzz.mk fuzz.
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
	-Wmissing-prototypes -Wstrict-prototypes -I. -Ilib -Icli -Itests/fuzz
FUZZ_SODIUM := $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)

# One line per target: the sources it needs and the libraries they use.
FUZZ_tlv_SRCS := lib/tlv.c
FUZZ_ctlmsg_SRCS := lib/ctlmsg.c lib/noise.c
FUZZ_ctlmsg_LIBS := $(FUZZ_SODIUM)
FUZZ_medmsg_SRCS := lib/medmsg.c lib/tlv.c
# A cluster's INSTANCE nest (shoald's failover reads it).
FUZZ_instance_SRCS := lib/medmsg.c lib/tlv.c
FUZZ_channel_SRCS := lib/channel.c lib/noise.c
FUZZ_channel_LIBS := $(FUZZ_SODIUM)
FUZZ_config_SRCS := lib/config.c lib/key.c lib/base64.c lib/mac.c \
	lib/hex.c lib/endpoint.c lib/portlist.c
FUZZ_config_LIBS := $(FUZZ_SODIUM)
FUZZ_jsonread_SRCS := cli/jsonread.c lib/json.c lib/utf8.c
# The CLI's renderers of shoald's answers, on what the reader takes.
FUZZ_render_SRCS := cli/render.c cli/jsonread.c lib/print.c lib/utf8.c \
	lib/json.c cli/render_lanbcast.c
FUZZ_srcguard_SRCS := lib/srcguard.c $(FUZZ_config_SRCS)
FUZZ_srcguard_LIBS := $(FUZZ_SODIUM)
FUZZ_vnet_SRCS := lib/vnet.c
FUZZ_gro_SRCS := lib/vnet.c
FUZZ_device_SRCS := lib/device.c lib/endpoint.c
FUZZ_tcpframe_SRCS := lib/tcpframe.c
FUZZ_device_LIBS := $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl)
# shoald's mediator client with the session code it drives; the
# datapath and lib/link.c's rtnetlink calls are models in the target
# (they need privileges), cli/jsonread.c reads the answers back.
# lib/util.c (shoal_mkdir_p) wants libnl's version header.
FUZZ_mclient_SRCS := $(wildcard daemon/mclient*.c) daemon/session.c daemon/birthday.c daemon/stamps.c \
	daemon/ratelimit.c daemon/datapath.c lib/channel.c lib/noise.c \
	lib/tlv.c lib/medmsg.c lib/ctlmsg.c lib/endpoint.c lib/config.c \
	lib/key.c lib/base64.c lib/hex.c lib/json.c lib/mac.c lib/util.c \
	lib/utf8.c cli/jsonread.c lib/tcpframe.c lib/portlist.c
FUZZ_mclient_SRCS += daemon/chat.c lib/chatmsg.c daemon/dns.c lib/dnsmsg.c
FUZZ_mclient_CFLAGS := $(shell pkg-config --cflags libnl-3.0 2>/dev/null) \
	-DSHOAL_VERSION='"$(VERSION)"'
FUZZ_mclient_LIBS := $(FUZZ_SODIUM)

FUZZ_pcp_SRCS := lib/pcp.c

# The RELAY_SIDE nest that the mediator and shoal-relay read of each other.
FUZZ_relayside_SRCS := mediator/relay_core.c mediator/dgram.c lib/tlv.c \
	lib/medmsg.c lib/ctlmsg.c lib/noise.c
FUZZ_relayside_LIBS := $(FUZZ_SODIUM)

# The request of a scrape and the text format's escaping (--metrics).
FUZZ_metrics_http_SRCS := lib/metrics.c

# Chat between peers: its packets' header, sealing and plaintext.
FUZZ_chatmsg_SRCS := lib/chatmsg.c lib/utf8.c
FUZZ_chatmsg_LIBS := $(FUZZ_SODIUM)

# The cluster's bus messages, which a mediator reads from the database.
FUZZ_clusterbus_SRCS := mediator/clusterbus.c mediator/dgram.c lib/tlv.c \
	lib/medmsg.c lib/base64.c
FUZZ_clusterbus_LIBS := $(FUZZ_SODIUM)

# LanBroadcastPorts and `shoal lan-broadcast --ports` (shoald's request).
FUZZ_portlist_SRCS := lib/portlist.c

# shoald's DNS responder: queries from anyone who can reach the device.
FUZZ_dnsmsg_SRCS := lib/dnsmsg.c

FUZZ_TARGETS := tlv ctlmsg medmsg config jsonread render channel mclient \
	srcguard vnet gro device pcp tcpframe relayside metrics_http clusterbus \
	instance portlist chatmsg dnsmsg

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_OUT)/%)

# Every header a target or its sources may include.
FUZZ_HDRS = $(wildcard lib/*.h cli/*.h daemon/*.h mediator/*.h tests/fuzz/*.h)

define fuzz_target
$(FUZZ_OUT)/$(1): tests/fuzz/$(1).c $$(FUZZ_$(1)_SRCS) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_$(1)_CFLAGS) -o $$@ tests/fuzz/$(1).c \
		$$(FUZZ_$(1)_SRCS) $$(FUZZ_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))
