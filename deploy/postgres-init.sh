#!/bin/sh
# First start of the compose PostgreSQL: the API's own role (no superuser, no
# CREATEDB/CREATEROLE) owning the `edge` database, so migrations can create
# tables there and nothing else. Runs once, when the data volume is empty.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$EDGE_DB_PASSWORD" <<'SQL'
CREATE ROLE edge LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE edge OWNER edge;
REVOKE ALL ON DATABASE edge FROM PUBLIC;
SQL
