#!/usr/bin/env bash
# Make PostgreSQL's server binaries (initdb, pg_ctl) available to the tests (tests/pg.py
# starts a throwaway server from them) on a fresh Debian machine. Safe to run again: it
# installs nothing when they are there. It starts no server of its own.
set -euo pipefail

found() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }

if found; then
  echo "PostgreSQL server binaries: $(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -1)")"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "scripts/postgres.sh: no apt-get here; install PostgreSQL 15's server binaries and set PG_BIN to their directory" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# The Debian package would create and start a "main" cluster on port 5432: the tests want
# none. Say so before installing, and keep that file when dpkg offers its own (confold).
$SUDO mkdir -p /etc/postgresql-common
echo "create_main_cluster = false" | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
APT=(apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
$SUDO apt-get update -q
$SUDO "${APT[@]}" postgresql-15 || $SUDO "${APT[@]}" postgresql
found || { echo "scripts/postgres.sh: installed, but no initdb under /usr/lib/postgresql" >&2; exit 1; }
echo "PostgreSQL server binaries: $(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -1)")"
