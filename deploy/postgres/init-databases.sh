#!/usr/bin/env bash
# Runs once, when the postgres image initialises an empty data directory
# (/docker-entrypoint-initdb.d): one login role and one database per CADS service, both named
# cads_<service> (the names `cads cluster` uses, see ensureServiceDatabase), each database owned
# by its role, since a service creates its schemas and tables itself on start. A role can
# connect to its own database only. Passwords: CADS_DB_PASSWORD_<SERVICE> (deploy/.env).
set -euo pipefail

services=(externals notifications order restaurant rider payment bff)

for service in "${services[@]}"; do
  variable="CADS_DB_PASSWORD_${service^^}"
  password="${!variable:-}"
  if [ -z "$password" ]; then
    echo "init-databases: $variable is empty; set it in deploy/.env" >&2
    exit 1
  fi
  psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
    --dbname "${POSTGRES_DB:-postgres}" \
    -v name="cads_${service}" -v password="$password" <<'SQL'
create role :"name" login password :'password';
create database :"name" owner :"name";
revoke all on database :"name" from public;
SQL
done
