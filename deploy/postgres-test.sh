#!/usr/bin/env bash
# Start the installed PostgreSQL cluster (Debian/Ubuntu, as root) and make sure a role and database for the
# hub tests exist. Idempotent. Prints ONLY the SQLAlchemy URL on stdout; everything else goes to stderr.
# Exits non-zero (with the reason on stderr) when no cluster is installed: the PostgreSQL tests are then skipped.
set -euo pipefail

role="${KIOSK_TEST_PG_ROLE:-govkiosk_test}"
db="${KIOSK_TEST_PG_DB:-govkiosk_test}"
password="${KIOSK_TEST_PG_PASSWORD:-govkiosk_test}"
port=5432

say() { echo "postgres-test: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  say "PostgreSQL is not installed (apt-get install postgresql); the hub's PostgreSQL tests will be skipped"
  exit 1
fi

cluster="$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2" "$3" "$4}')"
if [ -z "$cluster" ]; then
  say "no PostgreSQL cluster exists; creating one"
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  pg_createcluster "$version" main >&2
  cluster="$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2" "$3" "$4}')"
fi
read -r version name port status <<<"$cluster"
if [ "$status" != "online" ]; then
  say "starting cluster $version/$name"
  pg_ctlcluster "$version" "$name" start >&2
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

for _ in $(seq 1 30); do
  if as_postgres psql -p "$port" -tAc "SELECT 1" postgres >/dev/null 2>&1; then break; fi
  sleep 0.5
done

if [ "$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'" postgres)" != "1" ]; then
  say "creating role $role"
  as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "CREATE ROLE \"$role\" LOGIN PASSWORD '$password'" postgres >&2
fi
if [ "$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" postgres)" != "1" ]; then
  say "creating database $db"
  as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\" OWNER \"$role\"" postgres >&2
fi

# The role a hub runs as in production is not the one that owns its tables (docs/reliability.md): the tests
# migrate as "$role" and check that "$app_role" may append to the audit log but never alter it.
app_role="${KIOSK_TEST_PG_APP_ROLE:-govkiosk_app}"
app_password="${KIOSK_TEST_PG_APP_PASSWORD:-govkiosk_app}"
if [ "$(as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$app_role'" postgres)" != "1" ]; then
  say "creating role $app_role"
  as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "CREATE ROLE \"$app_role\" LOGIN PASSWORD '$app_password'" postgres >&2
fi
as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "GRANT CONNECT ON DATABASE \"$db\" TO \"$app_role\"" postgres >&2

echo "postgresql+psycopg://$role:$password@127.0.0.1:$port/$db"
