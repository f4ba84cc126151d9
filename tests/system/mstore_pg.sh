#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# where: host
#
# The mediator storage's unit tests (unit/mstore) again on PostgreSQL,
# concurrent_writers among them: two processes making clients at once on
# one database, as two instances of a cluster do.  Skipped, saying why,
# only when PostgreSQL's server programs are not installed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/common/lib.sh"
. "$top/tests/common/pg.sh"
. "$top/tests/common/pg_suite.sh"

pg_suite_start
cd "$top" && "${SHOAL_BIN:-$top/build/san/bin}/../tests/mstore"
