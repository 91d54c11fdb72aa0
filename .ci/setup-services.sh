#!/usr/bin/env bash
# Makes this machine's Postgres (with pgvector) and Redis ready for the native-service test run.
# Idempotent: every step checks before it acts.
set -euo pipefail

pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

if [ ! -f "/usr/share/postgresql/$pg_version/extension/vector.control" ]; then
  echo "building pgvector from Debian's source package"
  if ! grep -rqs 'trixie' /etc/apt/sources.list.d/pgvector-src.list; then
    echo 'deb-src http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/pgvector-src.list
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$pg_version" dpkg-dev make gcc >/dev/null
  build_dir=$(mktemp -d)
  (cd "$build_dir" && apt-get source -qq pgvector >/dev/null && cd pgvector-*/ &&
    make -s PG_CONFIG="/usr/lib/postgresql/$pg_version/bin/pg_config" &&
    make -s install PG_CONFIG="/usr/lib/postgresql/$pg_version/bin/pg_config")
  rm -rf "$build_dir"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
