#!/usr/bin/env bash
# Makes sure the PostgreSQL server the metadata-store tests use answers at
# 127.0.0.1:5432 with trust authentication and a database `test`: starts
# it if it is stopped, and on a machine without one installs Debian's
# server and sets it up so. Does nothing when PG_TEST_DSN names another
# server. Never prompts.
set -euo pipefail

[ -n "${PG_TEST_DSN:-}" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
as_postgres() { $SUDO runuser -u postgres -- "$@"; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

fresh=0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test-postgres: installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends postgresql </dev/null
  fresh=1
fi

if ! ready; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "test-postgres: starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
  ready || { echo "test-postgres: PostgreSQL did not start" >&2; exit 1; }
fi

if [ "$fresh" -eq 1 ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # Local test machine only: trust TCP connections from this host.
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_postgres psql -q -c 'SELECT pg_reload_conf()' >/dev/null
fi

if ! psql -h 127.0.0.1 -U postgres -d test -c 'SELECT 1' >/dev/null 2>&1; then
  echo "test-postgres: creating database test"
  as_postgres createdb test
fi
