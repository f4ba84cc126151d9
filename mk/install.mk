# `make install` and `make uninstall`, included by the top-level Makefile.
#
#   make && sudo make install                  # into /usr/local
#   make install DESTDIR=/tmp/pkg PREFIX=/usr  # staged, for a package
#
# Installs the programs that `make userspace` builds, the man pages, the
# systemd units, the sysusers.d file of the user and group shoal and the
# bash completion under $(PREFIX), and the module's sources for DKMS under
# /usr/src (DKMS looks nowhere else).  Only a real install (DESTDIR empty)
# touches the running system: it creates the user and group shoal, has
# DKMS build and install shoal.ko, and reloads systemd.  `make uninstall`
# removes every file install put there.

# This file only adds targets: whichever goal was the default before it
# (`all`) stays so, wherever it is included.
shoal_saved_default_goal := $(.DEFAULT_GOAL)

VERSION ?= $(shell cat VERSION)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# Both are in systemd's search paths for /usr and /usr/local alike.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Not under $(PREFIX): dkms(8) takes sources from /usr/src/NAME-VERSION only.
DKMSSRCDIR = /usr/src/shoal-$(VERSION)
# 1: run dkms add/build/install (uninstall: dkms remove) if dkms is there.
# Never for a staged install, which must not touch this machine's modules.
SHOAL_DKMS ?= $(if $(DESTDIR),0,1)

