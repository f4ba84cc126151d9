# `make deb`: Debian packages of shoal (debian/), included by the top-level
# Makefile.
#
#   make deb      # build/deb/: .deb, .dsc, .changes ...; then lintian
#   make check-packages   # tests/system/packages.sh
#
# dpkg-buildpackage writes into the parent of the tree it builds and
# debian/rules into the tree itself, so neither runs here: the tracked
# files, as the working tree has them (uncommitted changes included; a new
# file is packaged once `git add` tracks it, so that a key made in the tree
# never lands in a source package), are copied into build/deb/src/shoal-VERSION
# and built there, and the results moved to build/deb/.  The package is
# 3.0 (quilt) (a native one could not have the Debian revision -1): its
# upstream tarball is made from the same copy, without debian/.  lintian
# runs on the .changes after; what it says is printed, and does not fail
# the target.

# This file only adds targets: whichever goal was the default before it
# (`all`) stays so, wherever it is included.
shoal_deb_saved_default_goal := $(.DEFAULT_GOAL)

DEB_OUT = $(BUILD)/deb
DEB_SRC = $(DEB_OUT)/src/shoal-$(VERSION)
# Files that are never the source, tracked or not: the core dumps a
# crashed test leaves in the tree (one got committed once).
DEB_NOT_COPIED = (^|/)core(\.[0-9]+)?$$

.PHONY: deb

deb:
	@command -v dpkg-buildpackage >/dev/null || { echo "make deb: no dpkg-buildpackage (run scripts/deps)" >&2; exit 2; }
	@rm -rf $(DEB_OUT)
	@mkdir -p $(DEB_SRC)
	@echo "  COPY    $(DEB_SRC)"
	@git ls-files -z -c | grep -z -v -E '$(DEB_NOT_COPIED)' | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] || [ -L "$$f" ] || continue; \
			mkdir -p "$$0/$$(dirname "$$f")" && cp -Pp -- "$$f" "$$0/$$f" || exit; done' $(DEB_SRC)
	@echo "  TAR     $(DEB_OUT)/src/shoal_$(VERSION).orig.tar.xz"
	@tar -C $(DEB_OUT)/src --exclude=shoal-$(VERSION)/debian --sort=name \
		--owner=0 --group=0 --numeric-owner -cJf \
		$(DEB_OUT)/src/shoal_$(VERSION).orig.tar.xz shoal-$(VERSION)
	@echo "  DPKG    dpkg-buildpackage -us -uc (log: $(DEB_OUT)/build.log)"
	@cd $(DEB_SRC) && dpkg-buildpackage -us -uc >../../build.log 2>&1 || \
		{ tail -n 40 ../../build.log >&2; echo "make deb: failed, see $(DEB_OUT)/build.log" >&2; exit 1; }
	@cd $(DEB_OUT)/src && mv *.deb *.dsc *.tar.* *.changes *.buildinfo ..
	@echo "  LINTIAN $(DEB_OUT)/*.changes"
	@if command -v lintian >/dev/null; then \
		lintian $(DEB_OUT)/*.changes || true; \
	else \
		echo "  (no lintian: run scripts/deps)"; \
	fi
	@echo "make deb: the packages are in $(DEB_OUT)/:"
	@ls -1 $(DEB_OUT)/*.deb $(DEB_OUT)/*.dsc | sed 's/^/  /'

# The packages built, installed on a clean root, used under systemd in the
# VM, upgraded and purged (make check runs it too).
.PHONY: check-packages
check-packages:
	tests/run host system/packages.sh

.DEFAULT_GOAL := $(shoal_deb_saved_default_goal)
