# SPDX-License-Identifier: GPL-2.0
# A real PostgreSQL for the tests: Debian's server binaries (scripts/deps
# installs postgresql), a cluster made with initdb in a directory of the
# test's, run by an unprivileged user (nobody unless PG_USER says), on
# loopback or an address of a namespace.  Nothing of the system's own
# PostgreSQL (if any) is used or touched.
#
#   pg_start DIR [ADDR [PORT]]  initdb (first time) and start; sets PG_URL
#                               (postgresql://shoal@ADDR:PORT/shoal) and
#                               PG_DIR.  ADDR defaults to 127.0.0.1.
#                               PG_NETNS: run it inside that namespace.
#   pg_stop                     fast shutdown (no error if not running)
#   pg_kill                     SIGKILL the postmaster (a crash)
#   pg_restart_after SECONDS    stop, wait, start again (the same PG_URL)
#   pg_sql SQL                  runs SQL as the superuser, prints rows
#
# Trust authentication, on purpose: the cluster lives only for one test,
# on loopback or an address that exists only inside the test's namespace.

PG_USER=${PG_USER:-nobody}
PG_BINDIR=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

pg_as() {
	if [ -n "${PG_NETNS:-}" ]; then
		ip netns exec "$PG_NETNS" setpriv --reuid="$PG_USER" \
			--regid="$(id -g "$PG_USER")" --clear-groups -- "$@"
	else
		setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" \
			--clear-groups -- "$@"
	fi
}

pg_available() {
	[ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ]
}

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
	PG_DIR=$1
	PG_ADDR=${2:-${PG_ADDR:-127.0.0.1}}
	PG_PORT=${3:-${PG_PORT:-$(pg_free_port)}}
	pg_available || { echo "# pg: no PostgreSQL server in $PG_BINDIR" >&2; return 1; }
	mkdir -p "$PG_DIR"
	chown "$PG_USER" "$PG_DIR"
	chmod 0700 "$PG_DIR"
	if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
		pg_as "$PG_BINDIR/initdb" -D "$PG_DIR/data" -U postgres \
			--auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
			{ cat "$PG_DIR/initdb.log" >&2; return 1; }
		cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
			listen_addresses = '$PG_ADDR'
			port = $PG_PORT
			unix_socket_directories = '$PG_DIR'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_connections = 200
			logging_collector = off
		EOF
	fi
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
		-w -t 60 start >/dev/null || { tail -n 20 "$PG_DIR/server.log" >&2; return 1; }
	if [ ! -f "$PG_DIR/made" ]; then
		pg_sql "CREATE ROLE shoal LOGIN" >/dev/null &&
			pg_sql "CREATE DATABASE shoal OWNER shoal" >/dev/null || return 1
		touch "$PG_DIR/made"
	fi
	case $PG_ADDR in
	*:*) PG_URL="postgresql://shoal@[$PG_ADDR]:$PG_PORT/shoal" ;;
	*) PG_URL="postgresql://shoal@$PG_ADDR:$PG_PORT/shoal" ;;
	esac
	export PG_URL PG_DIR PG_ADDR PG_PORT
}

pg_sql() {
	pg_as "$PG_BINDIR/../bin/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres \
		-d "${PG_DB:-postgres}" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop \
		>/dev/null 2>&1 || true
}

pg_kill() {
	local pid kids i
	pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
	# The backends keep the shared memory until they go too: the whole
	# server crashes, and nothing says "another server might be running".
	kids=$(pgrep -P "$pid")
	kill -9 "$pid" $kids 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" $kids 2>/dev/null || break
		sleep 0.1
	done
}

pg_restart_after() {
	pg_stop
	sleep "$1"
	pg_start "$PG_DIR" "$PG_ADDR" "$PG_PORT"
}