# Recursive (=), so that $(OUT) is the Makefile's even if this file is
# included before it is set: the directory `make userspace` builds into.
SHOAL_BUILT = $(OUT)/bin
SHOAL_MAN8 = shoal.8 shoald.8 shoal-mediator.8 shoal-relay.8
SHOAL_MAN5 = shoald.conf.5
SHOAL_UNITS = shoald@.service shoal-mediator.service
# What the module is built from, as `make kmod` mirrors it, and dkms.conf.
SHOAL_DKMS_SRCS = Kbuild VERSION dkms.conf $(wildcard kmod/*.c kmod/*.h) \
	uapi/linux/shoal.h

# Whether a real install should talk to systemd: it runs (sd_booted(3)).
SHOAL_SYSTEMD_RUNNING = test -z "$(DESTDIR)" && test -d /run/systemd/system

.PHONY: install uninstall install-programs install-man install-systemd \
	install-sysusers install-completion install-dkms

install: install-programs install-man install-systemd install-sysusers \
	install-completion install-dkms

# install -D makes the directories on the way, 0755.
install-programs: userspace
	@echo "  INSTALL $(DESTDIR)$(BINDIR)/shoal"
	@install -D -m 0755 $(SHOAL_BUILT)/shoal $(DESTDIR)$(BINDIR)/shoal
	@for p in shoald shoal-mediator shoal-relay; do \
		echo "  INSTALL $(DESTDIR)$(SBINDIR)/$$p"; \
		install -D -m 0755 $(SHOAL_BUILT)/$$p $(DESTDIR)$(SBINDIR)/$$p || exit; \
	done

install-man:
	@for m in $(SHOAL_MAN8) $(SHOAL_MAN5); do \
		d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
		echo "  INSTALL $$d/$$m"; \
		install -D -m 0644 man/$$m $$d/$$m || exit; \
	done

# The units name the programs by where they are installed: sed fills in
# @SBINDIR@.  A running systemd rereads its units so that the new ones
# can be started at once.
install-systemd:
	@install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	@for u in $(SHOAL_UNITS); do \
		echo "  INSTALL $(DESTDIR)$(SYSTEMDUNITDIR)/$$u"; \
		sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit; \
	done
	@if $(SHOAL_SYSTEMD_RUNNING); then \
		echo "  RELOAD  systemctl daemon-reload"; \
		systemctl daemon-reload || true; \
	fi

# shoald@.service runs as the system user shoal, whose primary group shoal
# owns shoald's control sockets.  systemd-sysusers creates both at boot
# from the file; a real install creates them now, so that the unit can
# start before the next boot.  A group shoal from an older install
# becomes the user's.
install-sysusers:
	@echo "  INSTALL $(DESTDIR)$(SYSUSERSDIR)/shoal.conf"
	@install -D -m 0644 systemd/shoal.sysusers $(DESTDIR)$(SYSUSERSDIR)/shoal.conf
	@if [ -z "$(DESTDIR)" ] && ! getent passwd shoal >/dev/null; then \
		if command -v systemd-sysusers >/dev/null; then \
			echo "  USER    shoal, group shoal (systemd-sysusers)"; \
			systemd-sysusers $(SYSUSERSDIR)/shoal.conf; \
		else \
			echo "  USER    shoal, group shoal (useradd --system)"; \
			getent group shoal >/dev/null || groupadd --system shoal; \
			useradd --system --gid shoal --home-dir / --no-create-home \
				--shell /usr/sbin/nologin --comment "shoal VPN daemon" shoal; \
		fi; \
	fi

# bash-completion loads completions/NAME when NAME is first completed:
# shoald's completion is in the same file, found through a link.
install-completion:
	@echo "  INSTALL $(DESTDIR)$(BASHCOMPDIR)/shoal"
	@install -D -m 0644 completion/shoal.bash $(DESTDIR)$(BASHCOMPDIR)/shoal
	@echo "  LINK    $(DESTDIR)$(BASHCOMPDIR)/shoald -> shoal"
	@ln -sf shoal $(DESTDIR)$(BASHCOMPDIR)/shoald

# The module's sources where DKMS wants them; then, on a real install,
# DKMS builds shoal.ko for the running kernel (and, with AUTOINSTALL, for
# every kernel installed later).  A kernel without headers is not an
# error: the rest of shoal works without the module (the TAP datapath).  A version added before is removed first,
# so that reinstalling rebuilds from the new sources.
install-dkms:
	@for f in $(SHOAL_DKMS_SRCS); do \
		install -D -m 0644 $$f $(DESTDIR)$(DKMSSRCDIR)/$$f || exit; \
	done
	@echo "  INSTALL $(DESTDIR)$(DKMSSRCDIR)/ ($(words $(SHOAL_DKMS_SRCS)) files)"
	@if [ "$(SHOAL_DKMS)" = 1 ] && command -v dkms >/dev/null; then \
		if [ -n "$$(dkms status shoal/$(VERSION) 2>/dev/null)" ]; then \
			echo "  DKMS    remove shoal/$(VERSION) --all"; \
			dkms remove shoal/$(VERSION) --all >/dev/null || exit; \
		fi; \
		echo "  DKMS    add shoal/$(VERSION)"; \
		dkms add shoal/$(VERSION) || exit; \
		for step in build install; do \
			echo "  DKMS    $$step shoal/$(VERSION)"; \
			dkms $$step shoal/$(VERSION) >/dev/null 2>&1 || { \
				echo "make install: warning: dkms could not $$step shoal.ko for $$(uname -r) (are its headers installed?)." >&2; \
				echo "  DKMS will build it for kernels installed with headers; until then shoald runs on the TAP datapath." >&2; \
				break; }; \
		done; \
	elif [ "$(SHOAL_DKMS)" = 1 ]; then \
		echo "  (no dkms: build shoal.ko from $(DKMSSRCDIR) yourself, or install dkms and run make install again)"; \
	fi

# Everything install put there, and the directories that are shoal's own
# (/usr/src/shoal-VERSION); shared ones such as man5 stay, empty or not.
# On a real uninstall the user shoal goes, and the group shoal too unless
# a user is still in it (then it is theirs as much as ours).  What the
# user owned (/var/lib/shoal: keys) stays, as data does.
uninstall:
	@if [ "$(SHOAL_DKMS)" = 1 ] && command -v dkms >/dev/null && \
	    [ -n "$$(dkms status shoal/$(VERSION) 2>/dev/null)" ]; then \
		echo "  DKMS    remove shoal/$(VERSION) --all"; \
		dkms remove shoal/$(VERSION) --all || exit; \
	fi
	@echo "  RM      $(DESTDIR)$(DKMSSRCDIR)"
	@rm -rf $(DESTDIR)$(DKMSSRCDIR)
	@for f in $(BINDIR)/shoal $(SBINDIR)/shoald $(SBINDIR)/shoal-mediator \
		$(SBINDIR)/shoal-relay \
		$(addprefix $(MANDIR)/man8/,$(SHOAL_MAN8)) \
		$(addprefix $(MANDIR)/man5/,$(SHOAL_MAN5)) \
		$(addprefix $(SYSTEMDUNITDIR)/,$(SHOAL_UNITS)) \
		$(SYSUSERSDIR)/shoal.conf $(BASHCOMPDIR)/shoal $(BASHCOMPDIR)/shoald; do \
		if [ -e $(DESTDIR)$$f ] || [ -L $(DESTDIR)$$f ]; then \
			echo "  RM      $(DESTDIR)$$f"; \
			rm -f $(DESTDIR)$$f || exit; \
		fi; \
	done
	@if $(SHOAL_SYSTEMD_RUNNING); then \
		echo "  RELOAD  systemctl daemon-reload"; \
		systemctl daemon-reload || true; \
	fi
	@if [ -z "$(DESTDIR)" ] && getent passwd shoal >/dev/null; then \
		echo "  USER    shoal removed"; \
		userdel shoal || echo "make uninstall: warning: cannot remove the user shoal (is shoald still running?)" >&2; \
	fi
	@if [ -z "$(DESTDIR)" ] && getent group shoal >/dev/null; then \
		if [ -z "$$(getent group shoal | cut -d: -f4)" ]; then \
			echo "  GROUP   shoal removed"; groupdel shoal || exit; \
		else \
			echo "  GROUP   shoal kept: it has members"; \
		fi; \
	fi

.DEFAULT_GOAL := $(shoal_saved_default_goal)
