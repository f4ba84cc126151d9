#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The mediator's API suite (system/mediator_api) again, every server on
# PostgreSQL (--database postgresql://...) instead of its SQLite file: a
# real server from tests/common/pg.sh, its database emptied before each
# test; and one test more, database_blink: PostgreSQL stopped for 10 s
# under logged-in clients.  Skipped, saying why, only when PostgreSQL's
# server programs are not installed (scripts/deps installs them).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/lib.sh"
. "$top/tests/common/pg.sh"
. "$top/tests/common/pg_suite.sh"

pg_suite_start
cd "$top" && "${SHOAL_BIN:-$top/build/san/bin}/../tests/mediator_api"
