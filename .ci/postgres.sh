# Source this file: starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests
# and exports NEWSWATCH_TEST_POSTGRES_URL. Installs Debian's postgresql if missing.
# The cluster lives in a temporary directory and is stopped when the shell exits.

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_test_postgres() {
  if [ -z "$(pg_bin_dir)" ]; then
    echo "installing PostgreSQL (Debian package) for the PostgreSQL test variants" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local bin; bin="$(pg_bin_dir)"
  local run_as=()
  if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
  PG_TEST_DATA="$(mktemp -d /tmp/newswatch-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_TEST_DATA"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${run_as[@]}" "$bin/initdb" -D "$PG_TEST_DATA/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DATA/data" -l "$PG_TEST_DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DATA -c fsync=off -c max_connections=200" start >/dev/null
  PG_TEST_STOP=("${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DATA/data" -m fast -w stop)
  trap 'stop_test_postgres' EXIT
  export NEWSWATCH_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL test cluster on 127.0.0.1:$port" >&2
}

stop_test_postgres() {
  if [ -n "${PG_TEST_DATA:-}" ]; then
    "${PG_TEST_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DATA"
  fi
}
