#!/usr/bin/env bash
# Run the whole test suite: every crate's unit, integration and doc tests, the
# reference API's black-box tests (Schemathesis among them, against the API's own
# OpenAPI document) and the compose file's validation. Tests start
# their own PostgreSQL and Redis on free loopback ports (or use TEST_DATABASE_URL /
# TEST_REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh postgres redis build compose python
exec cargo test --workspace --all-features --locked "$@"
