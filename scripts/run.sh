#!/usr/bin/env bash
# Run the reference API on its embedded defaults: http://127.0.0.1:8080, with a
# private PostgreSQL under ./.edge-data (flags and env vars: --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  scripts/ensure-deps.sh postgres build
else
  scripts/ensure-deps.sh build
fi
exec cargo run --release -p reference-api -- "$@"
